//! Plots' time axes and legends: the axis fits the selected connection, `--from`/`--to` select
//! the drawn range in every form they take (a bad range is a usage error and leaves no file),
//! and legends sit below the axes and inside the image. Truths: tshark's frame times, `date`.
use std::process::Command;

mod kit;
use kit::{bin, run, scratch_dir, testdata, text, tshark};

/// This file's scratch folder (kit::scratch_dir).
const TAG: &str = "plot-axes";

/// The numbers under the x axis of an SVG plot: the numeric labels centred on the one line that
/// holds most of them.
fn x_ticks(svg: &str) -> Vec<f64> {
    let doc = roxmltree::Document::parse(svg).expect("svg");
    let mut rows: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for n in doc.descendants().filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("middle")) {
        if let Ok(v) = n.text().unwrap_or("").trim().parse::<f64>() {
            rows.entry(n.attribute("y").unwrap_or("").to_string()).or_default().push(v);
        }
    }
    rows.into_values().max_by_key(|v| v.len()).unwrap_or_default()
}

/// (first, last) time of tshark's MPTCP stream `id`, seconds since the capture's first packet.
fn tshark_span(path: &str, id: usize) -> (f64, f64) {
    let o = tshark(&["-r", path, "-Y", &format!("mptcp.stream == {id}"), "-T", "fields", "-e", "frame.time_relative"]);
    let t: Vec<f64> = text(&o.stdout).lines().map(|l| l.trim().parse().expect("time")).collect();
    (t[0], t[t.len() - 1])
}

/// Asserts that every x tick of `kind`'s plot of tshark's MPTCP stream `id` (connection `id`)
/// lies within its first and last packet, give or take 10% of its span (15% on the right for
/// the timeline, which keeps room there for its end labels).
fn assert_axis_fits(path: &str, id: usize, kind: &str) {
    let (first, last) = tshark_span(path, id);
    let span = last - first;
    let right = if kind == "subflows" { 0.15 } else { 0.1 };
    let svg = scratch_dir(TAG).join(format!("fit-{id}-{kind}.svg"));
    let o = run(&["plot", path, "-k", kind, "--connection", &id.to_string(), "-o", svg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{kind}: {}", text(&o.stderr));
    let ticks = x_ticks(&std::fs::read_to_string(&svg).unwrap());
    assert!(ticks.len() >= 3, "{kind}: {ticks:?}");
    for t in &ticks {
        assert!(*t >= first - 0.1 * span && *t <= last + right * span, "{path} {kind}: tick {t} outside {first}..{last}: {ticks:?}");
    }
}

#[test]
fn plots_fit_the_time_axis_to_the_selected_connection() {
    // sequential.pcap: 30 connections one after another over ~15 s; connection 19 lasts ~80 ms.
    let path = testdata("matrix/sequential.pcap");
    let (first, last) = tshark_span(&path, 19);
    assert!(first > 5.0 && last - first < 0.5, "{first} {last}");
    // two-subflows.pcap: the connection starts 0.49 s in and lasts ~1 s: its own span too.
    for (path, id) in [(path, 19), (testdata("two-subflows.pcap"), 0)] {
        for kind in ["rtt", "sequence", "throughput", "subflows", "reorder"] {
            assert_axis_fits(&path, id, kind);
        }
    }
}

/// Seconds since the epoch of the capture's first packet, as tshark reads it.
fn tshark_first_epoch(path: &str) -> f64 {
    let o = tshark(&["-r", path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"]);
    text(&o.stdout).trim().parse().expect("epoch")
}

/// `epoch` as `date` writes it in UTC, in `format`.
fn date_utc(epoch: f64, format: &str) -> String {
    let o = Command::new("date").args(["-u", "-d", &format!("@{epoch:.6}"), format]).output().expect("date");
    text(&o.stdout).trim().to_string()
}

#[test]
fn from_and_to_select_the_drawn_time_range_in_every_form() {
    let path = testdata("shapes/eight-subflows.pcap");
    let t0 = tshark_first_epoch(&path);
    let (a, b) = (2.0, 2.5);
    let forms: Vec<(String, String)> = vec![
        ("2".into(), "2.5s".into()),
        ("2000ms".into(), "2500ms".into()),
        (format!("@{:.6}", t0 + a), format!("@{:.6}", t0 + b)),
        (date_utc(t0 + a, "+%Y-%m-%dT%H:%M:%S.%6NZ"), date_utc(t0 + b, "+%Y-%m-%dT%H:%M:%S.%6NZ")),
        // Local time as tshark -t ad prints it; TZ=UTC below makes it the UTC one.
        (date_utc(t0 + a, "+%Y-%m-%d %H:%M:%S.%6N"), date_utc(t0 + b, "+%Y-%m-%d %H:%M:%S.%6N")),
    ];
    for kind in ["throughput", "sequence", "rtt", "subflows", "reorder"] {
        for (from, to) in &forms {
            let svg = scratch_dir(TAG).join(format!("range-{kind}.svg"));
            let o = bin()
                .env("TZ", "UTC")
                .args(["plot", &path, "-k", kind, "--from", from, "--to", to, "-o", svg.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{kind} {from}..{to}: {}", text(&o.stderr));
            let ticks = x_ticks(&std::fs::read_to_string(&svg).unwrap());
            let (lo, hi) = (ticks.iter().copied().fold(f64::MAX, f64::min), ticks.iter().copied().fold(f64::MIN, f64::max));
            // The axis is a..b: every tick inside, the first and last within a tick step of its ends.
            assert!(ticks.len() >= 3 && lo >= a - 1e-9 && hi <= b + 1e-9, "{kind} {from}..{to}: {ticks:?}");
            assert!(lo <= a + 0.1 && hi >= b - 0.1, "{kind} {from}..{to}: {ticks:?}");
        }
    }
    // owd: seconds since each sender capture's first packet.
    let svg = scratch_dir(TAG).join("range-owd.svg");
    let o = run(&[
        "plot",
        &testdata("pair/client-any.pcap"),
        "--server",
        &testdata("pair/server-any.pcap"),
        "-k",
        "owd",
        "--from",
        "1",
        "--to",
        "1.5",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let svg = std::fs::read_to_string(&svg).unwrap();
    let ticks = x_ticks(&svg);
    assert!(ticks.len() >= 3 && ticks.iter().all(|t| (1.0..=1.5).contains(t)), "{ticks:?}");
}

#[test]
fn a_bad_range_is_a_usage_error_and_leaves_no_file() {
    let path = testdata("matrix/sequential.pcap");
    let (first, last) = tshark_span(&path, 19);
    let cases: [(&[&str], &str); 5] = [
        (&["--from", "3parsecs"], "250ms"),
        (&["--to", "yesterday"], "2026-12-07 04:35:01.25"),
        (&["--from", "3", "--to", "2"], "before --to"),
        // Connection 19 is over by 10 s; at 1 s it had not started.
        (&["--from", "10"], "no packet"),
        (&["--to", "1s"], "no packet"),
    ];
    assert!(first > 1.0 && last < 10.0, "{first} {last}");
    for (flags, says) in cases {
        let png = scratch_dir(TAG).join("bad-range.png");
        let _ = std::fs::remove_file(&png);
        let mut args = vec!["plot", &path, "-k", "rtt", "--connection", "19", "-o", png.to_str().unwrap()];
        args.extend_from_slice(flags);
        let o = run(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!png.exists(), "{flags:?}: a file was left");
        let dir = png.parent().unwrap();
        assert!(std::fs::read_dir(dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("bad-range")), "{flags:?}");
    }
    // hol has no time axis.
    let o = run(&["plot", &path, "-k", "hol", "--from", "1", "-o", scratch_dir(TAG).join("bad-hol.png").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

/// (text, x, y, font size) of every text element of an SVG.
fn svg_texts(svg: &str) -> Vec<(String, f64, f64, f64)> {
    let doc = roxmltree::Document::parse(svg).expect("svg");
    let num = |n: &roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.trim_end_matches("px").parse::<f64>().ok()).unwrap_or(0.0);
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| (n.text().unwrap_or("").trim().to_string(), num(&n, "x"), num(&n, "y"), num(&n, "font-size")))
        .collect()
}

#[test]
fn legends_sit_below_the_axes_and_inside_the_image() {
    // 8 subflows: a legend inside the plotting area covered the data, or (owd, 15 subflows)
    // ran past the axes.
    let path = testdata("shapes/eight-subflows.pcap");
    let mut cases: Vec<(String, Vec<String>)> = ["throughput", "sequence", "rtt", "hol", "reorder", "subflows"]
        .iter()
        .map(|k| (k.to_string(), vec!["plot".into(), path.clone(), "-k".into(), k.to_string()]))
        .collect();
    cases.push((
        "owd".into(),
        ["plot", &testdata("pair/client-any.pcap"), "--server", &testdata("pair/server-any.pcap"), "-k", "owd"].map(String::from).to_vec(),
    ));
    for (kind, mut args) in cases {
        let svg = scratch_dir(TAG).join(format!("legend-{kind}.svg"));
        args.extend(["-o".into(), svg.display().to_string()]);
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", text(&o.stderr));
        let svg = std::fs::read_to_string(&svg).unwrap();
        let texts = svg_texts(&svg);
        // The lowest axis number: every legend label is beneath it.
        let axis_bottom = texts.iter().filter(|t| t.0.trim().parse::<f64>().is_ok()).map(|t| t.2).fold(0f64, f64::max);
        let legend: Vec<_> = texts
            .iter()
            .filter(|t| match kind.as_str() {
                "subflows" => t.0.starts_with("handshake") || t.0.starts_with("closed"),
                "owd" => t.0.contains("median"),
                _ => t.0.starts_with('#') || t.0.contains("goodput") || t.0.contains("reinjected") || t.0.starts_with("all subflows"),
            })
            .collect();
        assert!(legend.len() >= 2, "{kind}: {legend:?}");
        for (label, x, y, size) in legend {
            assert!(*y > axis_bottom, "{kind}: {label:?} at y {y} is not below the axes (their numbers reach y {axis_bottom})");
            // DejaVu Sans: at most about 0.62 em per character.
            let right = x + label.chars().count() as f64 * size * 0.62;
            assert!(*x >= 0.0 && right <= 1000.0, "{kind}: {label:?} from x {x} to about {right} runs out of the 1000 px image");
        }
    }
}
