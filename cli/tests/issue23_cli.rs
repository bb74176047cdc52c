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

#[test]
fn plots_fit_the_time_axis_to_the_selected_connection() {
    // sequential.pcap: 30 connections one after another over ~15 s; connection 19 lasts ~80 ms.
    let path = testdata("matrix/sequential.pcap");
    let (first, last) = tshark_span(&path, 19);
    let span = last - first;
    assert!(first > 5.0 && span < 0.5, "{first} {last}");
    for kind in ["rtt", "sequence", "throughput"] {
        let svg = scratch(&format!("seq19-{kind}.svg"));
        let o = run(&["plot", &path, "-k", kind, "--connection", "19", "-o", svg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", text(&o.stderr));
        let ticks = x_ticks(&std::fs::read_to_string(&svg).unwrap());
        assert!(ticks.len() >= 3, "{kind}: {ticks:?}");
        for t in &ticks {
            assert!(*t >= first - 0.1 * span && *t <= last + 0.1 * span, "{kind}: tick {t} outside {first}..{last}: {ticks:?}");
        }
    }
    // two-subflows.pcap: the connection starts 0.49 s in and lasts ~1 s: its own span too.
    let path = testdata("two-subflows.pcap");
    let (first, last) = tshark_span(&path, 0);
    let span = last - first;
    let svg = scratch("two-subflows-rtt.svg");
    let o = run(&["plot", &path, "-k", "rtt", "-o", svg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let ticks = x_ticks(&std::fs::read_to_string(&svg).unwrap());
    assert!(ticks.len() >= 3 && ticks.iter().all(|t| *t >= first - 0.1 * span && *t <= last + 0.1 * span), "{first}..{last}: {ticks:?}");
}
