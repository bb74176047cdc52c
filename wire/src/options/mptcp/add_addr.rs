//! ADD_ADDR, subtype 3: RFC 8684 §3.4.1 (v1, Figure 12) and RFC 6824 §3.4.1 (v0, Figure 12).
//!
//! v0 and v1 share the subtype but not the meaning of the low nibble of byte 2: in v0 it is
//! IPVer (4 or 6), in v1 three reserved bits and E (echo). The option does not say which
//! version is in use, so the nibble decides: 4 or 6 is read as v0, anything else as v1. A v1
//! sender never produces 4 or 6 there (it would need reserved bits set, which RFC 8684 says
//! MUST be zero), and v0 only produces 4 or 6.
//!
//! v0 lengths are checked against IPVer (8/10 for IPv4, 20/22 for IPv6, no HMAC in v0); a
//! mismatch is an error. Wireshark (epan/dissectors/packet-tcp.c, dissect_tcpopt_mptcp) differs:
//! it uses the nibble only to label the field (IPVer when 4 or 6, echo otherwise) and takes the
//! address family, port and HMAC from the length alone for both versions, so it never rejects a
//! v0/v1 mix and would show e.g. nibble 4 with length 16 as IPv4 plus HMAC. tcpdump
//! (print-mptcp.c) also goes by length and prints the nibble as "v0-ip4"/"v0-ip6"/"v1"/"v1-echo".

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::ser::SerializeMap;

use nom::Parser;

use super::grammar::field::cond;
use super::grammar::{expect_len, field, option_len, PResult};
use super::{hex64, subtype, EmitError, ExpectedLen, Writer};

/// How to read the low nibble of byte 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddAddrVersion {
    /// RFC 6824: the nibble is IPVer, 4 or 6, and agrees with the address family.
    V0,
    /// RFC 8684: the nibble is reserved (3 bits) and E.
    V1 {
        /// E: this ADD_ADDR echoes one received from the peer (RFC 8684 §3.4.1).
        echo: bool,
        /// The three reserved bits, in place (`byte & 0x0e`). 0x04 and 0x06 with `echo` clear
        /// would read as v0 and cannot be emitted.
        reserved: u8,
    },
}

/// ADD_ADDR (RFC 8684 §3.4.1; RFC 6824 §3.4.1 for v0).
///
/// ```text
/// v1: kind=30 | len | subtype=3 | rsv (3) E | Address ID | Address (4 or 16) | [Port (2)] | [Truncated HMAC (8)]
/// v0: kind=30 | len | subtype=3 | IPVer (4) | Address ID | Address (4 or 16) | [Port (2)]
/// ```
///
/// Lengths: v1 IPv4 8/10 (+HMAC 16/18), IPv6 20/22 (+HMAC 28/30); v0 8/10 and 20/22.
/// The HMAC is kept whenever the length says it is there, echo or not (RFC 8684 leaves it out of
/// echoes, but the wire is what we report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddAddr {
    pub version: AddAddrVersion,
    pub address_id: u8,
    pub address: IpAddr,
    pub port: Option<u16>,
    /// Truncated HMAC (64 bits) as on the wire. RFC 8684 specifies the rightmost 64 bits of
    /// HMAC(Key-sender‖Key-receiver, Address ID‖Address‖Port); Linux before 5.8 sent the
    /// leftmost 64 bits.
    pub hmac: Option<u64>,
}

impl AddAddr {
    const V1_LENS: &'static [u8] = &[8, 10, 16, 18, 20, 22, 28, 30];
    const V0_V4_LENS: &'static [u8] = &[8, 10];
    const V0_V6_LENS: &'static [u8] = &[20, 22];

    /// E flag (v1 only).
    pub fn echo(&self) -> Option<bool> {
        match self.version {
            AddAddrVersion::V0 => None,
            AddAddrVersion::V1 { echo, .. } => Some(echo),
        }
    }

    /// IPVer field (v0 only): 4 or 6.
    pub fn ipver(&self) -> Option<u8> {
        match self.version {
            AddAddrVersion::V0 => Some(if self.address.is_ipv4() { 4 } else { 6 }),
            AddAddrVersion::V1 { .. } => None,
        }
    }

    pub(super) fn wire_len(&self) -> usize {
        let addr = if self.address.is_ipv4() { 4 } else { 16 };
        4 + addr + 2 * usize::from(self.port.is_some()) + 8 * usize::from(self.hmac.is_some())
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let st = subtype::ADD_ADDR;
        let nibble = match self.version {
            AddAddrVersion::V0 => {
                if self.hmac.is_some() {
                    return Err(EmitError::unencodable(st, "v0 ADD_ADDR has no HMAC"));
                }
                if self.address.is_ipv4() {
                    4
                } else {
                    6
                }
            }
            AddAddrVersion::V1 { echo, reserved } => {
                let nibble = (reserved & 0x0e) | u8::from(echo);
                if nibble == 4 || nibble == 6 {
                    return Err(EmitError::unencodable(st, "v1 reserved bits would read as a v0 IPVer"));
                }
                nibble
            }
        };
        w.u8(st << 4 | nibble)?;
        w.u8(self.address_id)?;
        match self.address {
            IpAddr::V4(a) => w.bytes(&a.octets())?,
            IpAddr::V6(a) => w.bytes(&a.octets())?,
        }
        if let Some(p) = self.port {
            w.u16(p)?;
        }
        if let Some(h) = self.hmac {
            w.u64(h)?;
        }
        Ok(())
    }

    /// JSON: echo (v1), ipver (v0), address_id, address, port, hmac.
    pub(super) fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("echo", &self.echo())?;
        map.serialize_entry("ipver", &self.ipver())?;
        map.serialize_entry("address_id", &self.address_id)?;
        map.serialize_entry("address", &self.address.to_string())?;
        map.serialize_entry("port", &self.port)?;
        map.serialize_entry("hmac", &self.hmac.map(hex64))
    }
}

/// ADD_ADDR from its subtype byte on: the low nibble picks v0 (IPVer 4 or 6) or v1, the length
/// (checked against the version's lengths) gives the address family, the port and the HMAC.
#[inline]
pub(super) fn parse_add_addr(i: &[u8]) -> PResult<'_, AddAddr> {
    let len = option_len(i);
    let (i, nibble) = field::U8.map(|b| b & 0x0f).parse_complete(i)?;
    let (version, ipv4, has_hmac) = match nibble {
        4 | 6 => {
            let lens = if nibble == 4 { AddAddr::V0_V4_LENS } else { AddAddr::V0_V6_LENS };
            expect_len(lens.iter().any(|&l| usize::from(l) == len), len, ExpectedLen::OneOf(lens))?;
            (AddAddrVersion::V0, nibble == 4, false)
        }
        _ => {
            let lens = AddAddr::V1_LENS;
            expect_len(lens.iter().any(|&l| usize::from(l) == len), len, ExpectedLen::OneOf(lens))?;
            let version = AddAddrVersion::V1 { echo: nibble & 0x01 != 0, reserved: nibble & 0x0e };
            (version, len < 20, matches!(len, 16 | 18 | 28 | 30))
        }
    };
    // All valid lengths are 8/20 (+2 for a port) (+8 for an HMAC).
    let has_port = len % 4 == 2;
    let (i, address_id) = field::U8.parse_complete(i)?;
    let (i, address) = if ipv4 {
        field::Array::<4>.map(|a| IpAddr::V4(Ipv4Addr::from(*a))).parse_complete(i)?
    } else {
        field::Array::<16>.map(|a| IpAddr::V6(Ipv6Addr::from(*a))).parse_complete(i)?
    };
    let (i, (port, hmac)) = (cond(has_port, field::U16), cond(has_hmac, field::U64)).parse_complete(i)?;
    Ok((i, AddAddr { version, address_id, address, port, hmac }))
}

/// `mptcp add-addr id 2 198.51.100.2 hmac 0x…`; `echo` and `v0` are printed when they apply,
/// a port as `198.51.100.2:8080` or `[2001:db8::1]:8080`.
impl fmt::Display for AddAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mptcp add-addr")?;
        match self.version {
            AddAddrVersion::V0 => f.write_str(" v0")?,
            AddAddrVersion::V1 { echo: true, .. } => f.write_str(" echo")?,
            AddAddrVersion::V1 { echo: false, .. } => {}
        }
        write!(f, " id {}", self.address_id)?;
        match (self.address, self.port) {
            (IpAddr::V6(a), Some(p)) => write!(f, " [{a}]:{p}")?,
            (a, Some(p)) => write!(f, " {a}:{p}")?,
            (a, None) => write!(f, " {a}")?,
        }
        if let Some(h) = self.hmac {
            write!(f, " hmac 0x{h:x}")?;
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

    const V4: [u8; 4] = [192, 168, 136, 225];
    const V6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
    const PORT: [u8; 2] = [0x1f, 0x90];
    const HMAC: [u8; 8] = [0xe0, 0xe0, 0x54, 0xc3, 0x44, 0x4e, 0x4c, 0x25];

    fn wire(nibble: u8, id: u8, rest: &[&[u8]]) -> Vec<u8> {
        let mut v = vec![30, 0, 0x30 | nibble, id];
        for r in rest {
            v.extend_from_slice(r);
        }
        v[1] = v.len() as u8;
        v
    }

    fn add_addr(w: &[u8]) -> AddAddr {
        match roundtrip(w) {
            MptcpOption::AddAddr(a) => a,
            other => panic!("not ADD_ADDR: {other:?}"),
        }
    }

    fn vectors() -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        for nibble in [0x0, 0x1] {
            for addr in [&V4[..], &V6[..]] {
                v.push(wire(nibble, 1, &[addr]));
                v.push(wire(nibble, 1, &[addr, &PORT]));
                v.push(wire(nibble, 1, &[addr, &HMAC]));
                v.push(wire(nibble, 1, &[addr, &PORT, &HMAC]));
            }
        }
        v.push(wire(0x4, 2, &[&V4]));
        v.push(wire(0x4, 2, &[&V4, &PORT]));
        v.push(wire(0x6, 2, &[&V6]));
        v.push(wire(0x6, 2, &[&V6, &PORT]));
        v
    }

    #[test]
    fn v1_ipv4_with_hmac() {
        // RFC-NOTES vector: address id 1, 192.168.136.225, no port, RFC 8684 (rightmost) HMAC.
        let w = wire(0x0, 1, &[&V4, &HMAC]);
        assert_eq!(w.len(), 16);
        let a = add_addr(&w);
        assert_eq!(
            a,
            AddAddr {
                version: AddAddrVersion::V1 { echo: false, reserved: 0 },
                address_id: 1,
                address: IpAddr::V4(Ipv4Addr::new(192, 168, 136, 225)),
                port: None,
                hmac: Some(0xe0e0_54c3_444e_4c25),
            }
        );
        assert_eq!(a.to_string(), "mptcp add-addr id 1 192.168.136.225 hmac 0xe0e054c3444e4c25");
        assert_eq!(
            serde_json::to_string(&MptcpOption::AddAddr(a)).unwrap(),
            r#"{"subtype":"ADD_ADDR","echo":false,"ipver":null,"address_id":1,"address":"192.168.136.225","port":null,"hmac":"e0e054c3444e4c25"}"#
        );
    }

    #[test]
    fn v1_echo_without_hmac() {
        let a = add_addr(&wire(0x1, 2, &[&[198, 51, 100, 2]]));
        assert_eq!(a.echo(), Some(true));
        assert_eq!(a.hmac, None);
        assert_eq!(a.to_string(), "mptcp add-addr echo id 2 198.51.100.2");
    }

    #[test]
    fn v1_ipv6_with_port_and_hmac() {
        let a = add_addr(&wire(0x0, 3, &[&V6, &PORT, &HMAC]));
        assert_eq!(a.address, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(a.port, Some(8080));
        assert_eq!(a.to_string(), "mptcp add-addr id 3 [2001:db8::1]:8080 hmac 0xe0e054c3444e4c25");
        assert_eq!(
            serde_json::to_string(&MptcpOption::AddAddr(a)).unwrap(),
            r#"{"subtype":"ADD_ADDR","echo":false,"ipver":null,"address_id":3,"address":"2001:db8::1","port":8080,"hmac":"e0e054c3444e4c25"}"#
        );
    }

    #[test]
    fn v0_ipver_forms() {
        let a = add_addr(&wire(0x4, 2, &[&[198, 51, 100, 2], &PORT]));
        assert_eq!(a.version, AddAddrVersion::V0);
        assert_eq!((a.ipver(), a.echo(), a.port), (Some(4), None, Some(8080)));
        assert_eq!(a.to_string(), "mptcp add-addr v0 id 2 198.51.100.2:8080");
        assert_eq!(
            serde_json::to_string(&MptcpOption::AddAddr(a)).unwrap(),
            r#"{"subtype":"ADD_ADDR","echo":null,"ipver":4,"address_id":2,"address":"198.51.100.2","port":8080,"hmac":null}"#
        );
        let a = add_addr(&wire(0x6, 2, &[&V6]));
        assert_eq!(a.ipver(), Some(6));
        assert!(a.address.is_ipv6());
    }

    #[test]
    fn v0_length_must_match_ipver() {
        // IPVer 4 with a v1-with-HMAC length: v0 has no HMAC, so this is an error (Wireshark
        // would show IPv4 + HMAC).
        let e = parse(&wire(0x4, 1, &[&V4, &HMAC])).unwrap_err();
        assert_eq!((e.offset, e.subtype), (1, Some(3)));
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 16, expected: ExpectedLen::OneOf(&[8, 10]) });
        // IPVer 6 with an IPv4 length.
        let e = parse(&wire(0x6, 1, &[&V4])).unwrap_err();
        assert_eq!(e.kind, OptionErrorKind::BadLength { len: 8, expected: ExpectedLen::OneOf(&[20, 22]) });
    }

    #[test]
    fn v1_other_lengths_are_errors() {
        for n in [3usize, 4, 7, 9, 12, 19, 24, 31] {
            let mut w = vec![30, n as u8, 0x30];
            w.resize(n, 0);
            assert!(parse(&w).is_err(), "length {n}");
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
    fn unencodable_values() {
        let a = AddAddr {
            version: AddAddrVersion::V1 { echo: false, reserved: 0x04 },
            address_id: 0,
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            hmac: None,
        };
        assert!(MptcpOption::AddAddr(a).emit(&mut [0u8; 64]).is_err());
        let a = AddAddr { version: AddAddrVersion::V0, hmac: Some(1), ..a };
        assert!(MptcpOption::AddAddr(a).emit(&mut [0u8; 64]).is_err());
    }

    proptest! {
        #[test]
        fn arb_add_addr_roundtrips(a in arb::add_addr()) {
            emit_parse_eq(&MptcpOption::AddAddr(a))?;
        }
    }
}
