//! MP_PRIO, subtype 5: RFC 8684 §3.3.8 (Figure 11) and RFC 6824 §3.3.8.

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::field::cond;
use super::grammar::{expect_len, field, option_len, PResult};
use super::{subtype, EmitError, ExpectedLen, Writer};

/// MP_PRIO (RFC 8684 §3.3.8): `kind=30 | len | subtype=5 | rsv (3) B | [Address ID]`.
///
/// RFC 8684 defines length 3 only; RFC 6824 allowed 4 with an address id (the subflow whose
/// priority changes). Both are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpPrio {
    /// Reserved bits of byte 2, in place (`byte & 0x0e`).
    pub reserved: u8,
    /// B: the sender wants this subflow used as backup.
    pub backup: bool,
    /// Present in the 4-byte (RFC 6824) form.
    pub address_id: Option<u8>,
}

impl MpPrio {
    const LENS: &'static [u8] = &[3, 4];

    pub(super) fn wire_len(&self) -> usize {
        3 + usize::from(self.address_id.is_some())
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u8(subtype::MP_PRIO << 4 | (self.reserved & 0x0e) | u8::from(self.backup))?;
        if let Some(id) = self.address_id {
            w.u8(id)?;
        }
        Ok(())
    }

    /// JSON: backup, address_id.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("backup", &self.backup)?;
        map.serialize_entry("address_id", &self.address_id)
    }
}

/// MP_PRIO from its subtype byte on: rsv (3) B, then the address id in the 4-byte form.
#[inline]
pub(super) fn parse_mp_prio(i: &[u8]) -> PResult<'_, MpPrio> {
    let len = option_len(i);
    expect_len(len == 3 || len == 4, len, ExpectedLen::OneOf(MpPrio::LENS))?;
    (field::U8, cond(len == 4, field::U8))
        .map(|(b, address_id)| MpPrio { reserved: b & 0x0e, backup: b & 0x01 != 0, address_id })
        .parse_complete(i)
}

/// `mptcp prio backup id 2` / `mptcp prio non-backup` (tcpdump's wording).
impl fmt::Display for MpPrio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.backup { "mptcp prio backup" } else { "mptcp prio non-backup" })?;
        if let Some(id) = self.address_id {
            write!(f, " id {id}")?;
        }
        Ok(())
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
    fn v1_and_v0_forms() {
        let opt = roundtrip(&[30, 3, 0x51]);
        assert_eq!(opt, MptcpOption::Prio(MpPrio { reserved: 0, backup: true, address_id: None }));
        assert_eq!(opt.to_string(), "mptcp prio backup");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_PRIO","backup":true,"address_id":null}"#);
        let opt = roundtrip(&[30, 4, 0x51, 2]);
        assert_eq!(opt.to_string(), "mptcp prio backup id 2");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_PRIO","backup":true,"address_id":2}"#);
        let opt = roundtrip(&[30, 3, 0x5e]);
        assert_eq!(opt, MptcpOption::Prio(MpPrio { reserved: 0x0e, backup: false, address_id: None }));
        assert_eq!(opt.to_string(), "mptcp prio non-backup");
    }

    #[test]
    fn other_lengths_are_errors() {
        let e = parse(&[30, 5, 0x51, 2, 0]).unwrap_err();
        assert_eq!((e.offset, e.subtype), (1, Some(5)));
    }

    #[test]
    fn truncations() {
        check_truncations(&[30, 3, 0x51]);
        check_truncations(&[30, 4, 0x50, 7]);
    }

    proptest! {
        #[test]
        fn arb_prio_roundtrips(p in arb::mp_prio()) {
            emit_parse_eq(&MptcpOption::Prio(p))?;
        }
    }
}
