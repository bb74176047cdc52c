//! Without `--interval`, `throughput` and the throughput plot pick a round interval (1, 2 or 5 ×
//! 10^k) giving a few hundred intervals over the duration; `--interval` still overrides. Truth:
//! the connection's duration from tshark (`frame.time_relative`), the bytes the applications
//! sent (testdata/manifest.json).

mod kit;
use kit::{bin, testdata_dir, tshark};

fn run(args: &[&str]) -> std::process::Output {
    let out = bin().args(args).output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn is_round(interval_s: f64) -> bool {
    let ns = (interval_s * 1e9).round() as u64;
    let mut v = ns;
    while v >= 10 && v.is_multiple_of(10) {
        v /= 10;
    }
    ns > 0 && matches!(v, 1 | 2 | 5)
}

/// Seconds from the first to the last TCP packet of the capture, per tshark.
fn tshark_span(capture: &str) -> f64 {
    let out = tshark(&["-r", testdata_dir().join(capture).to_str().unwrap(), "-Y", "tcp", "-T", "fields", "-e", "frame.time_relative"]);
    let t: Vec<f64> = String::from_utf8(out.stdout).unwrap().lines().filter_map(|l| l.trim().parse().ok()).collect();
    t.last().unwrap() - t[0]
}

#[test]
fn throughput_picks_a_round_interval_with_a_few_hundred_points() {
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata_dir().join("manifest.json")).unwrap()).unwrap();
    for capture in ["two-subflows.pcap", "path-cut.pcap", "loss.pcap"] {
        let f = testdata_dir().join(capture);
        let doc: serde_json::Value =
            serde_json::from_slice(&run(&["throughput", "--format", "json", "--dense", f.to_str().unwrap()]).stdout).unwrap();
        let interval = doc["interval_s"].as_f64().unwrap();
        assert!(is_round(interval), "{capture}: {interval}");
        let span = tshark_span(capture);
        let rows: Vec<&serde_json::Value> = doc["rows"].as_array().unwrap().iter().filter(|r| r["subflow"].is_null()).collect();
        // The data level spans at most the capture: a few hundred intervals, not one bar.
        assert!((100..=800).contains(&rows.len()), "{capture}: {} intervals of {interval} s over {span} s", rows.len());
        assert!(span / interval > 100.0, "{capture}: {span} s / {interval} s");
        // The counts are the application's bytes, whatever the interval.
        let entry = manifest.as_array().unwrap().iter().find(|e| e["file"] == capture).unwrap();
        let c2s: u64 = rows.iter().map(|r| r["c2s_bytes"].as_u64().unwrap()).sum();
        let s2c: u64 = rows.iter().map(|r| r["s2c_bytes"].as_u64().unwrap()).sum();
        assert_eq!((c2s, s2c), (entry["c2s_bytes"].as_u64().unwrap(), entry["s2c_bytes"].as_u64().unwrap()), "{capture}");
        // --interval still decides.
        let fixed: serde_json::Value =
            serde_json::from_slice(&run(&["throughput", "--format", "json", "--interval", "100ms", f.to_str().unwrap()]).stdout).unwrap();
        assert_eq!(fixed["interval_s"].as_f64(), Some(0.1));
    }
}

#[test]
fn the_throughput_plot_picks_its_interval_from_the_connection() {
    let dir = std::env::temp_dir().join(format!("mptcp-trace-auto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("t.svg");
    let f = testdata_dir().join("two-subflows.pcap");
    run(&["plot", "-k", "throughput", f.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    let text = std::fs::read_to_string(&svg).unwrap();
    // The title names the interval: "…, 5 ms intervals — …".
    let (n, unit) = text
        .split(" intervals")
        .next()
        .and_then(|head| head.rsplit(", ").next())
        .and_then(|t| t.split_once(' '))
        .expect("interval in the title");
    let scale = match unit {
        "µs" | "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        other => panic!("unit {other}"),
    };
    let interval = n.parse::<f64>().unwrap() * scale;
    assert!(is_round(interval), "{interval}");
    // tshark: the connection's packets span about a second; a few hundred intervals.
    let span = tshark_span("two-subflows.pcap");
    assert!((100.0..=800.0).contains(&(span / interval)), "{span} s / {interval} s");
    run(&["plot", "-k", "throughput", "--interval", "100ms", f.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("100 ms intervals"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// testdata/fast/fast-6mb.pcap: 6 MB in about a quarter of a second on an unshaped link. A
/// fixed 100 ms draws it in 3 intervals; the picked interval in a few hundred, each the bytes
/// tshark sees in it.
#[test]
fn a_fast_transfer_gets_fine_intervals_that_match_tshark() {
    let capture = "fast/fast-6mb.pcap";
    let f = testdata_dir().join(capture);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata_dir().join("fast/fast-6mb.truth.json")).unwrap()).unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&run(&["throughput", "--format", "json", "--dense", f.to_str().unwrap()]).stdout).unwrap();
    let interval = doc["interval_s"].as_f64().unwrap();
    let span = tshark_span(capture);
    assert!(is_round(interval) && interval <= 0.002, "{interval} s for {span} s");
    let rows = doc["rows"].as_array().unwrap();
    let data: Vec<_> = rows.iter().filter(|r| r["subflow"].is_null()).collect();
    assert!(data.len() >= 100, "{} intervals", data.len());
    let c2s: u64 = data.iter().map(|r| r["c2s_bytes"].as_u64().unwrap()).sum();
    assert_eq!(c2s, truth["c2s_received_bytes"].as_u64().unwrap(), "the bytes the server application read");
    // Per interval, the subflow's payload bytes on the wire are tshark's.
    let out = tshark(&["-r", f.to_str().unwrap(), "-Y", "tcp.len > 0", "-T", "fields", "-e", "frame.time_relative", "-e", "tcp.len"]);
    let mut want = std::collections::BTreeMap::<u64, u64>::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let (t, len) = l.split_once('\t').unwrap();
        // Nanoseconds, as the tool counts (frame.time_relative has nine decimals).
        let ns = (t.parse::<f64>().unwrap() * 1e9).round() as u64;
        *want.entry(ns / (interval * 1e9).round() as u64).or_default() += len.parse::<u64>().unwrap();
    }
    let mut got = std::collections::BTreeMap::<u64, u64>::new();
    for r in rows.iter().filter(|r| !r["subflow"].is_null()) {
        let b = r["c2s_bytes"].as_u64().unwrap() + r["s2c_bytes"].as_u64().unwrap();
        if b > 0 {
            *got.entry((r["t"].as_f64().unwrap() / interval).round() as u64).or_default() += b;
        }
    }
    assert_eq!(got, want, "payload bytes per interval");
    let fixed: serde_json::Value =
        serde_json::from_slice(&run(&["throughput", "--format", "json", "--dense", "--interval", "100ms", f.to_str().unwrap()]).stdout)
            .unwrap();
    let n_fixed = fixed["rows"].as_array().unwrap().iter().filter(|r| r["subflow"].is_null()).count();
    assert!(n_fixed <= 3, "100 ms: {n_fixed} intervals");
}
