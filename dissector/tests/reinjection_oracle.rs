//! Reinjections against tshark's inter-subflow retransmission analysis
//! (`-o mptcp.intersubflows_retransmission:TRUE`, field `mptcp.reinjection_of`).
//!
//! tshark marks a frame as a reinjection when its DSN range was sent before on another subflow.
//! That includes TCP retransmissions on the subflow that carried the data first (the data went out
//! on subflow A, was reinjected on B, and A then retransmitted its own segment): those are TCP
//! retransmissions of A, not reinjections, and we do not count them. The test takes them out of
//! tshark's set using tshark's own `tcp.analysis.retransmission` flag.
//!
//! tshark defect: it decides on overlapping *mapping* ranges, not on the bytes a segment carries.
//! In multi-conn.pcap frame 355 (DSN 623178+1420) is called a reinjection of frame 312 (DSN
//! 605374+1420): their mappings [605374, 621758) and [621758, ...) only touch, so the end is
//! treated as inclusive; frames 1268/1269 are called reinjections of 1173/1175 whose bytes they
//! do not overlap either. Such frames (no byte overlap with any frame tshark names as the
//! original) are taken out, counted, and must stay few. Then the frame sets must be equal.
mod common;
#[path = "tshark_common/mod.rs"]
mod tshark_common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::process::Command;
use std::rc::Rc;

use mptcp_dissector::series::SharedObserver;
use mptcp_dissector::track::{Analyzer, Limits, Observer, SegmentRecord};

#[derive(Default)]
struct Reinjected(BTreeSet<u64>, u64, std::collections::HashMap<u64, (u64, u64)>);
impl Observer for Reinjected {
    fn segment(&mut self, r: &SegmentRecord) {
        // tshark's analysis is inter-subflow: a DSN range re-sent on the subflow that carried
        // it first (new subflow sequence numbers, e.g. remove-addr.pcap frame 488) is a
        // reinjection to us and not to tshark.
        if r.reinjected_bytes > r.reinjected_same_subflow_bytes {
            self.0.insert(r.frame);
        }
        self.1 += r.reinjected_bytes;
        if let Some(dsn) = r.dsn {
            self.2.insert(r.frame, (dsn, u64::from(r.payload_len)));
        }
    }
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    let (a0, a1) = (a.0, a.0.wrapping_add(a.1));
    let (b0, b1) = (b.0, b.0.wrapping_add(b.1));
    a0 < b1 && b0 < a1
}

/// tshark's reinjection frames: (frame, frames it names as the original, TCP retransmission flag).
fn tshark_reinjections(path: &std::path::Path) -> Vec<(u64, Vec<u64>, bool)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args([
            "-o",
            "mptcp.analyze_mappings:TRUE",
            "-o",
            "mptcp.intersubflows_retransmission:TRUE",
            "-Y",
            "mptcp.reinjection_of",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "tcp.analysis.retransmission",
            "-e",
            "mptcp.reinjection_of",
            "-e",
            "tcp.analysis.out_of_order",
            "-e",
            "tcp.analysis.spurious_retransmission",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .output()
        .expect("run tshark");
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.split('\t');
        let frame: u64 = it.next().and_then(|f| f.parse().ok()).expect("frame number");
        let retrans = it.next().is_some_and(|r| !r.is_empty());
        let of = it.next().unwrap_or("").split(',').filter_map(|f| f.parse().ok()).collect();
        // tshark calls some re-sent subflow sequence space "out-of-order" (e.g. multi-conn.pcap
        // frame 1268, a re-send of frame ~700's sequence space): a TCP-level re-send all the same.
        let resent = retrans || it.any(|r| !r.is_empty());
        v.push((frame, of, resent));
    }
    v
}

#[test]
fn reinjected_frames_agree_with_tshark() {
    if !tshark_common::tshark_available("reinjected_frames_agree_with_tshark") {
        return;
    }
    let mut total_frames = 0;
    for name in common::captures() {
        let path = common::testdata().join(&name);
        let obs = Rc::new(RefCell::new(Reinjected::default()));
        let analyzer = Analyzer::new(Limits::default()).with_observer(Box::new(SharedObserver(obs.clone())));
        let a = common::analyze_bytes(common::read(&name), analyzer);
        let ours = obs.borrow().0.clone();
        let ranges = obs.borrow().2.clone();
        let mut theirs = BTreeSet::new();
        let (mut tcp_retrans, mut no_overlap) = (0, 0);
        for (frame, of, retrans) in tshark_reinjections(&path) {
            if retrans {
                tcp_retrans += 1;
                continue;
            }
            let mine = ranges.get(&frame).copied().expect("tshark's frame is mapped for us too");
            if !of.iter().any(|o| ranges.get(o).is_some_and(|r| overlaps(mine, *r))) {
                no_overlap += 1;
                continue;
            }
            theirs.insert(frame);
        }
        eprintln!(
            "{name}: {} reinjected frames; tshark {} (+{tcp_retrans} TCP retransmissions, +{no_overlap} without byte overlap)",
            ours.len(),
            theirs.len()
        );
        assert!(no_overlap <= 6, "{name}: tshark's mapping-range defect should be rare");
        assert_eq!(ours, theirs, "{name}: reinjected frames, ours vs tshark");
        let per_conn: u64 = a.connections.iter().map(|c| c.c2s.reinjected_bytes + c.s2c.reinjected_bytes).sum();
        assert_eq!(per_conn, obs.borrow().1, "{name}: connection totals equal the per-segment sum");
        total_frames += ours.len();
    }
    assert!(total_frames > 20, "the captures do have reinjections to compare");
}
