//! Live capture (`-i`, issue 26) end to end on veth pairs in network namespaces made here
//! (cli/tests/live/run.sh; root, a kernel with MPTCP, libpcap, tcpdump, python3): the live report
//! equals the same traffic's tcpdump captures analysed afterwards, and the apps' own record of
//! the bytes they sent and received.
mod kit;

use std::path::Path;
use std::process::Command;

use kit::{root, scratch_dir, text};
use serde_json::Value;

/// Runs the script into a fresh folder; its folder.
fn live(tag: &str, mode: &str) -> std::path::PathBuf {
    let dir = scratch_dir(tag);
    let bin = env!("CARGO_BIN_EXE_mptcp-trace");
    let out =
        Command::new("bash").arg(root().join("cli/tests/live/run.sh")).args([bin, dir.to_str().unwrap(), mode]).output().expect("bash");
    assert!(
        out.status.success(),
        "the live test bed needs root, ip netns, tcpdump, libpcap and python3 (scripts/test.sh installs them): {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    dir
}

fn records(path: &Path, kind: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == kind)
        .collect()
}

/// Every packet tcpdump received was written (its own counts).
fn tcpdump_complete(dir: &Path) {
    let t = std::fs::read_to_string(dir.join("tcpdump.txt")).unwrap();
    let count = |what: &str| -> Vec<u64> {
        t.lines().filter(|l| l.ends_with(what)).map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect()
    };
    assert_eq!(count("packets captured"), count("packets received by filter"), "{t}");
}

#[test]
fn a_live_capture_reports_what_the_files_and_the_apps_say() {
    let dir = live("live-duration", "");
    assert_eq!(
        std::fs::read_to_string(dir.join("live.rc")).unwrap().trim(),
        "0",
        "{}",
        std::fs::read_to_string(dir.join("live.err")).unwrap()
    );
    tcpdump_complete(&dir);
    let live = records(&dir.join("live.jsonl"), "connection");
    assert_eq!(live.len(), 1, "one connection");
    let c = &live[0];
    // The apps' record: what the client sent and the server received, and the other way.
    let client: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("client.json")).unwrap()).unwrap();
    let server: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("server.json")).unwrap()).unwrap();
    let (cl, sv) = (&client[0], &server[0]);
    assert_eq!(c["c2s"]["bytes"], cl["sent_bytes"]);
    assert_eq!(c["c2s"]["sha256"], cl["sent_sha256"]);
    assert_eq!(c["c2s"]["sha256"], sv["recv_sha256"]);
    assert_eq!(c["s2c"]["bytes"], sv["sent_bytes"]);
    assert_eq!(c["s2c"]["sha256"], sv["sent_sha256"]);
    assert_eq!(c["s2c"]["sha256"], cl["recv_sha256"]);
    assert_eq!(c["client"], cl["local"]);
    assert_eq!(c["state"], "closed");
    // The same traffic captured by tcpdump on both interfaces, analysed afterwards as one.
    let merged = Command::new(env!("CARGO_BIN_EXE_mptcp-trace"))
        .args(["analyze", "--merge", "--format", "jsonl", "--sha256"])
        .arg(dir.join("a.pcap"))
        .arg(dir.join("b.pcap"))
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    let path = dir.join("files.jsonl");
    std::fs::write(&path, &merged.stdout).unwrap();
    let files = records(&path, "connection");
    assert_eq!(files.len(), 1);
    let f = &files[0];
    for key in ["client", "server", "client_key", "server_key", "client_token", "server_token", "version", "state"] {
        assert_eq!(c[key], f[key], "{key}: live and files");
    }
    // Verdicts and counts; frame numbers differ (the live capture counts the packets -f drops,
    // ARP and pings, from its own start).
    let checks = |v: &Value| -> Vec<(Value, Value, Value, Value)> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["id"].clone(), k["verdict"].clone(), k["pass"].clone(), k["fail"].clone()))
            .collect()
    };
    assert_eq!(checks(c), checks(f), "checks: live and files");
    for d in ["c2s", "s2c"] {
        for key in ["bytes", "sha256", "reinjected_bytes", "gap_bytes", "complete"] {
            assert_eq!(c[d][key], f[d][key], "{d}.{key}: live and files");
        }
    }
    let ends = |v: &Value| -> Vec<(Value, Value, Value)> {
        v["subflows"].as_array().unwrap().iter().map(|s| (s["client"].clone(), s["server"].clone(), s["c2s"]["bytes"].clone())).collect()
    };
    assert_eq!(ends(c), ends(f), "subflows: live and files");
    assert_eq!(ends(c).len(), 2, "two subflows");
    // Each live packet is one tcpdump wrote.
    let live_stats = &records(&dir.join("live.jsonl"), "summary")[0]["stats"];
    let file_stats = &records(&path, "summary")[0]["stats"];
    assert_eq!(live_stats["tcp_packets"], file_stats["tcp_packets"]);
}

#[test]
fn ctrl_c_ends_a_live_capture_with_the_open_connection_reported() {
    let dir = live("live-sigint", "sigint");
    assert_eq!(
        std::fs::read_to_string(dir.join("live.rc")).unwrap().trim(),
        "0",
        "{}",
        std::fs::read_to_string(dir.join("live.err")).unwrap()
    );
    let live = records(&dir.join("live.jsonl"), "connection");
    assert_eq!(live.len(), 1, "the connection open at Ctrl-C");
    assert_eq!(live[0]["state"], "established", "open when the capture ended");
    let client: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("client.json")).unwrap()).unwrap();
    let sent = client[0]["sent_bytes"].as_u64().unwrap();
    let seen = live[0]["c2s"]["bytes"].as_u64().unwrap();
    assert!(seen > 0 && seen < sent, "part of the transfer: {seen} of {sent} bytes");
    assert_eq!(records(&dir.join("live.jsonl"), "summary").len(), 1, "and the summary line");
}
