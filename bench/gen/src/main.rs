//! `mptcp-gen`: writes a synthetic MPTCP v1 capture (classic pcap, Ethernet) for scale
//! benchmarks, as a stream: one packet is built at a time into a reused buffer and written through
//! a buffered writer, so memory stays constant whatever the number of connections.
//!
//! Every connection is one subflow between documentation addresses (clients 192.0.2.0/24 and
//! 198.51.100.0/24, servers 203.0.113.0/24) and everything about it (addresses, ports, keys, ISNs,
//! payload bytes) is a pure function of the seed and the connection's index: no per-connection
//! state is kept, each phase of the `open` and `never-end` modes recomputes it.
//!
//! A connection (RFC 8684, MPTCP v1, no DSS checksums, HMAC-SHA256):
//! SYN MP_CAPABLE (no key), SYN/ACK MP_CAPABLE (server key), ACK MP_CAPABLE (both keys);
//! client data in DSS mappings (64-bit DSN from the client IDSN + 1, relative subflow seq from 1,
//! 64-bit data ACK), a pure ACK every second full segment; server data the same way; DATA_FIN
//! both ways (a DSS with F, subflow seq 0, data-level length 1, RFC 8684 §3.3.3), each data-ACKed;
//! then FIN both ways and the last ACK.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sha2::{Digest, Sha256};

mod packet;
use packet::*;

/// First capture timestamp (2023-11-14T22:13:20Z), in seconds.
const EPOCH_S: u64 = 1_700_000_000;
const DEFAULT_SEED: u64 = 0x6d70_7463_702d_6765; // "mptcp-ge"

#[derive(Parser)]
#[command(version, about = "Write a synthetic MPTCP v1 capture (classic pcap, Ethernet) to standard output or -o FILE")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
    /// Seed of every random choice (keys, ISNs, payload bytes); same seed, same bytes out.
    #[arg(long, global = true, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Write the capture here instead of standard output.
    #[arg(short, long, global = true)]
    output: Option<PathBuf>,
    /// Also write the truth (connections, packets, bytes per direction) as JSON here.
    #[arg(long, global = true)]
    truth: Option<PathBuf>,
    /// Data-level payload bytes per connection and direction (sequential, open).
    #[arg(long, global = true, default_value_t = 1000)]
    bytes: u64,
    /// Client-to-server bytes per connection (default: --bytes).
    #[arg(long, global = true)]
    c2s_bytes: Option<u64>,
    /// Server-to-client bytes per connection (default: --bytes).
    #[arg(long, global = true)]
    s2c_bytes: Option<u64>,
    /// Largest payload of one segment (at most 1432: a 1500-byte IP packet with a 28-byte DSS
    /// option; the SYNs advertise MSS 1460 either way).
    #[arg(long, global = true, default_value_t = 1400, value_parser = clap::value_parser!(u16).range(1..=1432))]
    mss: u16,
    /// Microseconds between the starts of two connections (sequential, default 1000; syn-flood,
    /// default 10). A connection never starts before the previous one's last packet.
    #[arg(long, global = true)]
    spacing_us: Option<u64>,
    /// Microseconds between two packets of a connection (and between packets in open and
    /// never-end; never-end shrinks it so that no connection is idle for 0.3 s or more per round).
    #[arg(long, global = true, default_value_t = 50)]
    gap_us: u64,
    /// How the client's first data segment is mapped: in a DSS (as after a third ACK that was
    /// received), or in an MP_CAPABLE with data (both keys and the data-level length, RFC 8684
    /// §3.1, what Linux sends).
    #[arg(long, global = true, value_enum, default_value_t = FirstData::Dss)]
    first_data: FirstData,
    /// Nanosecond timestamps (pcap magic 0xa1b23c4d) instead of microseconds.
    #[arg(long, global = true)]
    nanos: bool,
}

#[derive(Subcommand)]
enum Mode {
    /// N connections one after another (open, data both ways, close), --spacing-us apart.
    Sequential {
        /// Number of connections.
        n: u64,
    },
    /// N connections all opened first (N open at once), then each sends its data, then all close.
    Open {
        /// Number of connections.
        n: u64,
    },
    /// N connections open, then exchange --segment-bytes data segments in round-robin (one
    /// direction per round, alternating), never close, until --packets packets were written.
    NeverEnd {
        /// Number of connections.
        n: u64,
        /// Total packets to write (handshakes included).
        #[arg(long)]
        packets: u64,
        /// Payload bytes of each data segment.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1432))]
        segment_bytes: u16,
    },
    /// N MP_CAPABLE SYNs from distinct 4-tuples, never answered.
    SynFlood {
        /// Number of connections.
        n: u64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FirstData {
    Dss,
    Mpc,
}

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64, used both as a hash of (seed, index, tag) and as a stream for payloads.

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(seed ^ a) ^ b.rotate_left(17)) ^ c.rotate_left(41))
}

const TAG_CKEY: u64 = 1;
const TAG_SKEY: u64 = 2;
const TAG_CISN: u64 = 3;
const TAG_SISN: u64 = 4;
const TAG_PORT: u64 = 5;
const TAG_DATA: u64 = 6;

/// Fills `buf` with the payload stream of (seed, connection, direction, data offset).
fn fill_payload(buf: &mut [u8], key: u64) {
    let mut s = key;
    let mut chunks = buf.chunks_exact_mut(8);
    for ch in &mut chunks {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        ch.copy_from_slice(&mix(s).to_le_bytes());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let b = mix(s).to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&b[..n]);
    }
}

// ---------------------------------------------------------------------------------------------
// A connection's parameters, all derived from (seed, index).

/// Client addresses: 192.0.2.1-254 then 198.51.100.1-254.
const CLIENT_IPS: u64 = 508;
const PORTS: u64 = 65536 - 1024;
const SERVER_PORT: u16 = 5201;

struct Conn {
    idx: u64,
    cip: [u8; 4],
    sip: [u8; 4],
    cport: u16,
    sport: u16,
    ckey: u64,
    skey: u64,
    cidsn: u64,
    sidsn: u64,
    cisn: u32,
    sisn: u32,
}

/// RFC 8684 §3.1: token = most significant 32 bits of SHA-256(key), IDSN = least significant 64.
fn token_idsn(key: u64) -> (u32, u64) {
    let d = Sha256::digest(key.to_be_bytes());
    let token = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let mut low = [0u8; 8];
    low.copy_from_slice(&d[24..32]);
    (token, u64::from_be_bytes(low))
}

impl Conn {
    /// Connection `idx`; `keys` false skips the SHA-256 (SYN-only use).
    fn new(seed: u64, idx: u64, keys: bool) -> Conn {
        // (client address, client port) is unique for CLIENT_IPS * PORTS (32.7 M) connections.
        let j = idx % CLIENT_IPS;
        let cip = if j < 254 { [192, 0, 2, 1 + j as u8] } else { [198, 51, 100, 1 + (j - 254) as u8] };
        let port_off = hash(seed, 0, TAG_PORT, 0) % PORTS;
        let cport = 1024 + ((idx / CLIENT_IPS + port_off) % PORTS) as u16;
        let sip = [203, 0, 113, 1 + (idx % 251) as u8];
        let nonzero = |v: u64| if v == 0 { 1 } else { v };
        let ckey = nonzero(hash(seed, idx, TAG_CKEY, 0));
        let skey = nonzero(hash(seed, idx, TAG_SKEY, 0));
        let (cidsn, sidsn) = if keys { (token_idsn(ckey).1, token_idsn(skey).1) } else { (0, 0) };
        Conn {
            idx,
            cip,
            sip,
            cport,
            sport: SERVER_PORT,
            ckey,
            skey,
            cidsn,
            sidsn,
            cisn: hash(seed, idx, TAG_CISN, 0) as u32,
            sisn: hash(seed, idx, TAG_SISN, 0) as u32,
        }
    }
}

/// Window field after the handshake (scale 7: 64 KiB).
const WIN: u16 = 512;

/// Per-run constants of the connection flow.
struct Flow {
    c2s: u64,
    s2c: u64,
    mss: u64,
    gap_ns: u64,
    first_data: FirstData,
}

/// A clock that advances by the packet gap at each packet.
struct Clock {
    t: u64,
}

impl Clock {
    fn tick(&mut self, gap: u64) -> u64 {
        let t = self.t;
        self.t += gap;
        t
    }
}

fn payload_key(seed: u64, c: &Conn, dir: Dir, off: u64) -> u64 {
    hash(seed, c.idx, TAG_DATA + (dir as u64) * 16, off)
}

fn handshake<W: Write>(g: &mut Gen<W>, fl: &Flow, c: &Conn, clk: &mut Clock) -> io::Result<()> {
    let mut o = Opts::new();
    o.syn_common().mpc_syn();
    let seg = Seg { dir: Dir::C2s, flags: SYN, seq: c.cisn, ack: 0, win: 64240, opts: &o, payload: (0, 0) };
    g.emit(clk.tick(fl.gap_ns), c, seg)?;
    let mut o = Opts::new();
    o.syn_common().mpc_synack(c.skey);
    let seg = Seg { dir: Dir::S2c, flags: SYN | ACK, seq: c.sisn, ack: c.cisn.wrapping_add(1), win: 65160, opts: &o, payload: (0, 0) };
    g.emit(clk.tick(fl.gap_ns), c, seg)?;
    let mut o = Opts::new();
    o.mpc_ack(c.ckey, c.skey);
    let seg =
        Seg { dir: Dir::C2s, flags: ACK, seq: c.cisn.wrapping_add(1), ack: c.sisn.wrapping_add(1), win: WIN, opts: &o, payload: (0, 0) };
    g.emit(clk.tick(fl.gap_ns), c, seg)
}

/// The sender's view of one direction: its ISN/IDSN and the peer's.
struct Side {
    dir: Dir,
    isn: u32,
    idsn: u64,
    peer_isn: u32,
    peer_idsn: u64,
}

fn side(c: &Conn, dir: Dir) -> Side {
    match dir {
        Dir::C2s => Side { dir, isn: c.cisn, idsn: c.cidsn, peer_isn: c.sisn, peer_idsn: c.sidsn },
        Dir::S2c => Side { dir, isn: c.sisn, idsn: c.sidsn, peer_isn: c.cisn, peer_idsn: c.cidsn },
    }
}

fn rev(d: Dir) -> Dir {
    match d {
        Dir::C2s => Dir::S2c,
        Dir::S2c => Dir::C2s,
    }
}

/// One data segment of `dir` at data offset `off` (DSN idsn+1+off, subflow seq 1+off), with the
/// peer's `peer_bytes` acknowledged at both levels.
#[allow(clippy::too_many_arguments)]
fn data_seg<W: Write>(
    g: &mut Gen<W>,
    c: &Conn,
    t: u64,
    dir: Dir,
    off: u64,
    len: u64,
    peer_bytes: u64,
    psh: bool,
    mpc: bool,
) -> io::Result<()> {
    let s = side(c, dir);
    let mut o = Opts::new();
    if mpc {
        o.mpc_data(c.ckey, c.skey, len as u16).pad();
    } else {
        let map = (s.idsn.wrapping_add(1 + off), (1 + off) as u32, len as u16);
        o.dss(Some(s.peer_idsn.wrapping_add(1 + peer_bytes)), Some(map), false).pad();
    }
    let seg = Seg {
        dir,
        flags: ACK | if psh { PSH } else { 0 },
        seq: s.isn.wrapping_add(1).wrapping_add(off as u32),
        ack: s.peer_isn.wrapping_add(1).wrapping_add(peer_bytes as u32),
        win: WIN,
        opts: &o,
        payload: (len as usize, payload_key(g.seed, c, dir, off)),
    };
    g.emit(t, c, seg)
}

/// A pure ACK from the receiver of `dir`'s data: `acked` bytes of `dir` received, the receiver
/// itself having sent `own` bytes.
fn pure_ack<W: Write>(g: &mut Gen<W>, c: &Conn, t: u64, dir: Dir, acked: u64, own: u64) -> io::Result<()> {
    let r = side(c, rev(dir));
    let mut o = Opts::new();
    o.dss(Some(r.peer_idsn.wrapping_add(1 + acked)), None, false);
    let seg = Seg {
        dir: r.dir,
        flags: ACK,
        seq: r.isn.wrapping_add(1).wrapping_add(own as u32),
        ack: r.peer_isn.wrapping_add(1).wrapping_add(acked as u32),
        win: WIN,
        opts: &o,
        payload: (0, 0),
    };
    g.emit(t, c, seg)
}

/// All of one direction's data, MSS-sized segments, a pure ACK from the peer after every second
/// segment but the last.
fn send_dir<W: Write>(g: &mut Gen<W>, fl: &Flow, c: &Conn, clk: &mut Clock, dir: Dir) -> io::Result<()> {
    let (total, peer_bytes, own_peer) = match dir {
        Dir::C2s => (fl.c2s, 0, 0),
        Dir::S2c => (fl.s2c, fl.c2s, fl.c2s),
    };
    let mut off = 0;
    let mut k = 0u64;
    while off < total {
        let len = fl.mss.min(total - off);
        let last = off + len == total;
        let mpc = k == 0 && dir == Dir::C2s && fl.first_data == FirstData::Mpc;
        data_seg(g, c, clk.tick(fl.gap_ns), dir, off, len, peer_bytes, last, mpc)?;
        off += len;
        if k % 2 == 1 && !last {
            // The receiver has sent `own_peer` bytes itself (the client, when the server sends).
            pure_ack(g, c, clk.tick(fl.gap_ns), dir, off, own_peer)?;
        }
        k += 1;
    }
    Ok(())
}

fn data<W: Write>(g: &mut Gen<W>, fl: &Flow, c: &Conn, clk: &mut Clock) -> io::Result<()> {
    send_dir(g, fl, c, clk, Dir::C2s)?;
    send_dir(g, fl, c, clk, Dir::S2c)
}

/// DATA_FIN both ways (each data-ACKed by the next packet), FIN both ways, last ACK.
fn close<W: Write>(g: &mut Gen<W>, fl: &Flow, c: &Conn, clk: &mut Clock) -> io::Result<()> {
    let (cb, sb) = (fl.c2s, fl.s2c);
    let cseq = c.cisn.wrapping_add(1).wrapping_add(cb as u32);
    let sseq = c.sisn.wrapping_add(1).wrapping_add(sb as u32);
    let cdfin = c.cidsn.wrapping_add(1 + cb);
    let sdfin = c.sidsn.wrapping_add(1 + sb);
    let dss = |ack: u64, fin_dsn: Option<u64>| {
        let mut o = Opts::new();
        // A DATA_FIN on a segment without data: subflow seq 0, data-level length 1 (§3.3.3).
        o.dss(Some(ack), fin_dsn.map(|d| (d, 0, 1)), fin_dsn.is_some()).pad();
        o
    };
    let steps = [
        // Client DATA_FIN, data-ACKing all the server's data.
        (Dir::C2s, ACK, cseq, sseq, dss(sdfin, Some(cdfin))),
        // Server DATA_FIN, data-ACKing the client's.
        (Dir::S2c, ACK, sseq, cseq, dss(cdfin.wrapping_add(1), Some(sdfin))),
        // Client FIN, data-ACKing the server's DATA_FIN.
        (Dir::C2s, FIN | ACK, cseq, sseq, dss(sdfin.wrapping_add(1), None)),
        (Dir::S2c, FIN | ACK, sseq, cseq.wrapping_add(1), dss(cdfin.wrapping_add(1), None)),
        (Dir::C2s, ACK, cseq.wrapping_add(1), sseq.wrapping_add(1), dss(sdfin.wrapping_add(1), None)),
    ];
    for (dir, flags, seq, ack, o) in &steps {
        let seg = Seg { dir: *dir, flags: *flags, seq: *seq, ack: *ack, win: WIN, opts: o, payload: (0, 0) };
        g.emit(clk.tick(fl.gap_ns), c, seg)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

/// What was written: the truth a benchmark compares against.
struct Truth {
    mode: &'static str,
    connections: u64,
    /// Per connection when every connection carries the same (None in never-end when the last
    /// round was cut by --packets).
    c2s_per_conn: Option<u64>,
    s2c_per_conn: Option<u64>,
    /// Whether every connection ends with DATA_FIN and FIN both ways.
    closed: bool,
}

fn run<W: Write>(cli: &Cli, g: &mut Gen<W>) -> io::Result<Truth> {
    g.header()?;
    let c2s = cli.c2s_bytes.unwrap_or(cli.bytes);
    let s2c = cli.s2c_bytes.unwrap_or(cli.bytes);
    let mut fl = Flow { c2s, s2c, mss: u64::from(cli.mss), gap_ns: cli.gap_us * 1000, first_data: cli.first_data };
    let seed = cli.seed;
    let mut clk = Clock { t: 0 };
    let truth = match cli.mode {
        Mode::Sequential { n } => {
            let spacing = cli.spacing_us.unwrap_or(1000) * 1000;
            let mut start = 0u64;
            for i in 0..n {
                if i > 0 {
                    start = (start + spacing).max(clk.t);
                }
                clk.t = start;
                let c = Conn::new(seed, i, true);
                handshake(g, &fl, &c, &mut clk)?;
                data(g, &fl, &c, &mut clk)?;
                close(g, &fl, &c, &mut clk)?;
            }
            Truth { mode: "sequential", connections: n, c2s_per_conn: Some(c2s), s2c_per_conn: Some(s2c), closed: true }
        }
        Mode::Open { n } => {
            for i in 0..n {
                handshake(g, &fl, &Conn::new(seed, i, false), &mut clk)?;
            }
            for i in 0..n {
                data(g, &fl, &Conn::new(seed, i, true), &mut clk)?;
            }
            for i in 0..n {
                close(g, &fl, &Conn::new(seed, i, true), &mut clk)?;
            }
            Truth { mode: "open", connections: n, c2s_per_conn: Some(c2s), s2c_per_conn: Some(s2c), closed: true }
        }
        Mode::NeverEnd { n, packets, segment_bytes } => {
            g.budget = packets;
            // A round (n packets) lasts under 0.3 s and a handshake phase (3n) under 0.9 s.
            if let Some(q) = 300_000_000u64.checked_div(n) {
                fl.gap_ns = fl.gap_ns.min(q).max(1);
            }
            let mut opened = 0;
            for i in 0..n {
                if g.full() {
                    break;
                }
                handshake(g, &fl, &Conn::new(seed, i, false), &mut clk)?;
                opened += 1;
            }
            let seg = u64::from(segment_bytes);
            let mut round = 0u64;
            // Whether --packets stopped the run in the middle of a round.
            let mut cut = false;
            while !g.full() && n > 0 {
                let dir = if round & 1 == 0 { Dir::C2s } else { Dir::S2c };
                // Segments already sent in each direction before this round.
                let (c_done, s_done) = (round.div_ceil(2), round / 2);
                for i in 0..n {
                    if g.full() {
                        cut = i > 0;
                        break;
                    }
                    let c = Conn::new(seed, i, true);
                    let (off, peer) = match dir {
                        Dir::C2s => (c_done * seg, s_done * seg),
                        Dir::S2c => (s_done * seg, c_done * seg),
                    };
                    data_seg(g, &c, clk.tick(fl.gap_ns), dir, off, seg, peer, true, false)?;
                }
                round += 1;
            }
            // Every connection carries the same bytes when the last round was complete.
            let uniform = n > 0 && opened == n && !cut;
            Truth {
                mode: "never-end",
                connections: opened,
                c2s_per_conn: uniform.then(|| g.c2s_payload / n),
                s2c_per_conn: uniform.then(|| g.s2c_payload / n),
                closed: false,
            }
        }
        Mode::SynFlood { n } => {
            let spacing = cli.spacing_us.unwrap_or(10) * 1000;
            let mut o = Opts::new();
            o.syn_common().mpc_syn();
            for i in 0..n {
                let c = Conn::new(seed, i, false);
                let seg = Seg { dir: Dir::C2s, flags: SYN, seq: c.cisn, ack: 0, win: 64240, opts: &o, payload: (0, 0) };
                g.emit(i * spacing, &c, seg)?;
            }
            Truth { mode: "syn-flood", connections: n, c2s_per_conn: Some(0), s2c_per_conn: Some(0), closed: false }
        }
    };
    g.w.flush()?;
    Ok(truth)
}

fn opt_json(v: Option<u64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out: Box<dyn Write> = match &cli.output {
        Some(p) => match File::create(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("mptcp-gen: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdout().lock()),
    };
    let mut g = Gen::new(BufWriter::with_capacity(1 << 20, out), cli.seed, cli.nanos);
    let truth = match run(&cli, &mut g) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mptcp-gen: write error after {} packets: {e}", g.packets);
            return ExitCode::from(1);
        }
    };
    // The truth, once: printed as key=value on stderr and, with --truth, written as JSON.
    let fields: [(&str, String); 10] = [
        ("mode", format!("\"{}\"", truth.mode)),
        ("seed", cli.seed.to_string()),
        ("connections", truth.connections.to_string()),
        ("packets", g.packets.to_string()),
        ("c2s_bytes_per_conn", opt_json(truth.c2s_per_conn)),
        ("s2c_bytes_per_conn", opt_json(truth.s2c_per_conn)),
        ("c2s_bytes", g.c2s_payload.to_string()),
        ("s2c_bytes", g.s2c_payload.to_string()),
        ("closed", truth.closed.to_string()),
        ("pcap_bytes", g.pcap_bytes.to_string()),
    ];
    let line: Vec<String> = fields.iter().filter(|(k, _)| *k != "closed").map(|(k, v)| format!("{k}={}", v.trim_matches('"'))).collect();
    eprintln!("mptcp-gen: {}", line.join(" "));
    if let Some(p) = &cli.truth {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let json = format!("{{{}}}\n", body.join(","));
        if let Err(e) = std::fs::write(p, json) {
            eprintln!("mptcp-gen: {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from /work/shared/RFC-NOTES.md (checked against tcpdump's test captures).
    #[test]
    fn token_and_idsn_vectors() {
        assert_eq!(token_idsn(0x1fdb5df328bc3def), (0x239fbdb0, 14413541604287230029));
        assert_eq!(token_idsn(0x29a6c86981ad933c), (0xa35d6d82, 11713449205243392241));
    }

    #[test]
    fn checksum_of_a_known_ipv4_header() {
        // Classic example header (checksum field zeroed): checksum 0xb861.
        let h = [0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7];
        assert_eq!(fold(sum16(0, &h)), 0xb861);
    }

    fn gen(args: &[&str]) -> (Gen<Vec<u8>>, Truth) {
        let cli = Cli::parse_from(std::iter::once("mptcp-gen").chain(args.iter().copied()));
        let mut g = Gen::new(Vec::new(), cli.seed, cli.nanos);
        let t = run(&cli, &mut g).unwrap();
        (g, t)
    }

    #[test]
    fn same_seed_same_bytes() {
        let (a, _) = gen(&["sequential", "3", "--bytes", "3000"]);
        let (b, _) = gen(&["sequential", "3", "--bytes", "3000"]);
        let (c, _) = gen(&["sequential", "3", "--bytes", "3000", "--seed", "1"]);
        assert_eq!(a.w, b.w);
        assert_ne!(a.w, c.w);
        assert_eq!(a.pcap_bytes as usize, a.w.len());
        assert_eq!((a.c2s_payload, a.s2c_payload), (9000, 9000));
        // 3 handshake, 3 + 3 data segments, a pure ACK each way (after the 2nd segment), 5 to close.
        assert_eq!(a.packets, 3 * 16);
    }

    #[test]
    fn never_end_stops_at_the_packet_budget() {
        let (g, t) = gen(&["never-end", "3", "--packets", "18"]);
        assert_eq!((g.packets, t.connections, t.c2s_per_conn, t.s2c_per_conn), (18, 3, Some(200), Some(100)));
        let (g, t) = gen(&["never-end", "3", "--packets", "20"]);
        assert_eq!((g.packets, g.c2s_payload, g.s2c_payload), (20, 600, 500));
        assert_eq!((t.c2s_per_conn, t.s2c_per_conn), (None, None));
        let (g, t) = gen(&["never-end", "5", "--packets", "7"]);
        assert_eq!((g.packets, t.connections), (7, 3));
    }
}
