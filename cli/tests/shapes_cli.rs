//! Shapes of real kernel captures (testdata/shapes/, made by testdata/shapes.sh on Linux 6.18):
//! MP_FAIL with and without other subflows, TCP Fast Open, a router's `-i any` capture, a
//! 400 s idle gap, a capture that starts after the handshake, a snaplen-cut capture, eight
//! subflows. Truth is what the kernel and the applications said, never our own output: the
//! bytes each application read (sha256), `ip mptcp monitor` on both hosts, `nstat` counters,
//! the frame the nft rule corrupted (found with tshark), and tshark's fields.
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[path = "../../dissector/tests/common/appstream.rs"]
mod appstream;
use sha2::{Digest, Sha256};

mod kit;
use kit::{run, tshark};

fn shapes() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/shapes")
}

fn file(name: &str) -> String {
    shapes().join(name).to_string_lossy().into_owned()
}

fn truth(shape: &str) -> Value {
    serde_json::from_slice(&std::fs::read(shapes().join(format!("{shape}.truth.json"))).expect("truth")).expect("truth json")
}

fn json(args: &[&str]) -> Value {
    let out = run(args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn analysis(shape: &str) -> Value {
    json(&["analyze", &file(&format!("{shape}.pcap")), "--format", "json", "--sha256", "--all"])
}

fn verify(shape: &str) -> (Value, i32) {
    let out = run(&["verify", &file(&format!("{shape}.pcap")), "--format", "json"]);
    (serde_json::from_slice(&out.stdout).expect("verify json"), out.status.code().unwrap_or(-1))
}

fn check<'a>(v: &'a Value, conn: usize, id: &str) -> &'a Value {
    v["connections"][conn]["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("check {id}"))
}

fn frames(c: &Value) -> Vec<u64> {
    c["frames"].as_array().unwrap().iter().map(|f| f.as_u64().unwrap()).collect()
}

/// One `nstat -asz` counter of a host.
fn nstat(shape: &str, host: &str, name: &str) -> u64 {
    let text = std::fs::read_to_string(shapes().join(format!("{shape}.nstat-{host}.txt"))).expect("nstat");
    text.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next().unwrap().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("{name} in {shape} {host}"))
}

/// The lines of `ip mptcp monitor` on a host, less the listener events and the fields the
/// capture cannot show (interface index, socket error and reset flags).
fn monitor(shape: &str, host: &str) -> Vec<String> {
    let text = std::fs::read_to_string(shapes().join(format!("{shape}.monitor-{host}.txt"))).expect("monitor");
    text.lines().filter(|l| !l.contains("UNKNOWN")).map(strip).collect()
}

fn strip(l: &str) -> String {
    l.split_whitespace()
        .filter(|w| !["ifindex=", "error=", "reset_reason=", "reset_flags="].iter().any(|p| w.starts_with(p)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn side(shape: &str, host: &str) -> Vec<String> {
    let out = run(&["events", &file(&format!("{shape}.pcap")), "--side", host]);
    String::from_utf8_lossy(&out.stdout).lines().map(strip).collect()
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `stream` writes for one connection direction, and its exit code.
fn stream(shape: &str, conn: usize, dir: &str) -> (Vec<u8>, i32) {
    let out = std::env::temp_dir().join(format!("mptcp-trace-shapes-{}-{shape}-{conn}-{dir}", std::process::id()));
    let o = run(&["stream", &file(&format!("{shape}.pcap")), "--connection", &conn.to_string(), "-d", dir, "-o", out.to_str().unwrap()]);
    let bytes = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (bytes, o.status.code().unwrap_or(-1))
}

#[test]
fn mp_fail_with_another_subflow_resets_that_subflow_and_the_stream_is_what_the_application_read() {
    let t = truth("mpfail-multi");
    let corrupted = t["corrupted"][0]["frame"].as_u64().unwrap();
    let a = analysis("mpfail-multi");
    let c = &a["connections"][0];
    // RFC 8684 §3.7: MP_FAIL with other subflows open is no fallback (the kernel: no infinite
    // mapping either way).
    assert_eq!(
        (nstat("mpfail-multi", "client", "MPTcpExtInfiniteMapRx"), nstat("mpfail-multi", "server", "MPTcpExtInfiniteMapTx")),
        (0, 0)
    );
    assert_eq!(c["state"], "closed");
    assert!(c["fallback"].is_null());
    // The receiver dropped the failed mapping and read the reinjected copy.
    assert_eq!(c["s2c"]["sha256"], t["conns"][0]["s2c_received_sha256"]);
    assert_eq!(c["c2s"]["sha256"], t["conns"][0]["c2s_received_sha256"]);
    assert_ne!(c["s2c"]["sha256"], t["corrupted"][0]["stream_sha256_with_corruption"]);
    let fails = c["checksum_failures"].as_array().unwrap();
    assert_eq!(fails.len() as u64, nstat("mpfail-multi", "client", "MPTcpExtDataCsumErr"));
    assert_eq!((fails[0]["frame"].as_u64(), fails[0]["dropped"].as_bool()), (Some(corrupted), Some(true)));
    let (v, code) = verify("mpfail-multi");
    assert_eq!(code, 1, "a checksum failure fails verify");
    let csum = check(&v, 0, "dss.checksum");
    assert_eq!((csum["outcome"].as_str(), frames(csum)), (Some("fail"), vec![corrupted]));
    for (id, outcome) in
        [("mp_fail.response", "pass"), ("fallback", "pass"), ("dss.mapping_consistency", "pass"), ("data.complete", "pass")]
    {
        assert_eq!(check(&v, 0, id)["outcome"], outcome, "{id}: {}", check(&v, 0, id)["detail"]);
    }
    for host in ["client", "server"] {
        assert_eq!(side("mpfail-multi", host), monitor("mpfail-multi", host), "{host}");
    }
}

#[test]
fn mp_fail_on_a_lone_subflow_is_answered_by_an_infinite_mapping_and_the_corrupted_bytes_are_kept() {
    let t = truth("mpfail-single-down");
    assert_eq!(
        (nstat("mpfail-single-down", "server", "MPTcpExtInfiniteMapTx"), nstat("mpfail-single-down", "client", "MPTcpExtInfiniteMapRx")),
        (1, 1)
    );
    let a = analysis("mpfail-single-down");
    let c = &a["connections"][0];
    assert_eq!(c["state"], "fallback");
    assert_eq!(c["fallback"]["kind"], "infinite_mapping");
    // What the client application read: the corrupted bytes included (it fell back and kept them).
    assert_eq!(c["s2c"]["sha256"], t["conns"][0]["s2c_received_sha256"]);
    assert_eq!(c["s2c"]["sha256"], t["corrupted"][0]["stream_sha256_with_corruption"]);
    assert_eq!(c["s2c"]["complete"], true, "the TCP FIN ends the data after the fallback");
    let out = run(&["events", &file("mpfail-single-down.pcap")]);
    let text = String::from_utf8_lossy(&out.stdout);
    let kinds: Vec<&str> = text.lines().filter_map(|l| l.split('[').nth(1)?.split(']').next()).map(str::trim).collect();
    let (fail, fallback) = (kinds.iter().position(|k| *k == "MP_FAIL"), kinds.iter().position(|k| *k == "FALLBACK"));
    assert!(fail.is_some() && fallback > fail, "{kinds:?}");
    let (v, _) = verify("mpfail-single-down");
    let r = check(&v, 0, "mp_fail.response");
    assert_eq!(r["outcome"], "pass", "{}", r["detail"]);
    assert_eq!(check(&v, 0, "fallback")["outcome"], "pass");
    assert_eq!(frames(check(&v, 0, "dss.checksum")), vec![t["corrupted"][0]["frame"].as_u64().unwrap()]);
    // The monitors also print CLOSED, for the close after the applications were stopped, which
    // put no packet on the wire (the capture shows no FIN or RST): everything before it agrees.
    for host in ["client", "server"] {
        let (ours, kernel) = (side("mpfail-single-down", host), monitor("mpfail-single-down", host));
        assert_eq!(ours.as_slice(), &kernel[..kernel.len() - 1], "{host}");
        assert!(kernel.last().unwrap().contains("CLOSED"));
    }
}

#[test]
fn a_fallback_the_peer_was_never_told_of_fails_the_mp_fail_response() {
    // Both directions busy on one subflow: the server counts an infinite mapping sent
    // (InfiniteMapTx 1) but none is on the wire (the client's InfiniteMapRx is 0); its segments
    // carry no MPTCP option from then on, and the connection stalls.
    assert_eq!(
        (nstat("mpfail-single", "server", "MPTcpExtInfiniteMapTx"), nstat("mpfail-single", "client", "MPTcpExtInfiniteMapRx")),
        (1, 0)
    );
    let t = truth("mpfail-single");
    let (v, code) = verify("mpfail-single");
    assert_eq!(code, 1);
    let r = check(&v, 0, "mp_fail.response");
    assert_eq!(r["outcome"], "fail", "{}", r["detail"]);
    assert!(frames(r).contains(&149), "{r}");
    assert!(r["detail"].as_str().unwrap().contains("without an infinite mapping"), "{r}");
    // The streams end where the applications stopped reading: what they read, byte for byte.
    for dir in ["c2s", "s2c"] {
        let (bytes, code) = stream("mpfail-single", 0, dir);
        assert_eq!(code, 1, "{dir}: incomplete");
        assert_eq!(bytes.len() as u64, t["conns"][0][format!("{dir}_received_bytes")].as_u64().unwrap(), "{dir}");
        assert_eq!(sha_hex(&bytes), t["conns"][0][format!("{dir}_received_sha256")].as_str().unwrap(), "{dir}");
    }
}

#[test]
fn tcp_fast_open_data_leads_the_stream() {
    let t = truth("tfo");
    let a = analysis("tfo");
    for (i, tc) in t["conns"].as_array().unwrap().iter().enumerate() {
        let c = &a["connections"][i];
        assert_eq!(c["client"], tc["client"]);
        for dir in ["c2s", "s2c"] {
            assert_eq!(c[dir]["sha256"], tc[format!("{dir}_received_sha256")], "connection {i} {dir}");
            assert_eq!(c[dir]["unmapped_bytes"].as_u64().unwrap_or(0), 0);
        }
    }
    // The second connection's SYN carried 1000 bytes (tshark: the SYN's payload).
    assert_eq!(a["connections"][1]["c2s"]["syn_data_bytes"], 1000);
    let (bytes, code) = stream("tfo", 1, "c2s");
    assert_eq!((code, sha_hex(&bytes)), (0, t["conns"][1]["c2s_received_sha256"].as_str().unwrap().to_string()));
    let (_, code) = verify("tfo");
    assert_eq!(code, 0);
}

/// Segments seen twice by tshark (same addresses, ports, sequence and acknowledgment numbers,
/// length, flags and TCP checksum, TTL one lower).
fn tshark_pairs(pcap: &str) -> u64 {
    let out = Command::new("tshark")
        .args(["-r", pcap, "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport"])
        .args(["-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len", "-e", "tcp.flags", "-e", "tcp.checksum", "-e", "ip.ttl"])
        .output()
        .expect("tshark (the oracle; .ci/run installs it)");
    let mut open: std::collections::HashMap<String, u64> = Default::default();
    let mut pairs = 0;
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let (key, ttl) = l.rsplit_once('\t').unwrap();
        let ttl: u64 = ttl.parse().unwrap();
        if open.get(key) == Some(&(ttl + 1)) {
            open.remove(key);
            pairs += 1;
        } else {
            open.insert(key.to_string(), ttl);
        }
    }
    pairs
}

#[test]
fn a_router_capture_counts_each_forwarded_segment_once() {
    let pcap = file("router-any.pcap");
    let t = truth("router-any");
    let a = analysis("router-any");
    assert_eq!(a["stats"]["forwarded_copies"].as_u64().unwrap(), tshark_pairs(&pcap));
    let c = &a["connections"][0];
    assert_eq!(c["capture_point"]["near"], "between");
    assert_eq!(c["c2s"]["sha256"], t["conns"][0]["c2s_received_sha256"]);
    assert_eq!(c["s2c"]["sha256"], t["conns"][0]["s2c_received_sha256"]);
    // Retransmissions: what the two kernels sent again, not every forwarded copy.
    let subflows = c["subflows"].as_array().unwrap();
    let ours: u64 = subflows
        .iter()
        .map(|s| s["c2s"]["retransmitted_segments"].as_u64().unwrap() + s["s2c"]["retransmitted_segments"].as_u64().unwrap())
        .sum();
    let kernels = nstat("router-any", "client", "TcpRetransSegs") + nstat("router-any", "server", "TcpRetransSegs");
    assert_eq!(ours, kernels);
    // A sample for every subflow direction that carried data.
    for s in subflows {
        for d in ["c2s", "s2c"] {
            if s[d]["new_data_bytes"].as_u64().unwrap() > 0 {
                assert!(s[d]["rtt"]["samples"].as_u64().unwrap() > 0, "subflow {} {d}", s["id"]);
            }
        }
    }
    for host in ["client", "server"] {
        assert_eq!(side("router-any", host), monitor("router-any", host), "{host}");
    }
    let out = run(&["events", &pcap]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("ANNOUNCED").count(), 1, "{text}");
    assert_eq!(text.matches("SF_ESTABLISHED").count(), 1, "{text}");
}

#[test]
fn a_connection_idle_past_the_timeout_is_continued_not_cut() {
    let t = truth("idle-gap");
    for timeout in ["300s", "0"] {
        let a = json(&["analyze", &file("idle-gap.pcap"), "--format", "json", "--sha256", "--idle-timeout", timeout]);
        assert_eq!(a["connections"].as_array().unwrap().len(), 1, "{timeout}");
        let c = &a["connections"][0];
        assert_eq!(c["c2s"]["sha256"], t["conns"][0]["c2s_received_sha256"], "{timeout}");
        assert_eq!(c["s2c"]["sha256"], t["conns"][0]["s2c_received_sha256"], "{timeout}");
        assert_eq!((a["stats"]["late_packets"].as_u64(), a["stats"]["connections_timed_out"].as_u64()), (Some(0), Some(0)));
        let resumed = c["anomalies"].as_array().unwrap().iter().any(|x| x["kind"] == "resumed_after_idle");
        assert_eq!(resumed, timeout == "300s", "{timeout}");
    }
    let (_, code) = verify("idle-gap");
    assert_eq!(code, 0);
}

/// The records of a classic pcap from `first` (1-based frame) on, after its file header.
fn tail_of(pcap: &[u8], first: usize) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    let (mut at, mut frame) = (24, 1);
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        if frame >= first {
            out.extend_from_slice(&pcap[at..at + 16 + len]);
        }
        at += 16 + len;
        frame += 1;
    }
    out
}

#[test]
fn a_capture_that_starts_after_the_handshake_is_never_complete() {
    // idle-gap.pcap from the first frame after its 400 s silence: the handshakes and the first
    // 100000 bytes each way are not in it, the rest is whole.
    let t = truth("idle-gap");
    let pcap = std::fs::read(shapes().join("idle-gap.pcap")).unwrap();
    let cut = std::env::temp_dir().join(format!("mptcp-trace-tail-{}.pcap", std::process::id()));
    std::fs::write(&cut, tail_of(&pcap, 303)).unwrap();
    let cut_s = cut.to_str().unwrap();
    let a = json(&["analyze", cut_s, "--format", "json", "--sha256"]);
    let c = &a["connections"][0];
    for (dir, seed) in [("c2s", "c2s"), ("s2c", "s2c")] {
        let d = &c[dir];
        assert_eq!(
            (d["complete"].as_bool(), d["start_unknown"].as_bool(), d["gap_count"].as_u64()),
            (Some(false), Some(true), Some(0)),
            "{dir}"
        );
        assert_eq!(d["complete_from"], d["first_dsn"], "{dir}");
        assert!(d.get("sha256").is_none(), "no hash of a stream whose start is unknown");
        // What it holds is the tail of what the application read.
        let total = t["conns"][0][format!("{dir}_received_bytes")].as_u64().unwrap() as usize;
        let whole = appstream::gen_stream(seed, total);
        let (bytes, code) = {
            let out = std::env::temp_dir().join(format!("mptcp-trace-tail-{}-{dir}", std::process::id()));
            let o = run(&["stream", cut_s, "--connection", "0", "-d", dir, "-o", out.to_str().unwrap()]);
            let b = std::fs::read(&out).unwrap();
            let _ = std::fs::remove_file(&out);
            (b, o.status.code())
        };
        assert_eq!(code, Some(1));
        assert_eq!(bytes.len(), 100_000);
        assert!(whole.ends_with(&bytes), "{dir}");
    }
    let out = run(&["verify", cut_s, "--expect", "complete"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL complete"));
    let _ = std::fs::remove_file(&cut);
}

#[test]
fn a_snaplen_cut_capture_counts_reordering_by_the_headers() {
    // tcpdump -s 128 at the receiver: the headers are whole. The receiving kernel's own count of
    // out-of-order arrivals at the MPTCP level is the truth.
    let a = analysis("snaplen-cut");
    let r = &a["connections"][0]["c2s"]["receiver"];
    let kernel = nstat("snaplen-cut", "server", "MPTcpExtOFOQueue");
    let ours = r["out_of_order_segments"].as_u64().unwrap();
    assert!(ours >= kernel && ours <= kernel + kernel / 50, "ours {ours}, kernel {kernel}");
    assert_eq!(r["undelivered_segments"].as_u64(), Some(0), "{r}");
    // The reordering buffer is what waited above a hole, not the whole stream (2 MB).
    assert!(r["reorder_buffer_bytes"]["max"].as_f64().unwrap() < f64::from(1 << 20), "{r}");
    // Every packet with MPTCP options is counted (tshark's count).
    let out = tshark(&["-r", &file("snaplen-cut.pcap"), "-Y", "tcp.options.mptcp.subtype"]);
    assert_eq!(a["stats"]["mptcp_packets"].as_u64().unwrap(), String::from_utf8_lossy(&out.stdout).lines().count() as u64);
}

#[test]
fn eight_subflows_at_the_receiver_count_out_of_order_arrivals_as_the_kernel_does() {
    // A lossless receiver-side capture: every arrival above the next expected DSN is one the
    // MPTCP socket queued out of order (MPTcpExtOFOQueue); the kernel's TCP layer coalesced
    // nothing here (TcpExtTCPRcvCoalesce 0).
    assert_eq!(nstat("eight-subflows", "server", "TcpExtTCPRcvCoalesce"), 0);
    let a = analysis("eight-subflows");
    assert_eq!(a["connections"][0]["subflows"].as_array().unwrap().len(), 8);
    let r = &a["connections"][0]["c2s"]["receiver"];
    assert_eq!(r["out_of_order_segments"].as_u64().unwrap(), nstat("eight-subflows", "server", "MPTcpExtOFOQueue"));
    let t = truth("eight-subflows");
    assert_eq!(a["connections"][0]["c2s"]["sha256"], t["conns"][0]["c2s_received_sha256"]);
    for host in ["client", "server"] {
        assert_eq!(side("eight-subflows", host), monitor("eight-subflows", host), "{host}");
    }
}

#[test]
fn verify_passes_every_healthy_shape() {
    // No corruption, every byte delivered (the applications' hashes equal what was sent).
    for shape in ["tfo", "router-any", "idle-gap", "eight-subflows", "snaplen-cut"] {
        let t = truth(shape);
        for c in t["conns"].as_array().unwrap() {
            assert_eq!(c["c2s_received_sha256"], c["c2s_sha256"], "{shape}");
            assert_eq!(c["s2c_received_sha256"], c["s2c_sha256"], "{shape}");
        }
        let (v, code) = verify(shape);
        assert_eq!((code, v["failed"].as_u64()), (0, Some(0)), "{shape}: {v}");
    }
}
