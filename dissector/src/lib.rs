//! mptcp-dissector: decode MPTCP (RFC 8684 v1, RFC 6824 v0) from packet captures.
//!
//! Pipeline: [`capture`] (pcap/pcapng, streamed) → [`decode`] (link/IP/TCP) →
//! [`options`] (TCP option walk, MPTCP option grammar) → tracking, reassembly, analyses.
//!
//! Contract: nothing in this crate panics on capture bytes. Bad files are `Err`; bad packets and
//! bad options are data (errors recorded on the packet), and the rest is still decoded.
#![forbid(unsafe_code)]

pub mod capture;
pub mod crypto;
pub mod decode;
pub mod options;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod seq;
pub mod series;
pub mod track;
pub mod verify;
