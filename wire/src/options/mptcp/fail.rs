//! MP_FAIL, subtype 6: RFC 8684 §3.7 (Figure 16); same layout in RFC 6824.

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::{expect_len, field, option_len, PResult};
use super::{subtype, EmitError, ExpectedLen, Writer};

/// MP_FAIL (RFC 8684 §3.7): `kind=30 | len=12 | subtype=6 | reserved (12) | Data Sequence
/// Number (64)`. The DSN is the start of the mapping whose checksum failed; always 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpFail {
    /// The 12 reserved bits: low nibble of byte 2 and byte 3, as a big-endian number.
    pub reserved: u16,
    pub dsn: u64,
}

impl MpFail {
    pub(super) const LEN: usize = 12;

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u16(u16::from(subtype::MP_FAIL) << 12 | (self.reserved & 0x0fff))?;
        w.u64(self.dsn)
    }

    /// JSON: dsn.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("dsn", &crate::json::Dec64(self.dsn))
    }
}

/// MP_FAIL from its subtype byte on: 12 reserved bits, then the data sequence number.
#[inline]
pub(super) fn parse_mp_fail(i: &[u8]) -> PResult<'_, MpFail> {
    let len = option_len(i);
    expect_len(len == MpFail::LEN, len, ExpectedLen::Exactly(12))?;
    (field::U16, field::U64).map(|(b, dsn)| MpFail { reserved: b & 0x0fff, dsn }).parse_complete(i)
}

/// `mptcp fail seq 1234` (tcpdump's wording).
impl fmt::Display for MpFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mptcp fail seq {}", self.dsn)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::arb;
    use super::super::tests::{check_truncations, emit_parse_eq, roundtrip};
    use super::super::{parse, MptcpOption};
    use super::*;
    use proptest::prelude::*;

    const W: [u8; 12] = [30, 12, 0x60, 0x00, 0, 0, 0, 0, 0, 0, 0x04, 0xd2];

    #[test]
    fn parses_dsn() {
        let opt = roundtrip(&W);
        assert_eq!(opt, MptcpOption::Fail(MpFail { reserved: 0, dsn: 1234 }));
        assert_eq!(opt.to_string(), "mptcp fail seq 1234");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_FAIL","dsn":"1234"}"#);
        let mut w = W;
        w[2] = 0x6a;
        w[3] = 0xbc;
        let MptcpOption::Fail(f) = roundtrip(&w) else { panic!() };
        assert_eq!(f.reserved, 0xabc);
    }

    #[test]
    fn other_lengths_are_errors() {
        let e = parse(&[30, 8, 0x60, 0, 0, 0, 0, 1]).unwrap_err();
        assert_eq!((e.offset, e.subtype), (1, Some(6)));
    }

    #[test]
    fn truncations() {
        check_truncations(&W);
    }

    proptest! {
        #[test]
        fn arb_fail_roundtrips(f in arb::mp_fail()) {
            emit_parse_eq(&MptcpOption::Fail(f))?;
        }
    }
}
