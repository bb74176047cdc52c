//! `mptcp-trace pair` on the two-ended capture of testdata/pair/: the segments lost between the
//! capture points and the one-way delays equal those of the independent checker
//! (testdata/tools/pair_match.py over tshark's fields, committed as pair.match.json).
use std::path::PathBuf;
use std::process::Command;

mod kit;
use kit::{bin, testdata_dir};

fn json(path: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(testdata_dir().join(path)).expect("read")).expect("json")
}

#[test]
fn pair_matches_the_independent_checker() {
    let ours = against_checker("pair");
    for sf in ours["subflows"].as_array().unwrap() {
        assert_eq!(sf["at_server"], serde_json::Value::Null, "no NAT: {sf}");
        // v1 MP_CAPABLE SYNs carry no key: found by ISN; joins by token, address id and nonce
        let by = if sf["kind"] == "MP_JOIN" { "MP_JOIN" } else { "ISN" };
        assert_eq!(sf["linked_by"], by, "{sf}");
    }
}

/// Through a NAT (testdata/pair.sh NAT=1: the router masquerades source address and port), the
/// subflows are found by their SYNs: the checker translates the server's 4-tuples by ISN alone.
#[test]
fn pair_through_a_nat_matches_the_independent_checker() {
    let ours = against_checker("pair-nat");
    let truth = json("pair-nat/pair.match.json");
    let nat = truth["nat"].as_object().expect("the checker's translations");
    assert_eq!(nat.len(), 4, "two subflows, both directions translated");
    for sf in ours["subflows"].as_array().unwrap() {
        let at_server = sf["at_server"].as_str().expect("a NAT: another 4-tuple at the server");
        assert_eq!(nat.get(at_server), Some(&sf["subflow"]), "{sf}");
        // v1 MP_CAPABLE SYNs carry no key: found by ISN; joins by token, address id and nonce
        let by = if sf["kind"] == "MP_JOIN" { "MP_JOIN" } else { "ISN" };
        assert_eq!(sf["linked_by"], by, "{sf}");
    }
}

/// `pair --format json` on DIR/client-any.pcap and DIR/server-any.pcap against the committed
/// output of testdata/tools/pair_match.py (DIR/pair.match.json).
fn against_checker(dir: &str) -> serde_json::Value {
    let ours = run_pair_json(dir, false);
    check_against_checker(dir, &ours);
    ours
}

/// `pair --format json` on DIR's two captures, client-any.pcap first (or server-any.pcap first
/// with `server_first`); the JSON and standard error.
fn run_pair_json_err(dir: &str, server_first: bool) -> (serde_json::Value, String) {
    let (c, s) = (testdata_dir().join(dir).join("client-any.pcap"), testdata_dir().join(dir).join("server-any.pcap"));
    let (a, b) = if server_first { (s, c) } else { (c, s) };
    let out = bin().arg("pair").arg(a).arg(b).args(["--format", "json"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (serde_json::from_slice(&out.stdout).expect("json output"), err)
}

fn run_pair_json(dir: &str, server_first: bool) -> serde_json::Value {
    run_pair_json_err(dir, server_first).0
}

/// The report equals the committed output of testdata/tools/pair_match.py (DIR/pair.match.json).
fn check_against_checker(dir: &str, ours: &serde_json::Value) {
    let truth = json(&format!("{dir}/pair.match.json"));
    assert_eq!(truth["check"]["ok"], true, "the checker agrees with the router's nft counters");
    let subs = truth["subflows"].as_array().expect("subflows");
    assert_eq!(ours["subflows"].as_array().map(Vec::len), Some(subs.len()));
    let mut lost_total = 0;
    for t in subs {
        let name = t["subflow"].as_str().unwrap();
        let o = ours["subflows"].as_array().unwrap().iter().find(|s| s["subflow"] == name).unwrap_or_else(|| panic!("no subflow {name}"));
        assert_eq!(o["kind"], t["kind"], "{name}");
        for d in ["c2s", "s2c"] {
            let (o, t) = (&o[d], &t[d]);
            let what = format!("{name} {d}");
            assert_eq!(o["sent_segments"], t["sent_segments"], "{what}");
            assert_eq!(o["received_segments"], t["received_segments"], "{what}");
            assert_eq!(o["lost_count"], t["lost_count"], "{what}");
            assert_eq!(o["lost_bytes"], t["lost_bytes"], "{what}");
            assert_eq!(o["seen_only_at_receiver"].as_u64(), Some(t["seen_only_at_receiver"].as_array().unwrap().len() as u64), "{what}");
            let ol: Vec<(u64, u64, u64)> = o["lost"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (l["seq"].as_u64().unwrap(), l["len"].as_u64().unwrap(), l["frame"].as_u64().unwrap()))
                .collect();
            let tl: Vec<(u64, u64, u64)> = t["lost"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (l["rel_seq"].as_u64().unwrap(), l["len"].as_u64().unwrap(), l["frame"].as_u64().unwrap()))
                .collect();
            assert_eq!(ol, tl, "{what}: lost (seq, len, frame)");
            lost_total += ol.len();
            for k in ["n", "min", "median", "p99", "max"] {
                let (a, b) = (o["owd_us"][k].as_f64().unwrap(), t["owd_us"][k].as_f64().unwrap());
                assert!((a - b).abs() <= 0.001, "{what}: owd {k} {a} vs {b}");
            }
        }
    }
    assert_eq!(lost_total, truth["totals"]["lost_segments"].as_u64().unwrap() as usize);
    let (a, b) = (ours["clock_offset_us"].as_f64().unwrap(), truth["clock_offset"]["from_minima_us"].as_f64().unwrap());
    assert!((a - b).abs() <= 0.001, "clock offset {a} vs {b}");
    for d in ["c2s", "s2c"] {
        for k in ["min", "median", "p99"] {
            let (a, b) = (ours[format!("owd_{d}_us")][k].as_f64().unwrap(), truth["owd_us"][d][k].as_f64().unwrap());
            assert!((a - b).abs() <= 0.001, "all {d}: owd {k} {a} vs {b}");
        }
    }
    assert!(lost_total > 0, "no loss between the points: the test checks little");
}

#[test]
fn captures_without_common_traffic_are_reported() {
    let out = bin()
        .arg("pair")
        .arg(testdata_dir().join("pair/client-vA.pcap"))
        .arg(testdata_dir().join("pair/client-vB.pcap"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("share no traffic"));
}

#[test]
fn a_file_that_is_not_a_capture_is_named() {
    let out = bin()
        .arg("pair")
        .arg(testdata_dir().join("pair/pair.truth.json"))
        .arg(testdata_dir().join("pair/server-any.pcap"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pair.truth.json"));
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = bin().args(args).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[test]
fn reinjection_verdicts_agree_with_analyze_and_the_loss_list() {
    let c2s = reinjection_verdicts("pair");
    assert_eq!(c2s, 25);
}

#[test]
fn reinjection_verdicts_through_a_nat() {
    reinjection_verdicts("pair-nat");
}

/// Checks the verdicts of DIR's pair; returns the number of c2s reinjections.
fn reinjection_verdicts(dir: &str) -> u64 {
    let (c, s) = (testdata_dir().join(dir).join("client-any.pcap"), testdata_dir().join(dir).join("server-any.pcap"));
    let (c, s) = (c.to_str().unwrap(), s.to_str().unwrap());
    let ours = run_json(&["pair", c, s, "--format", "json"]);
    // as many reinjections at each sender's capture as `analyze` finds there
    for (dir, capture) in [("c2s", c), ("s2c", s)] {
        let a = run_json(&["analyze", capture, "--format", "json"]);
        let sum = &ours[format!("reinjections_{dir}")];
        assert_eq!(sum["count"], a["connections"][0][dir]["reinjections"], "{dir}");
        let parts: u64 = ["useful", "redundant", "lost"].iter().map(|k| sum[k].as_u64().unwrap()).sum();
        assert_eq!(Some(parts), sum["count"].as_u64(), "{dir}");
    }
    assert_eq!(ours["reinjections_truncated"], false);
    // every reinjection whose original was lost between the points (pair's own loss list, checked
    // against the independent checker above) is useful; one whose original arrived first is not
    let mut lost_frames = std::collections::HashSet::new();
    for sf in ours["subflows"].as_array().unwrap() {
        for d in ["c2s", "s2c"] {
            for l in sf[d]["lost"].as_array().unwrap() {
                lost_frames.insert((sf["subflow"].as_str().unwrap().to_string(), d, l["frame"].as_u64().unwrap()));
            }
        }
    }
    let mut after_loss = 0;
    for r in ours["reinjections"].as_array().unwrap() {
        let d = if r["direction"] == "c2s" { "c2s" } else { "s2c" };
        let key = (r["original_subflow"].as_str().unwrap().to_string(), d, r["original_frame"].as_u64().unwrap());
        let orig_lost = lost_frames.contains(&key);
        assert_eq!(orig_lost, r["original_arrived"].is_null(), "{r}");
        if orig_lost {
            after_loss += 1;
            assert_eq!(r["verdict"], "useful", "{r}");
        } else if let Some(b) = r["reinjection_arrived"].as_f64() {
            let a = r["original_arrived"].as_f64().unwrap();
            assert_eq!(r["verdict"], if b < a { "useful" } else { "redundant" }, "{r}");
        }
    }
    assert!(after_loss > 0, "no reinjection after a loss: the test checks nothing");
    ours["reinjections_c2s"]["count"].as_u64().unwrap()
}

/// Given server side first (`pair SERVER CLIENT`), the captures are told apart by their
/// handshakes and swapped, with a warning that names the file taken as the client's: the
/// report is the independent checker's (no negative one-way delay, no -60 ms offset) and that
/// of the right order. testdata/pair.sh records client-any.pcap in the client's namespace and
/// server-any.pcap in the server's.
#[test]
fn server_side_first_is_swapped_with_a_warning() {
    server_first_is_swapped("pair");
}

#[test]
fn server_side_first_is_swapped_through_a_nat() {
    server_first_is_swapped("pair-nat");
}

fn server_first_is_swapped(dir: &str) {
    let (right, err) = run_pair_json_err(dir, false);
    assert!(!err.contains("warning"), "the right order needs no word: {err}");
    assert_eq!(right["ends"]["swapped"], false);
    let (ours, err) = run_pair_json_err(dir, true);
    let client = testdata_dir().join(dir).join("client-any.pcap");
    let server = testdata_dir().join(dir).join("server-any.pcap");
    let said = format!("warning: taking {} as the client side and {} as the server side", client.display(), server.display());
    assert!(err.contains(&said), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("(given the other way round)"), "{err}");
    assert_eq!(ours["client_capture"].as_str(), client.to_str());
    assert_eq!(ours["server_capture"].as_str(), server.to_str());
    assert_eq!(ours["ends"]["swapped"], true);
    assert_eq!(ours["ends"]["rule"], "handshake timing", "both captures saw the handshakes");
    assert_eq!(ours["ends"]["handshakes_against"], 0);
    check_against_checker(dir, &ours);
    for sf in ours["subflows"].as_array().unwrap() {
        for d in ["c2s", "s2c"] {
            assert!(sf[d]["owd_us"]["min"].as_f64().unwrap() >= 0.0, "{dir} {d}: {sf}");
        }
    }
    // everything but `ends` is the report of the right order
    let (mut a, mut b) = (ours.clone(), right.clone());
    a.as_object_mut().unwrap().remove("ends");
    b.as_object_mut().unwrap().remove("ends");
    assert_eq!(a, b);
}

/// The text report of the swapped order is that of the right order (its header names the
/// client's capture first).
#[test]
fn server_side_first_text_is_the_right_orders() {
    let (c, s) = (testdata_dir().join("pair/client-any.pcap"), testdata_dir().join("pair/server-any.pcap"));
    let right = bin().arg("pair").arg(&c).arg(&s).output().expect("run");
    let swapped = bin().arg("pair").arg(&s).arg(&c).output().expect("run");
    assert!(right.status.success() && swapped.status.success());
    assert_eq!(String::from_utf8_lossy(&swapped.stdout), String::from_utf8_lossy(&right.stdout));
    let head = format!("client capture {}:", c.display());
    assert!(String::from_utf8_lossy(&swapped.stdout).starts_with(&head));
}

/// Two captures at the same point (the client's `any` and its vA interface) are no evidence
/// either way: the order given stays, without a word.
#[test]
fn captures_at_the_same_point_keep_the_order_given() {
    for (a, b) in [("client-any", "client-vA"), ("client-vA", "client-any")] {
        let (a, b) = (testdata_dir().join(format!("pair/{a}.pcap")), testdata_dir().join(format!("pair/{b}.pcap")));
        let out = bin().arg("pair").arg(&a).arg(&b).args(["--format", "json"]).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("warning"), "{err}");
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!((&j["ends"]["swapped"], &j["ends"]["rule"]), (&serde_json::json!(false), &serde_json::json!("none")));
        assert_eq!(j["client_capture"].as_str(), a.to_str());
    }
}

/// `pair - -` would read standard input twice: refused.
#[test]
fn standard_input_for_both_is_refused() {
    let out = bin().args(["pair", "-", "-"]).stdin(std::process::Stdio::null()).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard input (`-`) can be only one of them"), "{err}");
    assert!(out.stdout.is_empty());
}

/// One capture from standard input is fine, in either place, and swapped like a file (its
/// start is read twice: once for the handshakes, once for the matching).
#[test]
fn standard_input_for_one_capture() {
    let (c, s) = (testdata_dir().join("pair/client-any.pcap"), testdata_dir().join("pair/server-any.pcap"));
    let mut right = run_pair_json("pair", false);
    right.as_object_mut().unwrap().remove("ends");
    for (file, stdin) in [(&s, &c), (&c, &s)] {
        for stdin_first in [true, false] {
            let (a, b) = if stdin_first { (PathBuf::from("-"), file.clone()) } else { (file.clone(), PathBuf::from("-")) };
            let out = bin()
                .arg("pair")
                .arg(&a)
                .arg(&b)
                .args(["--format", "json"])
                .stdin(std::fs::File::open(stdin).expect("open"))
                .output()
                .expect("run");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{err}");
            let mut j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            // the file that was given first: taken as the server's when it is server-any.pcap
            let first_is_server = (a.as_os_str() == "-" && stdin == &s) || a == s;
            assert_eq!(j["ends"]["swapped"], first_is_server, "{a:?} {b:?}: {err}");
            assert_eq!(err.contains("warning: taking"), first_is_server, "{err}");
            let o = j.as_object_mut().unwrap();
            o.remove("ends");
            let name = |p: &PathBuf| if p == stdin { "-".to_string() } else { p.display().to_string() };
            assert_eq!(o.remove("client_capture"), Some(serde_json::json!(name(&c))));
            assert_eq!(o.remove("server_capture"), Some(serde_json::json!(name(&s))));
            let mut r = right.clone();
            r.as_object_mut().unwrap().remove("client_capture");
            r.as_object_mut().unwrap().remove("server_capture");
            assert_eq!(j, r, "{a:?} {b:?}");
        }
    }
}

/// A capture given as a pipe (`<(cat server-any.pcap)`: read once, like standard input) is
/// swapped like a file, and the report is that of the right order.
#[test]
fn a_pipe_is_read_once() {
    let (c, s) = (testdata_dir().join("pair/client-any.pcap"), testdata_dir().join("pair/server-any.pcap"));
    let mut right = run_pair_json("pair", false);
    let script = format!("exec \"$0\" pair <(cat '{}') '{}' --format json", s.display(), c.display());
    let out = Command::new("bash").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_mptcp-trace")).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: taking"), "{err}");
    let mut j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["ends"]["swapped"], true);
    assert_eq!(j["client_capture"].as_str(), c.to_str());
    for v in [&mut j, &mut right] {
        let o = v.as_object_mut().unwrap();
        o.remove("ends");
        o.remove("server_capture");
    }
    assert_eq!(j, right);
}
