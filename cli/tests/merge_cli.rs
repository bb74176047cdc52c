//! `--merge` (issue 13): captures of one run taken per interface, merged, are analysed as the
//! `-i any` capture of the same run. The per-interface files here are cut from a real `-i any`
//! capture by the interface index its Linux cooked v2 headers carry (each packet goes to the file
//! of the interface it crossed); truth: the applications' sha256 (testdata/manifest.json) and the
//! analysis of the whole capture.
use std::path::{Path, PathBuf};

use serde_json::Value;

mod kit;
use kit::{run, testdata_dir};

fn testdata(name: &str) -> PathBuf {
    testdata_dir().join(name)
}

/// Splits a LINUX_SLL2 pcap by interface index into one file per interface; returns them.
fn split_by_interface(capture: &Path, dir: &Path) -> Vec<PathBuf> {
    let data = std::fs::read(capture).unwrap();
    assert_eq!(u32::from_le_bytes(data[20..24].try_into().unwrap()), 276, "LINUX_SLL2");
    let mut files: std::collections::BTreeMap<u32, Vec<u8>> = Default::default();
    let mut at = 24;
    while at + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let rec = &data[at..at + 16 + incl];
        // SLL2: protocol (2), reserved (2), interface index (4, big-endian), ...
        let ifindex = u32::from_be_bytes(rec[16 + 4..16 + 8].try_into().unwrap());
        files.entry(ifindex).or_insert_with(|| data[..24].to_vec()).extend_from_slice(rec);
        at += 16 + incl;
    }
    files
        .into_iter()
        .map(|(i, bytes)| {
            let p = dir.join(format!("if{i}.pcap"));
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn merged_per_interface_captures_analyse_as_the_any_capture() {
    let dir = std::env::temp_dir().join(format!("mptcp-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let any = testdata("two-subflows.pcap");
    let parts = split_by_interface(&any, &dir);
    assert_eq!(parts.len(), 2, "one file per path's interface");
    let whole = json(&["analyze", "--format", "json", "--sha256", any.to_str().unwrap()]);
    let mut args = vec!["analyze", "--merge", "--format", "json", "--sha256"];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    let merged = json(&args);
    // The applications' bytes.
    let manifest: Value = serde_json::from_slice(&std::fs::read(testdata("manifest.json")).unwrap()).unwrap();
    let entry = manifest.as_array().unwrap().iter().find(|e| e["file"] == "two-subflows.pcap").unwrap();
    let c = &merged["connections"][0];
    assert_eq!(c["c2s"]["sha256"], entry["c2s_received_sha256"]);
    assert_eq!(c["s2c"]["sha256"], entry["s2c_received_sha256"]);
    // Both files saw the connection: each subflow left through its own interface.
    assert_eq!(c["inputs"], serde_json::json!([0, 1]));
    // Connections and subflows (reinjections, per-subflow bytes, checks...) equal the -i any
    // capture's; frame numbers too (the merged stream numbers packets in time order, as the
    // -i any capture does).
    let strip = |v: &Value| {
        let mut v = v["connections"].clone();
        for c in v.as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("inputs");
        }
        v
    };
    assert_eq!(strip(&merged), strip(&whole));
    assert_eq!(merged["stats"]["packets"], whole["stats"]["packets"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_packet_in_two_captures_counts_once_and_unrelated_captures_are_named() {
    let f = testdata("loss.pcap");
    let f = f.to_str().unwrap();
    let once = json(&["analyze", "--format", "json", f]);
    let twice = json(&["analyze", "--merge", "--format", "json", f, f]);
    assert_eq!(twice["stats"]["merged_duplicates"], once["stats"]["tcp_packets"]);
    assert_eq!(twice["connections"][0]["c2s"]["bytes"], once["connections"][0]["c2s"]["bytes"]);
    // Per-subflow counts as from one copy (frame numbers count the merged stream: twice as many).
    for (a, b) in twice["connections"][0]["subflows"].as_array().unwrap().iter().zip(once["connections"][0]["subflows"].as_array().unwrap())
    {
        assert_eq!((&a["c2s"], &a["s2c"]), (&b["c2s"], &b["s2c"]));
    }
    let other = testdata("ipv6.pcap");
    let out = run(&["analyze", "--merge", f, other.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loss.pcap: shares no MPTCP connection") && err.contains("ipv6.pcap: shares no MPTCP connection"), "{err}");
}

#[test]
fn real_per_interface_captures_merged_equal_the_any_capture_of_the_same_run() {
    // testdata/pair/: one run recorded with `tcpdump -i any` and with one tcpdump per client
    // interface (vA: Ethernet, microseconds; vB: Ethernet, nanoseconds), testdata/pair.sh.
    let p = |n: &str| testdata(&format!("pair/{n}")).display().to_string();
    let truth: Value = serde_json::from_slice(&std::fs::read(testdata("pair/pair.truth.json")).unwrap()).unwrap();
    let any = json(&["analyze", "--format", "json", "--sha256", &p("client-any.pcap")]);
    let merged = json(&["analyze", "--merge", "--format", "json", "--sha256", &p("client-vA.pcap"), &p("client-vB.pcap")]);
    assert_eq!(merged["stats"]["packets"], any["stats"]["packets"]);
    let (ca, cm) = (&any["connections"], &merged["connections"]);
    assert_eq!(cm.as_array().unwrap().len(), truth["conns"].as_array().unwrap().len());
    assert_eq!(cm.as_array().unwrap().len(), ca.as_array().unwrap().len());
    for (k, t) in truth["conns"].as_array().unwrap().iter().enumerate() {
        for d in ["c2s", "s2c"] {
            assert_eq!(cm[k][d]["sha256"], t[format!("{d}_received_sha256")], "connection {k} {d}: the app's sha256");
            for field in ["bytes", "complete", "reinjections", "reinjected_bytes", "gap_bytes"] {
                assert_eq!(cm[k][d][field], ca[k][d][field], "connection {k} {d} {field}");
            }
        }
        // Same subflows, each with the same counts; only receive timestamps differ by a few µs
        // between the -i any and the per-interface tcpdumps.
        let (sa, sm) = (ca[k]["subflows"].as_array().unwrap(), cm[k]["subflows"].as_array().unwrap());
        assert_eq!(sa.len(), sm.len());
        for (a, m) in sa.iter().zip(sm) {
            for f in ["client", "server", "kind", "end"] {
                if f != "end" {
                    assert_eq!(a[f], m[f], "{f}");
                }
            }
            for d in ["c2s", "s2c"] {
                for f in
                    ["bytes", "packets", "new_data_bytes", "reinjected_bytes", "retransmitted_bytes", "unmapped_bytes", "reinjected_from"]
                {
                    let strip = |v: &Value| {
                        let mut v = v.clone();
                        if let Some(list) = v.as_array_mut() {
                            for r in list {
                                r.as_object_mut().unwrap().remove("first_delay_ms");
                            }
                        }
                        v
                    };
                    assert_eq!(strip(&a[d][f]), strip(&m[d][f]), "subflow {} {d} {f}", a["id"]);
                }
            }
        }
        assert_eq!(cm[k]["inputs"], serde_json::json!([0, 1]), "both interfaces saw the connection");
    }
}
