//! `mptcp-trace dissect` end to end on every testdata capture, plus the file-level error paths.
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

mod kit;
use kit::{bin, testdata_dir};

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    v.sort();
    v
}

const PACKET_KEYS: [&str; 12] = ["frame", "ts", "src", "dst", "sport", "dport", "flags", "seq", "ack", "len", "mptcp", "errors"];

#[test]
fn jsonl_on_every_capture_follows_the_schema() {
    for cap in captures() {
        let out = bin().args(["dissect", "--format", "jsonl"]).arg(&cap).output().unwrap();
        assert!(out.status.success(), "{cap:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut last = 0;
        let mut lines = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{cap:?}: {e}: {line}"));
            for k in PACKET_KEYS {
                assert!(v.get(k).is_some(), "{cap:?}: no {k} in {line}");
            }
            let frame = v["frame"].as_u64().unwrap();
            assert!(frame > last, "{cap:?}: frames increase");
            last = frame;
            let opts = v["mptcp"].as_array().unwrap();
            assert!(!opts.is_empty() || !v["errors"].as_array().unwrap().is_empty(), "{cap:?}: an MPTCP line has options or errors");
            for o in opts {
                assert!(o["subtype"].is_string(), "{line}");
            }
            lines += 1;
        }
        assert!(lines > 0, "{cap:?}: MPTCP packets printed");
        let all = bin().args(["dissect", "--all"]).arg(&cap).output().unwrap();
        assert!(all.status.success());
        assert!(String::from_utf8_lossy(&all.stdout).lines().count() >= lines, "{cap:?}: --all prints at least as much");
    }
}

#[test]
fn text_reads_like_tcpdump() {
    let out = bin().arg("dissect").arg(testdata_dir().join("two-subflows.pcap")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains("Flags [S]") && first.contains("mptcp capable v1"), "{first}");
    assert!(text.contains("mptcp join"), "join options are printed");
    assert!(text.contains("mptcp dss"), "DSS options are printed");
}

#[test]
fn standard_input_works() {
    let bytes = std::fs::read(testdata_dir().join("two-subflows.pcap")).unwrap();
    let mut child = bin().args(["dissect", "--format", "jsonl", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    // Feed stdin from a thread: the child's stdout must be drained at the same time.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    let from_file = bin().args(["dissect", "--format", "jsonl"]).arg(testdata_dir().join("two-subflows.pcap")).output().unwrap();
    assert_eq!(out.stdout, from_file.stdout);
}

#[test]
fn not_a_capture_exits_2_naming_the_file() {
    let out = bin().arg("dissect").arg(testdata_dir().join("README.md")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("README.md") && err.contains("not a pcap or pcapng"), "{err}");
    let out = bin().arg("dissect").arg("/nonexistent/x.pcap").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cut_file_warns_and_keeps_what_came_before() {
    let bytes = std::fs::read(testdata_dir().join("two-subflows.pcap")).unwrap();
    let cut = &bytes[..bytes.len() / 2 + 7];
    let path = std::env::temp_dir().join(format!("cut-{}.pcap", std::process::id()));
    std::fs::write(&path, cut).unwrap();
    let out = bin().args(["dissect", "--format", "jsonl"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("cut off"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 100, "packets before the cut are printed");
}
