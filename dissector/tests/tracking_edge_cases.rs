//! Tracking edge cases the tracker once got wrong, one test each: window probes, a DATA_FIN on a
//! direction with no data, a retransmission mapped by a sibling segment, a RST without ACK to a
//! join in SYN-SENT, an unanswered join, timestamp 0, a same-subflow remap, a capture started
//! mid-connection or stopped before the end. Each runs on the real capture that shows it or,
//! where the kernel here does not produce the shape (the RST, the sibling's mapping, timestamp
//! 0), on a real capture edited packet by packet to show it. Truth: the applications' byte counts
//! and sha256 (manifest.json, matrix truth files) and the kernel's counters.
mod common;

use mptcp_dissector::analysis::verify::{verify, Outcome};
use mptcp_dissector::track::{Analysis, Dir, EventKind};
use mptcp_wire::decode::{decode, Decoded};
use serde_json::Value;

/// A classic pcap split into its global header and (record header, packet bytes) pairs.
struct Pcap {
    header: Vec<u8>,
    recs: Vec<([u8; 16], Vec<u8>)>,
    linktype: u32,
}

impl Pcap {
    fn read(path: &str) -> Pcap {
        let file = common::read(path);
        assert_eq!(file[0..4], [0xd4, 0xc3, 0xb2, 0xa1], "{path}: little-endian microsecond pcap");
        let recs = common::pcap_records(&file)
            .into_iter()
            .map(|(_, r)| {
                let mut h = [0u8; 16];
                h.copy_from_slice(&file[r.start - 16..r.start]);
                (h, file[r].to_vec())
            })
            .collect();
        let linktype = u32::from_le_bytes([file[20], file[21], file[22], file[23]]);
        Pcap { header: file[..24].to_vec(), recs, linktype }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for (h, d) in &self.recs {
            let mut h = *h;
            h[8..12].copy_from_slice(&(d.len() as u32).to_le_bytes());
            h[12..16].copy_from_slice(&(d.len() as u32).to_le_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(d);
        }
        out
    }
    fn analyze(&self) -> Analysis {
        common::analyze_bytes(self.bytes(), mptcp_dissector::track::Analyzer::new(Default::default()))
    }
    /// (index, TCP header offset, seq, payload length, flags byte, sport, dport) of record `i`.
    fn tcp(&self, i: usize) -> Option<(usize, u32, u32, u8, u16, u16)> {
        let d = &self.recs.get(i)?.1;
        match decode(self.linktype, d) {
            Decoded::Tcp(seg) => {
                let off = common::offset_in(d, seg.options) - 20;
                Some((off, seg.seq, seg.payload_len, d[off + 13], seg.sport, seg.dport))
            }
            _ => None,
        }
    }
    /// Byte ranges (within the packet) of MPTCP options of `subtype` in record `i`.
    fn mptcp_options(&self, i: usize, subtype: u8) -> Vec<std::ops::Range<usize>> {
        let d = &self.recs[i].1;
        let Decoded::Tcp(seg) = decode(self.linktype, d) else { return vec![] };
        let base = common::offset_in(d, seg.options);
        let o = seg.options;
        let mut out = Vec::new();
        let mut at = 0;
        while at < o.len() {
            match o[at] {
                0 => break,
                1 => at += 1,
                _ => {
                    let len = o.get(at + 1).copied().unwrap_or(0) as usize;
                    if len < 2 {
                        break;
                    }
                    if o[at] == 30 && o.get(at + 2).map(|b| b >> 4) == Some(subtype) {
                        out.push(base + at..base + at + len);
                    }
                    at += len;
                }
            }
        }
        out
    }
}

fn manifest_entry(file: &str) -> Value {
    common::manifest().into_iter().find(|e| e["file"] == file).expect("manifest entry")
}

fn sha_of_stream(bytes: Vec<u8>, conn: usize, dir: Dir) -> Option<String> {
    let a = common::analyze_bytes(bytes, mptcp_dissector::track::Analyzer::new(Default::default()).with_hashes(true));
    a.connections[conn].data(dir).sha256.clone()
}

#[test]
fn window_probes_are_not_mapping_failures() {
    // Linux re-sends the byte before snd_una in 1-byte mappings while the window is closed,
    // filled from the next unsent byte: not a re-sent byte that differs.
    let a = common::analyze("matrix/window-probe.pcap");
    let c = &a.connections[0];
    assert_eq!(c.c2s.mismatched_bytes + c.s2c.mismatched_bytes, 0);
    assert_eq!(c.c2s.probe_bytes, 2, "MPTcpExtWinProbe = 2 on the client (window-probe.nstat-client.txt)");
    let r = verify("window-probe", &a, &[]);
    let mc = r.connections[0].checks.iter().find(|k| k.id.id() == "dss.mapping_consistency").unwrap();
    assert_eq!(mc.outcome, Outcome::Pass, "{}", mc.detail);
}

#[test]
fn data_fin_on_a_direction_that_carried_no_data() {
    for (file, dir) in [("matrix/upload-only.pcap", Dir::S2c), ("matrix/download-only.pcap", Dir::C2s)] {
        let a = common::analyze(file);
        let c = &a.connections[0];
        let idsn = if dir == Dir::C2s { c.client_idsn } else { c.server_idsn }.unwrap().0;
        let d = c.data(dir);
        assert_eq!(d.data_fin_dsn.map(u64::from), Some(idsn.wrapping_add(1)), "{file}: DATA_FIN at IDSN + 1");
        assert!(d.complete && d.bytes == 0, "{file}: an empty, complete stream");
        let r = verify(file, &a, &[]);
        for id in ["data.complete", "data.closure"] {
            let k = r.connections[0].checks.iter().find(|k| k.id.id() == id).unwrap();
            assert_eq!(k.outcome, Outcome::Pass, "{file} {id}: {}", k.detail);
        }
    }
}

#[test]
fn retransmission_mapped_by_a_mapping_only_a_sibling_carried() {
    // loss.pcap with the first copy of a retransmitted segment removed and the retransmission's
    // own DSS option blanked (as older kernels send it): its bytes are mapped by the mapping
    // its sibling segments carried before, not "unmapped".
    let mut p = Pcap::read("loss.pcap");
    let mut seen = std::collections::HashMap::new();
    let mut found = None;
    for i in 0..p.recs.len() {
        let Some((_, seq, len, _, sport, dport)) = p.tcp(i) else { continue };
        if len == 0 {
            continue;
        }
        if let Some(&orig) = seen.get(&(sport, dport, seq, len)) {
            if !p.mptcp_options(i, 2).is_empty() {
                found = Some((orig, i));
                break;
            }
        }
        seen.insert((sport, dport, seq, len), i);
    }
    let (orig, retrans) = found.expect("loss.pcap has a TCP retransmission");
    for r in p.mptcp_options(retrans, 2) {
        p.recs[retrans].1[r].fill(1); // NOPs
    }
    p.recs.remove(orig);
    let a = p.analyze();
    let m = manifest_entry("loss.pcap");
    let c = &a.connections[0];
    assert_eq!(c.c2s.unmapped_bytes + c.s2c.unmapped_bytes, 0, "no unmapped bytes");
    for (dir, key) in [(Dir::C2s, "c2s"), (Dir::S2c, "s2c")] {
        assert!(c.data(dir).complete, "{key} complete");
        assert_eq!(sha_of_stream(p.bytes(), 0, dir).as_deref(), m[format!("{key}_received_sha256")].as_str(), "{key} sha256");
    }
}

/// Index of the first record that is an MP_JOIN SYN, and of its SYN/ACK.
fn join_syn(p: &Pcap) -> (usize, usize) {
    let syn =
        (0..p.recs.len()).find(|&i| p.tcp(i).is_some_and(|t| t.3 & 0x12 == 0x02) && !p.mptcp_options(i, 1).is_empty()).expect("a join SYN");
    let (_, _, _, _, sport, dport) = p.tcp(syn).unwrap();
    let synack = (syn..p.recs.len()).find(|&i| p.tcp(i).is_some_and(|t| t.3 & 0x12 == 0x12 && t.4 == dport && t.5 == sport)).unwrap();
    (syn, synack)
}

#[test]
fn rst_without_ack_to_a_join_in_syn_sent_is_ignored() {
    // two-subflows.pcap with, between the join's SYN and SYN/ACK, a RST without ACK from the
    // server (as a server answers stray ACKs of a join in SYN-SENT) and the SYN retransmitted
    // with the same ISN (RFC 9293 §3.10.7.3: the client ignores such a RST).
    let mut p = Pcap::read("two-subflows.pcap");
    let (syn, synack) = join_syn(&p);
    let mut rst = p.recs[synack].clone();
    let (off, ..) = p.tcp(synack).unwrap();
    rst.1[off + 13] = 0x04; // RST only
    rst.1[off + 8..off + 12].fill(0); // no ACK number
    for r in p.mptcp_options(synack, 1) {
        rst.1[r].fill(1);
    }
    let again = p.recs[syn].clone();
    p.recs.insert(syn + 1, rst);
    p.recs.insert(syn + 2, again);
    let a = p.analyze();
    let c = &a.connections[0];
    assert_eq!(c.subflow_ids.len(), 2, "one initial subflow and one join, not a second join");
    let join = &a.subflows[c.subflow_ids[1]];
    assert!(
        join.established_ts.is_some() && join.end.as_ref().is_some_and(|e| e.how.name() == "fin"),
        "the join went on and closed with FIN: {:?}",
        join.end
    );
    let sf_closed = |a: &Analysis| a.events.iter().filter(|e| e.kind == EventKind::SfClosed).map(|e| e.subflow).collect::<Vec<_>>();
    assert_eq!(sf_closed(&a), sf_closed(&Pcap::read("two-subflows.pcap").analyze()), "no SF_CLOSED for the RST");
    assert!(c.anomalies.iter().any(|x| x.kind.name() == "rst_ignored_in_syn_sent"));
}

#[test]
fn unanswered_join_does_not_keep_a_closed_connection_open() {
    // two-subflows.pcap with one more MP_JOIN SYN (another source port) that nothing answers.
    let mut p = Pcap::read("two-subflows.pcap");
    let (syn, _) = join_syn(&p);
    let mut extra = p.recs[syn].clone();
    let (off, ..) = p.tcp(syn).unwrap();
    let port = u16::from_be_bytes([extra.1[off], extra.1[off + 1]]).wrapping_add(1000);
    extra.1[off..off + 2].copy_from_slice(&port.to_be_bytes());
    p.recs.insert(syn + 1, extra);
    let a = p.analyze();
    let c = &a.connections[0];
    assert_eq!(c.subflow_ids.len(), 3);
    assert_eq!(c.state, mptcp_dissector::track::ConnState::Closed);
    let unanswered = &a.subflows[c.subflow_ids[2]];
    assert_eq!(unanswered.end.as_ref().map(|e| e.how.name()), Some("no_answer"));
    assert_eq!(a.events.iter().filter(|e| e.kind == EventKind::Closed).count(), 1);
}

#[test]
fn timestamp_zero_is_a_timestamp() {
    // The same capture with every timestamp shifted so that the first packet is at 0 (as ns-3
    // writes them): every relative time is unchanged.
    let p = Pcap::read("two-subflows.pcap");
    let before = p.analyze();
    let mut z = Pcap::read("two-subflows.pcap");
    let us = |h: &[u8; 16]| {
        u64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]])) * 1_000_000 + u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
    };
    let t0 = us(&z.recs[0].0);
    for (h, _) in &mut z.recs {
        let t = us(h) - t0;
        h[0..4].copy_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
    }
    let after = z.analyze();
    assert_eq!(after.stats.first_ts, 0.0);
    let rel = |a: &Analysis| (a.connections[0].start_ts - a.stats.first_ts, a.stats.last_ts - a.stats.first_ts);
    let (x, y) = (rel(&before), rel(&after));
    assert!((x.0 - y.0).abs() < 1e-6 && (x.1 - y.1).abs() < 1e-6, "{x:?} vs {y:?}");
}

#[test]
fn same_subflow_remap_is_a_reinjection() {
    // remove-addr.pcap frame 488: DSN range re-sent on subflow 0, which had carried it at
    // other subflow sequence numbers (frame 481). Every wire byte is in one column.
    let a = common::analyze("remove-addr.pcap");
    let sf0 = &a.subflows[a.connections[0].subflow_ids[0]];
    let from_self: u64 = sf0.s2c.reinjected_from.iter().filter(|r| r.subflow == Some(sf0.id)).map(|r| r.bytes).sum();
    assert_eq!(from_self, 764);
    for s in &a.subflows {
        for d in [&s.c2s, &s.s2c] {
            assert_eq!(d.bytes, d.new_data_bytes + d.reinjected_bytes + d.retransmitted_bytes + d.probe_bytes + d.unmapped_bytes);
        }
    }
}

#[test]
fn capture_started_mid_connection_is_analysed_from_the_data_level() {
    let a = common::analyze("matrix/mid-start.pcap");
    assert_eq!(a.connections.len(), 1, "both subflows in one connection");
    let c = &a.connections[0];
    assert_eq!((c.found_by.name(), c.role_rule.name()), ("data_level", "ports"));
    assert_eq!(c.subflow_ids.len(), 2);
    assert_eq!(c.client.to_string(), "192.0.2.1:43702", "the client (ephemeral port) as in mid-start.truth.json");
    assert!(c.client_token.is_none() && c.server_token.is_none() && c.client_key.is_none(), "tokens unknown, not guessed");
    assert_eq!(a.orphans().count(), 0);
    // The distinct bytes the independent classifier finds in the capture (mid-start.bytecount.json).
    let bc: Value =
        serde_json::from_str(&std::fs::read_to_string(common::testdata().join("matrix/mid-start.bytecount.json")).unwrap()).unwrap();
    assert_eq!(c.c2s.bytes, bc["connections"][0]["c2s"]["distinct"].as_u64().unwrap());
    assert_eq!(c.s2c.bytes, bc["connections"][0]["s2c"]["distinct"].as_u64().unwrap());
}

#[test]
fn capture_stopped_before_the_end_is_not_a_failure() {
    let a = common::analyze("matrix/early-stop.pcap");
    let r = verify("early-stop", &a, &[]);
    assert!(r.ok());
    let k = r.connections[0].checks.iter().find(|k| k.id.id() == "data.complete").unwrap();
    assert_eq!(k.outcome, Outcome::Skip, "{}", k.detail);
}
