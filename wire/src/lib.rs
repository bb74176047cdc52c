//! mptcp-wire: MPTCP on the wire, bytes to typed values.
//!
//! The first stages of mptcp-trace, with no I/O and no C dependency: [`decode`] peels link, IP
//! and TCP headers off one captured packet, [`options`] walks the TCP options and parses MPTCP's
//! (RFC 8684 v1, RFC 6824 v0) into typed values that borrow from the packet, [`seq`] holds the
//! sequence-number types with wrapping comparison, and [`crypto`] the keys, tokens, IDSNs, HMACs
//! and DSS checksums of RFC 8684. [`json`] says how 64-bit sequence-space values are written in
//! JSON.
//!
//! Contract: nothing in this crate panics on packet bytes. A packet that cannot be decoded is a
//! [`decode::DecodeError`] and an option that breaks its grammar is an
//! [`options::mptcp::OptionError`], each with the byte offset and what was expected; unknown
//! subtypes and reserved bits are kept as data.
//!
//! ```
//! use mptcp_wire::options::mptcp::MptcpOption;
//! use mptcp_wire::options::mptcp_options;
//!
//! // The TCP options of a segment: NOP, NOP, timestamps, then a DSS (RFC 8684 §3.3) with a
//! // 4-byte data ACK and a mapping: DSN, subflow sequence number, data-level length, checksum.
//! let options = [
//!     1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, //
//!     30, 20, 0x20, 0x05, 0x00, 0x00, 0x10, 0x00, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0x05, 0xa0, 0xbe, 0xef,
//! ];
//! let mut found = mptcp_options(&options);
//! let (offset, opt) = found.next().unwrap().unwrap();
//! assert_eq!(offset, 12);
//! let MptcpOption::Dss(dss) = opt else { panic!("{opt:?}") };
//! assert_eq!(dss.data_ack.map(|a| a.value), Some(0x1000));
//! let mapping = dss.mapping.unwrap();
//! assert_eq!((mapping.dsn, mapping.subflow_seq, mapping.data_level_length), (0x1234_5678, 1, 1440));
//! assert_eq!(mapping.checksum, Some(0xbeef));
//! assert!(found.next().is_none());
//! ```
#![forbid(unsafe_code)]

pub mod crypto;
pub mod decode;
pub mod json;
pub mod options;
pub mod seq;
