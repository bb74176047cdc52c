//! `throughput` writes only the intervals where something happened; `--dense` every interval.
//! Truth: the data-level rows add up to the bytes the applications sent (testdata/manifest.json).

mod kit;
use kit::{bin, run, testdata_dir, text};

fn rows(args: &[&str]) -> Vec<Vec<String>> {
    let out = bin().arg("throughput").arg(testdata_dir().join("path-cut.pcap")).args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn sparse_by_default_dense_on_request() {
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata_dir().join("manifest.json")).unwrap()).unwrap();
    let entry = manifest.as_array().unwrap().iter().find(|e| e["file"] == "path-cut.pcap").unwrap();
    let (c2s, s2c) = (entry["c2s_bytes"].as_u64().unwrap(), entry["s2c_bytes"].as_u64().unwrap());
    let counts = |r: &Vec<String>| [4, 5, 8, 9].map(|i| r[i].parse::<u64>().unwrap());
    let sparse = rows(&["--interval", "500ms"]);
    let dense = rows(&["--interval", "500ms", "--dense"]);
    assert!(sparse.iter().all(|r| counts(r).iter().any(|&n| n > 0)), "no all-zero row by default");
    assert!(dense.iter().any(|r| counts(r).iter().all(|&n| n == 0)), "--dense keeps the idle intervals");
    for rs in [&sparse, &dense] {
        // Data-level rows (empty subflow column) count each data byte once: the apps' bytes.
        let total = |i: usize| rs.iter().filter(|r| r[2].is_empty()).map(|r| r[i].parse::<u64>().unwrap()).sum::<u64>();
        assert_eq!((total(4), total(5)), (c2s, s2c));
    }
}

/// docs/throughput.md: time 0 is the first packet of the capture. two-subflows.pcap starts with
/// ICMPv6; tshark: the first TCP packet is frame 5 at 0.492699 s, the first with payload frame 8
/// at 0.503151 s (`tshark -r two-subflows.pcap -Y tcp -T fields -e frame.time_relative`).
#[test]
fn throughput_time_zero_is_the_first_packet_of_the_capture() {
    let path = testdata_dir().join("two-subflows.pcap");
    let o = run(&["throughput", "--interval", "1ms", "--format", "csv", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let ts: Vec<f64> = out.lines().skip(1).map(|l| l.split(',').next().and_then(|t| t.parse().ok()).expect("t")).collect();
    let first = ts.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((0.492699 - 1e-6..=0.503151 + 1e-6).contains(&first), "first row at {first} s");
    // Intervals start at the first TCP packet, every 1 ms.
    let k = (first - 0.492699) / 0.001;
    assert!((k - k.round()).abs() < 1e-3, "first row at {first} s");
    // analyze and plot use the same time zero: analyze's first subflow starts at 0.493 s.
    let a = text(&run(&["analyze", path.to_str().expect("path")]).stdout);
    assert!(a.lines().any(|l| l.trim_start().starts_with("0 init ") && l.contains(" 0.493 ")), "{a}");
}
