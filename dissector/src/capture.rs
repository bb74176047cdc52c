//! Streaming capture reader.
