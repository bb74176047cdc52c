//! mptcp-dissector: decode MPTCP (RFC 8684 v1, RFC 6824 v0) from packet captures.
//!
//! Pipeline: [`capture`] (pcap/pcapng, streamed) → [`decode`] (link/IP/TCP) →
//! [`options`] (TCP option walk, MPTCP option grammar) → [`track`] (connections, subflows) →
//! [`reassembly`] (data level) → [`analysis`] (verification, time series) → [`report`].
//!
//! Contract: nothing in this crate panics on capture bytes. Bad files are `Err`; bad packets and
//! bad options are data (errors recorded on the packet), and the rest is still decoded.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod json;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod track;

// The wire stage (bytes → typed values) is its own crate, mptcp-wire, which builds no C code;
// its modules keep their paths here.
pub use mptcp_wire::{crypto, decode, options, seq};

// The analyses were top-level modules; their old paths stay.
pub use analysis::{pair, series, verify};
