//! Issue 23 (D): messages and forms users meet. Truths: tcpdump's own text (flags), tshark's
//! frame fields (which frames carry data), the bzip2 tool's output, and the other commands'
//! wording for the same mistake.
use std::path::PathBuf;
use std::process::Command;

mod kit;
use kit::{run, testdata, text};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mptcp-issue23-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// The `Flags [..]` of each line, in order.
fn flags(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.split_once("Flags [").and_then(|(_, r)| r.split_once(']')).map(|(f, _)| f.to_string())).collect()
}

#[test]
fn dissect_flags_are_written_as_tcpdump_writes_them() {
    let mut seen = std::collections::BTreeSet::new();
    for cap in ["two-subflows.pcap", "ethernet-one-path.pcap", "dumpcap.pcapng", "fastclose.pcap"] {
        let path = testdata(cap);
        let td = Command::new("tcpdump").args(["-n", "-r", &path, "tcp"]).output().expect("tcpdump");
        assert!(td.status.success(), "{}", text(&td.stderr));
        let want = flags(&text(&td.stdout));
        let ours = run(&["dissect", "--all", "-f", "tcp", &path]);
        assert!(ours.status.success(), "{}", text(&ours.stderr));
        let got = flags(&text(&ours.stdout));
        assert!(want.len() > 100, "{cap}: {}", want.len());
        assert_eq!(got, want, "{cap}");
        seen.extend(got);
    }
    // The forms the issue names were all met.
    for f in ["S", "S.", ".", "P.", "F."] {
        assert!(seen.contains(f), "{f} not in {seen:?}");
    }
}

#[test]
fn dash_r_reads_the_file_as_tcpdump_and_tshark_do() {
    let path = testdata("two-subflows.pcap");
    for args in [&["dissect"][..], &["analyze"], &["verify"]] {
        let plain = run(&[args, &[path.as_str()]].concat());
        let with_r = run(&[args, &["-r", path.as_str()]].concat());
        assert_eq!(with_r.status.code(), plain.status.code(), "{args:?}: {}", text(&with_r.stderr));
        assert_eq!(with_r.stdout, plain.stdout, "{args:?}");
        assert!(!plain.stdout.is_empty());
    }
    let s = scratch("r-stream.bin");
    let o = run(&["stream", "-r", &path, "-d", "s2c", "-o", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::metadata(&s).unwrap().len(), 200000, "the server's 200000 bytes (testdata/README.md)");
}

#[test]
fn a_missing_connection_is_the_same_error_everywhere() {
    let path = testdata("two-subflows.pcap");
    let want = format!("mptcp-trace: error: {path}: no connection 99 (the capture has 1)");
    let png = scratch("c99.png");
    for args in [
        &["analyze", "--connection", "99"][..],
        &["analyze", "--connection", "99", "--format", "json"],
        &["analyze", "--connection", "99", "--format", "jsonl"],
        &["stream", "--connection", "99", "-d", "c2s", "-o", "-"],
        &["plot", "-k", "rtt", "--connection", "99", "-o", png.to_str().unwrap()],
        &["throughput", "--connection", "99"],
    ] {
        let o = run(&[args, &[path.as_str()]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&o.stderr).trim_end(), want, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o.stdout));
    }
}

#[test]
fn goodput_is_not_given_for_data_at_one_instant() {
    let path = testdata("two-subflows.pcap");
    // tshark: among the first 8 frames, exactly one carries payload, client to server.
    let ts = Command::new("tshark")
        .args(["-r", &path, "-c", "8", "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.dstport"])
        .output()
        .expect("tshark");
    assert_eq!(text(&ts.stdout).trim(), "5201", "{}", text(&ts.stderr));
    let o = run(&["analyze", "-c", "8", &path]);
    let out = text(&o.stdout);
    let c2s = out.lines().find(|l| l.trim_start().starts_with("data c2s:")).expect("c2s line");
    assert!(c2s.ends_with("goodput n/a (all data at one instant: no rate)"), "{c2s}");
    assert!(!c2s.contains("bit/s"), "{c2s}");
    // The whole capture spans long enough: a rate.
    let out = text(&run(&["analyze", &path]).stdout);
    assert!(out.lines().any(|l| l.contains("data c2s:") && l.ends_with("Mbit/s")), "{out}");
}

#[test]
fn idle_timeout_message_lists_every_unit_that_works() {
    let path = testdata("two-subflows.pcap");
    let o = run(&["analyze", "--idle-timeout", "5min", &path]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    for unit in ["ns", "us", "ms", "s", "m (minutes)", "h", "0 for never"] {
        assert!(err.contains(unit), "{unit}: {err}");
    }
    // Every unit it lists is taken.
    for t in ["1000000000000ns", "600000000us", "300000ms", "300s", "5m", "1h", "0"] {
        let o = run(&["analyze", "--idle-timeout", t, &path]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", text(&o.stderr));
    }
}

#[test]
fn a_bzip2_capture_names_its_format() {
    let bz = scratch("two-subflows.pcap.bz2");
    let out = Command::new("bzip2").args(["-c", &testdata("two-subflows.pcap")]).output().expect("bzip2 (scripts/test.sh installs it)");
    std::fs::write(&bz, out.stdout).unwrap();
    let o = run(&["analyze", bz.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("two-subflows.pcap.bz2: bzip2-compressed; not supported: decompress it first"), "{err}");
}

#[test]
fn stream_says_how_many_ranges_it_did_not_list() {
    // editcap (Wireshark's) cuts every packet to 120 bytes: each data segment leaves a range
    // the snaplen cut.
    let cut = scratch("cut120.pcap");
    let e = Command::new("editcap").args(["-s", "120", &testdata("two-subflows.pcap"), cut.to_str().unwrap()]).output().expect("editcap");
    assert!(e.status.success(), "{}", text(&e.stderr));
    let o = run(&["stream", cut.to_str().unwrap(), "-d", "c2s", "-o", scratch("cut.bin").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    let listed = err.lines().filter(|l| l.trim_start().starts_with("uncaptured:")).count();
    assert_eq!(listed, 20, "{err}");
    let more: usize = err
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("… ").and_then(|r| r.strip_suffix(" more uncaptured range(s)")))
        .expect("the count of ranges not listed")
        .parse()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&run(&["analyze", "--format", "json", cut.to_str().unwrap()]).stdout).unwrap();
    let all = json["connections"][0]["c2s"]["uncaptured"].as_array().map_or(0, |a| a.len());
    assert_eq!(listed + more, all, "{err}");
}

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
    let o = Command::new("tshark")
        .args(["-r", path, "-Y", &format!("mptcp.stream == {id}"), "-T", "fields", "-e", "frame.time_relative"])
        .output()
        .expect("tshark");
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
    let svg = scratch(&format!("fit-{id}-{kind}.svg"));
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
    let o = Command::new("tshark").args(["-r", path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"]).output().expect("tshark");
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
            let svg = scratch(&format!("range-{kind}.svg"));
            let o = Command::new(env!("CARGO_BIN_EXE_mptcp-trace"))
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
    let svg = scratch("range-owd.svg");
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
        let png = scratch("bad-range.png");
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
    let o = run(&["plot", &path, "-k", "hol", "--from", "1", "-o", scratch("bad-hol.png").to_str().unwrap()]);
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
        let svg = scratch(&format!("legend-{kind}.svg"));
        args.extend(["-o".into(), svg.display().to_string()]);
        let o = Command::new(env!("CARGO_BIN_EXE_mptcp-trace")).args(&args).output().unwrap();
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
