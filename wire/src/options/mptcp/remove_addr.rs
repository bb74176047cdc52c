//! REMOVE_ADDR, subtype 4: RFC 8684 §3.4.2 (Figure 13); same layout in RFC 6824.

use std::fmt;

use serde::ser::SerializeMap;

use nom::combinator::rest;
use nom::Parser;

use super::grammar::{expect_len, field, option_len, PResult};
use super::{subtype, EmitError, ExpectedLen, Writer};

/// REMOVE_ADDR (RFC 8684 §3.4.2):
/// `kind=30 | len | subtype=4 | reserved (4) | Address ID | [Address ID …]`, length 3 + n, n ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoveAddr<'a> {
    /// Low nibble of byte 2 (reserved).
    pub reserved: u8,
    /// The address ids being removed, borrowed from the packet; never empty in a parsed option.
    pub address_ids: &'a [u8],
}

impl<'a> RemoveAddr<'a> {
    pub(super) fn wire_len(&self) -> usize {
        3 + self.address_ids.len()
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        if self.address_ids.is_empty() {
            return Err(EmitError::unencodable(subtype::REMOVE_ADDR, "no address id"));
        }
        w.u8(subtype::REMOVE_ADDR << 4 | (self.reserved & 0x0f))?;
        w.bytes(self.address_ids)
    }

    /// JSON: address_ids (list of integers).
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("address_ids", self.address_ids)
    }
}

/// REMOVE_ADDR from its subtype byte on: the reserved nibble, then one or more address ids
/// (the rest of the option, borrowed).
#[inline]
pub(super) fn parse_remove_addr(i: &[u8]) -> PResult<'_, RemoveAddr<'_>> {
    let len = option_len(i);
    expect_len(len >= 4, len, ExpectedLen::AtLeast(4))?;
    (field::U8.map(|b| b & 0x0f), rest).map(|(reserved, address_ids)| RemoveAddr { reserved, address_ids }).parse_complete(i)
}

/// `mptcp remove-addr id 3 4` (tcpdump says "rem-addr"; the project's text uses the RFC name).
impl fmt::Display for RemoveAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mptcp remove-addr id")?;
        for id in self.address_ids {
            write!(f, " {id}")?;
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

    #[test]
    fn one_and_several_ids() {
        let opt = roundtrip(&[30, 4, 0x40, 3]);
        assert_eq!(opt, MptcpOption::RemoveAddr(RemoveAddr { reserved: 0, address_ids: &[3] }));
        assert_eq!(opt.to_string(), "mptcp remove-addr id 3");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"REMOVE_ADDR","address_ids":[3]}"#);
        let opt = roundtrip(&[30, 6, 0x4f, 3, 4, 250]);
        let MptcpOption::RemoveAddr(r) = opt else { panic!() };
        assert_eq!((r.reserved, r.address_ids), (0x0f, &[3u8, 4, 250][..]));
        assert_eq!(opt.to_string(), "mptcp remove-addr id 3 4 250");
        assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"REMOVE_ADDR","address_ids":[3,4,250]}"#);
    }

    #[test]
    fn no_address_id_is_an_error() {
        let e = parse(&[30, 3, 0x40]).unwrap_err();
        assert_eq!(e.offset, 1);
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 3, expected: ExpectedLen::AtLeast(4) });
    }

    #[test]
    fn truncations() {
        check_truncations(&[30, 4, 0x40, 3]);
        check_truncations(&[30, 7, 0x40, 1, 2, 3, 4]);
    }

    proptest! {
        #[test]
        fn arb_remove_addr_roundtrips(r in arb::remove_addr()) {
            emit_parse_eq(&MptcpOption::RemoveAddr(r))?;
        }
    }
}
