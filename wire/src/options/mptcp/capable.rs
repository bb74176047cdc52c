//! MP_CAPABLE, subtype 0: RFC 8684 §3.1 (v1, Figure 4) and RFC 6824 §3.1 (v0, Figure 4).

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::field::cond;
use super::grammar::{expect_len, field, option_len, PResult};
use super::{subtype, EmitError, ExpectedLen, Writer};

/// MP_CAPABLE (RFC 8684 §3.1; RFC 6824 §3.1 for version 0).
///
/// ```text
/// kind=30 | len | subtype=0 (4 bits) version (4 bits) | A B C D E F G H |
/// [Option Sender's Key (64)] [Option Receiver's Key (64)] [Data-Level Length (16)] [Checksum (16)]
/// ```
///
/// Which fields are present is given by the length alone:
/// - v1: 4 (SYN, no key), 12 (SYN/ACK: sender's key), 20 (third ACK: both keys), 22 (first
///   data: both keys and the data-level length of the implicit mapping), 24 (same plus the DSS
///   checksum);
/// - v0: 12 (SYN and SYN/ACK: sender's key), 20 (third ACK: both keys).
///
/// Versions above 1 are parsed with the v1 lengths (the most general grammar we know); the
/// tracker decides what to do with them.
///
/// "Sender" and "receiver" are from the point of view of the host sending this option: in a
/// SYN/ACK the sender's key is the server's key, in the third ACK it is the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpCapable {
    /// Low nibble of byte 2: 0 (RFC 6824) or 1 (RFC 8684).
    pub version: u8,
    /// Byte 3 as on the wire, see the `FLAG_*` constants (D–G are kept as they are).
    pub flags: u8,
    /// Option Sender's Key (64 bits).
    pub sender_key: Option<u64>,
    /// Option Receiver's Key (64 bits).
    pub receiver_key: Option<u64>,
    /// Data-Level Length of the implicit first mapping (v1, lengths 22 and 24).
    pub data_level_length: Option<u16>,
    /// DSS checksum of the implicit first mapping (v1, length 24).
    pub checksum: Option<u16>,
}

impl MpCapable {
    /// A: checksum required (RFC 8684 §3.1).
    pub const FLAG_CHECKSUM: u8 = 0x80;
    /// B: extensibility.
    pub const FLAG_EXTENSIBILITY: u8 = 0x40;
    /// C: do not establish new subflows to this source address (v1 only).
    pub const FLAG_NO_NEW_SUBFLOWS: u8 = 0x20;
    /// H: HMAC-SHA256 (v1) / HMAC-SHA1 (v0).
    pub const FLAG_HMAC_SHA: u8 = 0x01;

    const V0_LENS: &'static [u8] = &[12, 20];
    const V1_LENS: &'static [u8] = &[4, 12, 20, 22, 24];

    /// A flag: the sender requires DSS checksums.
    pub fn checksum_required(&self) -> bool {
        self.flags & Self::FLAG_CHECKSUM != 0
    }

    pub(super) fn wire_len(&self) -> usize {
        4 + 8 * usize::from(self.sender_key.is_some())
            + 8 * usize::from(self.receiver_key.is_some())
            + 2 * usize::from(self.data_level_length.is_some())
            + 2 * usize::from(self.checksum.is_some())
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let bad = |reason| Err(EmitError::unencodable(subtype::MP_CAPABLE, reason));
        if self.version > 0x0f {
            return bad("version does not fit in 4 bits");
        }
        // Each field needs the one before it (the length is the only presence signal).
        if (self.receiver_key.is_some() && self.sender_key.is_none())
            || (self.data_level_length.is_some() && self.receiver_key.is_none())
            || (self.checksum.is_some() && self.data_level_length.is_none())
        {
            return bad("a field is present without the fields before it");
        }
        if self.version == 0 && (self.sender_key.is_none() || self.data_level_length.is_some()) {
            return bad("version 0 carries one or two keys and nothing else");
        }
        w.u8(subtype::MP_CAPABLE << 4 | self.version)?;
        w.u8(self.flags)?;
        for key in [self.sender_key, self.receiver_key].into_iter().flatten() {
            w.u64(key)?;
        }
        for v in [self.data_level_length, self.checksum].into_iter().flatten() {
            w.u16(v)?;
        }
        Ok(())
    }

    /// JSON: version, flags, sender_key, receiver_key, data_level_length, checksum.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("version", &self.version)?;
        map.serialize_entry("flags", &self.flags)?;
        map.serialize_entry("sender_key", &self.sender_key.map(super::hex64))?;
        map.serialize_entry("receiver_key", &self.receiver_key.map(super::hex64))?;
        map.serialize_entry("data_level_length", &self.data_level_length)?;
        map.serialize_entry("checksum", &self.checksum.map(super::hex16))
    }
}

/// MP_CAPABLE from its subtype byte on: `version` in the low nibble, the flags, then the fields
/// the option length says are there, each needing the one before it.
#[inline]
pub(super) fn parse_mp_capable(i: &[u8]) -> PResult<'_, MpCapable> {
    let len = option_len(i);
    let (i, version) = field::U8.map(|b| b & 0x0f).parse_complete(i)?;
    let lens = if version == 0 { MpCapable::V0_LENS } else { MpCapable::V1_LENS };
    expect_len(lens.iter().any(|&l| usize::from(l) == len), len, ExpectedLen::OneOf(lens))?;
    let (i, flags) = field::U8.parse_complete(i)?;
    let (i, sender_key) = cond(len >= 12, field::U64).parse_complete(i)?;
    let (i, receiver_key) = cond(len >= 20, field::U64).parse_complete(i)?;
    let (i, data_level_length) = cond(len >= 22, field::U16).parse_complete(i)?;
    let (i, checksum) = cond(len >= 24, field::U16).parse_complete(i)?;
    Ok((i, MpCapable { version, flags, sender_key, receiver_key, data_level_length, checksum }))
}

/// `mptcp capable v1 flags 0x81 {0x1122334455667788,0x99aabbccddeeff00} len 100 csum 0xabcd`
impl fmt::Display for MpCapable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mptcp capable v{} flags 0x{:02x}", self.version, self.flags)?;
        if let Some(k) = self.sender_key {
            write!(f, " {{0x{k:x}")?;
            if let Some(k) = self.receiver_key {
                write!(f, ",0x{k:x}")?;
            }
            f.write_str("}")?;
        }
        if let Some(l) = self.data_level_length {
            write!(f, " len {l}")?;
        }
        if let Some(c) = self.checksum {
            write!(f, " csum 0x{c:x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::arb;
    use super::super::tests::{check_truncations, emit_parse_eq, roundtrip};
    use super::super::{parse, ExpectedLen, MptcpOption, OptionErrorKind};
    use super::*;
    use proptest::prelude::*;

    const KEY_A: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    const KEY_B: [u8; 8] = [0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00];

    fn wire(sub: u8, flags: u8, rest: &[&[u8]]) -> Vec<u8> {
        let mut v = vec![30, 0, sub, flags];
        for r in rest {
            v.extend_from_slice(r);
        }
        v[1] = v.len() as u8;
        v
    }

    fn capable(w: &[u8]) -> MpCapable {
        match roundtrip(w) {
            MptcpOption::Capable(c) => c,
            other => panic!("not MP_CAPABLE: {other:?}"),
        }
    }

    /// Every vector here: parse → fields → emit → same bytes, and every truncation.
    fn vectors() -> Vec<Vec<u8>> {
        vec![
            wire(0x01, 0x81, &[]),
            wire(0x01, 0x81, &[&KEY_A]),
            wire(0x01, 0x81, &[&KEY_A, &KEY_B]),
            wire(0x01, 0x81, &[&KEY_A, &KEY_B, &[0x00, 0x64]]),
            wire(0x01, 0x81, &[&KEY_A, &KEY_B, &[0x00, 0x64], &[0xab, 0xcd]]),
            wire(0x00, 0x81, &[&KEY_A]),
            wire(0x00, 0x81, &[&KEY_A, &KEY_B]),
        ]
    }

    #[test]
    fn v1_syn_has_no_key() {
        // Linux 5.6+ SYN: 1e 04 01 81.
        let c = capable(&[30, 4, 0x01, 0x81]);
        assert_eq!(c, MpCapable { version: 1, flags: 0x81, sender_key: None, receiver_key: None, data_level_length: None, checksum: None });
        assert!(c.checksum_required());
        assert_eq!(c.to_string(), "mptcp capable v1 flags 0x81");
    }

    #[test]
    fn v1_synack_carries_the_sender_key() {
        // A Linux SYN/ACK: 1e 0c 01 81 <key>.
        let w = [30, 12, 0x01, 0x81, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
        let c = capable(&w);
        assert_eq!(c.version, 1);
        assert_eq!(c.sender_key, Some(0x1122_3344_5566_7788));
        assert_eq!(c.receiver_key, None);
        assert_eq!(c.to_string(), "mptcp capable v1 flags 0x81 {0x1122334455667788}");
    }

    #[test]
    fn v1_ack_and_first_data() {
        let c = capable(&wire(0x01, 0x01, &[&KEY_A, &KEY_B]));
        assert_eq!(c.sender_key, Some(0x1122_3344_5566_7788));
        assert_eq!(c.receiver_key, Some(0x99aa_bbcc_ddee_ff00));
        assert_eq!(c.data_level_length, None);

        let c = capable(&wire(0x01, 0x01, &[&KEY_A, &KEY_B, &[0x05, 0xdc]]));
        assert_eq!(c.data_level_length, Some(1500));
        assert_eq!(c.checksum, None);

        let c = capable(&wire(0x01, 0x81, &[&KEY_A, &KEY_B, &[0x00, 0x64], &[0xab, 0xcd]]));
        assert_eq!(c.data_level_length, Some(100));
        assert_eq!(c.checksum, Some(0xabcd));
        assert_eq!(c.to_string(), "mptcp capable v1 flags 0x81 {0x1122334455667788,0x99aabbccddeeff00} len 100 csum 0xabcd");
    }

    #[test]
    fn v0_syn_and_ack() {
        let c = capable(&wire(0x00, 0x81, &[&KEY_A]));
        assert_eq!((c.version, c.sender_key), (0, Some(0x1122_3344_5566_7788)));
        let c = capable(&wire(0x00, 0x81, &[&KEY_A, &KEY_B]));
        assert_eq!(c.receiver_key, Some(0x99aa_bbcc_ddee_ff00));
    }

    #[test]
    fn wrong_lengths_are_errors_at_the_length_byte() {
        // v0 has no 4-byte SYN and no data-level length.
        for w in [wire(0x00, 0x81, &[]), wire(0x00, 0x81, &[&KEY_A, &KEY_B, &[0, 1]])] {
            let e = parse(&w).unwrap_err();
            assert_eq!(e.offset, 1);
            assert_eq!(e.subtype, Some(0));
            assert_eq!(e.kind, OptionErrorKind::BadLength { len: w.len(), expected: ExpectedLen::OneOf(&[12, 20]) });
        }
        for n in [5usize, 8, 13, 16, 21, 23, 25, 30] {
            let mut w = vec![30, n as u8, 0x01, 0x81];
            w.resize(n.max(4), 0);
            assert!(parse(&w).is_err(), "v1 length {n}");
        }
    }

    #[test]
    fn all_vectors_roundtrip_and_truncations_never_panic() {
        for w in vectors() {
            roundtrip(&w);
            check_truncations(&w);
        }
    }

    #[test]
    fn json() {
        let opt = parse(&[30, 12, 0x01, 0x81, 0, 0, 0, 0, 0, 0, 0x12, 0x34]).unwrap();
        assert_eq!(
            serde_json::to_string(&opt).unwrap(),
            r#"{"subtype":"MP_CAPABLE","version":1,"flags":129,"sender_key":"0000000000001234","receiver_key":null,"data_level_length":null,"checksum":null}"#
        );
        let w = wire(0x01, 0x81, &[&KEY_A, &KEY_B, &[0x00, 0x64], &[0x0b, 0xcd]]);
        assert_eq!(
            serde_json::to_string(&parse(&w).unwrap()).unwrap(),
            r#"{"subtype":"MP_CAPABLE","version":1,"flags":129,"sender_key":"1122334455667788","receiver_key":"99aabbccddeeff00","data_level_length":100,"checksum":"0bcd"}"#
        );
    }

    #[test]
    fn emit_rejects_fields_without_their_predecessors() {
        let c = MpCapable { version: 1, flags: 0, sender_key: None, receiver_key: Some(1), data_level_length: None, checksum: None };
        assert!(MptcpOption::Capable(c).emit(&mut [0u8; 64]).is_err());
        let c = MpCapable { version: 0, receiver_key: None, ..c };
        assert!(MptcpOption::Capable(c).emit(&mut [0u8; 64]).is_err());
    }

    proptest! {
        #[test]
        fn arb_capable_roundtrips(c in arb::mp_capable()) {
            emit_parse_eq(&MptcpOption::Capable(c))?;
        }
    }
}
