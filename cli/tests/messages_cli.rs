//! What users read when something is off: a cut file header or a directory named as such, the
//! same error for a missing connection in every command, the units an option takes, a format we
//! name but do not read, the ranges `stream` did not list; no Rust debug text and no trailing
//! spaces; goodput in a unit that shows it (and none for data at one instant); plot's warning
//! before its "wrote"; `-r FILE` read as tcpdump and tshark read it. Truths: tshark's frame
//! fields, the bzip2 and editcap tools, and the other commands' wording for the same mistake.
mod kit;
use kit::{captures, run, scratch_dir, scratch_file, testdata, testdata_dir, text, tshark};

use std::process::Command;

/// This file's scratch folder (kit::scratch_dir).
const TAG: &str = "messages";

#[test]
fn cut_file_header_and_directory_are_named_as_such() {
    let pcap = std::fs::read(testdata_dir().join("two-subflows.pcap")).expect("capture");
    let ng = std::fs::read(testdata_dir().join("dumpcap.pcapng")).expect("capture");
    for (name, bytes, format) in [("h10.pcap", &pcap[..10], "pcap"), ("h8.pcapng", &ng[..8], "pcapng"), ("h28.pcapng", &ng[..28], "pcapng")]
    {
        let f = scratch_file(TAG, name, bytes);
        let o = run(&["analyze", f.to_str().expect("path")]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            text(&o.stderr),
            format!(
                "mptcp-trace: error: {}: {format} file header incomplete: the file ends within it (no packet in the file)\n",
                f.display()
            )
        );
        let _ = std::fs::remove_file(f);
    }
    let dir = testdata_dir();
    let o = run(&["analyze", dir.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), format!("mptcp-trace: error: {}: is a directory, not a capture file\n", dir.display()));
}

/// What a person reads carries no `Some(..)`, `None` or `[..]` of Rust's Debug format, and
/// no line ends in spaces (the subflow table padded its last column).
#[test]
fn no_rust_debug_text_and_no_trailing_spaces() {
    let leaks = |s: &str| ["Some(", "None", "[\"", "[0", "[1", "[t", "[f"].iter().any(|p| s.contains(p));
    for cap in captures() {
        let path = cap.to_str().expect("path");
        let o = run(&["analyze", path]);
        let out = text(&o.stdout);
        assert!(!out.contains("Some(") && !out.contains("None"), "{path}:\n{out}");
        for line in out.lines() {
            assert_eq!(line, line.trim_end(), "{path}: trailing spaces");
        }
        // Every expectation kind whose detail lists per-connection values.
        let o = run(&[
            "verify",
            path,
            "--expect",
            "subflows>=1",
            "--expect",
            "c2s-sha256=0000000000000000000000000000000000000000000000000000000000000000",
            "--expect",
            "checksums=on",
            "--expect",
            "complete",
            "--expect",
            "fallback",
            "--expect",
            "no-fallback",
        ]);
        let out = text(&o.stdout);
        let expectations = out.split("\nexpectations\n").nth(1).unwrap_or_else(|| panic!("{path}: {out}"));
        assert!(!leaks(expectations), "{path}:\n{out}");
        assert!(expectations.contains("stream hashes per connection: "), "{out}");
    }
}

/// `goodput X unit`: the unit that shows the figure (Mbit/s, kbit/s, bit/s), and the figure is
/// the JSON report's goodput_bps (the same analysis, written in JSON without rounding).
#[test]
fn goodput_is_shown_in_a_unit_that_shows_it() {
    let mut units = std::collections::BTreeSet::new();
    for cap in captures() {
        let path = cap.to_str().expect("path");
        let out = text(&run(&["analyze", path]).stdout);
        let json: serde_json::Value = serde_json::from_slice(&run(&["analyze", "--format", "json", path]).stdout).expect("JSON");
        let bps: Vec<f64> = json["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .flat_map(|c| [c["c2s"]["goodput_bps"].as_f64().expect("c2s"), c["s2c"]["goodput_bps"].as_f64().expect("s2c")])
            .collect();
        let shown: Vec<(f64, &str)> = out
            .lines()
            .filter_map(|l| l.split(", goodput ").nth(1))
            .map(|g| {
                let mut w = g.split([' ', ',']);
                (w.next().and_then(|v| v.parse().ok()).expect("figure"), w.next().expect("unit"))
            })
            .collect();
        assert_eq!(shown.len(), bps.len(), "{path}");
        for ((figure, unit), bps) in shown.into_iter().zip(bps) {
            let scale = match unit {
                "Mbit/s" => 1e6,
                "kbit/s" => 1e3,
                "bit/s" => 1.0,
                other => panic!("{path}: unit {other}"),
            };
            units.insert(unit.to_string());
            assert!((figure * scale - bps).abs() <= 0.005 * scale + 0.5, "{path}: {figure} {unit} for {bps} bit/s");
            assert!(figure >= 1.0 || bps < 1.0, "{path}: {figure} {unit} for {bps} bit/s");
            assert!(figure < 1000.0 || unit == "Mbit/s", "{path}: {figure} {unit}");
        }
    }
    assert!(units.len() >= 2, "the captures show small and large goodput: {units:?}");
}

#[test]
fn plot_warns_about_a_cut_capture_before_saying_wrote() {
    let pcap = std::fs::read(testdata_dir().join("two-subflows.pcap")).expect("capture");
    let f = scratch_file(TAG, "cut.pcap", &pcap[..pcap.len() - 7]);
    let svg = scratch_dir(TAG).join("cut.svg");
    let o = run(&["plot", "-k", "throughput", f.to_str().expect("path"), "-o", svg.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let warning = err.lines().position(|l| l.starts_with("mptcp-trace: warning: ")).expect("warning");
    let wrote = err.lines().position(|l| l.contains(": wrote ")).expect("wrote");
    assert!(warning < wrote, "{err}");
    let _ = (std::fs::remove_file(f), std::fs::remove_file(svg));
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
    let s = scratch_dir(TAG).join("r-stream.bin");
    let o = run(&["stream", "-r", &path, "-d", "s2c", "-o", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::metadata(&s).unwrap().len(), 200000, "the server's 200000 bytes (testdata/README.md)");
}

#[test]
fn a_missing_connection_is_the_same_error_everywhere() {
    let path = testdata("two-subflows.pcap");
    let want = format!("mptcp-trace: error: {path}: no connection 99 (the capture has 1)");
    let png = scratch_dir(TAG).join("c99.png");
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
    let ts = tshark(&["-r", &path, "-c", "8", "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.dstport"]);
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
    let bz = scratch_dir(TAG).join("two-subflows.pcap.bz2");
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
    let cut = scratch_dir(TAG).join("cut120.pcap");
    let e = Command::new("editcap").args(["-s", "120", &testdata("two-subflows.pcap"), cut.to_str().unwrap()]).output().expect("editcap");
    assert!(e.status.success(), "{}", text(&e.stderr));
    let o = run(&["stream", cut.to_str().unwrap(), "-d", "c2s", "-o", scratch_dir(TAG).join("cut.bin").to_str().unwrap()]);
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
