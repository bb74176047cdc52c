//! `throughput` writes only the intervals where something happened; `--dense` every interval.
//! Truth: the data-level rows add up to the bytes the applications sent (testdata/manifest.json).
use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn rows(args: &[&str]) -> Vec<Vec<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_mptcp-trace"))
        .arg("throughput")
        .arg(testdata().join("path-cut.pcap"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn sparse_by_default_dense_on_request() {
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata().join("manifest.json")).unwrap()).unwrap();
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
