//! One packet at a time: the TCP and MPTCP options, the Ethernet/IPv4/TCP headers with their
//! checksums, and the pcap record, built into a reused buffer.
use std::io::{self, Write};

use crate::*;

// ---------------------------------------------------------------------------------------------
// TCP options.

pub(crate) const KIND_MPTCP: u8 = 30;
/// MP_CAPABLE subtype 0, version 1.
pub(crate) const MPC_V1: u8 = 0x01;
/// Flags: H (HMAC-SHA256) only; A (checksum required) off.
pub(crate) const MPC_FLAGS: u8 = 0x01;

/// A small fixed-capacity option list (TCP options are at most 40 bytes).
pub(crate) struct Opts {
    pub(crate) b: [u8; 40],
    pub(crate) n: usize,
}

impl Opts {
    pub(crate) fn new() -> Opts {
        Opts { b: [0; 40], n: 0 }
    }
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Opts {
        self.b[self.n..self.n + bytes.len()].copy_from_slice(bytes);
        self.n += bytes.len();
        self
    }
    /// NOPs up to a multiple of 4 bytes (the data offset counts 32-bit words).
    pub(crate) fn pad(&mut self) -> &mut Opts {
        while self.n & 3 != 0 {
            self.put(&[1]);
        }
        self
    }
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.b[..self.n]
    }
    /// MSS, NOP NOP SACK-permitted, NOP window scale 7 (SYN and SYN/ACK).
    pub(crate) fn syn_common(&mut self) -> &mut Opts {
        let m = 1460u16.to_be_bytes();
        self.put(&[2, 4, m[0], m[1], 1, 1, 4, 2, 1, 3, 3, 7])
    }
    pub(crate) fn mpc_syn(&mut self) -> &mut Opts {
        self.put(&[KIND_MPTCP, 4, MPC_V1, MPC_FLAGS])
    }
    pub(crate) fn mpc_synack(&mut self, skey: u64) -> &mut Opts {
        self.put(&[KIND_MPTCP, 12, MPC_V1, MPC_FLAGS]).put(&skey.to_be_bytes())
    }
    pub(crate) fn mpc_ack(&mut self, ckey: u64, skey: u64) -> &mut Opts {
        self.put(&[KIND_MPTCP, 20, MPC_V1, MPC_FLAGS]).put(&ckey.to_be_bytes()).put(&skey.to_be_bytes())
    }
    pub(crate) fn mpc_data(&mut self, ckey: u64, skey: u64, dll: u16) -> &mut Opts {
        self.put(&[KIND_MPTCP, 22, MPC_V1, MPC_FLAGS]).put(&ckey.to_be_bytes()).put(&skey.to_be_bytes()).put(&dll.to_be_bytes())
    }
    /// DSS (RFC 8684 §3.3): 64-bit data ACK and/or a mapping with a 64-bit DSN, no checksum.
    pub(crate) fn dss(&mut self, ack: Option<u64>, map: Option<(u64, u32, u16)>, fin: bool) -> &mut Opts {
        let mut flags = 0u8;
        let mut len = 4u8;
        if ack.is_some() {
            flags |= 0x01 | 0x02; // A, a (8 bytes)
            len += 8;
        }
        if map.is_some() {
            flags |= 0x04 | 0x08; // M, m (8 bytes)
            len += 14;
        }
        if fin {
            flags |= 0x10;
        }
        self.put(&[KIND_MPTCP, len, 0x20, flags]);
        if let Some(a) = ack {
            self.put(&a.to_be_bytes());
        }
        if let Some((dsn, ssn, dll)) = map {
            self.put(&dsn.to_be_bytes()).put(&ssn.to_be_bytes()).put(&dll.to_be_bytes());
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Packet writer.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    C2s,
    S2c,
}

pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const PSH: u8 = 0x08;
pub(crate) const ACK: u8 = 0x10;

pub(crate) const MAC_CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub(crate) const MAC_SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Ones' complement sum of big-endian 16-bit words (odd tail padded with zero).
pub(crate) fn sum16(mut acc: u64, data: &[u8]) -> u64 {
    let mut ch = data.chunks_exact(4);
    for c in &mut ch {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut rest = ch.remainder();
    if rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [b] = rest {
        acc += u64::from(*b) << 8;
    }
    acc
}

pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// One TCP segment to write.
pub(crate) struct Seg<'a> {
    pub(crate) dir: Dir,
    pub(crate) flags: u8,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) win: u16,
    pub(crate) opts: &'a Opts,
    /// Payload length and the key of its byte stream.
    pub(crate) payload: (usize, u64),
}

pub(crate) struct Gen<W: Write> {
    pub(crate) w: W,
    pub(crate) seed: u64,
    pub(crate) nanos: bool,
    /// Packets past this many are not written (never-end's --packets).
    pub(crate) budget: u64,
    pub(crate) frame: Vec<u8>,
    pub(crate) packets: u64,
    pub(crate) pcap_bytes: u64,
    pub(crate) c2s_payload: u64,
    pub(crate) s2c_payload: u64,
}

impl<W: Write> Gen<W> {
    pub(crate) fn new(w: W, seed: u64, nanos: bool) -> Gen<W> {
        Gen { w, seed, nanos, budget: u64::MAX, frame: Vec::with_capacity(2048), packets: 0, pcap_bytes: 0, c2s_payload: 0, s2c_payload: 0 }
    }

    pub(crate) fn header(&mut self) -> io::Result<()> {
        let magic: u32 = if self.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone, sigfigs 0
        h[16..20].copy_from_slice(&65535u32.to_le_bytes()); // snaplen
        h[20..24].copy_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        self.pcap_bytes += 24;
        self.w.write_all(&h)
    }

    pub(crate) fn full(&self) -> bool {
        self.packets >= self.budget
    }

    /// Builds and writes one Ethernet/IPv4/TCP frame at `t_ns` (ns since EPOCH_S).
    pub(crate) fn emit(&mut self, t_ns: u64, c: &Conn, s: Seg) -> io::Result<()> {
        if self.full() {
            return Ok(());
        }
        let (src, dst, sport, dport, smac, dmac) = match s.dir {
            Dir::C2s => (c.cip, c.sip, c.cport, c.sport, MAC_CLIENT, MAC_SERVER),
            Dir::S2c => (c.sip, c.cip, c.sport, c.cport, MAC_SERVER, MAC_CLIENT),
        };
        let opts = s.opts.bytes();
        debug_assert!(opts.len() & 3 == 0 && opts.len() <= 40);
        let (plen, pkey) = s.payload;
        let tcp_len = 20 + opts.len() + plen;
        let ip_len = 20 + tcp_len;
        let f = &mut self.frame;
        f.clear();
        // Ethernet II
        f.extend_from_slice(&dmac);
        f.extend_from_slice(&smac);
        f.extend_from_slice(&[0x08, 0x00]);
        // IPv4: DF, TTL 64, ID from the packet counter.
        let id = (self.packets & 0xffff) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&(ip_len as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&[0x40, 0x00, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        let ipck = fold(sum16(0, &f[14..34]));
        f[24..26].copy_from_slice(&ipck.to_be_bytes());
        // TCP
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&s.seq.to_be_bytes());
        f.extend_from_slice(&s.ack.to_be_bytes());
        f.push((((20 + opts.len()) / 4) as u8) << 4);
        f.push(s.flags);
        f.extend_from_slice(&s.win.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        f.extend_from_slice(opts);
        let pstart = f.len();
        f.resize(pstart + plen, 0);
        fill_payload(&mut f[pstart..], pkey);
        // Pseudo-header: addresses, protocol, TCP length.
        let mut acc = sum16(0, &f[26..34]);
        acc += 6 + tcp_len as u64;
        acc = sum16(acc, &f[34..]);
        let tck = fold(acc);
        f[50..52].copy_from_slice(&tck.to_be_bytes());

        let secs = EPOCH_S + t_ns / 1_000_000_000;
        let sub = t_ns % 1_000_000_000;
        let frac = if self.nanos { sub } else { sub / 1000 };
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(frac as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(f.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(f.len() as u32).to_le_bytes());
        self.w.write_all(&rec)?;
        self.w.write_all(f)?;
        self.pcap_bytes += 16 + f.len() as u64;
        self.packets += 1;
        match s.dir {
            Dir::C2s => self.c2s_payload += plen as u64,
            Dir::S2c => self.s2c_payload += plen as u64,
        }
        Ok(())
    }
}
