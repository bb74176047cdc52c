//! Hand-built segments and MPTCP option bytes (RFC 8684 §3 layouts) for the tracker's unit tests.
use std::net::SocketAddr;

pub use super::kinds::{AnomalyKind, EndHow, RoleRule};
use super::{Analysis, Analyzer, Limits};
use mptcp_wire::decode::{TcpFlags, TcpSegment};

pub const SYN: u8 = TcpFlags::SYN;
pub const ACK: u8 = TcpFlags::ACK;
pub const FIN: u8 = TcpFlags::FIN;
pub const RST: u8 = TcpFlags::RST;

/// Keys with known v1 tokens and IDSNs (the crypto module's vectors).
pub const KEY_A: u64 = 0x1fdb5df328bc3def;
pub const KEY_B: u64 = 0x29a6c86981ad933c;
pub const TOKEN_A: u32 = 0x239fbdb0;
pub const TOKEN_B: u32 = 0xa35d6d82;
pub const IDSN_A: u64 = 14413541604287230029;

pub const CLIENT: &str = "10.0.0.1:40000";
pub const SERVER: &str = "10.0.0.2:80";

pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A plain TCP flow from CLIENT to SERVER, first seen at frame 1, nothing carried.
pub fn subflow() -> super::Subflow {
    super::Subflow::new(0, sa(CLIENT), sa(SERVER), RoleRule::Syn, super::SubflowKind::Tcp, 1, 0.0)
}

/// A connection found by its MP_CAPABLE SYN, CLIENT to SERVER, its first subflow 0.
pub fn connection() -> super::Connection {
    super::Connection::new(0, sa(CLIENT), sa(SERVER), super::kinds::FoundBy::MpCapable, RoleRule::Syn, 0, 0.0)
}

/// Feeds segments to an analyzer, one frame and one millisecond apart.
pub struct Feed {
    pub an: Analyzer<'static>,
    frame: u64,
}

impl Feed {
    pub fn new() -> Self {
        Feed { an: Analyzer::new(Limits::default()), frame: 0 }
    }
    pub fn with_limits(limits: Limits) -> Self {
        Feed { an: Analyzer::new(limits), frame: 0 }
    }
    /// One segment from `src` to `dst`; `ms` is its timestamp.
    #[allow(clippy::too_many_arguments)]
    pub fn seg(&mut self, ms: u64, src: &str, dst: &str, flags: u8, seq: u32, ack: u32, opts: &[u8], payload: &[u8]) -> &mut Self {
        self.frame += 1;
        let (s, d) = (sa(src), sa(dst));
        let seg = TcpSegment {
            src: s.ip(),
            dst: d.ip(),
            sport: s.port(),
            dport: d.port(),
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 65535,
            ttl: 64,
            checksum: 0,
            tunnel: None,
            options: opts,
            options_truncated: false,
            payload,
            payload_len: payload.len() as u32,
        };
        self.an.packet(self.frame, ms * 1_000_000, &seg);
        self
    }
    pub fn finish(self) -> Analysis {
        self.an.finish()
    }
}

/// MP_CAPABLE v1 SYN (flags: A = 0x80 checksums, H = 0x01 HMAC-SHA256).
pub fn capable_syn(flags: u8) -> Vec<u8> {
    vec![30, 4, 0x01, flags]
}
pub fn capable_synack(flags: u8, key: u64) -> Vec<u8> {
    let mut v = vec![30, 12, 0x01, flags];
    v.extend_from_slice(&key.to_be_bytes());
    v
}
pub fn capable_ack(flags: u8, sender: u64, receiver: u64) -> Vec<u8> {
    let mut v = vec![30, 20, 0x01, flags];
    v.extend_from_slice(&sender.to_be_bytes());
    v.extend_from_slice(&receiver.to_be_bytes());
    v
}
pub fn join_syn(token: u32, nonce: u32, address_id: u8, backup: bool) -> Vec<u8> {
    let mut v = vec![30, 12, 0x10 | u8::from(backup), address_id];
    v.extend_from_slice(&token.to_be_bytes());
    v.extend_from_slice(&nonce.to_be_bytes());
    v
}
pub fn join_synack(hmac: u64, nonce: u32, address_id: u8) -> Vec<u8> {
    let mut v = vec![30, 16, 0x10, address_id];
    v.extend_from_slice(&hmac.to_be_bytes());
    v.extend_from_slice(&nonce.to_be_bytes());
    v
}
pub fn join_ack(hmac: &[u8; 20]) -> Vec<u8> {
    let mut v = vec![30, 24, 0x10, 0];
    v.extend_from_slice(hmac);
    v
}
/// DSS with an 8-byte mapping `(dsn, ssn, length)` and/or an 8-byte data ACK.
pub fn dss(mapping: Option<(u64, u32, u16)>, data_ack: Option<u64>, fin: bool, checksum: Option<u16>) -> Vec<u8> {
    let mut flags = 0u8;
    let mut body = Vec::new();
    if let Some(a) = data_ack {
        flags |= 0x01 | 0x02;
        body.extend_from_slice(&a.to_be_bytes());
    }
    if let Some((dsn, ssn, len)) = mapping {
        flags |= 0x04 | 0x08;
        body.extend_from_slice(&dsn.to_be_bytes());
        body.extend_from_slice(&ssn.to_be_bytes());
        body.extend_from_slice(&len.to_be_bytes());
        if let Some(c) = checksum {
            body.extend_from_slice(&c.to_be_bytes());
        }
    }
    if fin {
        flags |= 0x10;
    }
    let mut v = vec![30, 4 + body.len() as u8, 0x20, flags];
    v.extend_from_slice(&body);
    v
}
/// DSS with a 4-byte mapping.
pub fn dss4(dsn: u32, ssn: u32, len: u16) -> Vec<u8> {
    let mut v = vec![30, 14, 0x20, 0x04];
    v.extend_from_slice(&dsn.to_be_bytes());
    v.extend_from_slice(&ssn.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

/// A v1 MP_CAPABLE handshake between CLIENT (key A) and SERVER (key B), ISNs 1000 and 5000;
/// the client's next sequence number is 1001, the server's 5001.
pub fn handshake(f: &mut Feed) {
    f.seg(0, CLIENT, SERVER, SYN, 1000, 0, &capable_syn(0x01), &[]);
    f.seg(1, SERVER, CLIENT, SYN | ACK, 5000, 1001, &capable_synack(0x01, KEY_B), &[]);
    f.seg(2, CLIENT, SERVER, ACK, 1001, 5001, &capable_ack(0x01, KEY_A, KEY_B), &[]);
}
