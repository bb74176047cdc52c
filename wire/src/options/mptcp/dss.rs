//! DSS (Data Sequence Signal), subtype 2: RFC 8684 §3.3 (Figure 9); same layout in RFC 6824.

use std::fmt;

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::field::cond;
use super::grammar::{expect_len, field, option_len, PResult};
use super::{hex16, subtype, EmitError, ExpectedLen, Writer};

/// Width of a data sequence number or data ACK on the wire (RFC 8684 §3.3: flags `a`, `m`).
///
/// A 4-byte value is the low 32 bits of the 64-bit one; widening it needs connection state
/// (the tracker's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqLen {
    Four,
    Eight,
}

impl SeqLen {
    /// 4 or 8.
    pub fn bytes(self) -> usize {
        match self {
            SeqLen::Four => 4,
            SeqLen::Eight => 8,
        }
    }

    fn from_flag(eight: bool) -> Self {
        if eight {
            SeqLen::Eight
        } else {
            SeqLen::Four
        }
    }
}

/// The Data ACK of a DSS option (flag `A`; width from flag `a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataAck {
    /// As on the wire: a 4-byte ACK is the 32-bit value, not widened.
    pub value: u64,
    pub len: SeqLen,
}

/// The mapping of a DSS option (flag `M`, RFC 8684 §3.3.1): data sequence number, subflow
/// sequence number relative to the subflow's initial sequence number, data-level length
/// (0 = infinite mapping, §3.7) and, when checksums were negotiated, the DSS checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DssMapping {
    /// Data Sequence Number as on the wire (a 4-byte DSN is the 32-bit value).
    pub dsn: u64,
    /// Width of the DSN on the wire (flag `m`).
    pub dsn_len: SeqLen,
    /// Subflow Sequence Number, relative to the subflow's ISN.
    pub subflow_seq: u32,
    pub data_level_length: u16,
    /// Present or not is not flagged: it is inferred from the option length.
    pub checksum: Option<u16>,
}

/// DSS (RFC 8684 §3.3, Figure 9).
///
/// ```text
/// kind=30 | len | subtype=2 | reserved (4) | reserved (3) F m M a A |
/// [Data ACK (4 or 8)] [DSN (4 or 8) | Subflow Sequence Number (4) | Data-Level Length (2) | [Checksum (2)]]
/// ```
///
/// `a`/`m` say nothing when `A`/`M` are clear; such bits, and the three reserved flag bits, are
/// kept in [`reserved_flags`](Self::reserved_flags) so that emit gives the same bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dss {
    /// Low nibble of byte 2 (reserved).
    pub reserved: u8,
    /// Bits of the flags byte that carry no field, in place: `0xe0`, plus `a` (0x02) when there
    /// is no data ACK and `m` (0x08) when there is no mapping. Other bits are ignored on emit.
    pub reserved_flags: u8,
    /// F: DATA_FIN (RFC 8684 §3.3.3).
    pub data_fin: bool,
    pub data_ack: Option<DataAck>,
    pub mapping: Option<DssMapping>,
}

impl Dss {
    pub const FLAG_DATA_FIN: u8 = 0x10;
    pub const FLAG_DSN_8: u8 = 0x08;
    pub const FLAG_MAPPING: u8 = 0x04;
    pub const FLAG_ACK_8: u8 = 0x02;
    pub const FLAG_ACK: u8 = 0x01;
    const RESERVED_FLAGS: u8 = 0xe0;

    /// Which flag bits are "reserved" given what is present.
    pub(super) fn reserved_mask(has_ack: bool, has_mapping: bool) -> u8 {
        let mut mask = Self::RESERVED_FLAGS;
        if !has_ack {
            mask |= Self::FLAG_ACK_8;
        }
        if !has_mapping {
            mask |= Self::FLAG_DSN_8;
        }
        mask
    }

    /// The flags byte (byte 3) this option has on the wire.
    pub fn flags(&self) -> u8 {
        let mut flags = self.reserved_flags & Self::reserved_mask(self.data_ack.is_some(), self.mapping.is_some());
        if self.data_fin {
            flags |= Self::FLAG_DATA_FIN;
        }
        if let Some(ack) = &self.data_ack {
            flags |= Self::FLAG_ACK;
            if ack.len == SeqLen::Eight {
                flags |= Self::FLAG_ACK_8;
            }
        }
        if let Some(m) = &self.mapping {
            flags |= Self::FLAG_MAPPING;
            if m.dsn_len == SeqLen::Eight {
                flags |= Self::FLAG_DSN_8;
            }
        }
        flags
    }

    pub(super) fn wire_len(&self) -> usize {
        4 + self.data_ack.map_or(0, |a| a.len.bytes())
            + self.mapping.map_or(0, |m| m.dsn_len.bytes() + 4 + 2 + 2 * usize::from(m.checksum.is_some()))
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let st = subtype::DSS;
        w.u8(st << 4 | (self.reserved & 0x0f))?;
        w.u8(self.flags())?;
        if let Some(ack) = &self.data_ack {
            w.seq(ack.value, ack.len, st)?;
        }
        if let Some(m) = &self.mapping {
            w.seq(m.dsn, m.dsn_len, st)?;
            w.u32(m.subflow_seq)?;
            w.u16(m.data_level_length)?;
            if let Some(c) = m.checksum {
                w.u16(c)?;
            }
        }
        Ok(())
    }

    /// JSON: data_fin, data_ack, data_ack_len, dsn, dsn_len, subflow_seq, data_level_length,
    /// checksum.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let m = self.mapping.as_ref();
        map.serialize_entry("data_fin", &self.data_fin)?;
        map.serialize_entry("data_ack", &self.data_ack.map(|a| crate::json::Dec64(a.value)))?;
        map.serialize_entry("data_ack_len", &self.data_ack.map(|a| a.len.bytes()))?;
        map.serialize_entry("dsn", &m.map(|m| crate::json::Dec64(m.dsn)))?;
        map.serialize_entry("dsn_len", &m.map(|m| m.dsn_len.bytes()))?;
        map.serialize_entry("subflow_seq", &m.map(|m| m.subflow_seq))?;
        map.serialize_entry("data_level_length", &m.map(|m| m.data_level_length))?;
        map.serialize_entry("checksum", &m.and_then(|m| m.checksum).map(hex16))
    }
}

/// DSS from its subtype byte on: the flags say which of the data ACK and the mapping follow and
/// how wide they are; the length says whether the mapping carries a checksum.
#[inline]
pub(super) fn parse_dss(i: &[u8]) -> PResult<'_, Dss> {
    let len = option_len(i);
    let (i, (reserved, flags)) = (field::U8.map(|b| b & 0x0f), field::U8).parse_complete(i)?;
    let has_ack = flags & Dss::FLAG_ACK != 0;
    let has_mapping = flags & Dss::FLAG_MAPPING != 0;
    let ack_len = SeqLen::from_flag(flags & Dss::FLAG_ACK_8 != 0);
    let dsn_len = SeqLen::from_flag(flags & Dss::FLAG_DSN_8 != 0);

    // Checksum presence is not flagged (RFC 8684 §3.3): the length with and without it are the
    // only valid lengths when there is a mapping.
    let base = 4 + if has_ack { ack_len.bytes() } else { 0 } + if has_mapping { dsn_len.bytes() + 4 + 2 } else { 0 };
    let has_checksum = has_mapping && len == base + 2;
    // base <= 26, so this never saturates.
    let b = u8::try_from(base).unwrap_or(u8::MAX);
    let expected = if has_mapping { ExpectedLen::Either(b, b.saturating_add(2)) } else { ExpectedLen::Exactly(b) };
    expect_len(len == base || has_checksum, len, expected)?;

    let (i, data_ack) = cond(has_ack, field::Seq(ack_len).map(|value| DataAck { value, len: ack_len })).parse_complete(i)?;
    let (i, mapping) = cond(
        has_mapping,
        (field::Seq(dsn_len), field::U32, field::U16, cond(has_checksum, field::U16))
            .map(|(dsn, subflow_seq, data_level_length, checksum)| DssMapping { dsn, dsn_len, subflow_seq, data_level_length, checksum }),
    )
    .parse_complete(i)?;
    Ok((
        i,
        Dss {
            reserved,
            reserved_flags: flags & Dss::reserved_mask(has_ack, has_mapping),
            data_fin: flags & Dss::FLAG_DATA_FIN != 0,
            data_ack,
            mapping,
        },
    ))
}

/// `mptcp dss fin ack 1234 seq 5678 subseq 1 len 100 csum 0xabcd` (tcpdump's wording).
impl fmt::Display for Dss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mptcp dss")?;
        if self.data_fin {
            f.write_str(" fin")?;
        }
        if let Some(a) = &self.data_ack {
            write!(f, " ack {}", a.value)?;
        }
        if let Some(m) = &self.mapping {
            write!(f, " seq {} subseq {} len {}", m.dsn, m.subflow_seq, m.data_level_length)?;
            if let Some(c) = m.checksum {
                write!(f, " csum 0x{c:x}")?;
            }
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

    fn wire(flags: u8, rest: &[&[u8]]) -> Vec<u8> {
        let mut v = vec![30, 0, 0x20, flags];
        for r in rest {
            v.extend_from_slice(r);
        }
        v[1] = v.len() as u8;
        v
    }

    fn dss(w: &[u8]) -> Dss {
        match roundtrip(w) {
            MptcpOption::Dss(d) => d,
            other => panic!("not DSS: {other:?}"),
        }
    }

    const ACK4: [u8; 4] = 1234u32.to_be_bytes();
    const ACK8: [u8; 8] = 0x0102_0304_0506_0708u64.to_be_bytes();
    const DSN4: [u8; 4] = 5678u32.to_be_bytes();
    const DSN8: [u8; 8] = 0x1112_1314_1516_1718u64.to_be_bytes();
    const SSN: [u8; 4] = [0, 0, 0, 1];
    const DLL: [u8; 2] = [0, 100];
    const CSUM: [u8; 2] = [0xab, 0xcd];

    fn vectors() -> Vec<Vec<u8>> {
        vec![
            wire(0x00, &[]),
            wire(0x01, &[&ACK4]),
            wire(0x03, &[&ACK8]),
            wire(0x04, &[&DSN4, &SSN, &DLL]),
            wire(0x04, &[&DSN4, &SSN, &DLL, &CSUM]),
            wire(0x0c, &[&DSN8, &SSN, &DLL]),
            wire(0x05, &[&ACK4, &DSN4, &SSN, &DLL, &CSUM]),
            wire(0x0f, &[&ACK8, &DSN8, &SSN, &DLL]),
            wire(0x0f, &[&ACK8, &DSN8, &SSN, &DLL, &CSUM]),
            wire(0x1f, &[&ACK8, &DSN8, &[0, 0, 0, 0], &[0, 1]]),
            wire(0xea, &[]),
        ]
    }

    #[test]
    fn ack_and_mapping_with_checksum() {
        let w = wire(0x05, &[&ACK4, &DSN4, &SSN, &DLL, &CSUM]);
        assert_eq!(w.len(), 20);
        let d = dss(&w);
        assert_eq!(
            d,
            Dss {
                reserved: 0,
                reserved_flags: 0,
                data_fin: false,
                data_ack: Some(DataAck { value: 1234, len: SeqLen::Four }),
                mapping: Some(DssMapping {
                    dsn: 5678,
                    dsn_len: SeqLen::Four,
                    subflow_seq: 1,
                    data_level_length: 100,
                    checksum: Some(0xabcd),
                }),
            }
        );
        assert_eq!(d.to_string(), "mptcp dss ack 1234 seq 5678 subseq 1 len 100 csum 0xabcd");
        assert_eq!(
            serde_json::to_string(&MptcpOption::Dss(d)).unwrap(),
            r#"{"subtype":"DSS","data_fin":false,"data_ack":"1234","data_ack_len":4,"dsn":"5678","dsn_len":4,"subflow_seq":1,"data_level_length":100,"checksum":"abcd"}"#
        );
    }

    #[test]
    fn eight_byte_forms_without_checksum() {
        // What Linux sends by default: 8-byte data ACK and DSN, no checksum (length 26).
        let w = wire(0x0f, &[&ACK8, &DSN8, &SSN, &DLL]);
        assert_eq!(w.len(), 26);
        let d = dss(&w);
        assert_eq!(d.data_ack, Some(DataAck { value: 0x0102_0304_0506_0708, len: SeqLen::Eight }));
        let m = d.mapping.unwrap();
        assert_eq!((m.dsn, m.dsn_len, m.checksum), (0x1112_1314_1516_1718, SeqLen::Eight, None));
    }

    #[test]
    fn data_fin_without_data() {
        // RFC 8684 §3.3.3: a DATA_FIN without data has subflow seq 0 and length 1.
        let d = dss(&wire(0x1f, &[&ACK8, &DSN8, &[0, 0, 0, 0], &[0, 1]]));
        assert!(d.data_fin);
        assert_eq!(
            d.to_string(),
            format!("mptcp dss fin ack {} seq {} subseq 0 len 1", 0x0102_0304_0506_0708u64, 0x1112_1314_1516_1718u64)
        );
        assert_eq!(
            serde_json::to_string(&MptcpOption::Dss(d)).unwrap(),
            r#"{"subtype":"DSS","data_fin":true,"data_ack":"72623859790382856","data_ack_len":8,"dsn":"1230066625199609624","dsn_len":8,"subflow_seq":0,"data_level_length":1,"checksum":null}"#
        );
    }

    #[test]
    fn ack_only_json_has_null_mapping() {
        let d = dss(&wire(0x01, &[&ACK4]));
        assert_eq!(d.to_string(), "mptcp dss ack 1234");
        assert_eq!(
            serde_json::to_string(&MptcpOption::Dss(d)).unwrap(),
            r#"{"subtype":"DSS","data_fin":false,"data_ack":"1234","data_ack_len":4,"dsn":null,"dsn_len":null,"subflow_seq":null,"data_level_length":null,"checksum":null}"#
        );
    }

    #[test]
    fn width_bits_without_presence_bits_are_ignored_but_kept() {
        // a and m set, A and M clear: nothing follows; the bits (and reserved 0xe0) survive.
        let d = dss(&wire(0xea, &[]));
        assert_eq!((d.data_ack, d.mapping), (None, None));
        assert_eq!(d.reserved_flags, 0xea);
        let mut w = wire(0x00, &[]);
        w[2] = 0x2f;
        assert_eq!(dss(&w).reserved, 0x0f);
    }

    #[test]
    fn lengths_that_match_neither_form_are_errors() {
        // A set but no ack bytes.
        let e = parse(&wire(0x01, &[])).unwrap_err();
        assert_eq!(e.offset, 1);
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 4, expected: ExpectedLen::Exactly(8) });
        // Checksum-sized tail without a mapping.
        let e = parse(&wire(0x01, &[&ACK4, &CSUM])).unwrap_err();
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 10, expected: ExpectedLen::Exactly(8) });
        // Mapping with one stray byte.
        let e = parse(&wire(0x04, &[&DSN4, &SSN, &DLL, &[0]])).unwrap_err();
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 15, expected: ExpectedLen::Either(14, 16) });
        assert_eq!(e.to_string(), "MPTCP DSS option, byte 1: length 15 is not valid, expected 14 or 16");
    }

    #[test]
    fn all_vectors_roundtrip_and_truncations_never_panic() {
        for w in vectors() {
            roundtrip(&w);
            check_truncations(&w);
        }
    }

    #[test]
    fn four_byte_value_too_wide_is_unencodable() {
        let d = Dss {
            reserved: 0,
            reserved_flags: 0,
            data_fin: false,
            data_ack: Some(DataAck { value: 1 << 40, len: SeqLen::Four }),
            mapping: None,
        };
        assert!(MptcpOption::Dss(d).emit(&mut [0u8; 64]).is_err());
    }

    proptest! {
        #[test]
        fn arb_dss_roundtrips(d in arb::dss()) {
            emit_parse_eq(&MptcpOption::Dss(d))?;
        }
    }
}
