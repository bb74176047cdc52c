//! MP_JOIN, subtype 1: RFC 8684 §3.2 (Figures 5, 6, 7); same layout in RFC 6824 §3.2.

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::{field, option_len, GrammarError, PResult};
use super::{hex, hex32, hex64, subtype, EmitError, ExpectedLen, Writer};

/// MP_JOIN (RFC 8684 §3.2). The handshake phase is given by the option length alone:
/// 12 = SYN, 16 = SYN/ACK, 24 = third ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpJoin<'a> {
    /// Length 12, in the SYN (Figure 5).
    Syn(MpJoinSyn),
    /// Length 16, in the SYN/ACK (Figure 6).
    SynAck(MpJoinSynAck),
    /// Length 24, in the third ACK (Figure 7).
    Ack(MpJoinAck<'a>),
}

/// MP_JOIN in a SYN (RFC 8684 §3.2, Figure 5):
/// `subtype=1 | rsv (3) | B | Address ID | Receiver's Token (32) | Sender's Random Number (32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpJoinSyn {
    /// Reserved bits of byte 2, in place (`byte & 0x0e`).
    pub reserved: u8,
    /// B: the sender wants this subflow as a backup path.
    pub backup: bool,
    pub address_id: u8,
    /// Receiver's token: identifies the connection being joined (RFC 8684 §3.2).
    pub token: u32,
    /// Sender's random number (nonce).
    pub nonce: u32,
}

/// MP_JOIN in a SYN/ACK (RFC 8684 §3.2, Figure 6):
/// `subtype=1 | rsv (3) | B | Address ID | Sender's Truncated HMAC (64) | Sender's Random Number (32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpJoinSynAck {
    /// Reserved bits of byte 2, in place (`byte & 0x0e`).
    pub reserved: u8,
    /// B: the sender wants this subflow as a backup path.
    pub backup: bool,
    pub address_id: u8,
    /// Leftmost 64 bits of HMAC(Key-B‖Key-A, R-B‖R-A).
    pub hmac: u64,
    /// Sender's random number (nonce).
    pub nonce: u32,
}

/// MP_JOIN in the third ACK (RFC 8684 §3.2, Figure 7):
/// `subtype=1 | reserved (12) | Sender's HMAC (160)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpJoinAck<'a> {
    /// The 12 reserved bits: low nibble of byte 2 and byte 3, as a big-endian number.
    pub reserved: u16,
    /// HMAC(Key-A‖Key-B, R-A‖R-B), truncated to 160 bits in v1 (SHA-256), whole in v0 (SHA-1).
    pub hmac: &'a [u8; 20],
}

impl<'a> MpJoin<'a> {
    const LENS: &'static [u8] = &[12, 16, 24];

    /// "syn", "synack" or "ack".
    pub fn phase(&self) -> &'static str {
        match self {
            MpJoin::Syn(_) => "syn",
            MpJoin::SynAck(_) => "synack",
            MpJoin::Ack(_) => "ack",
        }
    }

    /// B flag; the third ACK has none.
    pub fn backup(&self) -> Option<bool> {
        match self {
            MpJoin::Syn(s) => Some(s.backup),
            MpJoin::SynAck(s) => Some(s.backup),
            MpJoin::Ack(_) => None,
        }
    }

    /// Address ID; the third ACK has none.
    pub fn address_id(&self) -> Option<u8> {
        match self {
            MpJoin::Syn(s) => Some(s.address_id),
            MpJoin::SynAck(s) => Some(s.address_id),
            MpJoin::Ack(_) => None,
        }
    }

    /// Sender's nonce; the third ACK has none.
    pub fn nonce(&self) -> Option<u32> {
        match self {
            MpJoin::Syn(s) => Some(s.nonce),
            MpJoin::SynAck(s) => Some(s.nonce),
            MpJoin::Ack(_) => None,
        }
    }

    pub(super) fn wire_len(&self) -> usize {
        match self {
            MpJoin::Syn(_) => 12,
            MpJoin::SynAck(_) => 16,
            MpJoin::Ack(_) => 24,
        }
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let sub = subtype::MP_JOIN << 4;
        match self {
            MpJoin::Syn(s) => {
                w.u8(sub | (s.reserved & 0x0e) | u8::from(s.backup))?;
                w.u8(s.address_id)?;
                w.u32(s.token)?;
                w.u32(s.nonce)
            }
            MpJoin::SynAck(s) => {
                w.u8(sub | (s.reserved & 0x0e) | u8::from(s.backup))?;
                w.u8(s.address_id)?;
                w.u64(s.hmac)?;
                w.u32(s.nonce)
            }
            MpJoin::Ack(a) => {
                w.u16(u16::from(sub) << 8 | (a.reserved & 0x0fff))?;
                w.bytes(a.hmac)
            }
        }
    }

    /// JSON: phase, backup, address_id, token, nonce, hmac (16 hex digits in the SYN/ACK,
    /// 40 in the ACK).
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let (token, hmac) = match self {
            MpJoin::Syn(s) => (Some(hex32(s.token)), None),
            MpJoin::SynAck(s) => (None, Some(hex64(s.hmac))),
            MpJoin::Ack(a) => (None, Some(hex(a.hmac))),
        };
        map.serialize_entry("phase", self.phase())?;
        map.serialize_entry("backup", &self.backup())?;
        map.serialize_entry("address_id", &self.address_id())?;
        map.serialize_entry("token", &token)?;
        map.serialize_entry("nonce", &self.nonce().map(hex32))?;
        map.serialize_entry("hmac", &hmac)
    }
}

/// MP_JOIN from its subtype byte on; the length says which handshake phase it is.
#[inline]
pub(super) fn parse_mp_join(i: &[u8]) -> PResult<'_, MpJoin<'_>> {
    // rsv (3) B in the low nibble of the subtype byte (SYN and SYN/ACK).
    let backup_byte = || field::U8.map(|b| (b & 0x0e, b & 0x01 != 0));
    match option_len(i) {
        12 => (backup_byte(), field::U8, field::U32, field::U32)
            .map(|((reserved, backup), address_id, token, nonce)| MpJoin::Syn(MpJoinSyn { reserved, backup, address_id, token, nonce }))
            .parse_complete(i),
        16 => (backup_byte(), field::U8, field::U64, field::U32)
            .map(|((reserved, backup), address_id, hmac, nonce)| MpJoin::SynAck(MpJoinSynAck { reserved, backup, address_id, hmac, nonce }))
            .parse_complete(i),
        24 => (field::U16, field::Array::<20>).map(|(b, hmac)| MpJoin::Ack(MpJoinAck { reserved: b & 0x0fff, hmac })).parse_complete(i),
        len => Err(GrammarError::bad_length(len, ExpectedLen::OneOf(MpJoin::LENS))),
    }
}

/// `mptcp join syn backup id 2 token 0x… nonce 0x…`, `mptcp join synack id 2 hmac 0x… nonce
/// 0x…`, `mptcp join ack hmac 0x<40 hex digits>` (tcpdump's wording, plus the phase).
impl fmt::Display for MpJoin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mptcp join {}", self.phase())?;
        if let (Some(backup), Some(id)) = (self.backup(), self.address_id()) {
            if backup {
                f.write_str(" backup")?;
            }
            write!(f, " id {id}")?;
        }
        match self {
            MpJoin::Syn(s) => write!(f, " token 0x{:x} nonce 0x{:x}", s.token, s.nonce),
            MpJoin::SynAck(s) => write!(f, " hmac 0x{:x} nonce 0x{:x}", s.hmac, s.nonce),
            MpJoin::Ack(a) => write!(f, " hmac 0x{}", hex(a.hmac)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::arb;
    use super::super::tests::{check_truncations, emit_parse_eq, roundtrip};
    use super::super::{parse, MptcpOption};
    use super::*;
    use proptest::prelude::*;

    const SYN: [u8; 12] = [30, 12, 0x11, 0x02, 0x23, 0x9f, 0xbd, 0xb0, 0xde, 0xad, 0xbe, 0xef];
    const SYNACK: [u8; 16] = [30, 16, 0x10, 0x00, 0x66, 0x99, 0x28, 0x74, 0x43, 0x66, 0x71, 0x6c, 0x01, 0x02, 0x03, 0x04];
    const ACK: [u8; 24] = [
        30, 24, 0x10, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
        0x12, 0x13,
    ];

    fn join(w: &[u8]) -> MpJoin<'_> {
        match roundtrip(w) {
            MptcpOption::Join(j) => j,
            other => panic!("not MP_JOIN: {other:?}"),
        }
    }

    #[test]
    fn syn() {
        let j = join(&SYN);
        assert_eq!(j, MpJoin::Syn(MpJoinSyn { reserved: 0, backup: true, address_id: 2, token: 0x239f_bdb0, nonce: 0xdead_beef }));
        assert_eq!(j.to_string(), "mptcp join syn backup id 2 token 0x239fbdb0 nonce 0xdeadbeef");
        assert_eq!(
            serde_json::to_string(&MptcpOption::Join(j)).unwrap(),
            r#"{"subtype":"MP_JOIN","phase":"syn","backup":true,"address_id":2,"token":"239fbdb0","nonce":"deadbeef","hmac":null}"#
        );
    }

    #[test]
    fn synack() {
        let j = join(&SYNACK);
        let MpJoin::SynAck(s) = j else { panic!("{j:?}") };
        assert_eq!((s.backup, s.address_id), (false, 0));
        assert_eq!(s.hmac, 0x6699_2874_4366_716c);
        assert_eq!(s.nonce, 0x0102_0304);
        assert_eq!(j.to_string(), "mptcp join synack id 0 hmac 0x669928744366716c nonce 0x1020304");
        assert_eq!(
            serde_json::to_string(&MptcpOption::Join(j)).unwrap(),
            r#"{"subtype":"MP_JOIN","phase":"synack","backup":false,"address_id":0,"token":null,"nonce":"01020304","hmac":"669928744366716c"}"#
        );
    }

    #[test]
    fn ack() {
        let j = join(&ACK);
        let MpJoin::Ack(a) = j else { panic!("{j:?}") };
        assert_eq!(a.reserved, 0);
        assert_eq!(&a.hmac[..], &ACK[4..]);
        assert_eq!(j.to_string(), "mptcp join ack hmac 0x000102030405060708090a0b0c0d0e0f10111213");
        assert_eq!(
            serde_json::to_string(&MptcpOption::Join(j)).unwrap(),
            r#"{"subtype":"MP_JOIN","phase":"ack","backup":null,"address_id":null,"token":null,"nonce":null,"hmac":"000102030405060708090a0b0c0d0e0f10111213"}"#
        );
    }

    #[test]
    fn reserved_bits_survive() {
        let mut w = SYN;
        w[2] = 0x1f;
        let MpJoin::Syn(s) = join(&w) else { panic!() };
        assert_eq!((s.reserved, s.backup), (0x0e, true));
        let mut w = ACK;
        w[2] = 0x1a;
        w[3] = 0xbc;
        let MpJoin::Ack(a) = join(&w) else { panic!() };
        assert_eq!(a.reserved, 0xabc);
    }

    #[test]
    fn other_lengths_are_errors() {
        for n in [3usize, 4, 11, 13, 20, 25] {
            let mut w = vec![30, n as u8, 0x10];
            w.resize(n, 0);
            let e = parse(&w).unwrap_err();
            assert_eq!((e.offset, e.subtype), (1, Some(1)), "length {n}");
        }
    }

    #[test]
    fn truncations() {
        for w in [&SYN[..], &SYNACK[..], &ACK[..]] {
            check_truncations(w);
        }
    }

    proptest! {
        #[test]
        fn arb_join_roundtrips(j in arb::mp_join()) {
            emit_parse_eq(&MptcpOption::Join(j))?;
        }
    }
}
