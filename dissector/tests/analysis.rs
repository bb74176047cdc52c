//! End-to-end analysis on the real kernel captures: grouping, verification verdicts, events,
//! and failures detected when one bit of a real capture is flipped.
mod common;

use common::*;
use mptcp_dissector::options::mptcp::{MpJoin, MptcpOption};
use mptcp_dissector::options::mptcp_options;
use mptcp_dissector::track::checks::Verdict;
use mptcp_dissector::track::{Analyzer, ConnState, EventKind, Limits};

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
            let t = c.checks.get(id).unwrap_or_else(|| panic!("{name}: no {id} check"));
            assert!(t.pass >= 1 && t.fail == 0 && t.verdict == Verdict::Pass, "{name}: {id}: {t:?}");
        }
        let joins = c.subflow_ids.iter().filter(|&&s| a.subflows[s].join).count();
        assert!(joins >= 1, "{name}: a join subflow");
    }
    let a = analyze("checksum.pcap");
    let c = &a.connections[0];
    assert!(c.checksums, "checksum.pcap negotiates DSS checksums");
    let t = c.checks.get("dss.checksum").expect("dss.checksum");
    assert!(t.pass >= 10 && t.fail == 0, "{t:?}");
    let a = analyze("signal.pcap");
    let t = a.connections[0].checks.get("add_addr.hmac").expect("add_addr.hmac");
    assert!(t.pass >= 1 && t.fail == 0 && t.legacy == 0, "{t:?}");
}

#[test]
fn tokens_are_the_hash_of_the_keys() {
    use mptcp_dissector::crypto::{key_material, Version};
    for name in captures() {
        let a = analyze(&name);
        for c in &a.connections {
            for (key, token, idsn) in [(&c.client_key, &c.client_token, c.client_idsn), (&c.server_key, &c.server_token, c.server_idsn)] {
                let Some(key) = key else { continue };
                let k = u64::from_str_radix(key, 16).expect("hex key");
                let km = key_material(Version::V1, k);
                assert_eq!(token.as_deref(), Some(format!("{:08x}", km.token).as_str()), "{name}");
                assert_eq!(idsn, Some(km.idsn), "{name}");
            }
        }
    }
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
    let t = a.connections[0].checks.get("mp_join.synack_hmac").expect("check");
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
    let t = a.connections[0].checks.get("add_addr.hmac").expect("check");
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
    let t = a.connections[0].checks.get("dss.checksum").expect("check");
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
    assert_eq!(c.found_by, "data_level");
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
        let keep = match mptcp_dissector::decode::decode(SLL2, data) {
            mptcp_dissector::decode::Decoded::Tcp(seg) => offset_in(data, seg.options) + seg.options.len(),
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
    assert_eq!(c.checks.get("mp_join.ack_hmac").map(|t| t.verdict), Some(Verdict::Pass));
    let a = analyze_bytes(headers_only("checksum.pcap"), Analyzer::new(Limits::default()));
    let t = a.connections[0].checks.get("dss.checksum").expect("check");
    // Mappings with payload are not checkable; DATA_FIN-only mappings (length 1, no payload)
    // still verify from the pseudo-header alone.
    assert_eq!(t.fail, 0, "{t:?}");
    assert!(t.not_checkable > 30 && t.pass < t.not_checkable / 4, "{t:?}");
    assert!(t.findings.iter().all(|f| f.reason.contains("snaplen")), "{t:?}");
}
