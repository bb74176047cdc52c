//! MP_TCPRST, subtype 8 (v1 only): RFC 8684 §3.6 (Figure 15).

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::{expect_len, field, option_len, PResult};
use super::{subtype, EmitError, ExpectedLen, Writer};

/// MP_TCPRST (RFC 8684 §3.6): `kind=30 | len=4 | subtype=8 | U V W T | Reason`.
///
/// Reason codes (RFC 8684 §3.6): 0 unspecified, 1 MPTCP-specific error, 2 lack of resources,
/// 3 administratively prohibited, 4 too much outstanding data, 5 unacceptable performance,
/// 6 middlebox interference. Unknown codes are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpTcpRst {
    /// The low nibble of byte 2: U (0x8), V (0x4), W (0x2), T (0x1).
    pub flags: u8,
    pub reason: u8,
}

impl MpTcpRst {
    pub(super) const LEN: usize = 4;
    /// T: the error is transient, the subflow may be retried.
    pub const FLAG_TRANSIENT: u8 = 0x1;

    /// T flag.
    pub fn transient(&self) -> bool {
        self.flags & Self::FLAG_TRANSIENT != 0
    }

    /// The reason in words (RFC 8684 §3.6), `None` for a code the RFC does not define.
    pub fn reason_name(&self) -> Option<&'static str> {
        reason_name(self.reason)
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u8(subtype::MP_TCPRST << 4 | (self.flags & 0x0f))?;
        w.u8(self.reason)
    }

    /// JSON: flags (the nibble), transient (T), reason.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("flags", &self.flags)?;
        map.serialize_entry("transient", &self.transient())?;
        map.serialize_entry("reason", &self.reason)
    }
}

/// An MP_TCPRST reason code in words, as RFC 8684 §3.6 names it (and as Wireshark shows it,
/// lower-cased); `None` for a code the RFC does not define.
pub fn reason_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "unspecified error",
        1 => "MPTCP-specific error",
        2 => "lack of resources",
        3 => "administratively prohibited",
        4 => "too much outstanding data",
        5 => "unacceptable performance",
        6 => "middlebox interference",
        _ => return None,
    })
}

/// MP_TCPRST from its subtype byte on: the U V W T nibble, then the reason code.
#[inline]
pub(super) fn parse_mp_tcprst(i: &[u8]) -> PResult<'_, MpTcpRst> {
    let len = option_len(i);
    expect_len(len == MpTcpRst::LEN, len, ExpectedLen::Exactly(4))?;
    (field::U8, field::U8).map(|(b, reason)| MpTcpRst { flags: b & 0x0f, reason }).parse_complete(i)
}

/// `mptcp tcprst flags T reason 1 (MPTCP-specific error)`: set flags as letters in U V W T
/// order, `none` when clear; the reason's code, then its words (`unknown` past the RFC's).
impl fmt::Display for MpTcpRst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mptcp tcprst flags ")?;
        if self.flags & 0x0f == 0 {
            f.write_str("none")?;
        }
        for (bit, letter) in [(0x8, "U"), (0x4, "V"), (0x2, "W"), (0x1, "T")] {
            if self.flags & bit != 0 {
                f.write_str(letter)?;
            }
        }
        write!(f, " reason {} ({})", self.reason, self.reason_name().unwrap_or("unknown"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::arb;
    use super::super::tests::{check_truncations, emit_parse_eq, roundtrip};
    use super::super::{parse, MptcpOption};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flags_and_reason() {
        let opt = roundtrip(&[30, 4, 0x81, 0x01]);
        assert_eq!(opt, MptcpOption::TcpRst(MpTcpRst { flags: 0x1, reason: 1 }));
        assert_eq!(opt.to_string(), "mptcp tcprst flags T reason 1 (MPTCP-specific error)");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_TCPRST","flags":1,"transient":true,"reason":1}"#);
        let opt = roundtrip(&[30, 4, 0x8e, 0x06]);
        assert_eq!(opt.to_string(), "mptcp tcprst flags UVW reason 6 (middlebox interference)");
        let opt = roundtrip(&[30, 4, 0x80, 0x00]);
        assert_eq!(opt.to_string(), "mptcp tcprst flags none reason 0 (unspecified error)");
    }

    #[test]
    fn other_lengths_are_errors() {
        let e = parse(&[30, 3, 0x81]).unwrap_err();
        assert_eq!((e.offset, e.subtype), (1, Some(8)));
        assert!(parse(&[30, 5, 0x81, 1, 0]).is_err());
    }

    #[test]
    fn truncations() {
        check_truncations(&[30, 4, 0x81, 0x01]);
    }

    proptest! {
        #[test]
        fn arb_tcprst_roundtrips(t in arb::mp_tcprst()) {
            emit_parse_eq(&MptcpOption::TcpRst(t))?;
        }
    }
}
