//! Long captures: the plots keep a bounded number of points per series (min/max per time bucket,
//! docs/plot.md "Long captures") and those points hold every series' extremes; short captures
//! are drawn from every point, the same whether every series or one plot's is collected.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Dir, SegmentRecord};
use mptcp_plots::{collect, collect_for, collect_with, render_file, rtt, sequence, throughput, Capture, Collector, PlotKind, PlotOptions};
use mptcp_plots::{MAX_POINTS, MAX_SIDE};
use mptcp_wire::seq::DataSeq;

const INTERVAL_NS: u64 = 100_000_000;
const KINDS: [PlotKind; 4] = [PlotKind::Throughput, PlotKind::Sequence, PlotKind::Rtt, PlotKind::Subflows];

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name)
}

fn reader(path: &Path) -> CaptureReader {
    CaptureReader::new(Box::new(std::fs::File::open(path).unwrap())).unwrap()
}

fn load(name: &str) -> Capture {
    collect(name, &mut reader(&testdata(name)), INTERVAL_NS)
}

fn out(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Smallest and largest of what was fed, computed on the side.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range<T>(T, T);

fn widen<T: PartialOrd + Copy>(r: &mut Option<Range<T>>, lo: T, hi: T) {
    *r = Some(match *r {
        None => Range(lo, hi),
        Some(Range(a, b)) => Range(if lo < a { lo } else { a }, if hi > b { hi } else { b }),
    });
}

/// 5 million segments of one connection (two subflows, 100 s of capture time) fed to the
/// collector: every series stays within a bound set by the plot's width, not by the capture,
/// and keeps the true minimum and maximum of what it was fed. Before the decimation the
/// collector kept every segment record up to 4 Mi of them (about 550 MB) and dropped the rest,
/// last DSNs included.
#[test]
fn five_million_segments_keep_bounded_points_and_every_extreme() {
    const N: u64 = 5_000_000;
    const W: u32 = 1000;
    // A real connection to hang the series on: path-cut.pcap's, two subflows, first DSNs known.
    let analysis = load("path-cut.pcap").analysis;
    let conn = analysis.connections[0].clone();
    let sfs = conn.subflow_ids.clone();
    assert!(sfs.len() >= 2);
    let base = conn.c2s.first_dsn.unwrap().0;
    let start = (analysis.stats.first_ts * 1e9).round() as u64;

    // 1 ms intervals: about 100,000 of them, decimated too.
    const TP_NS: u64 = 1_000_000;
    let mut col = Collector::new(TP_NS, W);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut next, mut acked) = (0u64, 0u64);
    let mut seq_range: BTreeMap<usize, Option<Range<i64>>> = BTreeMap::new();
    let mut rtt_range: BTreeMap<usize, Option<Range<f64>>> = BTreeMap::new();
    let mut ack_range: Option<Range<i64>> = None;
    let mut reinjections = 0u64;
    // Bytes per interval (from the first segment) per subflow and of the data level.
    let mut tput: BTreeMap<Option<usize>, Vec<u64>> = BTreeMap::new();
    let mut add_tput = |key: Option<usize>, ts: u64, bytes: u64| {
        let i = ((ts - start) / TP_NS) as usize;
        let v = tput.entry(key).or_default();
        if v.len() <= i {
            v.resize(i + 1, 0);
        }
        v[i] += bytes;
    };
    for i in 0..N {
        // 20 µs apart, a few timestamps up to 50 µs back (capture clocks do that); a pause of
        // 3 s in the middle, where throughput is 0.
        let mut ts = start + i * 20_000 + if i >= N / 2 { 3_000_000_000 } else { 0 };
        if i > 10 && rng.below(100) == 0 {
            ts -= rng.below(50_000);
        }
        let sf = sfs[(i % 2) as usize];
        let mut r = SegmentRecord { frame: i + 1, ts_ns: ts, subflow: sf, connection: Some(conn.id), ..Default::default() };
        if i % 10 < 7 {
            r.c2s = true;
            let len = 1 + rng.below(1448) as u32;
            r.payload_len = len;
            let rel = if i % 997 == 0 && next > 200_000 {
                // A reinjection of older data.
                reinjections += 1;
                r.reinjected_bytes = u64::from(len);
                (next - 100_000 - rng.below(50_000)) as i64
            } else {
                r.new_bytes = u64::from(len);
                next += u64::from(len);
                (next - u64::from(len)) as i64
            };
            r.dsn = Some(DataSeq(base.wrapping_add(rel as u64)));
            widen(seq_range.entry(sf).or_default(), rel, rel + i64::from(len));
            add_tput(Some(sf), ts, u64::from(len));
            add_tput(None, ts, r.new_bytes);
        } else {
            // The server's ACKs: data ACK of the client's data, and an RTT sample on most.
            r.c2s = false;
            acked = acked.max(next.saturating_sub(rng.below(200_000)));
            r.data_ack = Some(DataSeq(base.wrapping_add(acked)));
            widen(&mut ack_range, acked as i64, acked as i64);
            if rng.below(4) > 0 {
                let ms = match i {
                    1_234_567 => 4_321.5,
                    3_456_789 => 0.001,
                    _ => 5.0 + rng.below(200_000) as f64 / 1000.0,
                };
                r.rtt = Some((Dir::C2s, ms));
                widen(rtt_range.entry(sf).or_default(), ms, ms);
            }
        }
        col.segment(&r);
    }
    // Bounded while fed, whatever the length.
    eprintln!("{N} segments: {} points stored, {} in the largest series", col.stored_points(), col.largest_series());
    assert!(col.largest_series() <= 20 * W as usize, "{}", col.largest_series());
    let cap = col.into_capture("synthetic.pcap", analysis, None);
    assert_eq!(cap.records_dropped, 0);
    let conn = &cap.analysis.connections[0];
    let bound = 8 * W as usize;

    // Sequence: per subflow, the lowest DSN and the highest byte; every reinjection counted.
    let s = sequence::sequence_series(&cap, conn, Dir::C2s);
    for (&sf, want) in &seq_range {
        let pts: Vec<_> = s.points.iter().filter(|p| p.subflow == sf).collect();
        assert!(pts.len() <= bound + s.points.iter().filter(|p| p.reinjected).count(), "subflow {sf}: {} points", pts.len());
        let lo = pts.iter().map(|p| p.dsn_rel).min().unwrap();
        let hi = pts.iter().map(|p| p.dsn_rel + i64::from(p.len)).max().unwrap();
        assert_eq!(Some(Range(lo, hi)), *want, "subflow {sf}");
    }
    eprintln!("sequence: {} points, {} spans, {} acks", s.points.len(), s.spans.len(), s.acks.len());
    assert!(s.points.len() < 3 * bound, "{} points", s.points.len());
    assert!(!s.spans.is_empty(), "decimated buckets are drawn as spans");
    assert_eq!(s.reinjections, reinjections);
    assert!(s.points.iter().any(|p| p.reinjected));
    // The data ACK: rises only, from the first value to the highest.
    assert!(s.acks.len() <= bound);
    assert!(s.acks.windows(2).all(|w| w[1].ack_rel > w[0].ack_rel && w[1].t >= w[0].t - 1e-4));
    let Range(first, top) = ack_range.unwrap();
    assert_eq!(s.acks.first().map(|a| a.ack_rel), Some(first));
    assert_eq!(s.acks.last().map(|a| a.ack_rel), Some(top));

    // RTT: per subflow, the smallest and largest sample.
    let r = rtt::rtt_series(&cap, conn, Dir::C2s);
    for (&sf, want) in &rtt_range {
        let ms: Vec<f64> = r.points.iter().filter(|p| p.subflow == sf).map(|p| p.ms).collect();
        assert!(ms.len() <= bound, "subflow {sf}: {} RTT points", ms.len());
        let got = ms.iter().fold(None, |acc, &m| {
            let mut acc = acc;
            widen(&mut acc, m, m);
            acc
        });
        assert_eq!(got, *want, "subflow {sf}");
    }

    // Throughput: each line's smallest and largest interval, over the whole span.
    let t = throughput::throughput_series(&cap, conn, Dir::C2s);
    eprintln!("throughput: {} of {} intervals", t.index.len(), t.index.last().map_or(0, |i| i + 1));
    assert!(t.index.len() <= 20 * W as usize, "{} intervals kept", t.index.len());
    assert!(t.index.windows(2).all(|w| w[0] < w[1]));
    let n = tput.values().map(|v| v.len()).max().unwrap();
    assert_eq!(t.index.last().map(|&i| i + 1), Some(n as u64));
    for l in &t.lines {
        let mut want = tput.get(&l.subflow).cloned().unwrap_or_default();
        want.resize(n, 0);
        let (lo, hi) = (want.iter().min().copied(), want.iter().max().copied());
        assert_eq!((l.bytes.iter().min().copied(), l.bytes.iter().max().copied()), (lo, hi), "{}", l.label);
        assert_eq!(lo, Some(0), "the pause is in the series");
    }

    // And they draw.
    for kind in KINDS {
        for stacked in [false, true] {
            let opts = PlotOptions { kind, stacked, ..PlotOptions::default() };
            render_file(&cap, &opts, &out(&format!("long-{kind:?}-{stacked}.png"))).unwrap();
        }
    }
    assert!(cap.stored_points() < 60 * W as usize, "{}", cap.stored_points());
}

/// Every capture of testdata/ and testdata/matrix/: the plot drawn from [`collect_for`] (what
/// one plot needs, finished connections that cannot be drawn freed) is the plot drawn from
/// [`collect`] (everything), byte for byte, for every kind and direction, the default
/// connection and the first ones by id. Neither leaves a point out at these sizes.
#[test]
fn one_plots_collection_draws_what_the_full_collection_draws() {
    let mut names: Vec<String> = Vec::new();
    for dir in ["", "matrix/"] {
        for e in std::fs::read_dir(testdata(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                names.push(format!("{dir}{name}"));
            }
        }
    }
    names.sort();
    assert!(names.len() >= 25, "{names:?}");
    let mut compared = 0;
    for name in &names {
        let full = load(name);
        assert!(full.stored_points() > 0 || full.analysis.connections.is_empty(), "{name}");
        let ids = full.analysis.connections.len();
        for conn in std::iter::once(None).chain((0..ids.min(3)).map(Some)) {
            for kind in KINDS {
                for (direction, stacked) in [(Dir::C2s, false), (Dir::S2c, true)] {
                    let opts = PlotOptions { kind, connection: conn, direction, stacked, ..PlotOptions::default() };
                    let one = collect_for(name, &mut reader(&testdata(name)), INTERVAL_NS, &opts);
                    assert_eq!(one.records_dropped, 0);
                    // The analysis keeps the connection plotted only, and counts them all.
                    assert_eq!(one.connections, ids, "{name}");
                    assert!(one.analysis.connections.len() <= 1, "{name}");
                    let own = |c: &mptcp_dissector::track::Connection| c.subflow_ids.len();
                    assert_eq!(one.analysis.subflows.len(), one.analysis.connections.iter().map(own).sum::<usize>(), "{name}");
                    let (a, b) = (out("full.svg"), out("one.svg"));
                    let ra = render_file(&full, &opts, &a).map_err(|e| e.to_string());
                    let rb = render_file(&one, &opts, &b).map_err(|e| e.to_string());
                    assert_eq!(ra, rb, "{name} {opts:?}");
                    if ra.is_ok() {
                        let (ta, tb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
                        assert!(ta == tb, "{name} {opts:?}: the images differ");
                        compared += 1;
                    }
                    // One connection's series at most, besides those still open at the end.
                    if conn.is_some() || kind == PlotKind::Subflows {
                        assert!(one.kept_connections().len() <= 1, "{name} {opts:?}: {:?}", one.kept_connections());
                    }
                }
            }
        }
    }
    assert!(compared > 500, "{compared}");
}

/// sequential.pcap (30 connections one after another): with no connection asked, the series of
/// finished connections that cannot be the busiest are freed as they finish.
#[test]
fn finished_connections_that_cannot_be_plotted_are_freed() {
    let name = "matrix/sequential.pcap";
    let full = load(name);
    assert_eq!(full.analysis.connections.len(), 30);
    assert_eq!(full.kept_connections().len(), 30);
    let opts = PlotOptions { kind: PlotKind::Sequence, ..PlotOptions::default() };
    let one = collect_for(name, &mut reader(&testdata(name)), INTERVAL_NS, &opts);
    let kept = one.kept_connections();
    assert!(kept.len() <= 2, "{kept:?}");
    let pick = one.connection(None, Dir::C2s).unwrap().id;
    assert!(kept.contains(&pick), "{kept:?} {pick}");
    assert!(one.stored_points() * 5 < full.stored_points(), "{} vs {}", one.stored_points(), full.stored_points());
}

/// A real capture collected for a plot 16 pixels wide: its series are decimated, and keep the
/// extremes of the full ones.
#[test]
fn narrow_plots_of_real_captures_keep_the_extremes() {
    let mut decimated = 0;
    for name in ["path-cut.pcap", "two-subflows.pcap", "multi-conn.pcap", "matrix/four-subflows.pcap", "dumpcap.pcapng"] {
        let full = load(name);
        let narrow = collect_with(name, &mut reader(&testdata(name)), Collector::new(INTERVAL_NS, 16));
        for conn in &full.analysis.connections {
            for dir in [Dir::C2s, Dir::S2c] {
                let (a, b) = (sequence::sequence_series(&full, conn, dir), sequence::sequence_series(&narrow, conn, dir));
                assert!(b.points.len() <= a.points.len());
                decimated += usize::from(b.points.len() < a.points.len());
                assert_eq!(b.reinjections, a.reinjections, "{name}");
                for &sf in &conn.subflow_ids {
                    let ext = |s: &sequence::SequenceSeries| {
                        let p = s.points.iter().filter(|p| p.subflow == sf);
                        (p.clone().map(|p| p.dsn_rel).min(), p.map(|p| p.dsn_rel + i64::from(p.len)).max())
                    };
                    assert_eq!(ext(&b), ext(&a), "{name} {dir:?} subflow {sf}");
                    let rext = |s: &rtt::RttSeries| {
                        let p = s.points.iter().filter(|p| p.subflow == sf).map(|p| p.ms);
                        (p.clone().fold(f64::INFINITY, f64::min), p.fold(f64::NEG_INFINITY, f64::max))
                    };
                    assert_eq!(rext(&rtt::rtt_series(&narrow, conn, dir)), rext(&rtt::rtt_series(&full, conn, dir)), "{name}");
                }
                assert!(b.points.iter().filter(|p| !p.reinjected).count() <= 8 * 16 * conn.subflow_ids.len());
                assert_eq!(b.acks.last().map(|a| a.ack_rel), a.acks.last().map(|a| a.ack_rel), "{name} {dir:?}");
                let (ta, tb) = (throughput::throughput_series(&full, conn, dir), throughput::throughput_series(&narrow, conn, dir));
                for (la, lb) in ta.lines.iter().zip(&tb.lines) {
                    assert_eq!(la.bytes.iter().max(), lb.bytes.iter().max(), "{name} {}", la.label);
                }
                assert_eq!(ta.end(), tb.end());
            }
        }
        for kind in KINDS {
            let opts = PlotOptions { kind, width: 16, height: 16, ..PlotOptions::default() };
            render_file(&narrow, &opts, &out("narrow.png")).unwrap();
        }
    }
    assert!(decimated > 0);
}

/// Random records (any time, order, DSN, length, subflow, connection) never make the collector
/// panic or grow past its bounds, and the plots still draw.
#[test]
fn random_records_neither_panic_nor_grow() {
    let analysis = load("multi-conn.pcap").analysis;
    let conns = analysis.connections.len();
    let subflows = analysis.subflows.len();
    let mut col = Collector::new(1, 16);
    let mut rng = Rng(42);
    for i in 0..300_000u64 {
        let pick = |rng: &mut Rng, v: [u64; 3]| {
            let any = rng.next();
            [v[0], v[1], v[2], any][rng.below(4) as usize]
        };
        let r = SegmentRecord {
            frame: i,
            ts_ns: pick(&mut rng, [0, u64::MAX, 1_700_000_000_000_000_000 + i]),
            subflow: rng.below(subflows as u64 + 2) as usize,
            connection: Some(rng.below(conns as u64 + 1) as usize),
            c2s: rng.below(2) == 0,
            payload_len: pick(&mut rng, [0, 1, u32::MAX as u64]) as u32,
            dsn: Some(DataSeq(pick(&mut rng, [0, u64::MAX, i]))),
            new_bytes: pick(&mut rng, [0, u64::MAX, 100]),
            reinjected_bytes: rng.below(2),
            data_ack: Some(DataSeq(pick(&mut rng, [0, u64::MAX, i]))),
            rtt: Some((if rng.below(2) == 0 { Dir::C2s } else { Dir::S2c }, (pick(&mut rng, [0, 1, 2]) % 4) as f64 * 1e300)),
            ..Default::default()
        };
        col.segment(&r);
    }
    assert!(col.stored_points() <= MAX_POINTS);
    let cap = col.into_capture("random.pcap", analysis, None);
    for conn in &cap.analysis.connections {
        for dir in [Dir::C2s, Dir::S2c] {
            assert!(sequence::sequence_series(&cap, conn, dir).points.len() <= 8 * 16 * (subflows + 3));
            throughput::throughput_series(&cap, conn, dir);
            rtt::rtt_series(&cap, conn, dir);
        }
        for kind in KINDS {
            for stacked in [false, true] {
                let opts = PlotOptions { kind, connection: Some(conn.id), stacked, width: 200, height: 150, ..PlotOptions::default() };
                render_file(&cap, &opts, &out("random.png")).unwrap();
                render_file(&cap, &opts, &out("random.svg")).unwrap();
            }
        }
    }
    assert!(MAX_SIDE >= PlotOptions::default().width);
}
