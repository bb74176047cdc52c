use std::net::IpAddr;

use super::matcher::tcp_options;
use super::model::{CLIENT, SERVER};
use super::*;
use crate::track::ReinjectionVerdict;
use mptcp_wire::decode::tcp::TcpFlags;
use mptcp_wire::decode::TcpSegment;

const C: &str = "192.0.2.1";
const S: &str = "203.0.113.2";

#[allow(clippy::too_many_arguments)]
/// A segment c2s (client 1000 -> server 80) or s2c, with a timestamp option holding `tsval`.
fn feed(p: &mut Pairer, side: usize, frame: u64, ms: u64, c2s: bool, flags: u8, seq: u32, len: u32, tsval: u32, opts: &mut Vec<u8>) {
    opts.clear();
    opts.extend_from_slice(&[1, 1, 8, 10]);
    opts.extend_from_slice(&tsval.to_be_bytes());
    opts.extend_from_slice(&[0, 0, 0, 0]);
    send(p, side, frame, ms, (C, 1000), c2s, flags, seq, 1, len, opts);
}

/// One segment between `client` and the server's port 80 (c2s: from the client).
#[allow(clippy::too_many_arguments)]
fn send(
    p: &mut Pairer,
    side: usize,
    frame: u64,
    ms: u64,
    client: (&str, u16),
    c2s: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
    options: &[u8],
) {
    let (a, b): (IpAddr, IpAddr) = (client.0.parse().unwrap(), S.parse().unwrap());
    let (src, dst, sport, dport) = if c2s { (a, b, client.1, 80) } else { (b, a, 80, client.1) };
    let seg = TcpSegment {
        src,
        dst,
        sport,
        dport,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 65535,
        ttl: 64,
        checksum: 0,
        tunnel: None,
        options,
        options_truncated: false,
        payload: &[],
        payload_len: len,
    };
    p.packet(side, frame, ms * 1_000_000, &seg);
}

#[test]
fn a_retransmission_is_matched_to_its_own_copy() {
    let mut p = Pairer::new(PairOptions::default());
    let o = &mut Vec::new();
    feed(&mut p, CLIENT, 1, 0, true, 0x02, 100, 0, 1, o); // SYN
    feed(&mut p, SERVER, 1, 5, true, 0x02, 100, 0, 1, o);
    feed(&mut p, CLIENT, 2, 10, true, 0x18, 101, 500, 2, o); // lost
    feed(&mut p, CLIENT, 3, 300, true, 0x10, 101, 500, 3, o); // retransmission
    feed(&mut p, SERVER, 2, 307, true, 0x10, 101, 500, 3, o);
    let r = p.finish();
    assert_eq!(r.subflows.len(), 1);
    let d = &r.subflows[0].c2s;
    assert_eq!((d.sent_segments, d.received_segments, d.matched, d.lost_count), (3, 2, 2, 1));
    assert_eq!((d.lost[0].seq, d.lost[0].len, d.lost[0].frame, d.lost[0].flags.as_str()), (1, 500, 2, "P."));
    let owd = d.owd_us.as_ref().unwrap();
    assert_eq!((owd.min, owd.max, owd.median), (5000.0, 7000.0, 6000.0));
    assert_eq!(r.subflows[0].kind, Some(SynKind::Tcp));
    assert_eq!(r.clock_offset_us, None);
}

/// A segment between `src` (port 1000 on the client side) and the server, with extra options.
#[allow(clippy::too_many_arguments)]
fn feed_at(p: &mut Pairer, side: usize, ms: u64, client: (&str, u16), c2s: bool, flags: u8, seq: u32, ack: u32, len: u32, extra: &[u8]) {
    let mut opts = vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
    opts.extend_from_slice(extra);
    send(p, side, 0, ms, client, c2s, flags, seq, ack, len, &opts);
}

#[test]
fn a_join_behind_a_nat_that_rewrites_addresses_ports_and_isns_is_matched() {
    let mut p = Pairer::new(PairOptions::default());
    // MP_JOIN SYN: token 0xa1b2c3d4, address id 2, nonce 0x01020304 (RFC 8684 Figure 5)
    let join_syn = [30, 12, 0x10, 2, 0xa1, 0xb2, 0xc3, 0xd4, 1, 2, 3, 4];
    // MP_JOIN SYN/ACK: address id 0, truncated HMAC, nonce (Figure 6)
    let join_synack = [30, 16, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9];
    let (cl, nat) = (("198.51.100.1", 1000), ("203.0.113.129", 5555));
    // the middlebox adds 7000 to c2s sequence numbers and 300 to s2c ones
    feed_at(&mut p, CLIENT, 0, cl, true, 0x02, 100, 0, 0, &join_syn);
    feed_at(&mut p, SERVER, 5, nat, true, 0x02, 7100, 0, 0, &join_syn);
    feed_at(&mut p, SERVER, 6, nat, false, 0x12, 900, 7101, 0, &join_synack);
    feed_at(&mut p, CLIENT, 11, cl, false, 0x12, 600, 101, 0, &join_synack);
    feed_at(&mut p, CLIENT, 20, cl, true, 0x10, 101, 601, 500, &[]);
    feed_at(&mut p, CLIENT, 21, cl, true, 0x10, 601, 601, 500, &[]); // lost
    feed_at(&mut p, SERVER, 26, nat, true, 0x10, 7101, 901, 500, &[]);
    feed_at(&mut p, SERVER, 30, nat, false, 0x10, 901, 7601, 100, &[]);
    feed_at(&mut p, CLIENT, 36, cl, false, 0x10, 601, 601, 100, &[]);
    // a plain 4-tuple elsewhere is not taken for the join
    feed_at(&mut p, SERVER, 40, ("192.0.2.1", 1000), true, 0x10, 101, 1, 500, &[]);
    let r = p.finish();
    let j = r.subflows.iter().find(|s| s.kind == Some(SynKind::MpJoin)).expect("the join");
    assert_eq!(j.subflow, "198.51.100.1:1000->203.0.113.2:80");
    assert_eq!(j.at_server.as_deref(), Some("203.0.113.129:5555->203.0.113.2:80"));
    assert_eq!(j.linked_by, Some(LinkedBy::MpJoin));
    assert_eq!((j.c2s.sent_segments, j.c2s.matched, j.c2s.lost_count), (3, 2, 1));
    assert_eq!((j.c2s.lost[0].seq, j.c2s.lost[0].raw_seq), (501, 601));
    assert_eq!((j.s2c.sent_segments, j.s2c.matched, j.s2c.lost_count), (2, 2, 0));
    assert_eq!(j.c2s.owd_us.as_ref().map(|o| o.max), Some(6000.0));
    let other = r.subflows.iter().find(|s| s.kind.is_none()).expect("the plain flow");
    assert_eq!(other.linked_by, None);
    assert_eq!(r.matched, 4);
}

#[test]
fn unmatched_segments_are_final_after_the_window_and_the_cap() {
    let mut p = Pairer::new(PairOptions { window_ns: 1_000_000_000, max_pending: 2, max_listed: 1, ..Default::default() });
    let o = &mut Vec::new();
    for i in 0..5u32 {
        feed(&mut p, CLIENT, u64::from(i) + 1, u64::from(i), true, 0x10, 1000 + i * 100, 100, i, o);
    }
    // the cap made the first three final; the window the fourth
    assert_eq!(p.npending, 2);
    feed(&mut p, SERVER, 1, 1004, false, 0x10, 7, 10, 9, o);
    assert_eq!(p.npending, 2);
    let r = p.finish();
    let d = &r.subflows[0].c2s;
    assert_eq!((d.lost_count, d.lost.len(), d.lost_list_truncated), (5, 1, true));
    assert!(!d.lost[0].relative);
    assert_eq!(r.subflows[0].s2c.lost_count, 1);
    assert_eq!(r.matched, 0);
}

#[test]
fn segmentation_offload_is_matched_by_byte_coverage() {
    let mut p = Pairer::new(PairOptions::default());
    let o = &mut Vec::new();
    // TSO: one 2856-byte segment at the client, two 1428-byte ones at the server
    feed(&mut p, CLIENT, 1, 10, true, 0x10, 1000, 2856, 1, o);
    feed(&mut p, SERVER, 1, 15, true, 0x10, 1000, 1428, 1, o);
    feed(&mut p, SERVER, 2, 16, true, 0x10, 2428, 1428, 1, o);
    // GRO: two at the client, one at the server
    feed(&mut p, CLIENT, 2, 20, true, 0x10, 5000, 1428, 2, o);
    feed(&mut p, CLIENT, 3, 21, true, 0x10, 6428, 1428, 2, o);
    feed(&mut p, SERVER, 3, 30, true, 0x10, 5000, 2856, 2, o);
    // half covered: lost, and the piece seen only at the server
    feed(&mut p, CLIENT, 4, 40, true, 0x10, 9000, 2856, 3, o);
    feed(&mut p, SERVER, 4, 45, true, 0x10, 9000, 1428, 3, o);
    // exact matching still comes first
    feed(&mut p, CLIENT, 5, 50, true, 0x10, 20000, 1428, 4, o);
    feed(&mut p, SERVER, 5, 52, true, 0x10, 20000, 1428, 4, o);
    // a lost original is not covered by pieces of a later copy (another TSval)
    feed(&mut p, CLIENT, 6, 60, true, 0x10, 30000, 2856, 5, o);
    feed(&mut p, SERVER, 6, 300, true, 0x10, 30000, 1428, 6, o);
    feed(&mut p, SERVER, 7, 301, true, 0x10, 31428, 1428, 6, o);
    let r = p.finish();
    let d = &r.subflows[0].c2s;
    assert_eq!((d.sent_segments, d.received_segments, d.matched), (6, 7, 4));
    assert_eq!((d.lost_count, d.lost_bytes, d.lost[0].frame, d.lost[1].frame, d.seen_only_at_receiver), (2, 5712, 4, 6, 3));
    // delays: to the last covering piece (6 ms), each small one to the big one (10, 9 ms)
    let owd = d.owd_us.as_ref().unwrap();
    assert_eq!((owd.n, owd.min, owd.max), (4, 2000.0, 10000.0));
    assert_eq!(owd.median, 7500.0);
}

#[test]
fn odd_options_do_not_panic() {
    for opts in [&[8u8][..], &[8, 10, 1], &[30, 2], &[30, 1, 0], &[2, 0, 8, 10], &[1, 1, 1, 30, 3, 0x10], &[8, 255, 0, 0]] {
        let seg = TcpSegment {
            src: C.parse().unwrap(),
            dst: S.parse().unwrap(),
            sport: 1,
            dport: 2,
            seq: 0,
            ack: 0,
            flags: TcpFlags(0x02),
            ttl: 64,
            checksum: 0,
            tunnel: None,
            window: 0,
            options: opts,
            options_truncated: false,
            payload: &[],
            payload_len: 0,
        };
        let _ = tcp_options(&seg);
    }
}

/// DSS with a mapping only: 8-byte DSN, relative subflow sequence number, data-level length.
fn dss(dsn: u64, ssn: u32, len: u16) -> Vec<u8> {
    let mut v = vec![30, 18, 0x20, 0x0c];
    v.extend_from_slice(&dsn.to_be_bytes());
    v.extend_from_slice(&ssn.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

/// 20,000 one-byte mappings on one subflow, every tenth lost between the points and sent again
/// (with the next byte) on a second subflow; the truth is that of the construction, not of
/// the matcher: delays 3 ms, 2,000 lost, 2,020 reinjections of which 1,600 useful, 20
/// redundant, 400 lost. (The reinjection pass was quadratic in such segments.)
#[test]
fn one_byte_mappings_have_the_verdicts_they_were_built_with() {
    let n = 20_000u64;
    // (ms, side, client port, seq, len, DSS (dsn, ssn, data-level length))
    type Ev = (u64, usize, u16, u32, u32, Option<(u64, u32, u16)>);
    let mut ev: Vec<Ev> = vec![(0, CLIENT, 1000, 100, 0, None), (3, SERVER, 1000, 100, 0, None)];
    ev.extend([(1, CLIENT, 1001, 5000, 0, None), (4, SERVER, 1001, 5000, 0, None)]);
    let mut b_seq = 5001u32;
    for i in 0..n {
        let t = 10 + i;
        let (seq, dsn) = (101 + i as u32, 1000 + i);
        ev.push((t, CLIENT, 1000, seq, 1, Some((dsn, 1 + i as u32, 1))));
        if i % 10 != 0 {
            ev.push((t + 3, SERVER, 1000, seq, 1, Some((dsn, 1 + i as u32, 1))));
        }
        // the lost ones, and every 1000th from the 6th, again on the second subflow 200 ms later
        if i % 10 == 0 || i % 1000 == 5 {
            let m = Some((dsn, b_seq - 5000, 2));
            ev.push((t + 200, CLIENT, 1001, b_seq, 2, m));
            if i % 50 != 0 {
                ev.push((t + 203, SERVER, 1001, b_seq, 2, m));
            }
            b_seq += 2;
        }
    }
    ev.sort_by_key(|e| e.0);
    let mut p = Pairer::new(PairOptions::default());
    for (ms, side, port, seq, len, m) in ev {
        let flags = if len == 0 { 0x02 } else { 0x10 };
        let extra = m.map_or(Vec::new(), |(d, s, l)| dss(d, s, l));
        feed_at(&mut p, side, ms, ("192.0.2.1", port), true, flags, seq, 1, len, &extra);
    }
    let r = p.finish();
    assert_eq!(r.subflows.len(), 2);
    let a = &r.subflows[0].c2s;
    assert_eq!((a.sent_segments, a.received_segments, a.matched), (n + 1, n + 1 - n / 10, n + 1 - n / 10));
    assert_eq!((a.lost_count, a.lost_bytes), (n / 10, n / 10));
    let owd = a.owd_us.as_ref().unwrap();
    assert_eq!((owd.min, owd.median, owd.p99, owd.max), (3000.0, 3000.0, 3000.0, 3000.0));
    let b = &r.subflows[1].c2s;
    assert_eq!((b.sent_segments, b.lost_count), (1 + n / 10 + n / 1000, n / 50));
    let s = &r.reinjections_c2s;
    assert_eq!((s.count, s.bytes, s.useful, s.redundant, s.lost), (2020, 4040, 1600, 20, 400));
    assert_eq!(r.reinjections.len(), 1000, "the first max_listed");
    assert!(r.reinjections_truncated);
    // byte 0: neither copy arrived; byte 5: both, the original first; byte 10: the reinjection
    // only, 3 ms after it was sent (220 ms after each capture's first packet)
    let (x, z, y) = (&r.reinjections[0], &r.reinjections[1], &r.reinjections[2]);
    assert_eq!((x.dsn, x.len, x.original_arrived, x.reinjection_arrived, x.verdict), (1000, 2, None, None, ReinjectionVerdict::Lost));
    assert_eq!(
        (z.dsn, z.original_arrived, z.reinjection_arrived, z.verdict),
        (1005, Some(0.015), Some(0.215), ReinjectionVerdict::Redundant)
    );
    assert_eq!((y.dsn, y.t_rel, y.original_t_rel, y.original_arrived), (1010, 0.22, 0.02, None));
    assert_eq!((y.reinjection_arrived, y.verdict), (Some(0.22), ReinjectionVerdict::Useful));
    assert_eq!((y.subflow.as_str(), y.original_subflow.as_str()), ("192.0.2.1:1001->203.0.113.2:80", "192.0.2.1:1000->203.0.113.2:80"));
    assert!(r.limits.is_empty());
}

/// Flows past `max_flows` are counted, not followed, and the report says so.
#[test]
fn flows_past_the_cap_are_counted_and_said() {
    let mut p = Pairer::new(PairOptions { max_flows: 2, ..Default::default() });
    for port in 1000..1005u16 {
        for side in [CLIENT, SERVER] {
            feed_at(&mut p, side, u64::from(port), ("192.0.2.1", port), true, 0x10, 1, 1, 100, &[]);
        }
    }
    let r = p.finish();
    assert_eq!((r.subflows.len(), r.matched), (2, 2));
    assert_eq!(r.limits.len(), 1);
    assert!(r.limits[0].contains("6 segments"), "{:?}", r.limits);
}

/// Past `max_samples` the delays held are thinned: n, min and max stay those of every segment
/// (delays 1 ms .. 100 ms by construction), and the report says so.
#[test]
fn thinned_delays_keep_count_min_and_max() {
    let mut p = Pairer::new(PairOptions { max_samples: 4, ..Default::default() });
    let o = &mut Vec::new();
    for i in 0..100u32 {
        let t = u64::from(i) * 1000;
        feed(&mut p, CLIENT, u64::from(i) + 1, t, true, 0x10, 1000 + i * 100, 100, i, o);
        feed(&mut p, SERVER, u64::from(i) + 1, t + u64::from(i) + 1, true, 0x10, 1000 + i * 100, 100, i, o);
    }
    let r = p.finish();
    let owd = r.subflows[0].c2s.owd_us.as_ref().unwrap();
    assert_eq!((owd.n, owd.min, owd.max), (100, 1000.0, 100_000.0));
    assert_eq!(r.owd_c2s_us.as_ref().map(|o| (o.n, o.min, o.max)), Some((100, 1000.0, 100_000.0)));
    assert_eq!(r.matched, 100);
    assert!(r.limits.iter().any(|l| l.contains("one matched segment in 32")), "{:?}", r.limits);
}
