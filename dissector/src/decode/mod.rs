//! Link, IP and TCP decoding.
