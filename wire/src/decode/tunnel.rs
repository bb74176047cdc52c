//! Tunnel headers between an outer IP (or Ethernet) header and the inner IP/TCP: what each one is
//! called, its id, and where its payload starts.
//!
//! Each parser reads one header from the start of `bytes` and returns what follows it ([`Next`])
//! with the header's length, so the caller ([`super`]) can rebase offsets and recurse. A header
//! cut short is an error with its offset within `bytes`; a header of another version or an
//! unknown payload type is [`Next::Other`] (not a tunnel we read), not an error.
use std::net::IpAddr;

use super::{DecodeError, Layer};

/// A tunnel a TCP segment came through: the outermost one when it came through several (the
/// addresses an operator sees on the wire and filters on), and how many it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// The outer IP header's addresses; `None` for MPLS straight over Ethernet (no outer IP).
    pub outer: Option<(IpAddr, IpAddr)>,
    /// VXLAN/Geneve VNI, GTP-U TEID, GRE key (when the K bit is set), the top MPLS label,
    /// ERSPAN session id; `None` for IP-in-IP and GRE without a key.
    pub id: Option<u32>,
    /// Number of encapsulations peeled to reach the inner IP header (1 when not nested).
    pub layers: u8,
}

/// The kinds of encapsulation that are peeled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TunnelKind {
    /// IPv4 or IPv6 straight in IPv4 or IPv6 (IP protocol 4 or 41: IPIP, 6in4/SIT, 4in6, 6in6).
    Ipip,
    /// GRE (IP protocol 47, RFC 2784/2890) carrying IP, Ethernet (0x6558) or MPLS.
    Gre,
    /// ERSPAN type I/II (GRE 0x88BE) or type III (GRE 0x22EB), carrying Ethernet.
    Erspan,
    /// VXLAN (UDP port 4789, RFC 7348), carrying Ethernet.
    Vxlan,
    /// Geneve (UDP port 6081, RFC 8926), carrying Ethernet or IP.
    Geneve,
    /// GTP-U G-PDU (UDP port 2152, 3GPP TS 29.281), carrying IP.
    GtpU,
    /// An MPLS label stack (Ethertype or GRE type 0x8847/0x8848), carrying IP.
    Mpls,
}

impl TunnelKind {
    /// The name JSON and text use.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Ipip => "ipip",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Mpls => "mpls",
        }
    }
}

impl std::fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `vxlan 4242 198.51.100.1 > 198.51.100.2` (id and addresses when known, `(2 layers)` when
/// nested): how text reports show a tunnel.
impl std::fmt::Display for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(id) = self.id {
            write!(f, " {id}")?;
        }
        if let Some((src, dst)) = self.outer {
            write!(f, " {src} > {dst}")?;
        }
        if self.layers > 1 {
            write!(f, " ({} layers)", self.layers)?;
        }
        Ok(())
    }
}

pub const UDP_PORT_VXLAN: u16 = 4789;
pub const UDP_PORT_GENEVE: u16 = 6081;
pub const UDP_PORT_GTPU: u16 = 2152;

pub(super) const ETHERTYPE_MPLS: u16 = 0x8847;
pub(super) const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;

/// What follows a tunnel header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// An IP header (v4 or v6, the caller reads the version).
    Ip,
    /// An Ethernet header.
    Ethernet,
    /// An MPLS label stack.
    Mpls,
    /// Something we do not decode.
    Other,
}

/// One tunnel header read: its kind and id, its length, and what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub kind: TunnelKind,
    pub id: Option<u32>,
    pub len: usize,
    pub next: Next,
}

fn err(offset: usize, what: &'static str) -> DecodeError {
    DecodeError { layer: Layer::Tunnel, offset, what }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be24(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 3).map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
}

/// What an Ethertype-like protocol field (GRE, Geneve) carries.
fn by_ethertype(proto: u16) -> Next {
    match proto {
        0x0800 | 0x86dd => Next::Ip,
        ETHERTYPE_TEB => Next::Ethernet,
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => Next::Mpls,
        _ => Next::Other,
    }
}

/// GRE (RFC 2784, key and sequence number RFC 2890), and ERSPAN in it. Version 1 (PPTP's
/// enhanced GRE, PPP inside) and the obsolete routing bit are not decoded.
pub(super) fn gre(b: &[u8]) -> Result<Header, DecodeError> {
    let flags = be16(b, 0).ok_or(err(0, "GRE header cut short"))?;
    let proto = be16(b, 2).ok_or(err(2, "GRE header cut short"))?;
    let (c, r, k, s, version) = (flags & 0x8000 != 0, flags & 0x4000 != 0, flags & 0x2000 != 0, flags & 0x1000 != 0, flags & 7);
    let other = Header { kind: TunnelKind::Gre, id: None, len: 4, next: Next::Other };
    if version != 0 || r {
        return Ok(other);
    }
    let mut len = 4 + if c { 4 } else { 0 };
    let key = if k {
        let key = be32(b, len).ok_or(err(len, "GRE key cut short"))?;
        len += 4;
        Some(key)
    } else {
        None
    };
    if s {
        len += 4;
    }
    if b.len() < len {
        return Err(err(b.len(), "GRE header cut short"));
    }
    match proto {
        ETHERTYPE_ERSPAN_2 if !s => {
            // ERSPAN type I: no ERSPAN header, no sequence number; Ethernet right away.
            Ok(Header { kind: TunnelKind::Erspan, id: None, len, next: Next::Ethernet })
        }
        ETHERTYPE_ERSPAN_2 | ETHERTYPE_ERSPAN_3 => {
            let e = b.get(len..).unwrap_or(&[]);
            let first = be16(e, 0).ok_or(err(len, "ERSPAN header cut short"))?;
            let session = be16(e, 2).ok_or(err(len + 2, "ERSPAN header cut short"))?;
            let (want_version, mut e_len) = if proto == ETHERTYPE_ERSPAN_2 { (1, 8) } else { (2, 12) };
            if first >> 12 != want_version {
                return Ok(Header { next: Next::Other, ..other });
            }
            if proto == ETHERTYPE_ERSPAN_3 {
                let hw = be16(e, 10).ok_or(err(len + 10, "ERSPAN header cut short"))?;
                // Frame type (bits 14-10) 0: Ethernet; 2: IP, not decoded.
                if (hw >> 10) & 0x1f != 0 {
                    return Ok(Header { next: Next::Other, ..other });
                }
                if hw & 1 != 0 {
                    e_len += 8; // O: the platform-specific sub-header follows
                }
            }
            if e.len() < e_len {
                return Err(err(len + e.len(), "ERSPAN header cut short"));
            }
            Ok(Header { kind: TunnelKind::Erspan, id: Some(u32::from(session & 0x3ff)), len: len + e_len, next: Next::Ethernet })
        }
        _ => Ok(Header { kind: TunnelKind::Gre, id: key, len, next: by_ethertype(proto) }),
    }
}

/// VXLAN (RFC 7348): 8 bytes, the VNI when the I flag is set, then Ethernet.
pub(super) fn vxlan(b: &[u8]) -> Result<Header, DecodeError> {
    let h = b.get(..8).ok_or(err(b.len().min(8), "VXLAN header cut short"))?;
    let vni = if h[0] & 0x08 != 0 { be24(h, 4) } else { None };
    Ok(Header { kind: TunnelKind::Vxlan, id: vni, len: 8, next: Next::Ethernet })
}

/// Geneve (RFC 8926): 8 bytes plus the options (their length in 4-byte units), then what the
/// protocol type says.
pub(super) fn geneve(b: &[u8]) -> Result<Header, DecodeError> {
    let h = b.get(..8).ok_or(err(b.len().min(8), "Geneve header cut short"))?;
    let len = 8 + usize::from(h[0] & 0x3f) * 4;
    let next = if h[0] >> 6 != 0 { Next::Other } else { by_ethertype(u16::from_be_bytes([h[2], h[3]])) };
    if b.len() < len {
        return Err(err(b.len(), "Geneve options cut short"));
    }
    Ok(Header { kind: TunnelKind::Geneve, id: be24(h, 4), len, next })
}

/// GTP-U (3GPP TS 29.281 §5): version 1 G-PDUs (message type 255) carry a user IP packet after
/// the 8-byte header, the optional 4 bytes (sequence number, N-PDU number, next extension type)
/// when E, S or PN is set, and the chain of extension headers (each: length in 4-byte units,
/// content, next type; type 0 ends it). Other messages (echo, error indication) are not tunnels.
pub(super) fn gtpu(b: &[u8]) -> Result<Header, DecodeError> {
    let h = b.get(..8).ok_or(err(b.len().min(8), "GTP-U header cut short"))?;
    let other = Header { kind: TunnelKind::GtpU, id: None, len: 8, next: Next::Other };
    // Version 1, protocol type GTP (not GTP').
    if h[0] >> 5 != 1 || h[0] & 0x10 == 0 || h[1] != 255 {
        return Ok(other);
    }
    let teid = be32(h, 4);
    let mut len = 8;
    if h[0] & 0x07 != 0 {
        let opt = b.get(8..12).ok_or(err(b.len().min(12), "GTP-U optional fields cut short"))?;
        len = 12;
        let mut next_type = if h[0] & 0x04 != 0 { opt[3] } else { 0 };
        // A chain longer than this is not a real packet: stop rather than walk it.
        let mut count = 0;
        while next_type != 0 {
            count += 1;
            if count > 16 {
                return Err(err(len, "more than 16 GTP-U extension headers"));
            }
            let units = usize::from(*b.get(len).ok_or(err(len, "GTP-U extension header cut short"))?);
            if units == 0 {
                return Err(err(len, "GTP-U extension header of length 0"));
            }
            let end = len + units * 4;
            next_type = *b.get(end - 1).ok_or(err(b.len(), "GTP-U extension header cut short"))?;
            len = end;
        }
    }
    Ok(Header { kind: TunnelKind::GtpU, id: teid, len, next: Next::Ip })
}

/// An MPLS label stack (RFC 3032): 4-byte entries until the bottom-of-stack bit; the top label
/// is the id. The payload's first nibble says IPv4 or IPv6 (no protocol field); anything else (a
/// pseudowire control word, Ethernet) is not decoded.
pub(super) fn mpls(b: &[u8]) -> Result<Header, DecodeError> {
    let top = be32(b, 0).ok_or(err(0, "MPLS label cut short"))?;
    let mut len = 0;
    loop {
        let entry = be32(b, len).ok_or(err(len, "MPLS label stack cut short"))?;
        len += 4;
        if entry & 0x100 != 0 {
            break;
        }
        if len >= 4 * 16 {
            return Err(err(len, "more than 16 MPLS labels"));
        }
    }
    let next = match b.get(len).map(|v| v >> 4) {
        Some(4 | 6) => Next::Ip,
        Some(_) => Next::Other,
        None => return Err(err(len, "MPLS payload cut short")),
    };
    Ok(Header { kind: TunnelKind::Mpls, id: Some(top >> 12), len, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_flags_and_key() {
        // C K S set: checksum+reserved, key 0x01020304, sequence, then IPv4.
        let b = [0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 9, 0x45];
        let h = gre(&b).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::Gre, Some(0x01020304), 16, Next::Ip));
        // Version 1 (PPTP) is not decoded.
        assert_eq!(gre(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0]).unwrap().next, Next::Other);
    }

    #[test]
    fn erspan_ii_and_iii() {
        // GRE with S, type II: version 1, VLAN 0, session 0x155.
        let mut b = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
        b.extend([0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0]);
        let h = gre(&b).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::Erspan, Some(0x155), 16, Next::Ethernet));
        // Type III with the O bit: 12 + 8 bytes of ERSPAN header.
        let mut b = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1];
        b.extend([0x20, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend([0; 8]);
        let h = gre(&b).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::Erspan, Some(7), 28, Next::Ethernet));
    }

    #[test]
    fn erspan_i_gre_ethernet_and_gre_mpls() {
        // ERSPAN type I: 0x88BE without the S bit, no ERSPAN header.
        let h = gre(&[0x00, 0x00, 0x88, 0xbe]).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::Erspan, None, 4, Next::Ethernet));
        // Transparent Ethernet bridging and MPLS, with a key.
        let h = gre(&[0x20, 0x00, 0x65, 0x58, 0, 0, 0, 5]).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::Gre, Some(5), 8, Next::Ethernet));
        assert_eq!(gre(&[0x00, 0x00, 0x88, 0x47]).unwrap().next, Next::Mpls);
        // ERSPAN II of the wrong version, ERSPAN III of frame type IP: not decoded.
        assert_eq!(gre(&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x20, 0, 0, 1, 0, 0, 0, 0]).unwrap().next, Next::Other);
        let iii_ip = [0x10, 0, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x08, 0];
        assert_eq!(gre(&iii_ip).unwrap().next, Next::Other);
    }

    #[test]
    fn gtpu_with_pdu_session_container() {
        // E set, next type 0x85 (PDU session container, 1 unit), then IPv4.
        let b = [0x34, 0xff, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0x00, 0x45];
        let h = gtpu(&b).unwrap();
        assert_eq!((h.kind, h.id, h.len, h.next), (TunnelKind::GtpU, Some(0x1234), 16, Next::Ip));
        // Echo request (type 1) is not a tunnel.
        assert_eq!(gtpu(&[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap().next, Next::Other);
        // A length-0 extension header would loop: an error.
        assert!(gtpu(&[0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn mpls_stack_and_geneve_options() {
        // Two labels: 100 then 200 (bottom of stack), then IPv6.
        let b = [0x00, 0x06, 0x40, 0x40, 0x00, 0x0c, 0x81, 0x40, 0x60];
        let h = mpls(&b).unwrap();
        assert_eq!((h.id, h.len, h.next), (Some(100), 8, Next::Ip));
        // Geneve with 8 bytes of options, VNI 0x0a0b0c, Ethernet.
        let mut b = vec![0x02, 0x00, 0x65, 0x58, 0x0a, 0x0b, 0x0c, 0];
        b.extend([0; 8]);
        let h = geneve(&b).unwrap();
        assert_eq!((h.id, h.len, h.next), (Some(0x0a0b0c), 16, Next::Ethernet));
        assert!(geneve(&b[..12]).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_or_other_never_a_panic() {
        let full: [&[u8]; 4] = [
            &[0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 9],
            &[0x34, 0xff, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0x00],
            &[0x00, 0x06, 0x40, 0x40, 0x00, 0x0c, 0x81, 0x40, 0x60],
            &[0x08, 0, 0, 0, 0, 0, 1, 0],
        ];
        for b in full {
            for n in 0..b.len() {
                let cut = &b[..n];
                for f in [gre, gtpu, mpls, vxlan, geneve] {
                    let _ = f(cut);
                }
            }
        }
        for n in 0..16 {
            assert!(gre(&full[0][..n]).is_err(), "GRE cut at {n}");
        }
    }
}
