//! Reporters: text and JSON renderings of what the analyses found. Generic over `io::Write`.
pub mod analyze;
pub mod dissect;
pub mod events;
pub mod pcap_out;
pub mod spool;
pub mod tcpseq;
pub mod time;
pub mod verify;
