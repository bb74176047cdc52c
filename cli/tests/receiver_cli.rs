//! `analyze`'s receiver view (issue 14) on the receiver-side captures of testdata/receiver/:
//! head-of-line delays and reordering against an independent computation from tshark's fields
//! (testdata/tools/hol.py, committed as NAME.hol.json), and the out-of-order, duplicate and
//! probe counts against the kernel's own counters (nstat in the receiver's and the sender's
//! namespace, committed in NAME.truth.json).

use serde_json::Value;

mod kit;
use kit::{bin, testdata_dir};

const CAPTURES: [&str; 4] = ["equal", "slow", "loss", "probe"];

fn json(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(testdata_dir().join(path)).expect("read")).expect("json")
}

/// The c2s receiver view of the capture's only connection.
fn ours(name: &str) -> Value {
    let out =
        bin().arg("analyze").arg(testdata_dir().join(format!("receiver/{name}.pcap"))).args(["--format", "json"]).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(v["connections"].as_array().map(Vec::len), Some(1), "{name}");
    v["connections"][0]["c2s"]["receiver"].clone()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Our percentiles come from a log-linear histogram (docs/analyze.md: within 1.6% of the
/// value, then rounded to the microsecond); min and max are exact.
fn close(ours: f64, exact: f64, what: &str) {
    let tol = exact.abs() * 0.016 + 0.0015;
    assert!((ours - exact).abs() <= tol, "{what}: ours {ours} vs {exact}");
}

fn same_hol(ours: &Value, script: &Value, what: &str) {
    for (o, s) in [("min_ms", "min"), ("max_ms", "max")] {
        assert!((f(&ours[o]) - f(&script[s])).abs() < 0.0015, "{what} {o}: {} vs {}", ours[o], script[s]);
    }
    for (o, s) in [("median_ms", "median"), ("p90_ms", "p90"), ("p99_ms", "p99")] {
        close(f(&ours[o]), f(&script[s]), &format!("{what} {o}"));
    }
}

#[test]
fn head_of_line_and_reordering_equal_the_independent_script() {
    for name in CAPTURES {
        let r = ours(name);
        let s = json(&format!("receiver/{name}.hol.json"))["c2s"].clone();
        let hol = &r["hol"];
        for (o, k) in [
            (&hol["segments"], "segments"),
            (&hol["bytes"], "bytes"),
            (&hol["waited_segments"], "waited_segments"),
            (&hol["waited_bytes"], "waited_bytes"),
            (&r["out_of_order_segments"], "out_of_order_segments"),
            (&r["out_of_order_bytes"], "out_of_order_bytes"),
            (&r["undelivered_segments"], "undelivered_segments"),
            (&r["duplicate_segments"], "duplicate_segments"),
            (&r["retransmitted_duplicate_segments"], "retransmitted_copies"),
            (&r["probe_segments"], "probe_segments"),
        ] {
            assert_eq!(u(o), u(&s[k]), "{name}: {k}");
        }
        same_hol(hol, &s["hol_ms"], name);
        // Subflows in order of their handshakes are tshark's tcp.stream 0, 1, ...
        let by = r["hol_by_subflow"].as_array().expect("per subflow");
        let streams = s["by_stream"].as_object().expect("per stream");
        assert_eq!(by.len(), streams.len(), "{name}");
        for (sf, (stream, sv)) in by.iter().zip(streams) {
            assert_eq!(sf["subflow"].to_string(), *stream, "{name}");
            assert_eq!(u(&sf["segments"]), u(&sv["segments"]), "{name} sf {stream}");
            assert_eq!(u(&sf["waited_segments"]), u(&sv["waited_segments"]), "{name} sf {stream}");
            same_hol(sf, sv, &format!("{name} sf {stream}"));
        }
    }
}

#[test]
fn a_slowed_path_shows_much_larger_head_of_line_delay_than_equal_paths() {
    let (eq, slow) = (ours("equal"), ours("slow"));
    // equal: both paths 2 Mbit/s; slow: path B at 250 kbit/s (testdata/receiver.sh).
    for k in ["p90_ms", "p99_ms", "max_ms"] {
        let (e, s) = (f(&eq["hol"][k]), f(&slow["hol"][k]));
        assert!(e > 0.0 && s > 5.0 * e, "{k}: slow {s} ms vs equal {e} ms");
    }
    // The bytes that wait are the fast path's: they sit behind the slow path's.
    let fast = &slow["hol_by_subflow"][0];
    let slowed = &slow["hol_by_subflow"][1];
    assert!(f(&fast["median_ms"]) > 10.0 * f(&slowed["p90_ms"]).max(1.0), "{fast} / {slowed}");
}

fn nstat(truth: &Value, side: &str, k: &str) -> u64 {
    truth["nstat"][side][k].as_u64().unwrap_or(0)
}

/// The kernel counts what reaches the MPTCP socket (net/mptcp/protocol.c, Linux 6.18):
/// `__mptcp_move_skb` hands an skb whose DSN is above `ack_seq` to `mptcp_data_queue_ofo`,
/// which counts MPTcpExtOFOQueue for every skb inside the window (OFOQueueTail / OFOMerge say
/// where it went); MPTcpExtDuplicateData counts skbs dropped as already received (below
/// `ack_seq` there or in `mptcp_subflow_discard_data`, or wholly inside the OFO queue).
/// We count pieces of captured segments in capture order. The two differ where:
///  * the receiving TCP held a segment behind a subflow-level hole (TcpExtTCPOFOQueue): we
///    see it arrive above the next expected DSN, the MPTCP socket only when the hole is filled;
///  * the receiving TCP coalesced segments into one skb before the MPTCP socket took them
///    (TcpExtTCPRcvCoalesce, TcpExtTCPOFOMerge): one kernel count for several of ours;
///  * segments arrived after the receiver closed (answered with a reset, never reaching the
///    MPTCP socket): counted by hol.py as payload_segments_after_peer_fin;
///  * `__mptcp_move_skbs_from_subflow` puts an skb on the MPTCP socket's backlog list while the
///    application owns the socket or its receive memory is at `sk_rcvbuf` (these captures'
///    receivers hit a zero window: TcpExtTCPFromZeroWindowAdv), and hands it on directly
///    otherwise; a later skb from another subflow taken directly overtakes the backlog, so the
///    MPTCP socket sees a later DSN first: more out-of-order inserts than the capture order
///    shows (the backlog also coalesces consecutive skbs of one subflow, no counter says how
///    many). Nothing in the capture or in the counters measures this order, so that side is
///    bounded by what we measured (below), not explained per segment.
#[test]
fn out_of_order_duplicate_and_probe_counts_against_the_kernel() {
    for name in CAPTURES {
        let r = ours(name);
        let truth = json(&format!("receiver/{name}.truth.json"));
        let script = json(&format!("receiver/{name}.hol.json"))["c2s"].clone();
        let k = |key: &str| nstat(&truth, "receiver", key);
        let (ooo, dup, probes) = (u(&r["out_of_order_segments"]), u(&r["duplicate_segments"]), u(&r["probe_segments"]));
        let (k_ofo, k_dup) = (k("MPTcpExtOFOQueue"), k("MPTcpExtDuplicateData"));
        let held = k("TcpExtTCPOFOQueue");
        let coalesced = k("TcpExtTCPRcvCoalesce") + k("TcpExtTCPOFOMerge");
        let after_close = u(&script["payload_segments_after_peer_fin"]);
        eprintln!(
            "{name}: ours ooo {ooo} dup {dup} probes {probes}; kernel OFOQueue {k_ofo} DuplicateData {k_dup} WinProbe {} \
             (TCPOFOQueue {held}, coalesced {coalesced}, after close {after_close})",
            nstat(&truth, "sender", "MPTcpExtWinProbe")
        );
        // Probes: exactly the sender's MPTCP-level zero-window probes.
        assert_eq!(probes, nstat(&truth, "sender", "MPTcpExtWinProbe"), "{name}: probes");
        // Out of order: what we see minus what the subflows held back or merged is a floor.
        assert!(k_ofo + held + coalesced >= ooo, "{name}: kernel OFOQueue {k_ofo} below ours {ooo} - {held} - {coalesced}");
        // Batching adds at most 30% of our count on these captures (measured: +29% on slow.pcap,
        // 0 on the others); a larger excess would be something we do not understand.
        assert!(10 * k_ofo <= 13 * ooo + 10, "{name}: kernel OFOQueue {k_ofo} vs ours {ooo}");
        // No loss, no reinjection (equal paths): nothing to differ, the counts are equal.
        if name == "equal" {
            assert_eq!((ooo, dup, k_dup), (k_ofo, 0, 0), "{name}");
        }
        // Duplicates: the kernel drops a window probe's byte as a duplicate too (it is below
        // ack_seq), so our duplicates plus probes are a ceiling; less what was coalesced or
        // arrived after the close, a floor.
        assert!(k_dup <= dup + probes, "{name}: kernel DuplicateData {k_dup} above ours {dup} + {probes}");
        assert!(k_dup + coalesced + after_close >= dup + probes, "{name}: kernel DuplicateData {k_dup} too low");
    }
}

/// `throughput`'s in-order delivery column: over the whole capture it adds up to what the
/// receiving application read (its own count), and at a receiver-side capture the receiver's
/// data ACKs (the kernel's word on what it had in order) never run ahead of it.
#[test]
fn in_order_delivery_adds_up_to_what_the_application_read_and_leads_the_data_acks() {
    for name in CAPTURES {
        let out = bin()
            .arg("throughput")
            .arg(testdata_dir().join(format!("receiver/{name}.pcap")))
            .args(["--format", "json", "--interval", "10ms", "--dense"])
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        let truth = json(&format!("receiver/{name}.truth.json"));
        let (mut delivered, mut acked) = (0u64, 0u64);
        for r in v["rows"].as_array().expect("rows").iter().filter(|r| r["subflow"].is_null()) {
            delivered += u(&r["c2s_delivered_bytes"]);
            acked += u(&r["c2s_acked_bytes"]);
            // The DATA_FIN takes one DSN: the last data ACK is one past the last byte.
            assert!(acked <= delivered + 1, "{name} t={}: acked {acked} > delivered {delivered}", r["t"]);
        }
        assert_eq!(delivered, u(&truth["apps"]["receiver"]["recv_bytes"]), "{name}");
    }
}
