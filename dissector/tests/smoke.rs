//! Short randomized smoke runs of the fuzz entry points (see fuzz/): the MPTCP option parser,
//! the packet decoder and the whole pipeline, on bytes mutated from the testdata captures with
//! a seeded xorshift, so every run is the same and a failure names its iteration. The long runs
//! are `cargo fuzz`; these keep the contract "never panic on capture bytes" in the normal suite.
mod common;

use std::io::Cursor;

use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::report::analyze::{write_json, write_text, AnalyzeReport};
use mptcp_dissector::track::{Analyzer, Limits};
use mptcp_wire::decode::{self, decode, Decoded};
use mptcp_wire::options::mptcp::parse;
use mptcp_wire::options::mptcp_options;
use mptcp_wire::options::tcp::{TcpOption, TcpOptionIter, KIND_MPTCP};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// One to four mutations: bit flips, random bytes, interesting values, truncation, an
/// inserted or removed run of bytes.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 | 1 if len > 0 => {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = rng.byte();
            }
            3 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = [0, 1, 2, 0x7f, 0x80, 0xff, 30, 40][rng.below(8)];
            }
            4 => bytes.truncate(rng.below(len + 1)),
            5 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let ins: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                bytes.splice(at..at, ins);
            }
            _ if len > 0 => {
                let at = rng.below(len);
                let n = (1 + rng.below(8)).min(len - at);
                bytes.drain(at..at + n);
            }
            _ => {}
        }
    }
}

/// (link type, packet bytes) of the first packets of every testdata capture, and of the
/// tunnel captures (testdata/tunnels/: GRE, ERSPAN, VXLAN, Geneve, GTP-U, MPLS, IP in IP).
fn sample_packets(per_capture: usize) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut tunnels: Vec<String> = std::fs::read_dir(common::testdata().join("tunnels"))
        .expect("testdata/tunnels/")
        .filter_map(|e| e.ok())
        .map(|e| format!("tunnels/{}", e.file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    tunnels.sort();
    for name in common::captures().into_iter().chain(tunnels) {
        let mut r = CaptureReader::new(Cursor::new(common::read(&name))).expect("header");
        while let Ok(Some(p)) = r.next_packet() {
            if p.frame as usize > per_capture {
                break;
            }
            // the decoder reads headers; a short payload keeps the iterations fast
            out.push((p.linktype, p.data[..p.data.len().min(160)].to_vec()));
        }
    }
    out
}

/// Every MPTCP option (whole, kind and length included) in the sampled packets.
fn sample_options(packets: &[(u32, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (lt, data) in packets {
        if let Decoded::Tcp(seg) = decode(*lt, data) {
            for o in TcpOptionIter::new(seg.options).flatten() {
                if let TcpOption::Other { kind: KIND_MPTCP, bytes, .. } = o {
                    if !out.iter().any(|b| b == bytes) {
                        out.push(bytes.to_vec());
                    }
                }
            }
        }
    }
    // Seeds of every kind the kernel captures send: MP_CAPABLE (SYN, SYN/ACK, ACK), MP_JOIN
    // (SYN, SYN/ACK, ACK), DSS, ADD_ADDR, REMOVE_ADDR, MP_PRIO, MP_FASTCLOSE, MP_TCPRST.
    const KINDS_IN_TESTDATA: usize = 12;
    assert!(out.len() >= KINDS_IN_TESTDATA, "expected MPTCP options in testdata, found {}", out.len());
    out
}

// Each run is bounded by its iteration count, never by the clock: the same inputs are tried on
// a fast machine and a loaded CI runner, so a failure found once is found every time.

/// Mutated options per run; the seeds are every distinct MPTCP option of the first 400 frames of
/// each capture.
const OPTION_ITERATIONS: usize = 20_000;
/// Mutated packets per run, over the first 200 frames of each capture.
const PACKET_ITERATIONS: usize = 20_000;
/// Mutated capture prefixes per run; each one goes through the whole pipeline and both reports.
const PIPELINE_ITERATIONS: usize = 4_000;
/// Every eighth option is wholly random bytes behind the MPTCP kind and a length byte.
const RANDOM_OPTION_EVERY: usize = 8;
/// At least this share of the runs must get past the parser/decoder (5 per mille: the floor of
/// 100 in 20 000 these tests always had), so a run that only feeds garbage to the first length
/// check fails.
const MIN_ACCEPTED_PER_MILLE: usize = 5;

#[test]
fn mptcp_option_parser_round_trips_mutated_options() {
    let seeds = sample_options(&sample_packets(400));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for i in 0..OPTION_ITERATIONS {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        if i % RANDOM_OPTION_EVERY == 0 {
            // also wholly random options with the MPTCP kind and a plausible length
            let n = 2 + rng.below(40);
            bytes = (0..n).map(|_| rng.byte()).collect();
            bytes[0] = KIND_MPTCP;
            bytes[1] = n as u8;
        } else {
            mutate(&mut rng, &mut bytes);
        }
        if let Ok(opt) = parse(&bytes) {
            parsed += 1;
            let _ = opt.to_string();
            let mut buf = [0u8; 64];
            let n = opt.emit(&mut buf).unwrap_or_else(|e| panic!("iteration {i}: {bytes:02x?} parsed but emit failed: {e:?}"));
            assert_eq!(n, opt.buffer_len(), "iteration {i}: {bytes:02x?}");
            assert_eq!(Some(&buf[..n]), bytes.get(..n), "iteration {i}: round trip of {bytes:02x?}");
        }
    }
    assert!(parsed * 1000 > OPTION_ITERATIONS * MIN_ACCEPTED_PER_MILLE, "the mutations should leave many options valid ({parsed})");
}

const LINKTYPES: [u32; 11] = [
    decode::LINKTYPE_NULL,
    decode::LINKTYPE_ETHERNET,
    decode::LINKTYPE_PPP,
    decode::LINKTYPE_RAW_OLD,
    decode::LINKTYPE_PPP_HDLC,
    decode::LINKTYPE_RAW,
    decode::LINKTYPE_LOOP,
    decode::LINKTYPE_LINUX_SLL,
    decode::LINKTYPE_IPV4,
    decode::LINKTYPE_IPV6,
    decode::LINKTYPE_LINUX_SLL2,
];

#[test]
fn packet_decoder_survives_mutated_packets_on_every_link_type() {
    let seeds = sample_packets(200);
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let mut tcp = 0;
    for _ in 0..PACKET_ITERATIONS {
        let (lt, data) = &seeds[rng.below(seeds.len())];
        let mut bytes = data.clone();
        mutate(&mut rng, &mut bytes);
        // mostly the captured link type, sometimes any other
        let lt = if rng.below(4) == 0 { LINKTYPES[rng.below(LINKTYPES.len())] } else { *lt };
        if let Decoded::Tcp(seg) = decode(lt, &bytes) {
            tcp += 1;
            let _ = decode::endpoints(&seg);
            for (_, opt) in mptcp_options(seg.options).flatten() {
                let _ = opt.to_string();
            }
        }
    }
    assert!(tcp * 1000 > PACKET_ITERATIONS * MIN_ACCEPTED_PER_MILLE, "the mutations should leave many packets decodable ({tcp})");
}

#[test]
fn pipeline_survives_mutated_captures() {
    // capture prefixes of ~80 records (handshakes, joins, data) from a few captures
    let mut seeds = Vec::new();
    for name in ["two-subflows.pcap", "signal.pcap", "ethernet-one-path.pcap", "snaplen.pcap", "checksum.pcap"] {
        let file = common::read(name);
        let recs = common::pcap_records(&file);
        seeds.push(file[..recs[79].1.end].to_vec());
    }
    let ng = common::read("dumpcap.pcapng");
    seeds.push(ng[..ng.len().min(48 << 10)].to_vec());
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for i in 0..PIPELINE_ITERATIONS {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        // mutations aimed past the file header most of the time, where the packets are
        for _ in 0..1 + rng.below(6) {
            let at = 24 + rng.below(bytes.len().saturating_sub(24));
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 1 << rng.below(8);
            }
        }
        if i % 4 == 0 {
            mutate(&mut rng, &mut bytes);
        }
        let Ok(mut reader) = CaptureReader::new(Cursor::new(bytes)) else { continue };
        let (analysis, end) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()).with_hashes(true));
        let report = AnalyzeReport::new("smoke", &analysis, end.map(|e| e.to_string()));
        let mut out = Vec::new();
        write_text(&mut out, &report).expect("text report");
        write_json(&mut out, &report).expect("json report");
    }
}
