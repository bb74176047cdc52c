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
//! use mptcp_wire::crypto::{key_material, Idsn, Key, Token, Version};
//! use mptcp_wire::options::mptcp::MptcpOption;
//! use mptcp_wire::options::mptcp_options;
//!
//! // The TCP options of frame 7 of testdata/two-subflows.pcap, the client's third ACK: NOP, NOP,
//! // timestamps, then MP_CAPABLE v1 (RFC 8684 §3.1) echoing both keys.
//! let options = [
//!     0x01, 0x01, 0x08, 0x0a, 0x20, 0x36, 0xae, 0x9b, 0xc4, 0xa1, 0xd4, 0x2b, //
//!     0x1e, 0x14, 0x01, 0x01, 0x3c, 0x5d, 0x13, 0x35, 0xeb, 0xb2, 0x38, 0x62, //
//!     0x93, 0xd3, 0x1c, 0xfa, 0x44, 0x8a, 0xd0, 0x65,
//! ];
//! let (offset, opt) = mptcp_options(&options).next().unwrap().unwrap();
//! assert_eq!(offset, 12);
//! let MptcpOption::Capable(c) = opt else { panic!("{opt:?}") };
//! assert_eq!(c.version, 1);
//! assert_eq!(c.sender_key, Some(0x3c5d_1335_ebb2_3862));
//! assert_eq!(c.receiver_key, Some(0x93d3_1cfa_448a_d065));
//!
//! // The client key's token and IDSN, as tshark gives them (mptcp.expected_token 2856838867,
//! // mptcp.expected_idsn 8725461058535105957).
//! let km = key_material(Version::V1, Key(0x3c5d_1335_ebb2_3862));
//! assert_eq!((km.token, km.idsn), (Token(0xaa47_e6d3), Idsn(8_725_461_058_535_105_957)));
//!
//! // Frame 13, the server's first data ACK: a DSS (§3.3) with an 8-byte data ACK, one past the
//! // 1424 bytes of frame 8 (whose first byte has DSN IDSN + 1).
//! let options = [
//!     0x01, 0x01, 0x08, 0x0a, 0xc4, 0xa1, 0xd4, 0x36, 0x20, 0x36, 0xae, 0xa6, //
//!     0x1e, 0x0c, 0x20, 0x03, 0x79, 0x17, 0x10, 0x9a, 0x6f, 0x7d, 0x2b, 0x36,
//! ];
//! let (_, opt) = mptcp_options(&options).next().unwrap().unwrap();
//! let MptcpOption::Dss(dss) = opt else { panic!("{opt:?}") };
//! assert_eq!(dss.data_ack.map(|a| a.value), Some(km.idsn.0 + 1 + 1424));
//! assert!(dss.mapping.is_none() && !dss.data_fin);
//! ```
#![forbid(unsafe_code)]

pub mod crypto;
pub mod decode;
pub mod json;
pub mod options;
pub mod seq;
