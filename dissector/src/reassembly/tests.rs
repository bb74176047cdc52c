use super::*;
use proptest::prelude::*;

/// Collects what the sink receives, checking order as it goes.
#[derive(Default, Debug)]
struct Out {
    data: Vec<u8>,
    holes: Vec<(u64, u64, HoleKind)>,
    next: Option<u64>,
    out_of_order: bool,
}

impl Out {
    fn take(&mut self, c: Chunk<'_>) {
        let (dsn, len) = match c {
            Chunk::Data { dsn, bytes } => {
                self.data.extend_from_slice(bytes);
                (dsn, bytes.len() as u64)
            }
            Chunk::Hole { dsn, len, kind } => {
                self.holes.push((dsn, len, kind));
                (dsn, len)
            }
        };
        if self.next.is_some_and(|n| n != dsn) {
            self.out_of_order = true;
        }
        self.next = Some(dsn.wrapping_add(len));
    }
}

fn ins(r: &mut Reassembler, o: &mut Out, dsn: u64, bytes: &[u8], subflow: u32, frame: u64) -> Insert {
    r.insert(dsn, bytes, bytes.len() as u32, subflow, frame, frame * 1000, &mut |c| o.take(c))
}

fn stream(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn skip_limits() -> ReassemblyLimits {
    ReassemblyLimits { hole_policy: HolePolicy::Skip, ..ReassemblyLimits::default() }
}

#[test]
fn in_order() {
    let s = stream(10_000);
    let mut r = Reassembler::new(100, ReassemblyLimits::default());
    let mut o = Out::default();
    for (k, c) in s.chunks(1400).enumerate() {
        let i = ins(&mut r, &mut o, 100 + (k * 1400) as u64, c, 1, k as u64);
        assert_eq!(i.new_bytes, c.len() as u64);
        assert_eq!(i.duplicate_bytes, 0);
    }
    assert_eq!(o.data, s);
    assert_eq!(r.pending_ranges(), 0);
    r.data_fin(10_100, 99);
    let sum = r.finish(&mut |c| o.take(c));
    assert!(sum.complete);
    assert_eq!((sum.bytes, sum.captured_bytes, sum.delivered_bytes), (10_000, 10_000, 10_000));
    assert_eq!(sum.end_dsn, 10_100);
    assert!(!o.out_of_order);
}

#[test]
fn reversed_order() {
    let s = stream(5000);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    let pieces: Vec<_> = s.chunks(100).enumerate().collect();
    for (k, c) in pieces.iter().rev() {
        ins(&mut r, &mut o, (*k * 100) as u64, c, 1, *k as u64);
        if *k != 0 {
            assert!(o.data.is_empty());
        }
    }
    assert_eq!(o.data, s);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(sum.duplicate_bytes, 0);
    assert_eq!(sum.gaps.count, 0);
}

#[test]
fn gaps_reported_exactly() {
    let s = stream(1000);
    let mut r = Reassembler::new(1 << 32, ReassemblyLimits::default());
    let mut o = Out::default();
    let base = 1u64 << 32;
    ins(&mut r, &mut o, base, &s[..100], 1, 1);
    ins(&mut r, &mut o, base + 200, &s[200..300], 1, 2);
    ins(&mut r, &mut o, base + 500, &s[500..600], 2, 3);
    r.data_fin(base + 1000, 4);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(o.data, &s[..100]);
    assert_eq!(sum.gaps.ranges, vec![(base + 100, base + 200), (base + 300, base + 500), (base + 600, base + 1000)]);
    assert_eq!((sum.gaps.count, sum.gaps.bytes), (3, 700));
    assert_eq!(sum.undelivered_bytes, 200);
    assert!(!sum.complete);
}

#[test]
fn skip_policy_announces_holes() {
    let s = stream(1000);
    let mut r = Reassembler::new(0, skip_limits());
    let mut o = Out::default();
    ins(&mut r, &mut o, 200, &s[200..300], 1, 2);
    r.insert(300, &[], 100, 1, 3, 3, &mut |c| o.take(c));
    ins(&mut r, &mut o, 0, &s[..100], 1, 1);
    r.data_fin(500, 4);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(o.holes, vec![(100, 100, HoleKind::NeverSeen), (300, 100, HoleKind::Uncaptured), (400, 100, HoleKind::NeverSeen)]);
    let mut expect = s[..100].to_vec();
    expect.extend_from_slice(&s[200..300]);
    assert_eq!(o.data, expect);
    assert!(!o.out_of_order);
    assert_eq!(sum.gaps.ranges, vec![(100, 200), (400, 500)]);
    assert_eq!(sum.uncaptured.ranges, vec![(300, 400)]);
    // A late byte for a hole already given up is counted, not delivered.
}

#[test]
fn late_bytes_after_skip() {
    let s = stream(3000);
    let lim = ReassemblyLimits { max_buffered_bytes: 1000, ..skip_limits() };
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    ins(&mut r, &mut o, 1000, &s[1000..2000], 1, 1); // fits exactly
    ins(&mut r, &mut o, 2000, &s[2000..2500], 1, 2); // window full: hole [0,1000) given up
    assert_eq!(o.holes, vec![(0, 1000, HoleKind::NeverSeen)]);
    assert_eq!(o.data, &s[1000..2500]);
    let i = ins(&mut r, &mut o, 0, &s[..100], 2, 3);
    assert_eq!((i.late_bytes, i.new_bytes, i.duplicate_bytes), (100, 0, 0));
    assert_eq!(o.data, &s[1000..2500]);
}

#[test]
fn uncaptured_ranges_block_and_are_reported() {
    let s = stream(3000);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    r.insert(0, &s[..1000], 1000, 1, 1, 1, &mut |c| o.take(c));
    // snaplen: only 60 of 1000 bytes captured
    r.insert(1000, &s[1000..1060], 1000, 1, 2, 2, &mut |c| o.take(c));
    r.insert(2000, &s[2000..3000], 1000, 1, 3, 3, &mut |c| o.take(c));
    assert_eq!(o.data, &s[..1060]);
    r.data_fin(3000, 4);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(sum.uncaptured.ranges, vec![(1060, 2000)]);
    assert_eq!(sum.gaps.count, 0);
    assert_eq!((sum.bytes, sum.captured_bytes), (3000, 2060));
    assert!(!sum.complete);

    // header-only capture: all seen, nothing captured, no caps hit
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    for k in 0..10_000u64 {
        r.insert(k * 1400, &[], 1400, 1, k, k, &mut |c| o.take(c));
    }
    r.data_fin(14_000_000, 1);
    assert_eq!(r.pending_ranges(), 1);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(sum.uncaptured.ranges, vec![(0, 14_000_000)]);
    assert_eq!((sum.bytes, sum.captured_bytes, sum.caps_hit), (14_000_000, 0, 0));
}

#[test]
fn retransmission_fills_uncaptured() {
    let s = stream(200);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    r.insert(0, &[], 200, 1, 1, 1, &mut |c| o.take(c));
    assert!(o.data.is_empty());
    let i = ins(&mut r, &mut o, 0, &s, 2, 2);
    assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (200, 0));
    assert_eq!(o.data, s);
    r.data_fin(200, 3);
    let sum = r.finish(&mut |c| o.take(c));
    assert!(sum.complete);
    assert_eq!(sum.captured_bytes, 200);
}

#[test]
fn data_fin_completeness() {
    let s = stream(100);
    let mut r = Reassembler::new(7, ReassemblyLimits::default());
    let mut o = Out::default();
    ins(&mut r, &mut o, 7, &s, 1, 1);
    let sum = r.finish(&mut |c| o.take(c));
    assert!(!sum.complete, "no DATA_FIN");
    assert_eq!(sum.end_dsn, 107);

    let mut r = Reassembler::new(7, ReassemblyLimits::default());
    r.data_fin(107, 2);
    r.data_fin(108, 3); // conflicting
    let i = ins(&mut r, &mut o, 7, &[s.as_slice(), b"xyz"].concat(), 1, 1);
    assert_eq!(i.after_fin_bytes, 3);
    let sum = r.finish(&mut |c| o.take(c));
    assert!(sum.complete);
    assert_eq!((sum.data_fin, sum.data_fin_conflicts, sum.after_fin_bytes), (Some(107), 1, 3));

    // DATA_FIN arriving after out-of-order bytes past it
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    ins(&mut r, &mut o, 50, &s[50..], 1, 1);
    r.data_fin(60, 2);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!((sum.bytes, sum.after_fin_bytes), (10, 40));
    assert_eq!(sum.gaps.ranges, vec![(0, 50)]);
}

#[test]
fn huge_jump_stays_bounded() {
    let s = stream(1400);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    ins(&mut r, &mut o, 0, &s, 1, 1);
    for k in 0..100u64 {
        let i = ins(&mut r, &mut o, (1 << 30) + k * 1400, &s, 1, k + 2);
        assert!(i.capped);
        assert_eq!(i.capped_bytes, 1400);
    }
    let lim = ReassemblyLimits::default();
    assert!(r.held_bytes() <= lim.max_buffered_bytes + lim.recent_bytes);
    // 2^40 jump too
    let i = ins(&mut r, &mut o, 1 << 40, &s, 1, 1000);
    assert!(i.capped);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(o.data, s);
    assert_eq!(sum.caps_hit, 101);
    assert_eq!(sum.gaps.ranges, vec![(1400, 1 << 30), ((1 << 30) + 140_000, 1 << 40)]);
    assert_eq!(sum.uncaptured.bytes, 141_400);

    // Skip policy: the jump becomes one announced hole and delivery goes on.
    let mut r = Reassembler::new(0, skip_limits());
    let mut o = Out::default();
    ins(&mut r, &mut o, 0, &s, 1, 1);
    ins(&mut r, &mut o, 1 << 30, &s, 1, 2);
    // beyond the window: the hole is given up at once and the piece delivered
    assert_eq!(o.data.len(), 2800);
    let big = vec![1u8; 5 << 20];
    for (k, c) in big.chunks(1400).enumerate() {
        ins(&mut r, &mut o, (1 << 30) + 1400 + (k * 1400) as u64, c, 1, k as u64);
    }
    assert!(r.held_bytes() <= lim.max_buffered_bytes + lim.recent_bytes);
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(o.holes, vec![(1400, (1 << 30) - 1400, HoleKind::NeverSeen)]);
    assert_eq!(sum.delivered_bytes, 2800 + (5 << 20));
    assert!(!o.out_of_order);
}

#[test]
fn window_skip_stops_at_new_piece() {
    // A far pending piece must not make the skip swallow a nearer new piece.
    let s = stream(3000);
    let lim = ReassemblyLimits { max_buffered_bytes: 1000, ..skip_limits() };
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    ins(&mut r, &mut o, 900, &s[900..1000], 1, 1);
    ins(&mut r, &mut o, 2000, &s[2000..2100], 1, 2); // window: [0,900) given up
    assert_eq!(o.holes, vec![(0, 900, HoleKind::NeverSeen), (1000, 1000, HoleKind::NeverSeen)]);
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    // Uncaptured at the delivery point, then pending data within the window.
    r.insert(0, &[], 10, 1, 1, 1, &mut |c| o.take(c));
    ins(&mut r, &mut o, 800, &s[800..900], 1, 2);
    // Needs 100 DSNs of room: whole holes are given up, up to the next pending data;
    // [900,1050) is still awaited.
    ins(&mut r, &mut o, 1050, &s[1050..1100], 1, 3);
    assert_eq!(o.holes, vec![(0, 10, HoleKind::Uncaptured), (10, 790, HoleKind::NeverSeen)]);
    let i = ins(&mut r, &mut o, 900, &s[900..1050], 1, 4);
    assert_eq!((i.late_bytes, i.new_bytes), (0, 150));
    assert_eq!(o.data, &s[800..1100]);
}

#[test]
fn segment_cap_bounded() {
    let lim = ReassemblyLimits { max_segments: 64, ..ReassemblyLimits::default() };
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    let s = stream(10);
    for k in 1..1000u64 {
        ins(&mut r, &mut o, k * 20, &s, 1, k);
        assert!(r.pending_ranges() <= 64);
    }
    let sum = r.finish(&mut |c| o.take(c));
    assert!(sum.caps_hit > 0);
    assert_eq!(sum.stalled_at, Some(0));
    assert!(o.data.is_empty());
    assert_eq!(sum.gaps.count, 999);

    let mut r = Reassembler::new(0, ReassemblyLimits { hole_policy: HolePolicy::Skip, ..lim });
    let mut o = Out::default();
    for k in 1..1000u64 {
        ins(&mut r, &mut o, k * 20, &s, 1, k);
    }
    r.finish(&mut |c| o.take(c));
    assert_eq!(o.data.len(), 9990);
    assert_eq!(o.holes.len(), 999);
    assert!(!o.out_of_order);
}

#[test]
fn wrap_around_start() {
    let s = stream(4000);
    let start = u64::MAX - 1499;
    let mut r = Reassembler::new(start, ReassemblyLimits::default());
    let mut o = Out::default();
    ins(&mut r, &mut o, start.wrapping_add(2000), &s[2000..], 2, 2);
    ins(&mut r, &mut o, start, &s[..2500], 1, 1);
    assert_eq!(o.data, s);
    // before the start: ignored
    let mut p = vec![0u8; 10];
    p.extend_from_slice(&s[..10]);
    let i = ins(&mut r, &mut o, start - 10, &p, 1, 3);
    assert_eq!((i.before_start_bytes, i.duplicate_bytes), (10, 10));
    r.data_fin(start.wrapping_add(4000), 4);
    let sum = r.finish(&mut |c| o.take(c));
    assert!(sum.complete);
    assert_eq!(sum.end_dsn, 2500);
    assert_eq!(sum.duplicate_bytes, 510);
    assert_eq!(sum.mismatched_bytes, 0);
}

#[test]
fn duplicate_attribution() {
    let s = stream(1500);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    r.insert(0, &s[..1000], 1000, 1, 10, 5_000_000, &mut |c| o.take(c));
    let i = r.insert(500, &s[500..1500], 1000, 2, 20, 9_000_000, &mut |c| o.take(c));
    assert_eq!((i.new_bytes, i.duplicate_bytes, i.unattributed_bytes), (500, 500, 0));
    let d = i.duplicates();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].subflow, d[0].dsn, d[0].bytes, d[0].first_frame, d[0].first_ts_ns), (1, 500, 500, 10, 5_000_000));
    assert_eq!(o.data, s);

    // Out of order: a later piece covering several buffered pieces from two subflows.
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    ins(&mut r, &mut o, 100, &s[100..200], 3, 1);
    ins(&mut r, &mut o, 300, &s[300..400], 4, 2);
    ins(&mut r, &mut o, 400, &s[400..450], 3, 3);
    let i = ins(&mut r, &mut o, 50, &s[50..500], 5, 4);
    assert_eq!((i.new_bytes, i.duplicate_bytes), (200, 250));
    let mut d = i.duplicates().to_vec();
    d.sort_by_key(|d| d.subflow);
    assert_eq!(d.iter().map(|d| (d.subflow, d.bytes)).collect::<Vec<_>>(), vec![(3, 150), (4, 100)]);

    // History cap: the origin is forgotten, the duplicate stays counted.
    let lim = ReassemblyLimits { history_ranges: 2, ..ReassemblyLimits::default() };
    let mut r = Reassembler::new(0, lim);
    for k in 0..5u64 {
        ins(&mut r, &mut o, k * 100 + 1000, &s[..50], k as u32, k);
    }
    let i = ins(&mut r, &mut o, 1000, &s[..50], 9, 9);
    assert_eq!((i.duplicate_bytes, i.unattributed_bytes), (50, 50));
}

#[test]
fn history_coalesces_runs() {
    let s = stream(100_000);
    let lim = ReassemblyLimits { history_ranges: 4, ..ReassemblyLimits::default() };
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    for (k, c) in s.chunks(1000).enumerate() {
        // two subflows alternate 1000-byte runs of 500-byte packets
        let (a, b) = c.split_at(500);
        let sf = (k % 2) as u32;
        ins(&mut r, &mut o, (k * 1000) as u64, a, sf, 2 * k as u64);
        ins(&mut r, &mut o, (k * 1000 + 500) as u64, b, sf, 2 * k as u64 + 1);
    }
    let i = ins(&mut r, &mut o, 99_000, &s[99_000..], 7, 999);
    assert_eq!(i.unattributed_bytes, 0);
    assert_eq!(i.duplicates()[0].subflow, 1);
    assert_eq!((i.duplicates()[0].first_frame, i.duplicates()[0].last_frame), (198, 199));
}

#[test]
fn mismatch_detection() {
    let s = stream(3000);
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    // buffered (out of order) then a differing overlap
    ins(&mut r, &mut o, 1000, &s[1000..2000], 1, 1);
    let mut bad = s[1500..2500].to_vec();
    bad[0] ^= 1;
    bad[10] ^= 1;
    bad[600] ^= 1; // beyond the buffered piece: new bytes, not compared
    let i = ins(&mut r, &mut o, 1500, &bad, 2, 2);
    assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (500, 2));
    // first sighting wins
    ins(&mut r, &mut o, 0, &s[..1000], 1, 3);
    assert_eq!(&o.data[..2000], &s[..2000]);
    // recently delivered
    let mut bad = s[100..200].to_vec();
    bad[5] ^= 0xff;
    let i = ins(&mut r, &mut o, 100, &bad, 3, 4);
    assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (100, 1));
    // uncaptured retransmission: nothing to compare
    let i = r.insert(100, &[], 100, 3, 5, 5, &mut |c| o.take(c));
    assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (100, 0));
    let sum = r.finish(&mut |c| o.take(c));
    assert_eq!(sum.mismatched_bytes, 3);
}

#[test]
fn mismatch_outside_recent_window_not_compared() {
    let s = stream(4000);
    let lim = ReassemblyLimits { recent_bytes: 1000, ..ReassemblyLimits::default() };
    let mut r = Reassembler::new(0, lim);
    let mut o = Out::default();
    ins(&mut r, &mut o, 0, &s, 1, 1);
    assert!(r.held_bytes() <= 1000);
    let i = ins(&mut r, &mut o, 0, &[0xAA; 4000], 2, 2);
    assert_eq!(i.duplicate_bytes, 4000);
    let expect = s[3000..].iter().filter(|&&b| b != 0xAA).count() as u64;
    assert_eq!(i.mismatched_bytes, expect);
}

#[test]
fn odd_inputs_do_not_panic() {
    let mut o = Out::default();
    let mut r = Reassembler::new(
        u64::MAX,
        ReassemblyLimits { max_buffered_bytes: 0, max_segments: 0, history_ranges: 0, recent_bytes: 0, hole_policy: HolePolicy::Skip },
    );
    ins(&mut r, &mut o, 5, &[1, 2, 3], 1, 1);
    ins(&mut r, &mut o, u64::MAX, &[1, 2, 3], 1, 1);
    r.insert(0, &[1, 2, 3, 4, 5], 2, 1, 1, 1, &mut |c| o.take(c)); // captured longer than wire
    r.insert(1 << 62, &[], u32::MAX, 1, 1, 1, &mut |c| o.take(c));
    r.data_fin(0, 1);
    r.data_fin(1 << 63, 1);
    let _ = r.finish(&mut |c| o.take(c));
    assert!(!o.out_of_order);
}

/// Model test: random overlapping pieces from several subflows, shuffled; some captured
/// short (snaplen) and re-sent in full.
type Pieces = (u64, Vec<u8>, Vec<(usize, usize, u32, usize)>, u64);

fn pieces_strategy() -> impl Strategy<Value = Pieces> {
    (1usize..3000, any::<u64>(), any::<u64>()).prop_flat_map(|(n, start, seed)| {
        let start = if seed % 3 == 0 { u64::MAX - (seed % 4000) } else { start };
        (
            Just(start),
            proptest::collection::vec(any::<u8>(), n),
            proptest::collection::vec((0..n, 1usize..400, 0u32..4, 0usize..500), 1..60),
            Just(seed),
        )
    })
}

proptest! {
    #[test]
    fn random_overlaps_match_model((start, s, raw, seed) in pieces_strategy()) {
        let n = s.len();
        // Pieces [a, b) with a captured prefix; then cover everything fully once (so the
        // stream can be complete), then shuffle deterministically.
        let mut pieces: Vec<(usize, usize, u32, usize)> = raw
            .iter()
            .map(|&(a, l, sf, cap)| (a, (a + l).min(n), sf, cap))
            .collect();
        let mut a = 0;
        while a < n {
            let b = (a + 1 + (seed as usize + a) % 700).min(n);
            pieces.push((a, b, 9, usize::MAX));
            a = b;
        }
        let mut x = seed | 1;
        for i in (1..pieces.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            pieces.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut r = Reassembler::new(start, ReassemblyLimits::default());
        let mut o = Out::default();
        let mut total = 0u64;
        let mut new = 0u64;
        let mut seen = vec![false; n];
        for (k, &(a, b, sf, cap)) in pieces.iter().enumerate() {
            let c = (b - a).min(cap);
            let i = r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, k as u64, &mut |ch| o.take(ch));
            let fresh = seen[a..b].iter().filter(|v| !**v).count() as u64;
            seen[a..b].iter_mut().for_each(|v| *v = true);
            prop_assert_eq!(i.new_bytes, fresh);
            prop_assert_eq!(i.new_bytes + i.duplicate_bytes, (b - a) as u64);
            prop_assert_eq!(i.mismatched_bytes, 0);
            prop_assert_eq!(i.duplicates().iter().map(|d| d.bytes).sum::<u64>() + i.unattributed_bytes, i.duplicate_bytes);
            total += (b - a) as u64;
            new += i.new_bytes;
            // the sink has exactly the longest captured prefix so far
            prop_assert!(s.starts_with(&o.data));
        }
        r.data_fin(start.wrapping_add(n as u64), 1);
        let sum = r.finish(&mut |ch| o.take(ch));
        prop_assert!(!o.out_of_order);
        prop_assert_eq!(&o.data, &s);
        prop_assert_eq!(new, n as u64);
        prop_assert_eq!(sum.duplicate_bytes, total - n as u64);
        prop_assert_eq!(sum.bytes, n as u64);
        prop_assert!(sum.complete);
        prop_assert_eq!(sum.gaps.count, 0);
    }

    /// Tiny limits: whatever is delivered is in order and correct, and state stays bounded.
    #[test]
    fn tiny_limits_stay_correct_and_bounded(
        (start, s, raw, _seed) in pieces_strategy(),
        window in 0usize..2000, segs in 0usize..8, hist in 0usize..4, recent in 0usize..500,
        skip in any::<bool>(),
    ) {
        let lim = ReassemblyLimits {
            max_buffered_bytes: window, max_segments: segs, history_ranges: hist, recent_bytes: recent,
            hole_policy: if skip { HolePolicy::Skip } else { HolePolicy::Stop },
        };
        let mut r = Reassembler::new(start, lim);
        let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut o = Out::default();
        let n = s.len();
        for (k, &(a, l, sf, cap)) in raw.iter().enumerate() {
            let b = (a + l).min(n);
            let c = (b - a).min(cap);
            r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, 0, &mut |ch| {
                if let Chunk::Data { dsn, bytes } = ch { got.push((dsn, bytes.to_vec())) }
                o.take(ch)
            });
            prop_assert!(r.held_bytes() <= window + recent);
            prop_assert!(r.pending_ranges() <= segs);
        }
        r.finish(&mut |ch| {
            if let Chunk::Data { dsn, bytes } = ch { got.push((dsn, bytes.to_vec())) }
            o.take(ch)
        });
        prop_assert!(!o.out_of_order);
        for (dsn, bytes) in got {
            let off = dsn.wrapping_sub(start) as usize;
            prop_assert_eq!(&s[off..off + bytes.len()], &bytes[..]);
        }
    }

    /// Random pieces without the covering pass: gaps and uncaptured ranges match a model.
    #[test]
    fn random_gaps_match_model((start, s, raw, _seed) in pieces_strategy(), skip in any::<bool>()) {
        let n = s.len();
        let lim = ReassemblyLimits { hole_policy: if skip { HolePolicy::Skip } else { HolePolicy::Stop }, ..ReassemblyLimits::default() };
        let mut r = Reassembler::new(start, lim);
        let mut o = Out::default();
        // 0 = never seen, 1 = seen uncaptured, 2 = captured
        let mut st = vec![0u8; n];
        for (k, &(a, l, sf, cap)) in raw.iter().enumerate() {
            let b = (a + l).min(n);
            let c = (b - a).min(cap);
            r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, 0, &mut |ch| o.take(ch));
            for (i, v) in st[a..b].iter_mut().enumerate() {
                *v = (*v).max(if i < c { 2 } else { 1 });
            }
        }
        r.data_fin(start.wrapping_add(n as u64), 1);
        let sum = r.finish(&mut |ch| o.take(ch));
        let mut gaps = Vec::new();
        let mut unc = Vec::new();
        let prefix = st.iter().take_while(|v| **v == 2).count();
        let mut i = prefix;
        while i < n {
            let v = st[i];
            let j = i + st[i..].iter().take_while(|w| **w == v).count();
            let range = (start.wrapping_add(i as u64), start.wrapping_add(j as u64));
            match v { 0 => gaps.push(range), 1 => unc.push(range), _ => {} }
            i = j;
        }
        if skip {
            // every hole announced, all captured data delivered in order
            let expect: Vec<u8> = s.iter().zip(&st).filter(|(_, v)| **v == 2).map(|(b, _)| *b).collect();
            prop_assert_eq!(&o.data, &expect);
            prop_assert_eq!(o.holes.iter().map(|h| h.1).sum::<u64>(), st.iter().filter(|v| **v != 2).count() as u64);
            prop_assert!(!o.out_of_order);
        } else {
            prop_assert_eq!(&o.data[..], &s[..prefix]);
            prop_assert!(o.holes.is_empty());
        }
        prop_assert_eq!(sum.gaps.ranges, gaps);
        prop_assert_eq!(sum.uncaptured.ranges, unc);
        prop_assert_eq!(sum.complete, prefix == n);
        prop_assert_eq!(sum.bytes, st.iter().filter(|v| **v != 0).count() as u64);
        prop_assert_eq!(sum.captured_bytes, st.iter().filter(|v| **v == 2).count() as u64);
    }

    /// The in-order fast path changes nothing: every insert's account, what the sink gets
    /// (bytes and holes), what is held, and the summary are the same as through the range
    /// list. Pieces mostly in order from two subflows (the bulk case), some reordered, some
    /// re-sent with other bytes, some cut short, under default and tiny limits.
    #[test]
    fn in_order_fast_path_changes_nothing(
        (start, s, raw, seed) in pieces_strategy(),
        tiny in any::<bool>(), skip in any::<bool>(), fin_at in 0usize..4000, no_cmp in 0usize..80,
    ) {
        let n = s.len();
        let lim = if tiny {
            ReassemblyLimits { max_buffered_bytes: 900, max_segments: 3, history_ranges: 2, recent_bytes: 300, hole_policy: HolePolicy::Stop }
        } else {
            ReassemblyLimits::default()
        };
        let lim = ReassemblyLimits { hole_policy: if skip { HolePolicy::Skip } else { HolePolicy::Stop }, ..lim };
        // In-order pieces alternating between subflows 1 and 2, then the random ones spliced in.
        let mut pieces: Vec<(usize, usize, u32, usize)> = Vec::new();
        let mut a = 0;
        while a < n {
            let b = (a + 1 + (seed as usize + a) % 300).min(n);
            pieces.push((a, b, 1 + (pieces.len() % 2) as u32, usize::MAX));
            a = b;
        }
        for (k, &(a, l, sf, cap)) in raw.iter().enumerate() {
            let at = (seed as usize).wrapping_add(k * 7919) % (pieces.len() + 1);
            pieces.insert(at, (a, (a + l).min(n), sf, cap));
        }
        let mut fast = Reassembler::new(start, lim);
        let mut slow = Reassembler::new(start, lim);
        slow.slow_only = true;
        let (mut of, mut os) = (Out::default(), Out::default());
        for (k, &(a, b, sf, cap)) in pieces.iter().enumerate() {
            let c = (b - a).min(cap);
            // Subflow 3 re-sends other bytes (mismatches).
            let bytes: Vec<u8> = s[a..a + c].iter().map(|x| if sf == 3 { x ^ 0x5a } else { *x }).collect();
            if k == no_cmp {
                fast.set_compare(false);
                slow.set_compare(false);
            }
            if k == fin_at {
                fast.data_fin(start.wrapping_add(n as u64), k as u64);
                slow.data_fin(start.wrapping_add(n as u64), k as u64);
            }
            let dsn = start.wrapping_add(a as u64);
            let i1 = fast.insert(dsn, &bytes, (b - a) as u32, sf, k as u64, k as u64 * 10, &mut |ch| of.take(ch));
            let i2 = slow.insert(dsn, &bytes, (b - a) as u32, sf, k as u64, k as u64 * 10, &mut |ch| os.take(ch));
            prop_assert_eq!(i1, i2);
            prop_assert_eq!(fast.held_bytes(), slow.held_bytes());
            prop_assert_eq!(fast.pending_ranges(), slow.pending_ranges());
            prop_assert_eq!(fast.next_dsn(), slow.next_dsn());
        }
        let s1 = fast.finish(&mut |ch| of.take(ch));
        let s2 = slow.finish(&mut |ch| os.take(ch));
        prop_assert_eq!(s1, s2);
        prop_assert_eq!(&of.data, &os.data);
        prop_assert_eq!(&of.holes, &os.holes);
        prop_assert!(!of.out_of_order);
    }
}

#[test]
fn head_of_line_reordering_and_buffer_figures_follow_the_inserts() {
    let mut r = Reassembler::new(1000, ReassemblyLimits::default());
    let mut o = Out::default();
    // frame n is at n µs (ins): [1003, 1005) on subflow 2 at 20 µs is 3 bytes early ...
    let a = ins(&mut r, &mut o, 1003, b"lo", 2, 20);
    assert_eq!((a.delivered_bytes, a.reorder_bytes), (0, 2));
    // ... a copy of it changes nothing ...
    ins(&mut r, &mut o, 1003, b"lo", 1, 25);
    // ... and [1000, 1003) on subflow 1 at 30 µs fills the hole: all 5 bytes deliverable.
    let b = ins(&mut r, &mut o, 1000, b"hel", 1, 30);
    assert_eq!((b.delivered_bytes, b.reorder_bytes), (5, 0));
    r.data_fin(1005, 31);
    let s = r.finish(&mut |c| o.take(c)).order;
    assert_eq!(o.data, b"hello");
    assert_eq!((s.all.segments, s.all.waited_segments, s.all.waited_bytes), (2, 1, 2));
    assert_eq!(s.all.delay_ns.max(), Some(10_000));
    assert_eq!((s.out_of_order_segments, s.out_of_order_bytes, s.distance_bytes.max()), (1, 2, Some(3)));
    assert_eq!(s.distance_ns.max(), Some(10_000));
    assert_eq!(s.occupancy_max, 2);
    let sf2 = s.by_subflow.iter().find(|w| w.subflow == Some(2)).expect("subflow 2");
    assert_eq!((sf2.segments, sf2.waited_segments), (1, 1));
    assert_eq!(s.undelivered_segments, 0);
}

#[test]
fn a_piece_behind_a_hole_never_filled_is_undelivered_not_delayed() {
    let mut r = Reassembler::new(0, ReassemblyLimits::default());
    let mut o = Out::default();
    ins(&mut r, &mut o, 10, b"abc", 1, 1);
    let s = r.finish(&mut |c| o.take(c)).order;
    assert_eq!((s.undelivered_segments, s.undelivered_bytes, s.all.delay_ns.count()), (1, 3, 0));
}
