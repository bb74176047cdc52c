//! `mptcp-trace pair` on the two-ended capture of testdata/pair/: the segments lost between the
//! capture points and the one-way delays equal those of the independent checker
//! (testdata/tools/pair_match.py over tshark's fields, committed as pair.match.json).
use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mptcp-trace"))
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(testdata().join(path)).expect("read")).expect("json")
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
    let out = bin()
        .arg("pair")
        .arg(testdata().join(dir).join("client-any.pcap"))
        .arg(testdata().join(dir).join("server-any.pcap"))
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
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
    ours
}

#[test]
fn captures_without_common_traffic_are_reported() {
    let out =
        bin().arg("pair").arg(testdata().join("pair/client-vA.pcap")).arg(testdata().join("pair/client-vB.pcap")).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("share no traffic"));
}

#[test]
fn a_file_that_is_not_a_capture_is_named() {
    let out =
        bin().arg("pair").arg(testdata().join("pair/pair.truth.json")).arg(testdata().join("pair/server-any.pcap")).output().expect("run");
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
    let (c, s) = (testdata().join(dir).join("client-any.pcap"), testdata().join(dir).join("server-any.pcap"));
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
