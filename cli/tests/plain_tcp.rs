//! Plain TCP in sight: `analyze` on a capture says how many plain TCP connections it held and
//! whether an MP_CAPABLE SYN went unanswered, and `verify` fails a capture without any MPTCP
//! connection unless `--allow-empty`. Truth: testdata/plain/plain-tcp.truth.json (what the
//! application did: 3 connections, their bytes and hashes) and tshark's `tcp.stream` and
//! `tcp.options.mptcp.subtype` on the same captures.
use std::collections::BTreeMap;
use std::process::Command;

mod kit;
use kit::{run, testdata, testdata_dir, tshark};

/// Per tshark, over the streams that start with a SYN: (plain TCP streams — no MPTCP option on
/// any packet —, streams whose MP_CAPABLE SYN no MP_CAPABLE SYN/ACK answered).
fn tshark_counts(capture: &str) -> (u64, u64) {
    let out = Command::new("tshark")
        .args(["-r", &testdata(capture), "-Y", "tcp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"])
        .args(["-e", "tcp.stream", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.options.mptcp.subtype"])
        .output()
        .expect("tshark is needed for this test (.ci/run installs it)");
    assert!(out.status.success());
    #[derive(Default)]
    struct S {
        syn: bool,
        mptcp: bool,
        mpc_syn: bool,
        mpc_synack: bool,
    }
    let mut streams: BTreeMap<u64, S> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("utf8").lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let s = streams.entry(f[0].parse().expect("stream")).or_default();
        let (syn, ack) = (f[1] == "1" || f[1] == "True", f[2] == "1" || f[2] == "True");
        let subtypes: Vec<&str> = f.get(3).map_or(vec![], |v| v.split(',').filter(|x| !x.is_empty()).collect());
        s.mptcp |= !subtypes.is_empty();
        let mpc = subtypes.contains(&"0");
        s.syn |= syn && !ack;
        s.mpc_syn |= syn && !ack && mpc;
        s.mpc_synack |= syn && ack && mpc;
    }
    let plain = streams.values().filter(|s| s.syn && !s.mptcp).count() as u64;
    let unanswered = streams.values().filter(|s| s.mpc_syn && !s.mpc_synack).count() as u64;
    (plain, unanswered)
}

#[test]
fn analyze_counts_the_plain_tcp_connections_of_a_capture_without_mptcp() {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata_dir().join("plain/plain-tcp.truth.json")).unwrap()).unwrap();
    let app_conns = truth["connections"].as_array().unwrap().len() as u64;
    assert_eq!(app_conns, 3);
    assert_eq!(tshark_counts("plain/plain-tcp.pcap"), (app_conns, 0));
    let out = run(&["analyze", "--format", "json", &testdata("plain/plain-tcp.pcap")]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["connections"].as_array().map(Vec::len), Some(0));
    assert_eq!(doc["stats"]["tcp_connections"], app_conns);
    assert_eq!(doc["stats"]["tcp_flows_without_syn"], 0);
    assert_eq!(doc["stats"]["mp_capable_unanswered"], 0);
    assert_eq!(doc["stats"]["packets"], truth["tcpdump_packets_captured"]);
    let text = String::from_utf8(run(&["analyze", &testdata("plain/plain-tcp.pcap")]).stdout).unwrap();
    assert!(text.contains("plain TCP (no MPTCP option): 3 connection(s) with their SYN in the capture"), "{text}");
    assert!(text.contains("no MPTCP connection: no SYN offered MP_CAPABLE"), "{text}");
    // The streamed summary line says the same.
    let jsonl = String::from_utf8(run(&["analyze", "--format", "jsonl", &testdata("plain/plain-tcp.pcap")]).stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(jsonl.lines().last().unwrap()).unwrap();
    assert_eq!(last["stats"]["tcp_connections"], app_conns);
}

#[test]
fn unanswered_mp_capable_syns_and_plain_tcp_agree_with_tshark() {
    // A fallback (SYN/ACK without MP_CAPABLE), a SYN black hole (MP_CAPABLE SYNs dropped, SYN
    // retried without), MPTCP captures, and the plain TCP one.
    let captures = [
        "fallback.pcap",
        "matrix/syn-blackhole.pcap",
        "two-subflows.pcap",
        "multi-conn.pcap",
        "plain/plain-tcp.pcap",
        "matrix/reused-tuple.pcap",
        "matrix/twenty-conns.pcap",
        "matrix/mid-start.pcap",
    ];
    let mut unanswered_seen = 0;
    for c in captures {
        if !testdata_dir().join(c).exists() {
            continue;
        }
        let (plain, unanswered) = tshark_counts(c);
        let out = run(&["analyze", "--format", "json", &testdata(c)]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["stats"]["tcp_connections"], plain, "{c}: plain TCP connections");
        assert_eq!(doc["stats"]["mp_capable_unanswered"], unanswered, "{c}: MP_CAPABLE SYNs unanswered");
        let text = String::from_utf8(run(&["analyze", &testdata(c)]).stdout).unwrap();
        assert_eq!(text.contains("MP_CAPABLE offered but not answered"), unanswered > 0, "{c}: {text}");
        unanswered_seen += unanswered;
    }
    assert!(unanswered_seen >= 2, "the fallback captures have unanswered MP_CAPABLE SYNs");
}

#[test]
fn verify_fails_a_capture_without_mptcp_unless_allowed() {
    let out = run(&["verify", &testdata("plain/plain-tcp.pcap")]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FAIL capture.mptcp"), "{text}");
    let out = run(&["verify", "--allow-empty", &testdata("plain/plain-tcp.pcap")]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["verify", "--format", "json", &testdata("plain/plain-tcp.pcap")]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["failed"], 1);
    assert_eq!(doc["capture_checks"][0]["id"], "capture.mptcp");
    // A capture with a connection (even one that fell back) is not affected.
    for c in ["two-subflows.pcap", "fallback.pcap"] {
        let out = run(&["verify", "--format", "json", &testdata(c)]);
        assert_eq!(out.status.code(), Some(0), "{c}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["capture_checks"].as_array().unwrap().iter().all(|k| k["id"] != "capture.mptcp"), "{c}");
    }
    // An empty capture (no packet at all) fails too: a CI job that captured nothing.
    let dir = std::env::temp_dir().join(format!("mptcp-trace-plain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pcap");
    let status = Command::new("editcap").args(["-r", &testdata("plain/plain-tcp.pcap"), empty.to_str().unwrap(), "0"]).status();
    if status.is_ok_and(|s| s.success()) {
        let out = run(&["verify", empty.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(run(&["verify", "--allow-empty", empty.to_str().unwrap()]).status.code(), Some(0));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mptcp_options_without_a_connection_are_not_called_plain_tcp() {
    // One MP_JOIN SYN cut out of a real capture (tshark writes it): MPTCP is there, but no
    // connection can be built from it.
    let dir = std::env::temp_dir().join(format!("mptcp-trace-orphan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let one = dir.join("join-syn.pcap");
    let st = Command::new("tshark")
        .args(["-r", &testdata("two-subflows.pcap"), "-Y", "frame.number == 20", "-w", one.to_str().unwrap()])
        .status()
        .expect("tshark");
    assert!(st.success());
    let subtypes = tshark(&["-r", one.to_str().unwrap(), "-T", "fields", "-e", "tcp.options.mptcp.subtype"]);
    assert_eq!(String::from_utf8_lossy(&subtypes.stdout).trim(), "1", "tshark: an MP_JOIN");
    let text = String::from_utf8(run(&["analyze", one.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("no MPTCP connection: MPTCP options were seen"), "{text}");
    assert!(!text.contains("no SYN offered MP_CAPABLE"), "{text}");
    assert_eq!(run(&["verify", one.to_str().unwrap()]).status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
