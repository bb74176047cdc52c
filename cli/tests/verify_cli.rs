//! `mptcp-trace verify` as CI runs it: exit codes, --expect rules, and JUnit that parses as XML
//! and agrees with the JSON report.
use std::path::PathBuf;
use std::process::Output;

mod kit;
use kit::{run, testdata_dir, text};

fn manifest() -> Vec<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(testdata_dir().join("manifest.json")).expect("manifest.json")).expect("manifest parses")
}

fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(testdata_dir())
        .expect("testdata/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

fn verify(name: &str, extra: &[&str]) -> Output {
    let path = testdata_dir().join(name);
    let mut args = vec!["verify", path.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    run(&args)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// (tests, failures, skipped) from the JUnit document, counted from its testcase elements, and
/// checked against the suite's attributes.
fn junit_counts(xml: &str) -> (u64, u64, u64) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("JUnit is not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    let cases: Vec<_> = suites[0].children().filter(|n| n.has_tag_name("testcase")).collect();
    let failures = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count() as u64;
    let skipped = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("skipped"))).count() as u64;
    for c in &cases {
        assert!(c.attribute("classname").is_some() && c.attribute("name").is_some(), "{c:?}");
    }
    let attr = |n: roxmltree::Node<'_, '_>, a: &str| n.attribute(a).and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{a}"));
    for n in [root, suites[0]] {
        assert_eq!((attr(n, "tests"), attr(n, "failures"), attr(n, "skipped")), (cases.len() as u64, failures, skipped));
    }
    (cases.len() as u64, failures, skipped)
}

fn json_counts(v: &serde_json::Value) -> (u64, u64, u64) {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}"));
    (n("passed") + n("failed") + n("skipped"), n("failed"), n("skipped"))
}

#[test]
fn every_capture_passes_and_junit_matches_json() {
    for name in captures() {
        let t = verify(&name, &[]);
        assert_eq!(code(&t), 0, "{name}:\n{}{}", text(&t.stdout), text(&t.stderr));
        assert!(text(&t.stdout).contains(" 0 failed,"), "{name}");
        let j = verify(&name, &["--format", "json"]);
        assert_eq!(code(&j), 0, "{name}");
        let json: serde_json::Value = serde_json::from_slice(&j.stdout).expect("JSON");
        let x = verify(&name, &["--format", "junit"]);
        assert_eq!(code(&x), 0, "{name}");
        let xml = text(&x.stdout);
        assert_eq!(junit_counts(&xml), json_counts(&json), "{name}");
        // One testcase per check per connection, plus the capture-level checks.
        let conns = json["connections"].as_array().expect("connections");
        let per_conn: usize = conns.iter().map(|c| c["checks"].as_array().expect("checks").len()).sum();
        let capture = json["capture_checks"].as_array().expect("capture_checks").len();
        assert_eq!(json_counts(&json).0 as usize, per_conn + capture, "{name}");
        assert_eq!(xml.matches(r#"classname="capture""#).count(), capture, "{name}");
    }
}

#[test]
fn manifest_sha256_expectation_passes_on_path_cut() {
    let m = manifest();
    let e = m.iter().find(|e| e["file"] == "path-cut.pcap").expect("path-cut.pcap in the manifest");
    let c2s = format!("c2s-sha256={}", e["c2s_sha256"].as_str().expect("c2s_sha256"));
    let s2c = format!("s2c-sha256={}", e["s2c_sha256"].as_str().expect("s2c_sha256"));
    let bytes = format!("c2s-bytes={}", e["c2s_bytes"].as_u64().expect("c2s_bytes"));
    let args = [
        "--expect",
        &c2s,
        "--expect",
        &s2c,
        "--expect",
        &bytes,
        "--expect",
        "subflows>=2",
        "--expect",
        "no-fallback",
        "--expect",
        "version=1",
        "--format",
        "json",
    ];
    let o = verify("path-cut.pcap", &args);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(code(&o), 0, "{json:#}");
    let exps = json["expectations"].as_array().expect("expectations");
    assert_eq!(exps.len(), 6);
    assert!(exps.iter().all(|x| x["outcome"] == "pass"), "{exps:#?}");
    // A wrong hash fails.
    let wrong = format!("c2s-sha256={}", "0".repeat(64));
    assert_eq!(code(&verify("path-cut.pcap", &["--expect", &wrong])), 1);
}

#[test]
fn failed_expectation_exits_1_and_is_a_junit_failure() {
    let o = verify("path-cut.pcap", &["--expect", "reinjected-bytes=0"]);
    assert_eq!(code(&o), 1, "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(out.contains("FAIL reinjected-bytes=0"), "{out}");
    assert!(out.contains(" 1 failed,"), "{out}");
    let x = verify("path-cut.pcap", &["--expect", "reinjected-bytes=0", "--format", "junit"]);
    assert_eq!(code(&x), 1);
    let xml = text(&x.stdout);
    let j = verify("path-cut.pcap", &["--expect", "reinjected-bytes=0", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&j.stdout).expect("JSON");
    assert_eq!(junit_counts(&xml), json_counts(&json));
    assert_eq!(json_counts(&json).1, 1);
    let doc = roxmltree::Document::parse(&xml).expect("XML");
    let failed: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).map(|n| n.parent().expect("testcase")).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute("classname"), Some("expectations"));
    assert_eq!(failed[0].attribute("name"), Some("reinjected-bytes=0"));
}

#[test]
fn usage_errors_and_unreadable_input_exit_2() {
    let o = verify("two-subflows.pcap", &["--expect", "bogus=1"]);
    assert_eq!(code(&o), 2);
    let err = text(&o.stderr);
    for key in ["subflows", "reinjected-bytes", "c2s-sha256", "checksums", "no-fallback", "complete"] {
        assert!(err.contains(key), "the grammar lists {key}: {err}");
    }
    for bad in ["subflows>=two", "checksums=maybe", "c2s-sha256=abc", "subflows"] {
        assert_eq!(code(&verify("two-subflows.pcap", &["--expect", bad])), 2, "{bad}");
    }
    assert_eq!(code(&run(&["verify", "/nonexistent/x.pcap"])), 2);
    let junk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-junk.pcap");
    std::fs::write(&junk, b"this is not a capture file at all").expect("write");
    assert_eq!(code(&run(&["verify", junk.to_str().expect("path")])), 2);
    assert_eq!(code(&verify("two-subflows.pcap", &["--format", "yaml"])), 2);
}

#[test]
fn output_file_gets_the_report() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-out.xml");
    let _ = std::fs::remove_file(&out);
    let o = verify("fastclose.pcap", &["--format", "junit", "-o", out.to_str().expect("path")]);
    assert_eq!(code(&o), 0);
    assert!(o.stdout.is_empty());
    let xml = std::fs::read_to_string(&out).expect("report written");
    let (tests, failures, _) = junit_counts(&xml);
    assert!(tests >= 14 && failures == 0);
    assert!(xml.contains("MP_FASTCLOSE at frame"), "signals reported");
}
