//! `verify` on the real kernel captures: every catalog check passes on an unmodified capture
//! and fails (by id, in the VerifyReport) on the same capture with a byte or a few corrupted.
mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use common::*;
use mptcp_dissector::analysis::verify::{verify, CheckResult, Outcome, VerifyReport, CATALOG};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Analyzer, Limits, SegmentRecord};
use mptcp_wire::decode::{decode, Decoded, TcpSegment};
use mptcp_wire::options::mptcp::{Dss, MpJoin, MptcpOption, SeqLen};
use mptcp_wire::options::mptcp_options;

const SLL2: u32 = 276;

fn report_of(a: &Analysis) -> VerifyReport {
    verify("test", a, &[])
}

fn verify_bytes(file: Vec<u8>) -> VerifyReport {
    report_of(&analyze_bytes(file, Analyzer::new(Limits::default())))
}

fn verify_capture(name: &str) -> VerifyReport {
    verify_bytes(read(name))
}

/// The check `id` of connection `conn`, asserted to have outcome `want`.
fn assert_check<'r>(r: &'r VerifyReport, conn: usize, id: &str, want: Outcome) -> &'r CheckResult {
    let c = r.connections.get(conn).unwrap_or_else(|| panic!("no connection {conn}: {r:#?}"));
    let k = c.checks.iter().find(|k| k.id.id() == id).unwrap_or_else(|| panic!("no check {id}"));
    assert_eq!(k.outcome, want, "{id}: {k:#?}");
    k
}

fn assert_capture_check<'r>(r: &'r VerifyReport, id: &str, want: Outcome) -> &'r CheckResult {
    let k = r.capture_checks.iter().find(|k| k.id.id() == id).unwrap_or_else(|| panic!("no capture check {id}: {:#?}", r.capture_checks));
    assert_eq!(k.outcome, want, "{id}: {k:#?}");
    k
}

/// Offset within the packet data of byte `inner` of the first MPTCP option `pick` accepts
/// (`pick` returns the byte's offset within the option, 0 = the kind byte).
fn option_byte(data: &[u8], seg: &TcpSegment<'_>, pick: impl Fn(&TcpSegment<'_>, &MptcpOption<'_>) -> Option<usize>) -> Option<usize> {
    mptcp_options(seg.options).flatten().find_map(|(off, o)| pick(seg, &o).map(|inner| offset_in(data, seg.options) + off + inner))
}

/// Bytes of the data ACK of a DSS (0 without one).
fn ack_len(d: &Dss) -> usize {
    d.data_ack.map_or(0, |a| a.len.bytes())
}

/// Offset within a DSS option of the last byte of its DSN.
fn dsn_last_byte(d: &Dss) -> Option<usize> {
    let m = d.mapping?;
    Some(4 + ack_len(d) + m.dsn_len.bytes() - 1)
}

#[test]
fn every_kernel_capture_passes_verify() {
    for name in captures() {
        let r = verify_capture(&name);
        let failed: Vec<String> = r
            .connections
            .iter()
            .flat_map(|c| c.checks.iter())
            .chain(r.capture_checks.iter())
            .filter(|k| k.outcome == Outcome::Fail)
            .map(|k| format!("{}: {}", k.id, k.detail))
            .collect();
        assert!(failed.is_empty() && r.ok(), "{name}: {failed:?}");
        for c in &r.connections {
            let ids: Vec<_> = c.checks.iter().map(|k| k.id).collect();
            assert_eq!(ids, CATALOG.to_vec(), "{name}: every connection gets the whole catalog, in order");
        }
    }
}

/// Which checks the kernel captures exercise: every catalog id passes on at least one.
#[test]
fn every_check_passes_on_some_kernel_capture() {
    let mut passes: BTreeMap<&str, Vec<String>> = CATALOG.iter().map(|e| (e.id(), Vec::new())).collect();
    // mp_fail.response needs a DSS checksum failure: testdata/shapes/mpfail-multi.pcap.
    for name in captures().into_iter().chain(["shapes/mpfail-multi.pcap".to_string()]) {
        let r = verify_capture(&name);
        for k in r.connections.iter().flat_map(|c| c.checks.iter()).chain(r.capture_checks.iter()) {
            if k.outcome == Outcome::Pass {
                passes.get_mut(k.id.id()).expect("catalog id").push(name.clone());
            }
        }
    }
    let never: Vec<&&str> = passes.iter().filter(|(_, v)| v.is_empty()).map(|(k, _)| k).collect();
    assert!(never.is_empty(), "checks no kernel capture passes: {never:?}");
}

#[test]
fn mp_capable_version_above_the_syns_fails() {
    assert_check(&verify_capture("two-subflows.pcap"), 0, "mp_capable.version", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        if !(seg.flags.syn() && seg.flags.ack()) {
            return None;
        }
        option_byte(data, seg, |_, o| matches!(o, MptcpOption::Capable(_)).then_some(2))
    })
    .expect("an MP_CAPABLE SYN/ACK");
    assert_eq!(file[at] & 0x0f, 1, "frame {frame}: a v1 SYN/ACK");
    file[at] = (file[at] & 0xf0) | 2;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "mp_capable.version", Outcome::Fail);
    assert!(k.detail.contains("version 2 above the SYN's 1"), "{}", k.detail);
}

#[test]
fn mp_capable_key_echo_with_a_flipped_receiver_key_fails() {
    assert_check(&verify_capture("two-subflows.pcap"), 0, "mp_capable.key_echo", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        if seg.flags.syn() {
            return None;
        }
        // kind, len, subtype|version, flags, sender key (8), receiver key (8).
        option_byte(data, seg, |_, o| matches!(o, MptcpOption::Capable(c) if c.receiver_key.is_some()).then_some(4 + 8 + 7))
    })
    .expect("a third-ACK MP_CAPABLE");
    file[at] ^= 0x01;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "mp_capable.key_echo", Outcome::Fail);
    assert_eq!(k.frames.first(), Some(&frame), "{k:?}");
}

/// An MP_JOIN SYN token no connection produced: the join is an orphan, so the connection's
/// `mp_join.token` cannot see it; the capture-level check fails because the connection the
/// join was meant for was alive with both keys known.
#[test]
fn mp_join_token_flipped_fails_at_capture_level() {
    let r = verify_capture("two-subflows.pcap");
    assert_check(&r, 0, "mp_join.token", Outcome::Pass);
    assert_capture_check(&r, "mp_join.token", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        // kind, len, subtype|B, address id, token (4), nonce (4).
        option_byte(data, seg, |_, o| matches!(o, MptcpOption::Join(MpJoin::Syn(_))).then_some(4 + 3))
    })
    .expect("an MP_JOIN SYN");
    file[at] ^= 0x10;
    let r = verify_bytes(file);
    let k = assert_capture_check(&r, "mp_join.token", Outcome::Fail);
    assert!(k.frames.contains(&frame), "{k:?}");
    // Its DSNs put the join in the connection, whose own check fails too.
    let k = assert_check(&r, 0, "mp_join.token", Outcome::Fail);
    assert!(k.detail.contains("its DSNs put it in this connection"), "{k:?}");
    assert!(!r.ok());
}

/// Offsets of the subtype byte of every MP_CAPABLE option.
fn capable_subtype_offsets(file: &[u8]) -> Vec<usize> {
    common::find_offsets(file, SLL2, |data, seg| option_byte(data, seg, |_, o| matches!(o, MptcpOption::Capable(_)).then_some(2)))
        .into_iter()
        .map(|(_, at)| at)
        .collect()
}

/// A join whose connection's handshake is not in the capture skips: no key to compare with.
#[test]
fn mp_join_token_of_a_connection_not_in_the_capture_skips() {
    let mut file = read("two-subflows.pcap");
    // Drop the handshake: corrupt every MP_CAPABLE's subtype so it is no MP_CAPABLE (keys gone).
    let at: Vec<_> = capable_subtype_offsets(&file);
    assert!(at.len() >= 3, "SYN, SYN/ACK, third ACK");
    for a in at {
        file[a] = 0xe0 | (file[a] & 0x0f); // subtype 14: unknown, kept raw
    }
    let r = verify_bytes(file);
    // The subflows are still one connection, found from the data level, without keys: the
    // join's token cannot be checked.
    assert_eq!(r.connections.len(), 1);
    assert_check(&r, 0, "mp_join.token", Outcome::Skip);
    assert_capture_check(&r, "mp_join.token", Outcome::Skip);
}

#[test]
fn mp_join_ack_hmac_flipped_fails() {
    let r = verify_capture("two-subflows.pcap");
    assert_check(&r, 0, "mp_join.synack_hmac", Outcome::Pass);
    assert_check(&r, 0, "mp_join.ack_hmac", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        // kind, len, subtype|reserved, reserved, HMAC (20).
        option_byte(data, seg, |_, o| matches!(o, MptcpOption::Join(MpJoin::Ack(_))).then_some(4 + 10))
    })
    .expect("an MP_JOIN third ACK");
    file[at] ^= 0x40;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "mp_join.ack_hmac", Outcome::Fail);
    assert_eq!(k.frames.first(), Some(&frame));
    assert_check(&r, 0, "mp_join.synack_hmac", Outcome::Pass);
}

#[test]
fn mp_join_synack_hmac_flipped_fails() {
    let mut file = read("two-subflows.pcap");
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        // kind, len, subtype|B, address id, truncated HMAC (8), nonce (4).
        option_byte(data, seg, |_, o| matches!(o, MptcpOption::Join(MpJoin::SynAck(_))).then_some(4))
    })
    .expect("an MP_JOIN SYN/ACK");
    file[at] ^= 0x01;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "mp_join.synack_hmac", Outcome::Fail);
    assert_eq!(k.frames.first(), Some(&frame));
}

#[test]
fn add_addr_hmac_flipped_fails() {
    assert_check(&verify_capture("signal.pcap"), 0, "add_addr.hmac", Outcome::Pass);
    let mut file = read("signal.pcap");
    let (_, at) = find_offset(&file, SLL2, |data, seg| {
        option_byte(data, seg, |_, o| match o {
            MptcpOption::AddAddr(a) if a.hmac.is_some() => Some(o.buffer_len() - 1),
            _ => None,
        })
    })
    .expect("an ADD_ADDR with HMAC");
    file[at] ^= 0x80;
    assert_check(&verify_bytes(file), 0, "add_addr.hmac", Outcome::Fail);
}

#[test]
fn dss_checksum_over_a_flipped_payload_bit_fails() {
    let r = verify_capture("checksum.pcap");
    assert_check(&r, 0, "dss.checksum", Outcome::Pass);
    // Without negotiated checksums the check skips and says why.
    let rr = verify_capture("two-subflows.pcap");
    let k = assert_check(&rr, 0, "dss.checksum", Outcome::Skip);
    assert!(k.detail.contains("not negotiated"), "{}", k.detail);
    let mut file = read("checksum.pcap");
    let (frame, at) =
        find_offset(&file, SLL2, |data, seg| (seg.payload.len() > 100).then(|| offset_in(data, seg.payload) + 50)).expect("a data segment");
    file[at] ^= 0x04;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "dss.checksum", Outcome::Fail);
    assert!(k.frames.first().is_some_and(|&f| f <= frame), "{k:?}");
}

/// Frames whose whole payload is data-level bytes another subflow already carried.
struct Reinjections(Vec<u64>);
impl Sink for Reinjections {
    fn segment(&mut self, r: &SegmentRecord) {
        if r.payload_len > 0 && r.reinjected_bytes == u64::from(r.payload_len) && !r.tcp_retransmission {
            self.0.push(r.frame);
        }
    }
}

#[test]
fn dss_mapping_consistency_reinjected_bytes_that_differ_fail() {
    let r = verify_capture("path-cut.pcap");
    assert_check(&r, 0, "dss.mapping_consistency", Outcome::Pass);
    let mut frames = Reinjections(Vec::new());
    let file = read("path-cut.pcap");
    let a = common::analyze_bytes_into(file.clone(), Analyzer::new(Limits::default()), &mut frames);
    assert!(a.connections[0].c2s.reinjected_bytes + a.connections[0].s2c.reinjected_bytes > 0);
    let frames = frames.0;
    assert!(!frames.is_empty(), "path-cut.pcap reinjects whole segments");
    let records = pcap_records(&file);
    let frame = frames[0];
    let range = records[(frame - 1) as usize].1.clone();
    let at = match decode(SLL2, &file[range.clone()]) {
        Decoded::Tcp(seg) => range.start + offset_in(&file[range.clone()], seg.payload) + seg.payload.len() / 2,
        other => panic!("frame {frame}: {other:?}"),
    };
    let mut file = file;
    file[at] ^= 0x20;
    let a = analyze_bytes(file, Analyzer::new(Limits::default()));
    let c = &a.connections[0];
    assert_eq!(c.c2s.mismatched_bytes + c.s2c.mismatched_bytes, 1, "frame {frame}");
    let rr = report_of(&a);
    let k = assert_check(&rr, 0, "dss.mapping_consistency", Outcome::Fail);
    assert!(k.detail.starts_with("1 re-sent data-level bytes differ"), "{}", k.detail);
}

#[test]
fn dss_mapping_consistency_with_a_moved_dsn_fails() {
    let mut file = read("two-subflows.pcap");
    // A mapping repeated on a later segment (same subflow seq and DSN): move its DSN by one.
    let seen = RefCell::new(HashSet::new());
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        option_byte(data, seg, |seg, o| match o {
            MptcpOption::Dss(d) => {
                let m = d.mapping?;
                if m.data_level_length == 0 || d.data_fin {
                    return None;
                }
                let key = (seg.src, seg.sport, m.subflow_seq, m.dsn);
                if seen.borrow_mut().insert(key) {
                    None
                } else {
                    dsn_last_byte(d)
                }
            }
            _ => None,
        })
    })
    .expect("a repeated DSS mapping");
    file[at] ^= 0x01;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "dss.mapping_consistency", Outcome::Fail);
    assert!(k.frames.contains(&frame), "{k:?}");
    assert!(k.detail.contains("with another offset"), "{}", k.detail);
}

/// Moves every DATA_FIN of the first direction to send one 256 bytes forward: a gap the peer
/// never data-ACKs, and a DATA_FIN it never data-ACKs.
#[test]
fn data_fin_moved_forward_fails_complete_and_closure() {
    let r = verify_capture("two-subflows.pcap");
    assert_check(&r, 0, "data.complete", Outcome::Pass);
    assert_check(&r, 0, "data.closure", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let sender = RefCell::new(None);
    let hits = find_offsets(&file, SLL2, |data, seg| {
        option_byte(data, seg, |seg, o| match o {
            MptcpOption::Dss(d) if d.data_fin && d.mapping.is_some() => {
                let who = *sender.borrow_mut().get_or_insert((seg.src, seg.sport));
                (who == (seg.src, seg.sport)).then(|| dsn_last_byte(d).map(|b| b - 1)).flatten()
            }
            _ => None,
        })
    });
    assert!(!hits.is_empty(), "a DATA_FIN");
    for (_, at) in hits {
        file[at] = file[at].wrapping_add(1);
    }
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "data.complete", Outcome::Fail);
    assert!(k.detail.contains("never seen and never data-ACKed"), "{}", k.detail);
    let k = assert_check(&r, 0, "data.closure", Outcome::Fail);
    assert!(k.detail.contains("never data-ACKed"), "{}", k.detail);
}

#[test]
fn fallback_by_a_mid_connection_infinite_mapping_fails() {
    assert_check(&verify_capture("two-subflows.pcap"), 0, "fallback", Outcome::Pass);
    // A handshake fallback (the peer does not speak MPTCP) is reported, not failed.
    let rr = verify_capture("fallback.pcap");
    let k = assert_check(&rr, 0, "fallback", Outcome::Pass);
    assert!(k.detail.contains("does not speak MPTCP"), "{}", k.detail);
    let mut file = read("two-subflows.pcap");
    let n = std::cell::Cell::new(0);
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        option_byte(data, seg, |_, o| match o {
            MptcpOption::Dss(d) if !d.data_fin && d.mapping.is_some_and(|m| m.data_level_length > 1) => {
                n.set(n.get() + 1);
                // The 20th mapping: kind, len, subtype, flags, data ACK, DSN, subflow seq (4).
                (n.get() == 20).then(|| dsn_last_byte(d).map(|b| b + 1 + 4)).flatten()
            }
            _ => None,
        })
    })
    .expect("a mid-connection DSS mapping");
    file[at] = 0;
    file[at + 1] = 0;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "fallback", Outcome::Fail);
    assert_eq!(k.frames, vec![frame]);
    assert!(k.detail.contains("infinite mapping"), "{}", k.detail);
}

#[test]
fn mp_fastclose_key_flipped_fails() {
    let r = verify_capture("fastclose.pcap");
    assert_check(&r, 0, "mp_fastclose.key", Outcome::Pass);
    assert_check(&verify_capture("two-subflows.pcap"), 0, "mp_fastclose.key", Outcome::Skip);
    let mut file = read("fastclose.pcap");
    // kind, len, subtype|reserved, reserved, receiver key (8).
    let hits =
        find_offsets(&file, SLL2, |data, seg| option_byte(data, seg, |_, o| matches!(o, MptcpOption::FastClose(_)).then_some(4 + 7)));
    assert!(!hits.is_empty(), "an MP_FASTCLOSE");
    file[hits[0].1] ^= 0x01;
    let rr = verify_bytes(file);
    let k = assert_check(&rr, 0, "mp_fastclose.key", Outcome::Fail);
    assert_eq!(k.frames.first(), Some(&hits[0].0));
}

/// `signals` is informational: it passes, listing what it saw.
#[test]
fn signals_lists_fastclose_and_tcprst_with_frames() {
    let r = verify_capture("fastclose.pcap");
    let k = assert_check(&r, 0, "signals", Outcome::Pass);
    assert!(k.detail.contains("MP_FASTCLOSE at frame"), "{}", k.detail);
    assert!(k.detail.contains("MP_TCPRST reason"), "{}", k.detail);
    assert!(k.frames.windows(2).all(|w| w[0] < w[1]), "frames listed once: {:?}", k.frames);
    assert!(!k.frames.is_empty(), "{k:?}");
    let r = verify_capture("two-subflows.pcap");
    let k = assert_check(&r, 0, "signals", Outcome::Pass);
    assert_eq!(k.detail, "no MP_FAIL, MP_FASTCLOSE or MP_TCPRST");
    assert!(k.frames.is_empty());
}

/// A join whose SYN/ACK is not in the capture (its record dropped from two-subflows.pcap, as when
/// the peer refuses the join): the HMAC checks skip saying so rather than claiming there was no
/// join.
#[test]
fn join_hmac_skip_says_the_join_was_not_answered() {
    let file = read("two-subflows.pcap");
    let (synack, _) = find_offset(&file, SLL2, |_, seg| {
        mptcp_options(seg.options).flatten().any(|(_, o)| matches!(o, MptcpOption::Join(MpJoin::SynAck(_)))).then_some(0)
    })
    .expect("a join SYN/ACK");
    let mut cut = file[..24].to_vec();
    for (frame, range) in pcap_records(&file) {
        if frame != synack {
            cut.extend_from_slice(&file[range.start - 16..range.end]);
        }
    }
    let r = verify_bytes(cut);
    assert_check(&r, 0, "mp_join.token", Outcome::Pass);
    let k = assert_check(&r, 0, "mp_join.synack_hmac", Outcome::Skip);
    assert!(k.detail.contains("no MP_JOIN SYN/ACK"), "{}", k.detail);
}

/// Clears the DSS 'a' flag (8-byte data ACK) of a DSS that has one: the option's length no
/// longer fits its flags.
#[test]
fn options_length_with_a_cleared_ack_width_flag_fails() {
    assert_check(&verify_capture("two-subflows.pcap"), 0, "options.length", Outcome::Pass);
    let mut file = read("two-subflows.pcap");
    let n = std::cell::Cell::new(0);
    let (frame, at) = find_offset(&file, SLL2, |data, seg| {
        option_byte(data, seg, |_, o| match o {
            MptcpOption::Dss(d) if d.data_ack.is_some_and(|a| a.len == SeqLen::Eight) => {
                n.set(n.get() + 1);
                (n.get() == 10).then_some(3)
            }
            _ => None,
        })
    })
    .expect("a DSS with an 8-byte data ACK");
    assert_eq!(file[at] & 0x03, 0x03);
    file[at] &= !0x02;
    let r = verify_bytes(file);
    let k = assert_check(&r, 0, "options.length", Outcome::Fail);
    assert_eq!(k.frames, vec![frame]);
}
