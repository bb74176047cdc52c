//! Issue 12: state follows the open connections. A connection whose subflows have all ended,
//! or that went idle, is finished: reported and freed. Checked on testdata/matrix/sequential.pcap
//! (30 real MPTCP connections one after another, each with an MP_JOIN) against the
//! applications' sha256 recorded beside it.
mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Analyzer, ConnState, Connection, Limits, Subflow};
use mptcp_wire::decode::{decode, Decoded};
use serde_json::Value;

const CAPTURE: &str = "matrix/sequential.pcap";
const MS: u64 = 1_000_000;

fn truth_of(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::testdata().join(format!("matrix/{name}.truth.json"))).unwrap()).unwrap()
}

fn truth() -> Value {
    truth_of("sequential")
}

/// What a sink saw: every finished connection with its subflows, and the lone flows.
#[derive(Default)]
struct Seen {
    conns: Vec<(Connection, Vec<Subflow>)>,
    flows: Vec<Subflow>,
}

impl Sink for Seen {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.conns.push((conn, subflows));
    }
    fn flow(&mut self, flow: Subflow) {
        self.flows.push(flow);
    }
}

fn run(bytes: Vec<u8>, limits: Limits) -> (Analysis, Seen) {
    let mut seen = Seen::default();
    let analyzer = Analyzer::new(limits).with_hashes(true).hand_over_finished();
    let a = common::analyze_bytes_into(bytes, analyzer, &mut seen);
    (a, seen)
}

/// Limits that never finish anything before the end of the capture.
fn keep_all() -> Limits {
    Limits { keep_until_end: true, ..Limits::default() }
}

/// Every truth connection appears once among the finished ones, both directions complete with
/// the receiving application's sha256 (matched by the client address of the initial subflow).
fn assert_all_reported(seen: &Seen, what: &str) {
    assert_all_reported_of(seen, what, &truth());
    assert_eq!(seen.conns.len(), 30);
}

fn assert_all_reported_of(seen: &Seen, what: &str, truth: &Value) {
    let conns = truth["conns"].as_array().unwrap();
    // Client ports repeat across sequential connections: the nth truth connection from an
    // address is the nth reported one from it, in id (first packet) order.
    let mut by_client: BTreeMap<String, Vec<&Connection>> = BTreeMap::new();
    let mut reported: Vec<&Connection> = seen.conns.iter().map(|(c, _)| c).collect();
    reported.sort_by_key(|c| c.id);
    for c in reported {
        by_client.entry(c.client.to_string()).or_default().push(c);
    }
    assert_eq!(seen.conns.len(), conns.len(), "{what}: connections reported");
    for (k, tc) in conns.iter().enumerate() {
        let client = tc["client"].as_str().unwrap();
        let nth = conns[..k].iter().filter(|t| t["client"] == tc["client"]).count();
        let c = by_client.get(client).and_then(|v| v.get(nth)).unwrap_or_else(|| panic!("{what}: connection from {client} not reported"));
        for (key, dd) in [("c2s", &c.c2s), ("s2c", &c.s2c)] {
            assert!(dd.complete, "{what}: {client} {key} not complete");
            assert_eq!(dd.sha256.as_deref(), tc[format!("{key}_received_sha256")].as_str(), "{what}: {client} {key} sha256 vs the app");
        }
    }
}

#[test]
fn a_cap_of_n_open_connections_still_reports_3n_sequential_ones() {
    let bytes = common::read(CAPTURE);
    // Kept open to the end, the 30 connections need this much state (the tracker's estimate).
    let (all_open, seen) = run(bytes.clone(), keep_all());
    assert_all_reported(&seen, "kept open");
    assert_eq!(all_open.stats.peak_open_connections, 30);
    let cap = (all_open.stats.peak_state_bytes / 3) as usize; // room for about 10 open at once

    // With that cap and nothing ever finished, the cap is hit: later connections are lost.
    let (capped, seen) = run(bytes.clone(), Limits { max_state_bytes: cap, ..keep_all() });
    assert!(capped.stats.connections_dropped + capped.stats.flows_dropped > 0, "{:?}", capped.stats);
    assert!(capped.anomalies.iter().any(|a| a.kind.name() == "state_cap"), "the cap is reported");
    assert!(seen.conns.len() < 30, "{} reported", seen.conns.len());

    // Finishing connections 50 ms after their last packet: all 30 reported under the same cap.
    let limits = Limits { max_state_bytes: cap, close_delay_ns: 50 * MS, ..Limits::default() };
    let (a, seen) = run(bytes, limits);
    assert!(a.connections.is_empty() && a.subflows.is_empty(), "a custom sink takes the results");
    assert_eq!((a.stats.connections_dropped, a.stats.flows_dropped), (0, 0), "{:?}", a.stats);
    assert!(!a.anomalies.iter().any(|x| x.kind.name() == "state_cap"));
    assert!(a.stats.peak_open_connections <= 10, "{} open at once", a.stats.peak_open_connections);
    assert_all_reported(&seen, "finished as they end");
    // Each connection reported once, with its own subflows (the initial one and the join), and
    // every one of them closed.
    let mut ids: Vec<usize> = seen.conns.iter().map(|(c, _)| c.id).collect();
    ids.sort();
    assert_eq!(ids, (0..30).collect::<Vec<_>>());
    for (c, subflows) in &seen.conns {
        assert_eq!(subflows.iter().map(|f| f.id).collect::<Vec<_>>(), c.subflow_ids, "connection {}", c.id);
        assert_eq!(subflows.len(), 2, "connection {}: initial subflow + MP_JOIN", c.id);
        assert!(subflows.iter().all(|f| f.end.as_ref().is_some_and(|e| e.how.name() == "fin")), "connection {}", c.id);
        assert_eq!(c.state, ConnState::Closed);
    }
}

#[test]
fn finishing_early_changes_no_result() {
    // The same connections, finished as they end or all at the end of the capture, are reported
    // the same (JSON of every connection and subflow).
    let json = |seen: &Seen| {
        let mut v: Vec<String> = seen.conns.iter().map(|(c, s)| serde_json::to_string(&(c, s)).unwrap()).collect();
        v.sort();
        v
    };
    let bytes = common::read(CAPTURE);
    let (_, early) = run(bytes.clone(), Limits { close_delay_ns: 50 * MS, ..Limits::default() });
    let (_, late) = run(bytes, keep_all());
    assert_eq!(json(&early), json(&late));
}

/// The capture without the FIN and RST segments of the connection whose initial subflow
/// starts from `client`: that connection never ends. Its MP_JOIN is the first SYN from the
/// client's second address after the initial subflow's SYN (the connections are sequential).
fn without_endings_of(bytes: &[u8], client: &str) -> Vec<u8> {
    let linktype = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    let client: SocketAddr = client.parse().unwrap();
    let second: IpAddr = "198.51.100.1".parse().unwrap();
    let mut join: Option<SocketAddr> = None;
    let mut initial_seen = false;
    let mut out = bytes[..24].to_vec();
    for (_, range) in common::pcap_records(bytes) {
        let data = &bytes[range.clone()];
        if let Decoded::Tcp(seg) = decode(linktype, data) {
            let (src, dst) = (SocketAddr::new(seg.src, seg.sport), SocketAddr::new(seg.dst, seg.dport));
            if seg.flags.syn() && !seg.flags.ack() {
                if src == client {
                    initial_seen = true;
                } else if initial_seen && join.is_none() && src.ip() == second {
                    join = Some(src);
                }
            }
            let ours = [Some(client), join].into_iter().flatten().any(|e| e == src || e == dst);
            if ours && (seg.flags.fin() || seg.flags.rst()) {
                continue;
            }
        }
        out.extend_from_slice(&bytes[range.start - 16..range.end]);
    }
    assert!(join.is_some(), "the connection's MP_JOIN");
    out
}

#[test]
fn an_idle_connection_is_finished_as_timed_out_and_the_rest_still_close() {
    let truth = truth();
    let client = truth["conns"][3]["client"].as_str().unwrap().to_string();
    assert_eq!(
        truth["conns"].as_array().unwrap().iter().filter(|c| c["client"] == client.as_str()).count(),
        1,
        "its client port is not reused"
    );
    let bytes = without_endings_of(&common::read(CAPTURE), &client);
    // The capture lasts ~15 s; the endless connection is idle for the rest of it after ~2 s.
    let (a, seen) = run(bytes.clone(), Limits { idle_timeout_ns: 3_000 * MS, ..Limits::default() });
    assert_eq!(a.stats.connections_timed_out, 1, "{:?}", a.stats);
    assert_eq!(seen.conns.len(), 30);
    for (c, subflows) in &seen.conns {
        if c.client.to_string() == client {
            assert_eq!(c.state, ConnState::TimedOut);
            assert!(subflows.iter().all(|f| f.end.as_ref().is_some_and(|e| e.how.name() == "timed_out")), "{subflows:?}");
            // Its data was all there before it went quiet.
            assert!(c.c2s.sha256.is_none() || c.c2s.complete);
        } else {
            assert_eq!(c.state, ConnState::Closed, "connection {}", c.id);
        }
    }
    // Without an idle timeout it stays open to the end of the capture, not timed out.
    let (a, seen) = run(bytes, Limits { idle_timeout_ns: 0, ..Limits::default() });
    assert_eq!(a.stats.connections_timed_out, 0);
    let c = seen.conns.iter().find(|(c, _)| c.client.to_string() == client).unwrap();
    assert_eq!(c.0.state, ConnState::Established);
}

#[test]
fn many_open_connections_share_a_small_budget_and_stay_exact() {
    // twenty-conns.pcap: 20 connections open at once, each with a join. With half the memory
    // their buffers take when nothing is bounded, the delivered bytes kept for comparison shrink
    // (reported), and every stream is still rebuilt to the applications' sha256.
    let truth = truth_of("twenty-conns");
    let bytes = common::read("matrix/twenty-conns.pcap");
    let (free, seen) = run(bytes.clone(), keep_all());
    assert_all_reported_of(&seen, "unbounded", &truth);
    assert_eq!(free.stats.min_recent_window, None, "{:?}", free.stats);
    let budget = (free.stats.peak_state_bytes / 2) as usize;
    let (a, seen) = run(bytes, Limits { max_state_bytes: budget, ..keep_all() });
    assert_all_reported_of(&seen, "half the budget", &truth);
    assert_eq!((a.stats.flows_dropped, a.stats.connections_dropped), (0, 0), "{:?}", a.stats);
    assert!(a.stats.min_recent_window.is_some_and(|w| w < 256 << 10), "{:?}", a.stats);
    assert!(a.stats.peak_state_bytes <= budget as u64, "{} > {budget}", a.stats.peak_state_bytes);
}
