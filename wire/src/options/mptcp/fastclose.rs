//! MP_FASTCLOSE, subtype 7: RFC 8684 §3.5 (Figure 14); same layout in RFC 6824.

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::{expect_len, field, option_len, PResult};
use super::{hex64, subtype, EmitError, ExpectedLen, Writer};

/// MP_FASTCLOSE (RFC 8684 §3.5): `kind=30 | len=12 | subtype=7 | reserved (12) | Option
/// Receiver's Key (64)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpFastClose {
    /// The 12 reserved bits: low nibble of byte 2 and byte 3, as a big-endian number.
    pub reserved: u16,
    /// The key of the host receiving this option, proving the sender knows it.
    pub receiver_key: u64,
}

impl MpFastClose {
    pub(super) const LEN: usize = 12;

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u16(u16::from(subtype::MP_FASTCLOSE) << 12 | (self.reserved & 0x0fff))?;
        w.u64(self.receiver_key)
    }

    /// JSON: receiver_key.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("receiver_key", &hex64(self.receiver_key))
    }
}

/// MP_FASTCLOSE from its subtype byte on: 12 reserved bits, then the receiver's key.
#[inline]
pub(super) fn parse_mp_fastclose(i: &[u8]) -> PResult<'_, MpFastClose> {
    let len = option_len(i);
    expect_len(len == MpFastClose::LEN, len, ExpectedLen::Exactly(12))?;
    (field::U16, field::U64).map(|(b, receiver_key)| MpFastClose { reserved: b & 0x0fff, receiver_key }).parse_complete(i)
}

/// `mptcp fast-close key 0x…` (tcpdump's wording).
impl fmt::Display for MpFastClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mptcp fast-close key 0x{:x}", self.receiver_key)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::arb;
    use super::super::tests::{check_truncations, emit_parse_eq, roundtrip};
    use super::super::{parse, MptcpOption};
    use super::*;
    use proptest::prelude::*;

    const W: [u8; 12] = [30, 12, 0x70, 0x00, 0x1f, 0xdb, 0x5d, 0xf3, 0x28, 0xbc, 0x3d, 0xef];

    #[test]
    fn parses_key() {
        let opt = roundtrip(&W);
        assert_eq!(opt, MptcpOption::FastClose(MpFastClose { reserved: 0, receiver_key: 0x1fdb_5df3_28bc_3def }));
        assert_eq!(opt.to_string(), "mptcp fast-close key 0x1fdb5df328bc3def");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_FASTCLOSE","receiver_key":"1fdb5df328bc3def"}"#);
    }

    #[test]
    fn other_lengths_are_errors() {
        let e = parse(&[30, 4, 0x70, 0]).unwrap_err();
        assert_eq!((e.offset, e.subtype), (1, Some(7)));
    }

    #[test]
    fn truncations() {
        check_truncations(&W);
    }

    proptest! {
        #[test]
        fn arb_fastclose_roundtrips(f in arb::mp_fastclose()) {
            emit_parse_eq(&MptcpOption::FastClose(f))?;
        }
    }
}
