//! Issue 23 (B): outputs are never lost or half written, and several files make one output that
//! says which file each part is from. Truths: the files as they were before the run (bytes and
//! sha256), the directory listing (no stray temporary file), each file's output when run alone,
//! and the formats' own parsers (roxmltree for JUnit, serde_json for JSON).
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod kit;
use kit::{run, testdata, text};

/// A fresh folder of its own for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mptcp-outputs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).expect("read")).to_vec()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).expect("ls").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

const A: &str = "two-subflows.pcap";
const B: &str = "fallback.pcap";

#[test]
fn verify_junit_over_two_files_is_one_report_with_a_suite_per_file() {
    let dir = scratch("junit");
    let (a, b) = (testdata(A), testdata(B));
    let xml_path = dir.join("ci.xml");
    let o = run(&["verify", &a, &b, "--format", "junit", "-o", xml_path.to_str().unwrap()]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o.stderr));
    let xml = std::fs::read_to_string(&xml_path).expect("ci.xml written");
    let doc = roxmltree::Document::parse(&xml).expect("one well-formed XML document");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.iter().map(|s| s.attribute("name").unwrap()).collect::<Vec<_>>(), [a.as_str(), b.as_str()]);
    // Each suite is that file's report alone; the totals count every testcase.
    let mut cases = 0;
    for (s, f) in suites.iter().zip([&a, &b]) {
        let alone = run(&["verify", f, "--format", "junit"]);
        let alone = text(&alone.stdout);
        let alone_doc = roxmltree::Document::parse(&alone).expect("xml");
        let alone_suite = alone_doc.root_element().children().find(|n| n.has_tag_name("testsuite")).expect("suite");
        assert_eq!(s.attribute("tests"), alone_suite.attribute("tests"));
        let n = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(n.to_string(), s.attribute("tests").unwrap());
        cases += n;
    }
    assert_eq!(root.attribute("tests"), Some(cases.to_string().as_str()));
    // Without -o, the same report on standard output.
    let stdout = run(&["verify", &a, &b, "--format", "junit"]);
    assert_eq!(text(&stdout.stdout), xml);
    assert_eq!(listing(&dir), ["ci.xml"], "no temporary file left");
}

#[test]
fn verify_json_and_text_over_two_files() {
    let (a, b) = (testdata(A), testdata(B));
    let o = run(&["verify", &a, &b, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    let files: Vec<&str> = doc.as_array().expect("an array of reports").iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files, [a.as_str(), b.as_str()]);
    let o = run(&["verify", &a, &b]);
    let out = text(&o.stdout);
    let headers: Vec<&str> = out.lines().filter(|l| l.ends_with("connection(s)")).collect();
    assert_eq!(headers.len(), 2, "{out}");
    assert!(headers[0].starts_with(&format!("{a}: ")) && headers[1].starts_with(&format!("{b}: ")), "{out}");
}

/// JSON lines of several files: each line is the line of that file's run alone, with `file`.
fn check_jsonl(args: &[&str]) {
    let (a, b) = (testdata(A), testdata(B));
    let both = run(&[args, &[a.as_str(), b.as_str()]].concat());
    assert!(both.status.success(), "{args:?}: {}", text(&both.stderr));
    let mut want = Vec::new();
    for f in [&a, &b] {
        let alone = run(&[args, &[f.as_str()]].concat());
        for l in text(&alone.stdout).lines() {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v.as_object_mut().unwrap().insert("file".into(), serde_json::Value::String(f.clone()));
            want.push(v);
        }
    }
    let got: Vec<serde_json::Value> = text(&both.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert!(!got.is_empty(), "{args:?}");
    assert_eq!(got, want, "{args:?}");
}

#[test]
fn json_lines_of_several_files_carry_the_file() {
    check_jsonl(&["events", "--format", "jsonl"]);
    check_jsonl(&["dissect", "--format", "jsonl"]);
    check_jsonl(&["analyze", "--format", "jsonl"]);
}

#[test]
fn text_of_several_files_has_a_header_per_file() {
    let (a, b) = (testdata(A), testdata(B));
    for args in [&["dissect"][..], &["events"], &["events", "--side", "client"]] {
        let both = text(&run(&[args, &[a.as_str(), b.as_str()]].concat()).stdout);
        let alone: Vec<String> = [&a, &b].iter().map(|f| text(&run(&[args, &[f.as_str()]].concat()).stdout)).collect();
        assert_eq!(both, format!("==> {a} <==\n{}\n==> {b} <==\n{}", alone[0], alone[1]), "{args:?}");
    }
}

#[test]
fn throughput_csv_of_several_files_has_one_header_and_a_file_column() {
    let (a, b) = (testdata(A), testdata(B));
    let both = text(&run(&["throughput", &a, &b]).stdout);
    let mut lines = both.lines();
    let header = lines.next().unwrap();
    let mut want = Vec::new();
    for f in [&a, &b] {
        let alone = text(&run(&["throughput", f]).stdout);
        let mut l = alone.lines();
        assert_eq!(format!("file,{}", l.next().unwrap()), header);
        want.extend(l.map(|r| format!("\"{f}\",{r}")));
    }
    assert!(want.len() > 10);
    assert_eq!(lines.map(str::to_string).collect::<Vec<_>>(), want);
}

#[test]
fn analyze_and_throughput_json_of_several_files_are_one_document() {
    let (a, b) = (testdata(A), testdata(B));
    for args in [&["analyze", "--format", "json"][..], &["throughput", "--format", "json"]] {
        let both = run(&[args, &[a.as_str(), b.as_str()]].concat());
        let doc: serde_json::Value = serde_json::from_slice(&both.stdout).expect("one JSON document");
        let alone: Vec<serde_json::Value> =
            [&a, &b].iter().map(|f| serde_json::from_slice(&run(&[args, &[f.as_str()]].concat()).stdout).expect("json")).collect();
        assert_eq!(doc, serde_json::Value::Array(alone), "{args:?}");
    }
}

#[test]
fn a_missing_input_leaves_an_existing_output_untouched() {
    let dir = scratch("missing");
    let missing = dir.join("missing.pcap");
    let m = missing.to_str().unwrap();
    for (args, out) in [
        (&["verify", m, "-o"][..], "ci.xml"),
        (&["verify", m, &testdata(A), "--format", "junit", "-o"], "ci2.xml"),
        (&["report", m, "-o"], "r.html"),
        (&["stream", m, "-d", "c2s", "--connection", "0", "-o"], "s.bin"),
        (&["plot", m, "-k", "throughput", "-o"], "p.png"),
    ] {
        let target = dir.join(out);
        std::fs::write(&target, b"the user's file\n").unwrap();
        let o = run(&[args, &[target.to_str().unwrap()]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("missing.pcap"), "{args:?}: {}", text(&o.stderr));
        assert_eq!(std::fs::read(&target).unwrap(), b"the user's file\n", "{args:?}");
    }
    assert_eq!(listing(&dir), ["ci.xml", "ci2.xml", "p.png", "r.html", "s.bin"], "no temporary file left");
}

#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = scratch("same");
    let x = dir.join("x.pcap");
    std::fs::copy(testdata(A), &x).unwrap();
    let before = sha256(&x);
    let link = dir.join("link.pcap");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let (xs, ls) = (x.to_str().unwrap(), link.to_str().unwrap());
    for args in [
        &["stream", xs, "-d", "c2s", "-o", xs][..],
        &["stream", ls, "-d", "c2s", "-o", xs],
        &["report", xs, "-o", ls],
        &["verify", xs, "-o", xs],
        &["plot", xs, "-k", "rtt", "-o", xs],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(err.contains("the output is the input") || err.contains("unknown image format"), "{args:?}: {err}");
        assert_eq!(sha256(&x), before, "{args:?}");
    }
    assert_eq!(listing(&dir), ["link.pcap", "x.pcap"]);
}

#[test]
fn a_plot_that_fails_leaves_no_file() {
    let dir = scratch("plot");
    let p = dir.join("p.png");
    let o = run(&["plot", &testdata(A), "-k", "throughput", "--connection", "99", "-o", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr).trim_end(), format!("mptcp-trace: error: {}: no connection 99 (the capture has 1)", testdata(A)));
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    // A folder that does not exist is said plainly, before the capture is read.
    let o = run(&["plot", &testdata(A), "-k", "throughput", "-o", "/nonexistent-dir-23/p.png"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr).trim_end(), "mptcp-trace: error: /nonexistent-dir-23/p.png: no such directory: /nonexistent-dir-23");
}

#[test]
fn stream_writes_its_file_whole_and_checks_the_connection_first() {
    let dir = scratch("stream");
    let s = dir.join("s.bin");
    // multi-conn.pcap has two connections: one must be chosen, and 99 is none of them.
    let o = run(&["stream", &testdata("multi-conn.pcap"), "-d", "c2s", "--connection", "99", "-o", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no connection 99 (the capture has 2)"), "{}", text(&o.stderr));
    assert!(listing(&dir).is_empty());
    // One connection: no --connection needed. The bytes are the application's (testdata/README:
    // two-subflows.pcap's client sent 300000 bytes).
    let o = run(&["stream", &testdata(A), "-d", "c2s", "-o", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::metadata(&s).unwrap().len(), 300000);
    assert_eq!(listing(&dir), ["s.bin"]);
}
