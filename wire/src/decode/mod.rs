//! Link, IP and TCP decoding of one captured packet.
//!
//! Link headers (Ethernet with 802.1Q/QinQ, Linux SLL and SLL2, raw IP, BSD null/loopback, PPP)
//! are peeled here; IPv4 (with options) and IPv6 (with extension headers) are sliced by
//! etherparse's lax slicer so snaplen-cut packets still decode; TCP is decoded by [`tcp`] so that a
//! header cut inside its options still yields the fixed fields.
//!
//! ```
//! use mptcp_wire::decode::{decode, Decoded, LINKTYPE_RAW};
//! // IPv4 + TCP SYN, no options, no payload.
//! let pkt = [0x45,0,0,40, 0,0,0x40,0, 64,6,0,0, 192,0,2,1, 192,0,2,2,
//!            0x9c,0x40,0x13,0x88, 0,0,0,1, 0,0,0,0, 0x50,0x02,0xff,0xff, 0,0,0,0];
//! match decode(LINKTYPE_RAW, &pkt) {
//!     Decoded::Tcp(seg) => assert_eq!((seg.sport, seg.dport, seg.flags.0), (40000, 5000, 0x02)),
//!     other => panic!("{other:?}"),
//! }
//! ```
use std::net::IpAddr;

use etherparse::LaxIpSlice;

pub mod tcp;
pub mod tunnel;
pub use tcp::{TcpFlags, TcpSegment};
use tunnel::{Header, Next, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MC};
pub use tunnel::{Tunnel, TunnelKind};

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_PPP: u32 = 9;
pub const LINKTYPE_RAW_OLD: u32 = 12;
pub const LINKTYPE_PPP_HDLC: u32 = 50;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// The protocol layer a decode error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Link,
    Ip,
    Tcp,
    Mptcp,
    /// A tunnel header (GRE, ERSPAN, VXLAN, Geneve, GTP-U, MPLS) between the outer and the inner IP.
    Tunnel,
}

/// The layer as text reports name it ("IP at byte 14"); JSON keeps the lowercase names.
impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Link => "link",
            Layer::Ip => "IP",
            Layer::Tcp => "TCP",
            Layer::Mptcp => "MPTCP",
            Layer::Tunnel => "tunnel",
        })
    }
}

/// A packet that could not be decoded as far as TCP: which layer, at which byte offset of the
/// captured packet, and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{layer} at byte {offset}: {what}")]
pub struct DecodeError {
    pub layer: Layer,
    pub offset: usize,
    pub what: &'static str,
}

/// What a captured packet turned out to be.
#[derive(Debug, Clone)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    /// A non-first IP fragment: counted, not decoded (no TCP header in it).
    Fragment,
    /// Not TCP over IP (ARP, UDP, unknown link type payloads, ...).
    Other,
    Error(DecodeError),
}

/// Decodes one packet of link type `linktype` down to TCP.
///
/// Tunnels (IP-in-IP, GRE, ERSPAN, VXLAN, Geneve, GTP-U, MPLS) are peeled down to the inner IP,
/// at most [`MAX_TUNNELS`] of them; the segment's [`TcpSegment::tunnel`] is the outermost.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded<'_> {
    match network_payload(linktype, data) {
        Ok(Some((offset, ethertype))) => after_link(data, 0, offset, ethertype, None),
        Ok(None) => Decoded::Other,
        Err(e) => Decoded::Error(e),
    }
}

/// How many encapsulations are peeled at most; a packet nested deeper is a decode error.
pub const MAX_TUNNELS: u8 = 4;

/// What follows a link header that ended at `offset` of `data` (whose first byte is at `base`
/// of the captured packet), given its Ethertype.
fn after_link(data: &[u8], base: usize, offset: usize, ethertype: u16, tunnel: Option<Tunnel>) -> Decoded<'_> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => match data.get(offset..) {
            Some(ip) => decode_ip(ip, base + offset, tunnel),
            None => Decoded::Error(link_err(base + offset, "link header longer than the packet")),
        },
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => match data.get(offset..) {
            Some(b) => peel(b, base + offset, tunnel::mpls(b), None, tunnel),
            None => Decoded::Error(link_err(base + offset, "link header longer than the packet")),
        },
        _ => Decoded::Other,
    }
}

/// Goes through one tunnel header `header` read from `bytes` (at `base` of the packet): records
/// it (the first one peeled is the outermost, with the outer IP's addresses `outer`) and
/// decodes what it carries.
fn peel(
    bytes: &[u8],
    base: usize,
    header: Result<Header, DecodeError>,
    outer: Option<(IpAddr, IpAddr)>,
    tunnel: Option<Tunnel>,
) -> Decoded<'_> {
    let h = match header {
        Ok(h) => h,
        Err(mut e) => {
            e.offset += base;
            return Decoded::Error(e);
        }
    };
    let tunnel = match tunnel {
        None => Tunnel { kind: h.kind, outer, id: h.id, layers: 1 },
        Some(t) if t.layers >= MAX_TUNNELS => {
            return Decoded::Error(DecodeError { layer: Layer::Tunnel, offset: base, what: "more than 4 nested tunnels" })
        }
        Some(t) => Tunnel { layers: t.layers + 1, ..t },
    };
    let Some(inner) = bytes.get(h.len..) else {
        return Decoded::Error(DecodeError { layer: Layer::Tunnel, offset: base + bytes.len(), what: "tunnel header cut short" });
    };
    let at = base + h.len;
    match h.next {
        Next::Ip => match inner.first().map(|v| v >> 4) {
            Some(4 | 6) => decode_ip(inner, at, Some(tunnel)),
            Some(_) => Decoded::Other,
            None => Decoded::Error(DecodeError { layer: Layer::Ip, offset: at, what: "bad or cut-short IP header" }),
        },
        Next::Ethernet => match ethernet(inner) {
            Ok((offset, ethertype)) => after_link(inner, at, offset, ethertype, Some(tunnel)),
            Err(mut e) => {
                e.offset += at;
                Decoded::Error(e)
            }
        },
        Next::Mpls => peel(inner, at, tunnel::mpls(inner), outer, Some(tunnel)),
        Next::Other => Decoded::Other,
    }
}

/// The tunnel an IP payload of protocol `proto` starts, if it is one we peel: IP in IP, GRE, or
/// UDP to the VXLAN, Geneve or GTP-U port.
fn tunneled<'a>(payload: &'a [u8], at: usize, proto: etherparse::IpNumber, outer: (IpAddr, IpAddr), tunnel: Option<Tunnel>) -> Decoded<'a> {
    use etherparse::IpNumber;
    let outer = Some(outer);
    match proto {
        IpNumber::IPV4 | IpNumber::IPV6 => {
            let h = Header { kind: TunnelKind::Ipip, id: None, len: 0, next: Next::Ip };
            peel(payload, at, Ok(h), outer, tunnel)
        }
        IpNumber::GRE => peel(payload, at, tunnel::gre(payload), outer, tunnel),
        IpNumber::UDP => {
            let parse = match be16(payload, 2) {
                Some(tunnel::UDP_PORT_VXLAN) => tunnel::vxlan,
                Some(tunnel::UDP_PORT_GENEVE) => tunnel::geneve,
                Some(tunnel::UDP_PORT_GTPU) => tunnel::gtpu,
                _ => return Decoded::Other,
            };
            match payload.get(8..) {
                Some(b) => peel(b, at + 8, parse(b), outer, tunnel),
                None => Decoded::Error(DecodeError { layer: Layer::Tunnel, offset: at + payload.len(), what: "UDP header cut short" }),
            }
        }
        _ => Decoded::Other,
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn link_err(offset: usize, what: &'static str) -> DecodeError {
    DecodeError { layer: Layer::Link, offset, what }
}

/// Peels the link header; returns the offset of its payload and its Ethertype, or `None` when
/// the packet does not carry IP.
fn network_payload(linktype: u32, data: &[u8]) -> Result<Option<(usize, u16)>, DecodeError> {
    let (offset, ethertype) = match linktype {
        LINKTYPE_ETHERNET => ethernet(data)?,
        LINKTYPE_LINUX_SLL => (16, be16(data, 14).ok_or(link_err(0, "Linux SLL header shorter than 16 bytes"))?),
        LINKTYPE_LINUX_SLL2 => (20, {
            if data.len() < 20 {
                return Err(link_err(0, "Linux SLL2 header shorter than 20 bytes"));
            }
            be16(data, 0).ok_or(link_err(0, "Linux SLL2 header shorter than 20 bytes"))?
        }),
        LINKTYPE_RAW | LINKTYPE_RAW_OLD => match data.first().map(|b| b >> 4) {
            Some(4) => (0, ETHERTYPE_IPV4),
            Some(6) => (0, ETHERTYPE_IPV6),
            Some(_) => return Ok(None),
            None => return Err(link_err(0, "empty packet")),
        },
        LINKTYPE_IPV4 => (0, ETHERTYPE_IPV4),
        LINKTYPE_IPV6 => (0, ETHERTYPE_IPV6),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let b = data.get(0..4).ok_or(link_err(0, "loopback header shorter than 4 bytes"))?;
            // Address family in the capturing host's byte order (NULL) or network order (LOOP):
            // accept either. AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let family = if le < 256 { le } else { be };
            match family {
                2 => (4, ETHERTYPE_IPV4),
                10 | 24 | 28 | 30 => (4, ETHERTYPE_IPV6),
                _ => return Ok(None),
            }
        }
        LINKTYPE_PPP | LINKTYPE_PPP_HDLC => {
            // Optional HDLC address/control bytes ff 03, then the PPP protocol (1 or 2 bytes).
            let mut at = if data.get(0..2) == Some(&[0xff, 0x03][..]) { 2 } else { 0 };
            let first = *data.get(at).ok_or(link_err(at, "PPP header cut short"))?;
            let proto = if first & 1 == 1 {
                at += 1;
                u16::from(first)
            } else {
                let p = be16(data, at).ok_or(link_err(at, "PPP protocol cut short"))?;
                at += 2;
                p
            };
            match proto {
                0x0021 => (at, ETHERTYPE_IPV4),
                0x0057 => (at, ETHERTYPE_IPV6),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some((offset, ethertype)))
}

/// An Ethernet header with its 802.1Q / QinQ tags: the offset of its payload and its Ethertype.
fn ethernet(data: &[u8]) -> Result<(usize, u16), DecodeError> {
    let mut at = 12;
    let mut ethertype = be16(data, at).ok_or(link_err(0, "Ethernet header shorter than 14 bytes"))?;
    // 802.1Q / QinQ: each tag is TPID(2, already read) + TCI(2), then the next type.
    let mut tags = 0;
    while matches!(ethertype, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) {
        tags += 1;
        if tags > 8 {
            return Err(link_err(at, "more than 8 VLAN tags"));
        }
        at += 4;
        ethertype = be16(data, at).ok_or(link_err(at, "VLAN tag cut short"))?;
    }
    Ok((at + 2, ethertype))
}

/// Decodes the IP header at `offset` of the packet, and the TCP in it or the tunnel it starts;
/// `tunnel` is the one this IP header came through, if any.
fn decode_ip(ip: &[u8], offset: usize, tunnel: Option<Tunnel>) -> Decoded<'_> {
    let slice = match LaxIpSlice::from_slice(ip) {
        Ok((slice, _ext_err)) => slice,
        Err(_) => return Decoded::Error(DecodeError { layer: Layer::Ip, offset, what: "bad or cut-short IP header" }),
    };
    let (src, dst) = (slice.source_addr(), slice.destination_addr());
    let ttl = match &slice {
        LaxIpSlice::Ipv4(v4) => v4.header().ttl(),
        LaxIpSlice::Ipv6(v6) => v6.header().hop_limit(),
    };
    let payload = slice.payload();
    // Bytes between the start of the IP header and the TCP header (IP header, options, extensions).
    let headers = (payload.payload.as_ptr() as usize).saturating_sub(ip.as_ptr() as usize);
    if payload.ip_number != etherparse::IpNumber::TCP {
        // A fragment of a tunnel packet is counted as a fragment (not reassembled).
        return match payload.ip_number {
            etherparse::IpNumber::IPV4 | etherparse::IpNumber::IPV6 | etherparse::IpNumber::GRE | etherparse::IpNumber::UDP
                if payload.fragmented =>
            {
                Decoded::Fragment
            }
            proto => tunneled(payload.payload, offset + headers, proto, (src, dst), tunnel),
        };
    }
    // Bytes of TCP header + payload on the wire, from the IP length fields; when they are zero
    // (TSO captures) or inconsistent, what was captured.
    let on_wire = match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            if h.fragments_offset().value() != 0 {
                return Decoded::Fragment;
            }
            let total = usize::from(h.total_len());
            if total >= headers {
                total - headers
            } else {
                payload.payload.len()
            }
        }
        LaxIpSlice::Ipv6(v6) => {
            if v6.is_payload_fragmented() {
                // Fragmented IPv6 TCP is vanishingly rare; count it rather than mis-decode it.
                return Decoded::Fragment;
            }
            let declared = usize::from(v6.header().payload_length());
            let ext = v6.extensions().slice().len();
            if declared == 0 {
                payload.payload.len()
            } else {
                declared.saturating_sub(ext)
            }
        }
    };
    let tcp_offset = offset + headers;
    let on_wire = if payload.len_source == etherparse::LenSource::Slice && !payload.incomplete { payload.payload.len() } else { on_wire };
    match tcp::decode_tcp(payload.payload, on_wire, src, dst) {
        Ok(seg) => Decoded::Tcp(TcpSegment { ttl, tunnel, ..seg }),
        Err(mut e) => {
            e.offset += tcp_offset;
            Decoded::Error(e)
        }
    }
}

/// Source and destination as one value, for tracking.
pub fn endpoints(seg: &TcpSegment<'_>) -> ((IpAddr, u16), (IpAddr, u16)) {
    ((seg.src, seg.sport), (seg.dst, seg.dport))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(payload: &[u8], options: &[u8]) -> Vec<u8> {
        assert_eq!(options.len() % 4, 0);
        let tcp_len = 20 + options.len();
        let total = 20 + tcp_len + payload.len();
        let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2];
        p.extend([0x9c, 0x40, 0x13, 0x88, 0, 0, 0, 100, 0, 0, 0, 7, ((tcp_len / 4) << 4) as u8, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        p
    }

    fn expect_tcp(d: Decoded<'_>) -> TcpSegment<'_> {
        match d {
            Decoded::Tcp(s) => s,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    #[test]
    fn raw_ipv4() {
        let p = ipv4_tcp(b"hello", &[1, 1, 1, 0]);
        let s = expect_tcp(decode(LINKTYPE_RAW, &p));
        assert_eq!(s.src.to_string(), "192.0.2.1");
        assert_eq!(s.dst.to_string(), "198.51.100.2");
        assert_eq!((s.sport, s.dport, s.seq, s.ack), (40000, 5000, 100, 7));
        assert_eq!(s.payload, b"hello");
        assert_eq!(s.payload_len, 5);
        assert_eq!(s.options, &[1, 1, 1, 0]);
        assert_eq!(s.flags.to_string(), "PA");
    }

    #[test]
    fn ethernet_qinq() {
        let ip = ipv4_tcp(b"x", &[]);
        let mut p = vec![0u8; 12];
        p.extend([0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
        p.extend(&ip);
        assert_eq!(expect_tcp(decode(LINKTYPE_ETHERNET, &p)).payload, b"x");
    }

    #[test]
    fn sll_sll2_null_ppp() {
        let ip = ipv4_tcp(b"abc", &[]);
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(&ip);
        assert_eq!(expect_tcp(decode(LINKTYPE_LINUX_SLL, &sll)).payload, b"abc");
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0u8; 18]);
        sll2.extend(&ip);
        assert_eq!(expect_tcp(decode(LINKTYPE_LINUX_SLL2, &sll2)).payload, b"abc");
        let mut null = vec![2, 0, 0, 0];
        null.extend(&ip);
        assert_eq!(expect_tcp(decode(LINKTYPE_NULL, &null)).payload, b"abc");
        let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
        ppp.extend(&ip);
        assert_eq!(expect_tcp(decode(LINKTYPE_PPP, &ppp)).payload, b"abc");
    }

    #[test]
    fn snaplen_cut_payload_keeps_wire_length() {
        let p = ipv4_tcp(&[7u8; 1000], &[]);
        let s = expect_tcp(decode(LINKTYPE_RAW, &p[..60]));
        assert_eq!(s.payload.len(), 20);
        assert_eq!(s.payload_len, 1000);
    }

    #[test]
    fn cut_inside_tcp_options_still_decodes_header() {
        let p = ipv4_tcp(b"", &[30, 12, 1, 0x81, 1, 2, 3, 4, 5, 6, 7, 8]);
        let s = expect_tcp(decode(LINKTYPE_RAW, &p[..46]));
        assert_eq!(s.options.len(), 6);
        assert!(s.options_truncated);
    }

    #[test]
    fn ipv4_with_options() {
        // IHL 6: one 4-byte option (NOP NOP NOP EOL) before TCP.
        let mut p = ipv4_tcp(b"opt", &[]);
        p.splice(20..20, [1, 1, 1, 0]);
        p[0] = 0x46;
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let s = expect_tcp(decode(LINKTYPE_RAW, &p));
        assert_eq!((s.sport, s.payload), (40000, &b"opt"[..]));
    }

    #[test]
    fn ipv6_with_extension_headers() {
        // IPv6, hop-by-hop options (8 bytes), then TCP.
        let tcp = &ipv4_tcp(b"six", &[])[20..];
        let mut p = vec![0x60, 0, 0, 0];
        p.extend(((8 + tcp.len()) as u16).to_be_bytes());
        p.extend([0, 64]); // next header: hop-by-hop
        p.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend([6, 0, 1, 4, 0, 0, 0, 0]); // next: TCP, len 0 (8 bytes), PadN
        p.extend_from_slice(tcp);
        let s = expect_tcp(decode(LINKTYPE_IPV6, &p));
        assert_eq!(s.src.to_string(), "2001:db8::1");
        assert_eq!((s.payload, s.payload_len), (&b"six"[..], 3));
    }

    #[test]
    fn non_first_fragment_is_skipped() {
        let mut p = ipv4_tcp(b"data", &[]);
        p[6] = 0x00;
        p[7] = 0x10; // fragment offset 16 * 8
        assert!(matches!(decode(LINKTYPE_RAW, &p), Decoded::Fragment));
    }

    /// An outer IPv4 header (203.0.113.1 > 203.0.113.2) of protocol `proto` around `payload`.
    fn outer_v4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, proto, 0, 0, 203, 0, 113, 1, 203, 0, 113, 2];
        p.extend_from_slice(payload);
        p
    }

    fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let len = (8 + payload.len()) as u16;
        let mut p = vec![0x9c, 0x41];
        p.extend(dport.to_be_bytes());
        p.extend(len.to_be_bytes());
        p.extend([0, 0]);
        p.extend_from_slice(payload);
        p
    }

    fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        p.extend(ethertype.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// Every tunnel this module peels, around the same inner IPv4/TCP packet, as Ethernet frames,
    /// with the tunnel each must report.
    fn tunnelled() -> Vec<(&'static str, Vec<u8>, Tunnel)> {
        let ip = ipv4_tcp(b"inner", &[30, 4, 0, 0x81]);
        let outer = Some(("203.0.113.1".parse().unwrap(), "203.0.113.2".parse().unwrap()));
        let t = |kind, id| Tunnel { kind, outer, id, layers: 1 };
        let mut gre_key = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0x03, 0xe9];
        gre_key.extend(&ip);
        let mut erspan = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x65, 0, 0, 0, 0];
        erspan.extend(ether(0x0800, &ip));
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 100, 0];
        vxlan.extend(ether(0x0800, &ip));
        let mut geneve = vec![0x01, 0, 0x65, 0x58, 0, 0, 7, 0, 1, 2, 3, 4];
        geneve.extend(ether(0x0800, &ip));
        let mut gtpu = vec![0x34, 0xff, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0x85, 1, 0x10, 0x09, 0x00];
        gtpu.extend(&ip);
        let mut mpls = vec![0x00, 0x3e, 0x90, 0x40, 0x00, 0x01, 0x01, 0x40];
        mpls.extend(&ip);
        let mut nested_vxlan = vec![0x08, 0, 0, 0, 0, 0, 5, 0];
        nested_vxlan.extend(ether(0x8847, &mpls));
        let mut gre_nested = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 9];
        gre_nested.extend(outer_v4(17, &udp(4789, &nested_vxlan)));
        vec![
            ("ipip", ether(0x0800, &outer_v4(4, &ip)), t(TunnelKind::Ipip, None)),
            ("gre key", ether(0x0800, &outer_v4(47, &gre_key)), t(TunnelKind::Gre, Some(1001))),
            ("erspan ii", ether(0x0800, &outer_v4(47, &erspan)), t(TunnelKind::Erspan, Some(0x65))),
            ("vxlan", ether(0x0800, &outer_v4(17, &udp(4789, &vxlan))), t(TunnelKind::Vxlan, Some(100))),
            ("geneve", ether(0x0800, &outer_v4(17, &udp(6081, &geneve))), t(TunnelKind::Geneve, Some(7))),
            ("gtp-u", ether(0x0800, &outer_v4(17, &udp(2152, &gtpu))), t(TunnelKind::GtpU, Some(0x1234))),
            ("mpls", ether(0x8847, &mpls), Tunnel { kind: TunnelKind::Mpls, outer: None, id: Some(1001), layers: 1 }),
            // GRE, then VXLAN in it, then MPLS in that: the GRE tunnel is the one reported.
            ("gre/vxlan/mpls", ether(0x0800, &outer_v4(47, &gre_nested)), Tunnel { layers: 3, ..t(TunnelKind::Gre, Some(9)) }),
        ]
    }

    #[test]
    fn every_tunnel_reaches_the_inner_tcp_and_reports_the_outermost() {
        for (name, p, want) in tunnelled() {
            let s = expect_tcp(decode(LINKTYPE_ETHERNET, &p));
            assert_eq!((s.src.to_string(), s.payload), ("192.0.2.1".into(), &b"inner"[..]), "{name}");
            assert_eq!(s.options, &[30, 4, 0, 0x81], "{name}");
            assert_eq!(s.tunnel, Some(want), "{name}");
        }
        // Not tunnels: plain TCP has none, other UDP is other.
        assert_eq!(expect_tcp(decode(LINKTYPE_RAW, &ipv4_tcp(b"x", &[]))).tunnel, None);
        assert!(matches!(decode(LINKTYPE_RAW, &outer_v4(17, &udp(53, &[0; 12]))), Decoded::Other));
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_an_error() {
        let mut p = ipv4_tcp(b"deep", &[]);
        for _ in 0..MAX_TUNNELS {
            p = outer_v4(4, &p);
        }
        assert!(matches!(decode(LINKTYPE_RAW, &p), Decoded::Tcp(s) if s.tunnel.map(|t| t.layers) == Some(MAX_TUNNELS)));
        let p = outer_v4(4, &p);
        assert!(matches!(decode(LINKTYPE_RAW, &p), Decoded::Error(DecodeError { layer: Layer::Tunnel, .. })));
    }

    #[test]
    fn a_fragment_of_a_tunnel_packet_is_a_fragment() {
        let mut p = outer_v4(4, &ipv4_tcp(b"frag", &[]));
        p[6] = 0x20; // more fragments
        assert!(matches!(decode(LINKTYPE_RAW, &p), Decoded::Fragment));
    }

    #[test]
    fn every_truncation_of_every_tunnel_is_safe_and_never_tcp_past_its_header() {
        for (name, p, _) in tunnelled() {
            for n in 0..p.len() {
                match decode(LINKTYPE_ETHERNET, &p[..n]) {
                    // A cut inside the inner TCP payload or options still decodes its header.
                    Decoded::Tcp(s) => assert!(s.payload.len() < 5 || s.options.len() < 4, "{name} cut at {n}"),
                    Decoded::Error(e) => assert!(e.offset <= n, "{name} cut at {n}: {e}"),
                    Decoded::Other | Decoded::Fragment => {}
                }
            }
            // Every byte flipped to every value at every offset: never a panic.
            let mut q = p.clone();
            for i in 0..q.len() {
                let orig = q[i];
                for v in [0u8, 0x01, 0x08, 0x3f, 0x45, 0x60, 0x80, 0xff] {
                    q[i] = v;
                    let _ = decode(LINKTYPE_ETHERNET, &q);
                }
                q[i] = orig;
            }
        }
    }

    #[test]
    fn every_truncation_of_every_link_type_is_safe() {
        let ip = ipv4_tcp(b"payload", &[30, 4, 0, 0x81]);
        for lt in [0, 1, 9, 12, 50, 101, 108, 113, 228, 229, 276, 9999] {
            let mut p = vec![0u8; 20];
            p.extend(&ip);
            for n in 0..=p.len() {
                let _ = decode(lt, &p[..n]);
            }
        }
    }
}
