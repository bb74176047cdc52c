//! mptcp-dissector: decode MPTCP (RFC 8684 v1, RFC 6824 v0) from packet captures.
//!
//! Pipeline: [`capture`] (pcap/pcapng, streamed) → [`decode`](mptcp_wire::decode) (link/IP/TCP)
//! → [`options`](mptcp_wire::options) (TCP option walk, MPTCP option grammar) → [`track`]
//! (connections, subflows) → [`reassembly`] (data level) → [`analysis`] (verification, time
//! series) → [`report`].
//!
//! Contract: nothing in this crate panics on capture bytes. Bad files are `Err`; bad packets and
//! bad options are data (errors recorded on the packet), and the rest is still decoded.
//!
//! The wire stage ([`decode`](mptcp_wire::decode), [`options`](mptcp_wire::options),
//! [`seq`](mptcp_wire::seq), [`crypto`](mptcp_wire::crypto)) is the crate mptcp-wire, used by
//! its own paths. Compressed captures are read with the features `gzip`, `zstd`, `xz` and `lz4`
//! (all default; see [`capture::decompress`]); without them nothing compiles C code.
//!
//! ```
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::track::{Analyzer, Limits};
//!
//! // testdata/two-subflows.pcap, as `mptcp-trace analyze` reports it: 601 packets, 593 of
//! // them TCP with MPTCP options, one MPTCP v1 connection of two subflows (the initial one
//! // and one MP_JOIN).
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let (analysis, end) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()));
//! assert!(end.is_none());
//! let s = &analysis.stats;
//! assert_eq!((s.packets, s.tcp_packets, s.mptcp_packets), (601, 593, 593));
//! assert_eq!(analysis.connections.len(), 1);
//! let conn = &analysis.connections[0];
//! assert_eq!(conn.version, Some(1));
//! assert_eq!(conn.client.to_string(), "192.0.2.1:45486");
//! assert_eq!(conn.subflow_ids.len(), 2);
//! ```
#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
mod json;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod track;
