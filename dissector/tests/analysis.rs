//! End-to-end analysis on the real kernel captures: grouping, verification verdicts, events,
//! and failures detected when one bit of a real capture is flipped.
mod common;

use common::*;
use mptcp_dissector::track::checks::Verdict;
use mptcp_dissector::track::{Analyzer, ConnState, EventKind, Limits};
use mptcp_wire::options::mptcp::{MpJoin, MptcpOption};
use mptcp_wire::options::mptcp_options;

const SLL2: u32 = 276;

#[test]
fn every_capture_has_its_connections_and_no_failed_check() {
    let manifest = manifest();
    for entry in &manifest {
        let name = entry["file"].as_str().expect("file");
        let a = analyze(name);
        let expected = entry["connections"].as_u64().expect("connections") as usize;
        assert_eq!(a.connections.len(), expected, "{name}: connections");
        for c in &a.connections {
            for t in c.checks.tallies() {
                assert_eq!(t.fail, 0, "{name}: connection {} check {} failed: {:?}", c.id, t.id, t.findings);
                assert_eq!(t.legacy, 0, "{name}: a 6.x kernel sends RFC values: {} {:?}", t.id, t.findings);
            }
        }
    }
}

#[test]
fn kernel_captures_verify_every_hmac_and_checksum() {
    for name in ["two-subflows.pcap", "checksum.pcap", "ipv6.pcap", "dumpcap.pcapng", "path-cut.pcap"] {
        let a = analyze(name);
        let c = &a.connections[0];
        assert_eq!(c.version, Some(1), "{name}");
        assert!(c.state != ConnState::Fallback, "{name}");
        for id in ["mp_capable.key_echo", "mp_join.token", "mp_join.synack_hmac", "mp_join.ack_hmac"] {
            let t = c
                .checks
                .get(mptcp_dissector::track::checks::CheckId::from_id(id).expect("a catalogue id"))
                .unwrap_or_else(|| panic!("{name}: no {id} check"));
            assert!(t.pass >= 1 && t.fail == 0 && t.verdict == Verdict::Pass, "{name}: {id}: {t:?}");
        }
        let joins = c.subflow_ids.iter().filter(|&&s| a.subflows[s].join).count();
        assert!(joins >= 1, "{name}: a join subflow");
    }
    let a = analyze("checksum.pcap");
    let c = &a.connections[0];
    assert!(c.checksums, "checksum.pcap negotiates DSS checksums");
    let t = c.checks.get(mptcp_dissector::track::checks::CheckId::from_id("dss.checksum").expect("a catalogue id")).expect("dss.checksum");
    assert!(t.pass >= 10 && t.fail == 0, "{t:?}");
    let a = analyze("signal.pcap");
    let t = a.connections[0]
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("add_addr.hmac").expect("a catalogue id"))
        .expect("add_addr.hmac");
    assert!(t.pass >= 1 && t.fail == 0 && t.legacy == 0, "{t:?}");
}

/// (capture, the connection's truth (client "addr:port", bytes the applications sent), kernel info of the client, of the server) for every
/// connection the capture scripts recorded: the kernel's MPTCP_INFO at the end of each
/// connection (manifest.json `*_mptcp_info_end`, matrix truth `*_mptcp_info.end`).
/// The last field: whether the capture holds the connection's MP_CAPABLE handshake (the truth
/// file's `capture_window` is not "starts-mid-connection").
fn kernel_infos() -> Vec<(String, serde_json::Value, serde_json::Value, serde_json::Value, bool)> {
    let mut out = Vec::new();
    for e in manifest() {
        for c in e["conns"].as_array().expect("conns") {
            let file = e["file"].as_str().expect("file").to_string();
            let (ci, si) = (c["client_mptcp_info_end"].clone(), c["server_mptcp_info_end"].clone());
            out.push((file, c.clone(), ci, si, true));
        }
    }
    let dir = testdata().join("matrix");
    let mut truths: Vec<_> =
        std::fs::read_dir(&dir).expect("matrix").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    truths.sort();
    for t in truths.iter().filter_map(|n| n.strip_suffix(".truth.json")) {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{t}.truth.json"))).unwrap()).unwrap();
        for c in v["conns"].as_array().expect("conns") {
            let (ci, si) = (c["client_mptcp_info"]["end"].clone(), c["server_mptcp_info"]["end"].clone());
            let handshake = v["capture_window"] != "starts-mid-connection";
            out.push((format!("matrix/{t}.pcap"), c.clone(), ci, si, handshake));
        }
    }
    out
}

/// Tokens against the kernel's: each host's MPTCP_INFO `token` is the token of its own key
/// (RFC 8684 §3.2), recorded by the capture script, not derived by us. And IDSNs against the
/// kernel's data sequence numbers: at the end of a connection closed with DATA_FIN (the kernel's
/// `bytes_sent` equal to what the application sent), the sender's
/// `write_seq` is IDSN + 1 (the first DSN is IDSN + 1, §3.3) + the bytes the application sent
/// (`bytes_sent`) + 1 (the DATA_FIN's DSN, §3.3.3). fastclose.pcap ends with MP_FASTCLOSE and no
/// DATA_FIN: there it is IDSN + 1 + bytes_sent.
#[test]
fn tokens_and_idsns_are_the_kernels() {
    let (mut tokens, mut idsns) = (0, 0);
    let mut analyses: std::collections::BTreeMap<String, mptcp_dissector::track::Analysis> = Default::default();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (file, truth, ci, si, handshake) in kernel_infos() {
        let client = truth["client"].as_str().expect("client").to_string();
        let a = analyses.entry(file.clone()).or_insert_with(|| analyze(&file));
        // The nth connection from this client address and port (a reused 4-tuple has several).
        let nth = seen.iter().filter(|(f, c)| *f == file && *c == client).count();
        seen.push((file.clone(), client.clone()));
        let (ip, port) = client.rsplit_once(':').expect("addr:port");
        let addr = std::net::SocketAddr::new(ip.parse().expect("ip"), port.parse().expect("port"));
        let Some(c) = a.connections.iter().filter(|c| c.client == addr).nth(nth) else {
            panic!("{file}: no connection from {client}");
        };
        let fastclose = file == "fastclose.pcap";
        let sides = [("client", "c2s", &ci, &c.client_token, c.client_idsn), ("server", "s2c", &si, &c.server_token, c.server_idsn)];
        for (side, dir, info, token, idsn) in sides {
            // A kernel token of 0 is a socket already torn down when it was read (fastclose).
            let kernel = info["token"].as_str().filter(|t| *t != "00000000");
            match (kernel, token.map(|t| t.to_string())) {
                (Some(k), Some(ours)) => {
                    assert_eq!(ours, k, "{file} {client} {side}: token");
                    tokens += 1;
                }
                // The key went on the wire in the handshake, so the token must be known.
                (Some(k), None) => assert!(!handshake, "{file} {client} {side}: the kernel's token is {k}, we have none"),
                (None, _) => {}
            }
            let (Some(write_seq), Some(sent), Some(idsn)) = (info["write_seq"].as_u64(), info["bytes_sent"].as_u64(), idsn) else {
                continue;
            };
            // Only once the kernel had sent everything the application wrote (early-stop.pcap's
            // info was read mid-transfer, when write_seq also counts bytes queued, not sent).
            if truth[format!("{dir}_bytes")].as_u64() != Some(sent) {
                continue;
            }
            let data_fin = u64::from(!fastclose);
            assert_eq!(idsn.0.wrapping_add(1).wrapping_add(sent).wrapping_add(data_fin), write_seq, "{file} {client} {side}: IDSN");
            idsns += 1;
        }
    }
    eprintln!("{tokens} tokens and {idsns} IDSNs equal the kernel's");
    assert!(tokens > 0 && idsns > 0, "nothing compared");
}

#[test]
fn join_subflows_attach_to_their_connection_in_multi_conn() {
    let a = analyze("multi-conn.pcap");
    assert_eq!(a.connections.len(), 2);
    for c in &a.connections {
        for &s in &c.subflow_ids {
            assert_eq!(a.subflows[s].connection, Some(c.id));
        }
        assert!(c.subflow_ids.len() >= 2, "each connection has its join: {:?}", c.subflow_ids);
    }
    assert_eq!(a.orphans().count(), 0);
}

#[test]
fn fallback_capture_falls_back() {
    let a = analyze("fallback.pcap");
    let c = &a.connections[0];
    assert_eq!(c.state, ConnState::Fallback);
    assert!(a.events.iter().any(|e| e.kind == EventKind::Fallback));
}

fn has_event(name: &str, kind: EventKind) -> bool {
    analyze(name).events.iter().any(|e| e.kind == kind)
}

#[test]
fn events_show_announce_remove_priority_fastclose() {
    assert!(has_event("signal.pcap", EventKind::Announced));
    assert!(has_event("remove-addr.pcap", EventKind::Removed));
    assert!(has_event("backup-prio.pcap", EventKind::SfPriority));
    assert!(has_event("fastclose.pcap", EventKind::Fastclose));
    for name in ["two-subflows.pcap", "signal.pcap"] {
        let a = analyze(name);
        let kinds: Vec<EventKind> = a.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds.first(), Some(&EventKind::Created), "{name}: {kinds:?}");
        assert!(kinds.contains(&EventKind::Established), "{name}");
        assert!(a.events.iter().all(|e| e.token.is_some()), "{name}: every event has the token");
    }
}

/// Flips one bit of the first MP_JOIN SYN/ACK's truncated HMAC.
#[test]
fn flipped_join_hmac_bit_fails() {
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        mptcp_options(seg.options).flatten().find_map(|(off, o)| match o {
            // kind, len, subtype|B, addr id, then the 8-byte HMAC.
            MptcpOption::Join(MpJoin::SynAck(_)) => Some(offset_in(data, seg.options) + off + 4),
            _ => None,
        })
    })
    .expect("a join SYN/ACK");
    file[at] ^= 0x01;
    let a = analyze_bytes(file, Analyzer::new(Limits::default()));
    let t = a.connections[0]
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("mp_join.synack_hmac").expect("a catalogue id"))
        .expect("check");
    assert_eq!(t.verdict, Verdict::Fail, "{t:?}");
    assert_eq!(t.findings[0].frame, frame);
}

/// Flips one bit of the ADD_ADDR HMAC.
#[test]
fn flipped_add_addr_hmac_bit_fails() {
    let mut file = read("signal.pcap");
    let (_, at) = find_offset(&file, SLL2, |data, seg| {
        mptcp_options(seg.options).flatten().find_map(|(off, o)| match o {
            MptcpOption::AddAddr(a) if a.hmac.is_some() => Some(offset_in(data, seg.options) + off + o_len(&o) - 1),
            _ => None,
        })
    })
    .expect("an ADD_ADDR with HMAC");
    file[at] ^= 0x80;
    let a = analyze_bytes(file, Analyzer::new(Limits::default()));
    let t = a.connections[0]
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("add_addr.hmac").expect("a catalogue id"))
        .expect("check");
    assert_eq!(t.verdict, Verdict::Fail, "{t:?}");
}

fn o_len(o: &MptcpOption<'_>) -> usize {
    o.buffer_len()
}

/// Flips one bit of a checksummed payload byte.
#[test]
fn flipped_payload_bit_fails_dss_checksum() {
    let mut file = read("checksum.pcap");
    let (_, at) =
        find_offset(&file, SLL2, |data, seg| (seg.payload.len() > 100).then(|| offset_in(data, seg.payload) + 50)).expect("a data segment");
    file[at] ^= 0x04;
    let a = analyze_bytes(file, Analyzer::new(Limits::default()));
    let t = a.connections[0]
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("dss.checksum").expect("a catalogue id"))
        .expect("check");
    assert_eq!(t.verdict, Verdict::Fail, "{t:?}");
    assert_eq!(t.fail, 1, "exactly the one corrupted mapping fails: {t:?}");
}

#[test]
fn snaplen_capture_reports_cut_options_not_errors() {
    let a = analyze("snaplen.pcap");
    assert_eq!(a.stats.option_errors, 0);
    assert!(a.stats.options_cut > 0);
}

/// Drops the MP_CAPABLE handshake (frames before the join): the subflows are still one
/// connection, found from the data level (their DSNs share one data sequence space), with the
/// join's token as the server's, and nothing left an orphan.
#[test]
fn subflows_without_their_handshake_are_one_connection_found_from_the_data_level() {
    let file = read("two-subflows.pcap");
    let records = pcap_records(&file);
    // Keep the header and every record from the first MP_JOIN SYN on.
    let join_frame = find_offset(&file, SLL2, |_, seg| {
        mptcp_options(seg.options).flatten().any(|(_, o)| matches!(o, MptcpOption::Join(MpJoin::Syn(_)))).then_some(0)
    })
    .expect("a join SYN")
    .0;
    let mut cut = file[..24].to_vec();
    for (frame, range) in &records {
        if *frame >= join_frame {
            cut.extend_from_slice(&file[range.start - 16..range.end]);
        }
    }
    let full = analyze_bytes(file.clone(), Analyzer::new(Limits::default()));
    let a = analyze_bytes(cut, Analyzer::new(Limits::default()));
    assert_eq!(a.connections.len(), 1, "one connection");
    let c = &a.connections[0];
    assert_eq!(c.found_by.name(), "data_level");
    assert_eq!(c.subflow_ids.len(), 2, "the initial subflow and the join");
    assert_eq!(a.orphans().count(), 0);
    assert_eq!(c.server_token, full.connections[0].server_token, "the join SYN's token is the server's");
    assert!(c.client_key.is_none() && c.client_token.is_none(), "the client's token is not guessed");
    // Client and server by ports; the connection's addresses are its first subflow's (here the join).
    assert_eq!(c.server, full.connections[0].server);
    for &s in &c.subflow_ids {
        let f = &a.subflows[s];
        assert!(f.c2s.bytes + f.s2c.bytes > 0, "their bytes are counted");
    }
    assert!(c.c2s.data_fin_dsn == full.connections[0].c2s.data_fin_dsn && c.c2s.bytes > 0);
}

/// A header-only capture (every record cut right after the TCP header, as `tcpdump -s` with a
/// snaplen that keeps the options): the data-level ranges are still tracked, no bytes are.
fn headers_only(name: &str) -> Vec<u8> {
    let file = read(name);
    let mut cut = file[..24].to_vec();
    for (_, range) in pcap_records(&file) {
        let data = &file[range.clone()];
        let keep = match mptcp_wire::decode::decode(SLL2, data) {
            mptcp_wire::decode::Decoded::Tcp(seg) => offset_in(data, seg.options) + seg.options.len(),
            _ => data.len(),
        };
        let hdr = &file[range.start - 16..range.start];
        cut.extend_from_slice(&hdr[..8]);
        cut.extend((keep as u32).to_le_bytes());
        cut.extend_from_slice(&hdr[12..16]); // orig_len stays
        cut.extend_from_slice(&data[..keep]);
    }
    cut
}

#[test]
fn header_only_capture_tracks_ranges_without_bytes() {
    let full = analyze("two-subflows.pcap");
    let a = analyze_bytes(headers_only("two-subflows.pcap"), Analyzer::new(Limits::default()));
    let (c, f) = (&a.connections[0], &full.connections[0]);
    for d in [mptcp_dissector::track::Dir::C2s, mptcp_dissector::track::Dir::S2c] {
        let (dd, fd) = (c.data(d), f.data(d));
        assert_eq!(dd.bytes, fd.bytes, "every DSN range is still seen");
        assert_eq!(dd.captured_bytes, 0);
        assert_eq!(dd.uncaptured_bytes, fd.bytes);
        assert_eq!(dd.gap_count, 0, "cut bytes are not gaps");
        assert!(!dd.complete);
        assert_eq!(dd.reinjected_bytes, fd.reinjected_bytes, "reinjections are found from ranges alone");
    }
    // HMACs are still checked; DSS checksums cannot be without payload: not checkable, not failed.
    assert_eq!(
        c.checks.get(mptcp_dissector::track::checks::CheckId::from_id("mp_join.ack_hmac").expect("a catalogue id")).map(|t| t.verdict),
        Some(Verdict::Pass)
    );
    let a = analyze_bytes(headers_only("checksum.pcap"), Analyzer::new(Limits::default()));
    let t = a.connections[0]
        .checks
        .get(mptcp_dissector::track::checks::CheckId::from_id("dss.checksum").expect("a catalogue id"))
        .expect("check");
    // Mappings with payload are not checkable; DATA_FIN-only mappings (length 1, no payload)
    // still verify from the pseudo-header alone.
    assert_eq!(t.fail, 0, "{t:?}");
    assert!(t.not_checkable > 30 && t.pass < t.not_checkable / 4, "{t:?}");
    assert!(t.findings.iter().all(|f| f.reason.contains("snaplen")), "{t:?}");
}
