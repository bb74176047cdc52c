//! Analyses of what the tracker and the reassembler found: conformance verification against
//! RFC 8684 ([`verify`]) and per-interval time series ([`series`]). They read the finished
//! [`Analysis`](crate::track::Analysis) or observe the tracker's per-segment records; the
//! reporters (`report`) render their results.
pub mod pair;
pub mod pair_ends;
pub mod select;
pub mod series;
pub mod verify;
