//! Every kind renders to PNG and SVG of the requested size from real captures, and the plotted
//! series equal the analysis numbers.
use std::path::{Path, PathBuf};

use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::track::{Dir, EventKind};
use mptcp_plots::{collect, hol, render_file, reorder, rtt, sequence, subflows, throughput, Capture, PlotKind, PlotOptions};

const CAPTURES: [&str; 3] = ["path-cut.pcap", "two-subflows.pcap", "backup-prio.pcap"];
const KINDS: [(PlotKind, &str); 6] = [
    (PlotKind::Throughput, "throughput"),
    (PlotKind::Sequence, "sequence"),
    (PlotKind::Rtt, "rtt"),
    (PlotKind::Subflows, "subflows"),
    (PlotKind::Hol, "hol"),
    (PlotKind::Reorder, "reorder"),
];

fn load(name: &str) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = CaptureReader::new(Box::new(file)).unwrap();
    let cap = collect(name, &mut reader, 100_000_000);
    assert!(cap.end.is_none(), "{name}: {:?}", cap.end);
    assert!(!cap.analysis.connections.is_empty(), "{name}: no connection");
    cap
}

fn out(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Width and height from a PNG's IHDR, after decoding the whole image.
fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

fn svg_size(path: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let n = |a: &str| root.attribute(a).unwrap().trim_end_matches("px").parse().unwrap();
    (n("width"), n("height"))
}

#[test]
fn every_kind_renders_png_and_svg_of_the_requested_size() {
    for name in CAPTURES {
        let cap = load(name);
        for (kind, kname) in KINDS {
            for (stacked, dir) in [(false, Dir::C2s), (true, Dir::S2c)] {
                let (w, h) = if stacked { (640, 400) } else { (1000, 600) };
                let opts = PlotOptions { kind, connection: None, direction: dir, width: w, height: h, stacked, ..PlotOptions::default() };
                let stem = format!("{}-{kname}-{}", name.trim_end_matches(".pcap"), if stacked { "s2c-stacked" } else { "c2s" });
                let png = out(&format!("{stem}.png"));
                assert_eq!(render_file(&cap, &opts, &png).unwrap(), 0);
                assert_eq!(png_size(&png), (w, h), "{stem}.png");
                let svg = out(&format!("{stem}.svg"));
                render_file(&cap, &opts, &svg).unwrap();
                assert_eq!(svg_size(&svg), (w, h), "{stem}.svg");
                let text = std::fs::read_to_string(&svg).unwrap();
                assert!(text.contains(name), "{stem}.svg: title names the capture");
            }
        }
    }
}

#[test]
fn png_text_is_drawn_with_the_embedded_font() {
    // Same plot with and without a title-bearing font: if text were missing, the title band
    // (top rows) would be blank white.
    let cap = load("path-cut.pcap");
    let png = out("font-check.png");
    render_file(&cap, &PlotOptions { kind: PlotKind::Subflows, ..PlotOptions::default() }, &png).unwrap();
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let row_bytes = info.line_size;
    let title_band = &buf[..row_bytes * 30];
    let dark = title_band.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count();
    assert!(dark > 200, "title text pixels: {dark}");
}

#[test]
fn bad_output_names_and_connections_are_errors() {
    let cap = load("two-subflows.pcap");
    let opts = PlotOptions::default();
    assert!(matches!(render_file(&cap, &opts, &out("x.jpg")), Err(mptcp_plots::PlotError::Format(_))));
    let opts = PlotOptions { connection: Some(99), ..PlotOptions::default() };
    assert!(matches!(render_file(&cap, &opts, &out("x.png")), Err(mptcp_plots::PlotError::NoConnection { asked: 99, .. })));
    let opts = PlotOptions { width: 0, ..PlotOptions::default() };
    assert!(matches!(render_file(&cap, &opts, &out("x.png")), Err(mptcp_plots::PlotError::Size(0, 600))));
}

#[test]
fn throughput_bytes_sum_to_the_subflow_and_data_level_bytes() {
    for name in CAPTURES {
        let cap = load(name);
        for conn in &cap.analysis.connections {
            for dir in [Dir::C2s, Dir::S2c] {
                let s = throughput::throughput_series(&cap, conn, dir);
                assert_eq!(s.lines.len(), conn.subflow_ids.len() + 1);
                for l in &s.lines {
                    let sum: u64 = l.bytes.iter().sum();
                    let want = match l.subflow {
                        Some(id) => cap.analysis.subflows[id].dir(dir).bytes,
                        None => conn.data(dir).bytes,
                    };
                    assert_eq!(sum, want, "{name} conn {} {dir:?} {}", conn.id, l.label);
                    assert_eq!(l.bytes.len(), s.intervals());
                }
            }
        }
    }
}

#[test]
fn sequence_points_and_reinjections_match_the_analysis() {
    let mut reinjections_seen = 0;
    for name in CAPTURES {
        let cap = load(name);
        for conn in &cap.analysis.connections {
            for dir in [Dir::C2s, Dir::S2c] {
                let s = sequence::sequence_series(&cap, conn, dir);
                let dd = conn.data(dir);
                let marked = s.points.iter().filter(|p| p.reinjected).count() as u64;
                assert_eq!(marked, dd.reinjections, "{name} {dir:?}");
                reinjections_seen += marked;
                // Every mapped byte of every subflow is plotted once.
                for &id in &conn.subflow_ids {
                    let plotted: u64 = s.points.iter().filter(|p| p.subflow == id).map(|p| u64::from(p.len)).sum();
                    assert_eq!(plotted, cap.analysis.subflows[id].dir(dir).mapped_bytes, "{name} {dir:?} subflow {id}");
                }
                // Relative to the first DSN: starts at 0, ends at the distinct byte count.
                if dd.bytes > 0 {
                    assert_eq!(s.points.iter().map(|p| p.dsn_rel).min(), Some(0), "{name} {dir:?}");
                    let top = s.points.iter().map(|p| p.dsn_rel + i64::from(p.len)).max().unwrap();
                    assert_eq!(top as u64, dd.bytes + dd.gap_bytes, "{name} {dir:?}");
                    // The data ACK only rises, and ends covering everything (complete captures).
                    assert!(s.acks.windows(2).all(|w| w[1].ack_rel >= w[0].ack_rel), "{name} {dir:?}");
                    if dd.complete {
                        assert!(s.acks.last().unwrap().ack_rel as u64 >= dd.bytes, "{name} {dir:?}");
                    }
                }
            }
        }
    }
    assert!(reinjections_seen > 0, "path-cut.pcap has reinjections to mark");
}

/// tshark's RTT samples of a capture: (capture time in seconds since the epoch, sender's
/// address:port, RTT in ms) for every ACK frame with `tcp.analysis.ack_rtt`.
fn tshark_ack_rtts(name: &str) -> Vec<(f64, String, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    let out = std::process::Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(&path)
        .args(["-Y", "tcp.analysis.ack_rtt", "-T", "fields", "-E", "separator=/t"])
        .args(["-e", "frame.time_epoch", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.analysis.ack_rtt"])
        .output()
        .expect("tshark is installed (the oracle tests need it too)");
    assert!(out.status.success(), "tshark on {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let ip = if c[1].is_empty() { format!("[{}]", c[2]) } else { c[1].to_string() };
            // The ACK goes to the data's sender: its destination is the sender.
            (c[0].parse().unwrap(), format!("{ip}:{}", c[3]), c[4].parse::<f64>().unwrap() * 1e3)
        })
        .collect()
}

/// Two timestamps of one frame: microsecond captures, printed by tshark in decimal seconds.
const SAME_FRAME_S: f64 = 2e-6;
/// Both RTTs are differences of microsecond timestamps: equal means within 1 µs.
const SAME_RTT_MS: f64 = 1e-3;

/// Every RTT point the plot draws sits on an ACK where tshark measured an RTT too (same time,
/// same data sender). The values are printed, not asserted: on an ACK covering several segments
/// tshark's `tcp.analysis.ack_rtt` and the analyzer time it from different segments (path-cut:
/// 88 of 148 equal, two-subflows: 40 of 131), a difference of definition left for the RTT's
/// owner to settle. tshark is the outside truth here, not the
/// analyzer's own samples (which the plot draws, so comparing with them proved nothing).
#[test]
fn rtt_points_are_tsharks_ack_rtts() {
    for name in CAPTURES {
        let cap = load(name);
        let theirs = tshark_ack_rtts(name);
        let (mut drawn, mut matched) = (0usize, 0usize);
        for conn in &cap.analysis.connections {
            for dir in [Dir::C2s, Dir::S2c] {
                let s = rtt::rtt_series(&cap, conn, dir);
                for p in &s.points {
                    let sf = &cap.analysis.subflows[p.subflow];
                    let sender = if dir == Dir::C2s { sf.client } else { sf.server }.to_string();
                    let t = p.t + cap.t0_ns as f64 / 1e9;
                    drawn += 1;
                    let hit = theirs.iter().find(|(tt, who, _)| (tt - t).abs() < SAME_FRAME_S && *who == sender);
                    let Some((_, _, ms)) = hit else {
                        panic!("{name}: RTT point at {t:.6} ({} ms, sender {sender}) has no tshark ack_rtt on that ACK", p.ms);
                    };
                    if (ms - p.ms).abs() < SAME_RTT_MS {
                        matched += 1;
                    }
                }
            }
        }
        eprintln!("{name}: {matched} of {drawn} plotted RTTs equal tshark's; tshark has {} samples", theirs.len());
        assert!(drawn > 0, "{name}: no RTT point drawn");
    }
}

#[test]
fn subflow_timeline_has_every_subflow_and_event() {
    for name in CAPTURES {
        let cap = load(name);
        for conn in &cap.analysis.connections {
            let t = subflows::subflow_timeline(&cap, conn);
            assert_eq!(t.lanes.iter().map(|l| l.subflow).collect::<Vec<_>>(), conn.subflow_ids, "{name}");
            for l in &t.lanes {
                let sf = &cap.analysis.subflows[l.subflow];
                assert!((l.start - cap.rel(sf.start_ts)).abs() < 1e-9);
                assert!(l.start >= 0.0 && l.end >= l.start);
                let prio = cap.analysis.events.iter().filter(|e| e.kind == EventKind::SfPriority && e.subflow == Some(l.subflow)).count();
                let marks = l.markers.iter().filter(|m| matches!(m.kind, subflows::MarkerKind::Priority { .. })).count();
                assert_eq!(marks, prio, "{name} subflow {}", l.subflow);
                assert_eq!(l.closed, sf.end.is_some());
            }
        }
    }
    // backup-prio.pcap: the join starts as backup, MP_PRIO makes it regular (and a later MP_PRIO
    // makes it backup again): one backup period per backup stretch.
    let cap = load("backup-prio.pcap");
    let t = subflows::subflow_timeline(&cap, &cap.analysis.connections[0]);
    let join = &t.lanes[1];
    let to_backup = join.markers.iter().filter(|m| matches!(m.kind, subflows::MarkerKind::Priority { backup: true })).count();
    assert_eq!(join.backup.len(), 1 + to_backup);
    let prio = join.markers.iter().find_map(|m| matches!(m.kind, subflows::MarkerKind::Priority { backup: false }).then_some(m.t)).unwrap();
    assert_eq!(join.backup[0].1, prio);
    assert!(t.lanes[0].backup.is_empty());
}

/// The head-of-line lines against testdata/tools/hol.py (tshark's fields, committed as
/// receiver/NAME.hol.json): per subflow, the share of pieces that did not wait and the largest
/// delay; the reorder plot's buffer peaks where `analyze` says.
#[test]
fn hol_lines_and_reorder_buffer_match_the_independent_script_and_the_analysis() {
    for name in ["slow", "loss", "equal"] {
        let cap = load(&format!("receiver/{name}.pcap"));
        let conn = cap.connection(None, Dir::C2s).unwrap();
        let script: serde_json::Value = serde_json::from_slice(
            &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../testdata/receiver/{name}.hol.json"))).unwrap(),
        )
        .unwrap();
        let lines = hol::hol_series(&cap, conn, Dir::C2s);
        let streams = script["c2s"]["by_stream"].as_object().unwrap();
        assert_eq!(lines.len(), streams.len() + 1, "{name}: a line per subflow and one for all");
        for (line, (_, s)) in lines.iter().zip(streams) {
            let (n, waited) = (s["segments"].as_f64().unwrap(), s["waited_segments"].as_f64().unwrap());
            let at_zero = line.points.first().filter(|p| p.0 == 0.0).map_or(0.0, |p| p.1);
            assert!((at_zero - (n - waited) / n).abs() < 1e-9, "{name} {}: {at_zero}", line.label);
            let last = line.points.last().unwrap();
            assert!((last.0 - s["max"].as_f64().unwrap()).abs() < 0.001 && (last.1 - 1.0).abs() < 1e-9, "{name} {}: {last:?}", line.label);
        }
        let r = reorder::reorder_series(&cap, conn, Dir::C2s);
        let max = r.buffer.iter().map(|p| p.1).max().unwrap_or(0);
        assert_eq!(Some(max as f64), conn.c2s.receiver.reorder_buffer_bytes.max, "{name}");
        assert!(r.sending.lines.iter().filter(|l| l.subflow.is_some()).count() >= 2, "{name}");
    }
}

/// CIELAB (D65) of an sRGB colour.
fn lab((r, g, b): (u8, u8, u8)) -> [f64; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v > 0.04045 {
            ((v + 0.055) / 1.055).powf(2.4)
        } else {
            v / 12.92
        }
    };
    let (r, g, b) = (lin(r), lin(g), lin(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    [116.0 * f(y) - 16.0, 500.0 * (f(x) - f(y)), 200.0 * (f(y) - f(z))]
}

#[test]
fn sixteen_subflows_get_sixteen_distinct_colours() {
    let colours: Vec<_> = (0..16).map(mptcp_plots::subflow_color).collect();
    for i in 0..16 {
        for j in i + 1..16 {
            let (a, b) = (lab(colours[i]), lab(colours[j]));
            let de = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
            // ΔE*76 of 20: told apart at a glance (2.3 is a just noticeable difference).
            assert!(de >= 20.0, "subflows {i} and {j}: {:?} and {:?} are {de:.1} apart", colours[i], colours[j]);
        }
    }
}
