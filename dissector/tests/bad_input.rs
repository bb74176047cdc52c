//! Bad input: every case gets a clear error or an anomaly, never a panic, and state stays
//! bounded (the caps are reported).
mod common;

use std::io::{self, Cursor, Read};

use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::track::{Analysis, Analyzer, Dir, Limits};
use mptcp_wire::decode::{decode, Decoded, LINKTYPE_LINUX_SLL2};
use mptcp_wire::options::mptcp::MptcpOption;
use mptcp_wire::options::mptcp_options;

fn run(bytes: Vec<u8>) -> (Analysis, Option<CaptureError>) {
    let mut reader = CaptureReader::new(Cursor::new(bytes)).expect("capture header");
    mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()))
}

fn pcap_header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut h = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    h.extend([0u8; 8]);
    h.extend(snaplen.to_le_bytes());
    h.extend(linktype.to_le_bytes());
    h
}

fn record(out: &mut Vec<u8>, ts: u32, incl_len: u32, orig_len: u32, data: &[u8]) {
    out.extend(ts.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(incl_len.to_le_bytes());
    out.extend(orig_len.to_le_bytes());
    out.extend_from_slice(data);
}

#[test]
fn empty_file_is_not_a_capture() {
    let err = CaptureReader::new(Cursor::new(Vec::new())).err().expect("error");
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
}

#[test]
fn text_file_is_not_a_capture() {
    let err = CaptureReader::new(Cursor::new(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())).err().expect("error");
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
    assert!(err.to_string().contains("not a pcap or pcapng capture"), "{err}");
}

#[test]
fn truncated_mid_record_keeps_the_packets_before() {
    let file = common::read("two-subflows.pcap");
    let recs = common::pcap_records(&file);
    let whole = common::analyze_bytes(file.clone(), Analyzer::new(Limits::default()));
    // cut inside the 100th record's data, and inside the 200th record's header
    for cut in [recs[99].1.start + 7, recs[199].1.start - 9] {
        let (a, end) = run(file[..cut].to_vec());
        let end = end.expect("truncation reported");
        assert!(end.is_truncation(), "{end}");
        let before = if cut < recs[100].1.start { 99 } else { 199 };
        assert_eq!(a.stats.packets, before, "{end}");
        assert!(end.to_string().contains(&format!("after frame {before}")), "{end}");
        assert_eq!(a.connections.len(), whole.connections.len());
    }
}

#[test]
fn absurd_snaplen_in_the_header_is_ignored() {
    let file = common::read("two-subflows.pcap");
    let mut bytes = file.clone();
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let (a, end) = run(bytes);
    assert!(end.is_none(), "{end:?}");
    let whole = common::analyze_bytes(file, Analyzer::new(Limits::default()));
    assert_eq!(a.stats.packets, whole.stats.packets);
    assert_eq!(a.connections.len(), whole.connections.len());
}

#[test]
fn absurd_incl_len_is_an_error_not_an_allocation() {
    for incl in [u32::MAX, 0x7fff_ffff, 0x1000_0000, 300_000] {
        let mut bytes = pcap_header(262_144, LINKTYPE_LINUX_SLL2);
        record(&mut bytes, 1, 4, 4, &[1, 2, 3, 4]);
        record(&mut bytes, 2, incl, 60, &[0u8; 64]);
        let (a, end) = run(bytes);
        let end = end.expect("error reported");
        assert_eq!(a.stats.packets, 1, "incl_len {incl}: {end}");
        assert!(end.to_string().contains("after frame 1"), "incl_len {incl}: {end}");
    }
}

#[test]
fn zero_length_packets_are_counted_as_undecodable() {
    let mut bytes = pcap_header(65535, LINKTYPE_LINUX_SLL2);
    for i in 0..10 {
        record(&mut bytes, i, 0, 0, &[]);
    }
    let (a, end) = run(bytes);
    assert!(end.is_none(), "{end:?}");
    assert_eq!(a.stats.packets, 10);
    assert_eq!(a.stats.tcp_packets, 0);
    assert!(a.anomalies.iter().any(|x| x.kind.name() == "undecodable_packet"), "{:?}", a.anomalies);
}

/// A pcap stream of `n` distinct MP_CAPABLE v1 SYNs (raw IPv4), generated as it is read.
struct SynFlood {
    n: u32,
    i: u32,
    buf: Vec<u8>,
    at: usize,
}

impl SynFlood {
    fn new(n: u32) -> Self {
        SynFlood { n, i: 0, buf: pcap_header(65535, 101), at: 0 }
    }
    fn fill(&mut self) {
        self.buf.clear();
        self.at = 0;
        if self.i == self.n {
            return;
        }
        let i = self.i;
        self.i += 1;
        let src = (0x0a00_0000u32 | (i >> 8)).to_be_bytes(); // 10.x.y.z
        let sport = 1024 + (i & 0xff) as u16;
        let mut p = vec![0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0];
        p.extend(src);
        p.extend([192, 0, 2, 2]);
        p.extend(sport.to_be_bytes());
        p.extend(80u16.to_be_bytes());
        p.extend(i.to_be_bytes()); // seq
        p.extend(0u32.to_be_bytes());
        p.extend([0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0]); // data offset 6, SYN
        p.extend([30, 4, 0x01, 0x81]); // MP_CAPABLE v1 SYN, flags A|H
        record(&mut self.buf, i / 1000, p.len() as u32, p.len() as u32, &p);
    }
}

impl Read for SynFlood {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.buf.len() {
            self.fill();
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_million_mp_capable_syns_hit_the_state_guard_and_report_it() {
    let n = 1_000_000;
    let mut reader = CaptureReader::new(SynFlood::new(n)).expect("header");
    let limits = Limits::default();
    let (a, end) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(limits));
    assert!(end.is_none(), "{end:?}");
    assert_eq!(a.stats.packets, u64::from(n));
    // Every SYN is a flow of its own: tracked and reported, or counted as not tracked.
    assert_eq!(a.subflows.len() as u64 + a.stats.flows_dropped, u64::from(n), "{:?}", a.stats);
    assert!(a.stats.flows_dropped > 0, "{:?}", a.stats);
    assert!(a.stats.peak_state_bytes <= limits.max_state_bytes as u64, "{:?}", a.stats);
    // reported once, not once per dropped flow
    let caps = a.anomalies.iter().filter(|x| x.kind.name() == "state_cap").count();
    assert_eq!(caps, 1, "{:?}", a.anomalies.iter().map(|x| x.kind).collect::<Vec<_>>());
}

/// The `nth` distinct c2s DSS mapping carrying payload: (file offsets of the DSN in every packet
/// that repeats it — Linux repeats a mapping on each segment it covers —, DSN width, DSN).
fn nth_mapping(file: &[u8], nth: usize) -> (Vec<usize>, usize, u64) {
    let mut distinct: Vec<(u64, u32)> = Vec::new();
    let mut found: Option<(Vec<usize>, usize, u64)> = None;
    for (_, range) in common::pcap_records(file) {
        let data = &file[range.clone()];
        let Decoded::Tcp(seg) = decode(LINKTYPE_LINUX_SLL2, data) else { continue };
        if seg.payload.is_empty() || seg.dport != 5201 {
            continue;
        }
        for (off, opt) in mptcp_options(seg.options).flatten() {
            let MptcpOption::Dss(dss) = opt else { continue };
            let Some(m) = dss.mapping else { continue };
            if !distinct.contains(&(m.dsn, m.subflow_seq)) {
                distinct.push((m.dsn, m.subflow_seq));
            }
            if distinct.len() == nth && distinct[nth - 1] == (m.dsn, m.subflow_seq) {
                let ack = dss.data_ack.map(|a| a.len.bytes()).unwrap_or(0);
                let at = range.start + common::offset_in(data, seg.options) + off + 4 + ack;
                let f = found.get_or_insert((Vec::new(), m.dsn_len.bytes(), m.dsn));
                f.0.push(at);
            }
        }
    }
    found.unwrap_or_else(|| panic!("no mapping {nth}"))
}

fn put_dsn(file: &mut [u8], at: usize, width: usize, dsn: u64) {
    if width == 8 {
        file[at..at + 8].copy_from_slice(&dsn.to_be_bytes());
    } else {
        file[at..at + 4].copy_from_slice(&(dsn as u32).to_be_bytes());
    }
}

#[test]
fn huge_dsn_jump_leaves_a_gap_not_a_panic() {
    let mut file = common::read("two-subflows.pcap");
    for (nth, jump) in [(5, 1u64 << 40), (9, u64::MAX / 2)] {
        let (ats, width, dsn) = nth_mapping(&file, nth);
        for at in ats {
            put_dsn(&mut file, at, width, dsn.wrapping_add(jump));
        }
    }
    let (a, end) = run(file);
    assert!(end.is_none(), "{end:?}");
    let conn = &a.connections[0];
    let d = conn.data(Dir::C2s);
    assert!(!d.complete, "{d:?}");
    assert!(d.gap_bytes > 0 || d.caps_hit > 0, "jump not reported: {d:?}");
}

#[test]
fn mappings_claiming_one_dsn_for_different_bytes_are_reported() {
    // every copy of mapping 8 claims mapping 3's DSN: same data-level bytes, different content
    let mut file = common::read("two-subflows.pcap");
    let (_, _, first) = nth_mapping(&file, 3);
    let (ats, width, _) = nth_mapping(&file, 8);
    for at in ats {
        put_dsn(&mut file, at, width, first);
    }
    let (a, end) = run(file);
    assert!(end.is_none(), "{end:?}");
    let d = a.connections[0].data(Dir::C2s);
    // Coverage can still be complete (other copies carry every DSN); the disagreement is what
    // must be reported.
    assert!(d.mismatched_bytes > 0, "{d:?}");
    let r = mptcp_dissector::analysis::verify::verify("x", &a, &[]);
    let k = r.connections[0].checks.iter().find(|k| k.id.id() == "dss.mapping_consistency").expect("check");
    assert_eq!(k.outcome, mptcp_dissector::analysis::verify::Outcome::Fail, "{k:?}");
}

/// RFC 8684 §3.3.1: a mapping, once sent, does not change. A repeated copy with another DSN is a
/// failed `dss.mapping_consistency` check.
#[test]
fn one_copy_of_a_mapping_contradicting_the_others_is_reported() {
    let mut file = common::read("two-subflows.pcap");
    let (ats, width, dsn) = nth_mapping(&file, 5);
    // Copy 1 is edited; copies 0 and 2 are the others it must contradict.
    const COPIES_NEEDED: usize = 3;
    assert!(ats.len() >= COPIES_NEEDED, "mapping 5 should be repeated on several segments");
    put_dsn(&mut file, ats[1], width, dsn.wrapping_add(1000));
    let (a, end) = run(file);
    assert!(end.is_none(), "{end:?}");
    let conn = &a.connections[0];
    let t = conn
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("dss.mapping_consistency").expect("a catalogue id"))
        .expect("check");
    assert!(t.fail >= 1, "contradicting mapping not reported: {t:?}");
}

#[test]
fn a_cut_file_header_is_named_as_such() {
    let pcap = common::read("two-subflows.pcap");
    let ng = common::read("dumpcap.pcapng");
    // A pcap file header is 24 bytes; dumpcap.pcapng's section header block is 180 (its length
    // field, bytes 4..8 = b4 00 00 00).
    assert_eq!(ng[4..8], [0xb4, 0, 0, 0]);
    for (bytes, format) in
        [(&pcap[..10], "pcap"), (&pcap[..23], "pcap"), (&ng[..8], "pcapng"), (&ng[..28], "pcapng"), (&ng[..179], "pcapng")]
    {
        let err = CaptureReader::new(Cursor::new(bytes.to_vec())).err().unwrap_or_else(|| panic!("{format} cut at {}", bytes.len()));
        assert!(matches!(err, CaptureError::HeaderTruncated { .. }), "{format} cut at {}: {err}", bytes.len());
        assert_eq!(err.to_string(), format!("{format} file header incomplete: the file ends within it (no packet in the file)"));
    }
    // A whole header and a cut first record is still a cut record.
    let mut reader = CaptureReader::new(Cursor::new(pcap[..30].to_vec())).expect("header");
    let Err(err) = reader.next_packet() else { panic!("cut record read as a packet") };
    assert!(err.is_truncation(), "{err}");
}
