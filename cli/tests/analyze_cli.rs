//! `analyze` on a capture of many connections (issue 12): `--format jsonl` streams one line per
//! connection and a summary; the text report gives totals and what matters, `--all` everything;
//! `--idle-timeout` is parsed and applied. Truth: testdata/matrix/sequential.truth.json (the
//! applications' byte counts and sha256 of 30 sequential real MPTCP connections).
use std::process::Output;

use serde_json::Value;

mod kit;
use kit::{bin, testdata_dir};

fn analyze(args: &[&str]) -> Output {
    bin().arg("analyze").args(args).output().unwrap()
}

fn sequential() -> String {
    testdata_dir().join("matrix/sequential.pcap").display().to_string()
}

fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(testdata_dir().join("matrix/sequential.truth.json")).unwrap()).unwrap()
}

#[test]
fn jsonl_has_a_line_per_connection_with_the_apps_hashes_and_a_summary_last() {
    let out = analyze(&["--format", "jsonl", "--sha256", &sequential()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, conns) = lines.split_last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert!(conns.iter().all(|c| c["type"] == "connection"));
    let truth = truth();
    let tconns = truth["conns"].as_array().unwrap();
    assert_eq!(conns.len(), tconns.len());
    assert_eq!(summary["totals"]["connections"], tconns.len());
    assert_eq!(summary["totals"]["complete"], tconns.len());
    // Every (c2s sha256, s2c sha256) pair of the apps is reported once.
    let mut want: Vec<(String, String)> = tconns
        .iter()
        .map(|t| (t["c2s_received_sha256"].as_str().unwrap().into(), t["s2c_received_sha256"].as_str().unwrap().into()))
        .collect();
    let mut got: Vec<(String, String)> = conns
        .iter()
        .map(|c| (c["c2s"]["sha256"].as_str().unwrap_or("-").into(), c["s2c"]["sha256"].as_str().unwrap_or("-").into()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // The same fields as the JSON report's connection objects.
    let json: Value = serde_json::from_slice(&analyze(&["--format", "json", &sequential()]).stdout).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().filter(|k| *k != "type").cloned().collect::<Vec<_>>();
    assert_eq!(keys(&conns[0]), keys(&json["connections"][0]));
    let total: u64 = tconns.iter().map(|t| t["c2s_bytes"].as_u64().unwrap()).sum();
    assert_eq!(summary["totals"]["c2s_bytes"], total);
}

#[test]
fn text_past_twenty_connections_gives_totals_and_all_lists_every_one() {
    let short = String::from_utf8(analyze(&[&sequential()]).stdout).unwrap();
    let all = String::from_utf8(analyze(&["--all", &sequential()]).stdout).unwrap();
    let blocks = |s: &str| s.lines().filter(|l| l.starts_with("Connection ")).count();
    assert_eq!(blocks(&all), 30);
    assert!(blocks(&short) <= 5, "{}", blocks(&short));
    assert!(short.contains("Totals: 30 connections, 60 subflows; 30 closed"), "{short}");
    assert!(short.contains("30 connections complete both ways"), "{short}");
    // A capture of a few connections is listed whole either way.
    let few = testdata_dir().join("multi-conn.pcap").display().to_string();
    assert_eq!(analyze(&[&few]).stdout, analyze(&["--all", &few]).stdout);
}

#[test]
fn idle_timeout_values() {
    for ok in ["0", "300s", "5m", "1h", "1500ms"] {
        let out = analyze(&["--idle-timeout", ok, &sequential()]);
        assert!(out.status.success(), "{ok}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for bad in ["soon", "5x", "-3s"] {
        let out = analyze(&[&format!("--idle-timeout={bad}"), &sequential()]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--idle-timeout"), "{bad}");
    }
}
