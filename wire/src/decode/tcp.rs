//! TCP header decoding that tolerates a header cut inside its options (snaplen).
use std::fmt;
use std::net::IpAddr;

use super::{DecodeError, Layer, Tunnel};

/// TCP flag bits (byte 13 of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

/// Flags as letters (S F R P A U E W, "." for none): JSON and the other machine outputs. The
/// text of `dissect` writes them as tcpdump does (`report::dissect`, `.` for ACK).
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LETTERS: [(u8, char); 8] = [
            (TcpFlags::SYN, 'S'),
            (TcpFlags::FIN, 'F'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, 'A'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        if self.0 == 0 {
            return f.write_str(".");
        }
        for (bit, c) in LETTERS {
            if self.has(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A decoded TCP segment, borrowing options and payload from the packet.
#[derive(Debug, Clone)]
pub struct TcpSegment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Raw option bytes that were captured (all of them unless `options_truncated`).
    pub options: &'a [u8],
    /// Snaplen cut the header inside its options.
    pub options_truncated: bool,
    /// Captured payload bytes (fewer than `payload_len` when snaplen cut the packet).
    pub payload: &'a [u8],
    /// Payload length on the wire, from the IP length fields.
    pub payload_len: u32,
    /// IPv4 TTL or IPv6 hop limit (0 when not decoded from an IP header).
    pub ttl: u8,
    /// The TCP checksum field as captured (not verified).
    pub checksum: u16,
    /// The tunnel the segment came through (the outermost one when nested), `None` when its IP
    /// header was the packet's first.
    pub tunnel: Option<Tunnel>,
}

impl TcpSegment<'_> {
    /// The whole payload was captured.
    pub fn payload_complete(&self) -> bool {
        self.payload.len() as u64 == u64::from(self.payload_len)
    }
}

fn tcp_err(offset: usize, what: &'static str) -> DecodeError {
    DecodeError { layer: Layer::Tcp, offset, what }
}

/// Decodes TCP from `bytes` (captured, starting at the TCP header). `on_wire` is the length of
/// TCP header + payload that the IP header declares.
pub fn decode_tcp(bytes: &[u8], on_wire: usize, src: IpAddr, dst: IpAddr) -> Result<TcpSegment<'_>, DecodeError> {
    let h = bytes.get(0..20).ok_or(tcp_err(0, "TCP header shorter than 20 bytes"))?;
    let data_offset = usize::from(h[12] >> 4) * 4;
    if data_offset < 20 {
        return Err(tcp_err(12, "TCP data offset below 5 words"));
    }
    let captured_header = data_offset.min(bytes.len());
    let options = bytes.get(20..captured_header).unwrap_or(&[]);
    let payload = bytes.get(data_offset..).unwrap_or(&[]);
    let payload_len = on_wire.saturating_sub(data_offset);
    Ok(TcpSegment {
        src,
        dst,
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: TcpFlags(h[13]),
        window: u16::from_be_bytes([h[14], h[15]]),
        options,
        options_truncated: captured_header < data_offset,
        // Ethernet padding can follow a short segment: the IP length bounds the payload.
        payload: payload.get(..payload_len).unwrap_or(payload),
        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
        ttl: 0,
        checksum: u16::from_be_bytes([h[16], h[17]]),
        tunnel: None,
    })
}
