//! The capture matrix (testdata/matrix/, testdata/README.md "Matrix") against the kernel's and
//! the applications' truth recorded beside each capture:
//! - `verify` passes on every capture (they are all healthy connections);
//! - every connection direction is rebuilt byte-exact: its sha256 is what the receiving
//!   application computed; where the capture cannot hold it all (it starts or ends
//!   mid-connection) every captured byte sits at its place in what the application sent
//!   (the payload generator is deterministic) and the stream is a true suffix or prefix;
//! - counts the kernel kept (`nstat -asz 'MPTcp*'` in each namespace) equal ours: window probes
//!   sent, joins accepted, ADD_ADDRs sent and received, MP_CAPABLE handshakes.
mod common;

use std::path::PathBuf;

use mptcp_dissector::reassembly::HolePolicy;
use mptcp_dissector::track::{Analysis, Analyzer, DataSink, Dir, Limits, SubflowKind};
use serde_json::Value;
#[path = "common/appstream.rs"]
mod appstream;
use appstream::gen_stream;
use sha2::{Digest, Sha256};

fn matrix() -> Vec<(String, PathBuf, Value)> {
    let dir = common::testdata().join("matrix");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("testdata/matrix").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".truth.json") {
            let truth: Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
            out.push((stem.to_string(), dir.join(format!("{stem}.pcap")), truth));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    // Every capture in the folder has its truth file.
    let pcaps =
        std::fs::read_dir(&dir).expect("testdata/matrix").flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".pcap")).count();
    assert!(!out.is_empty() && out.len() == pcaps, "{} truth files for {pcaps} captures", out.len());
    out
}

#[derive(Default)]
struct Collect {
    chunks: Vec<(u64, Vec<u8>)>,
    holes: Vec<(u64, u64)>,
}

impl DataSink for Collect {
    fn data(&mut self, dsn: u64, bytes: &[u8]) {
        let c = self;
        match c.chunks.last_mut() {
            Some((d, b)) if d.wrapping_add(b.len() as u64) == dsn => b.extend_from_slice(bytes),
            _ => c.chunks.push((dsn, bytes.to_vec())),
        }
    }
    fn hole(&mut self, dsn: u64, len: u64, _never_seen: bool) {
        self.holes.push((dsn, len));
    }
}

fn analyze(path: &PathBuf, sink: Option<(usize, Dir, &mut Collect)>) -> Analysis {
    let mut limits = Limits::default();
    limits.reassembly.hole_policy = HolePolicy::Skip;
    let mut an = Analyzer::new(limits);
    if let Some((c, d, col)) = sink {
        an = an.with_sink(c, d, Box::new(col));
    }
    common::analyze_bytes(std::fs::read(path).unwrap(), an)
}

/// Our connection for a truth connection: same client address and port (the nth such, for a
/// reused 4-tuple).
fn conn_index(a: &Analysis, truth: &Value, k: usize) -> usize {
    let conns = truth["conns"].as_array().unwrap();
    let client = conns[k]["client"].as_str().unwrap();
    // "addr:port", IPv6 without brackets.
    let (ip, port) = client.rsplit_once(':').unwrap();
    let client: std::net::SocketAddr = (ip.parse::<std::net::IpAddr>().unwrap(), port.parse().unwrap()).into();
    let nth = conns[..k].iter().filter(|c| c["client"] == conns[k]["client"]).count();
    a.connections.iter().filter(|c| c.client == client).nth(nth).unwrap_or_else(|| panic!("no connection from {client}")).id
}

#[test]
fn verify_passes_on_every_healthy_capture() {
    for (name, path, _) in matrix() {
        let a = analyze(&path, None);
        let r = mptcp_dissector::analysis::verify::verify(&name, &a, &[]);
        let fails: Vec<String> = r
            .connections
            .iter()
            .flat_map(|c| c.checks.iter().map(move |k| (c.connection, k)))
            .filter(|(_, k)| k.outcome == mptcp_dissector::analysis::verify::Outcome::Fail)
            .map(|(c, k)| format!("connection {c} {}: {}", k.id, k.detail))
            .collect();
        assert!(r.ok() && fails.is_empty(), "{name}: verify failed: {fails:?}");
        eprintln!("{name}: {} passed, {} skipped", r.passed, r.skipped);
    }
}

#[test]
fn every_stream_is_what_the_application_sent() {
    let (mut exact, mut want_exact) = (0, 0);
    for (name, path, truth) in matrix() {
        if truth["capture_window"] == "full" {
            // Both directions of every connection of a capture that holds them whole.
            want_exact += 2 * truth["conns"].as_array().unwrap().len();
        }
        let window = truth["capture_window"].as_str().unwrap();
        let a = analyze(&path, None);
        let fallback = truth["conns"].as_array().unwrap().iter().any(|c| c["server_socket_proto"] != 262);
        for (k, tc) in truth["conns"].as_array().unwrap().iter().enumerate() {
            let cid = conn_index(&a, &truth, k);
            for (key, dir) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
                let seed = tc[format!("{key}_seed")].as_str().unwrap();
                let sent = tc[format!("{key}_bytes")].as_u64().unwrap() as usize;
                let received_sha = tc[format!("{key}_received_sha256")].as_str().unwrap();
                let app = gen_stream(seed, sent);
                assert_eq!(format!("{:x}", Sha256::digest(&app)), tc[format!("{key}_sha256")].as_str().unwrap(), "{name}: generator");
                let mut col = Collect::default();
                let a = analyze(&path, Some((cid, dir, &mut col)));
                let c = &a.connections[cid];
                let dd = c.data(dir);
                let what = format!("{name} connection {cid} {key}");
                if window == "full" {
                    // Every byte, in order, ending at the DATA_FIN: the receiving app's sha256.
                    let bytes: Vec<u8> = col.chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect();
                    assert!(col.holes.is_empty(), "{what}: holes {:?}", col.holes);
                    assert_eq!(bytes.len(), sent, "{what}: length");
                    assert_eq!(format!("{:x}", Sha256::digest(&bytes)), received_sha, "{what}: sha256 vs the receiving app");
                    assert!(dd.complete, "{what}: complete");
                    if sent == 0 && !fallback {
                        // A direction with no data still ends with its DATA_FIN.
                        assert!(dd.data_fin_dsn.is_some(), "{what}: DATA_FIN of a data-less direction");
                    }
                    exact += 1;
                    continue;
                }
                // Part of the stream: find where the application's byte 0 sits in DSN space.
                let base = match (window, dd.data_fin_dsn) {
                    ("starts-mid-connection", Some(fin)) => fin.0.wrapping_sub(sent as u64),
                    // RFC 8684 §3.1: the first data byte has DSN IDSN + 1 (the SYN takes one).
                    ("ends-mid-connection", _) => {
                        let idsn = if dir == Dir::C2s { c.client_idsn } else { c.server_idsn };
                        idsn.expect("handshake in the capture").0.wrapping_add(1)
                    }
                    _ => panic!("{what}: no way to place the stream ({window})"),
                };
                let mut covered = 0;
                for (dsn, b) in &col.chunks {
                    let off = dsn.wrapping_sub(base) as usize;
                    assert!(off + b.len() <= sent, "{what}: chunk at DSN {dsn} beyond the stream");
                    assert!(app[off..off + b.len()] == b[..], "{what}: bytes at offset {off} differ from what the app sent");
                    covered += b.len();
                }
                assert!(covered > 0, "{what}: nothing rebuilt");
                match window {
                    "starts-mid-connection" => {
                        // A true suffix: the last run ends at the DATA_FIN.
                        let (dsn, b) = col.chunks.last().unwrap();
                        assert_eq!(dsn.wrapping_sub(base) as usize + b.len(), sent, "{what}: suffix ends at the end");
                        assert_eq!(c.found_by.name(), "data_level", "{what}: says the handshake is not in the capture");
                    }
                    _ => {
                        // A true prefix: the first run starts at byte 0.
                        assert_eq!(col.chunks.first().unwrap().0, base, "{what}: prefix starts at the first byte");
                        assert!(dd.data_fin_dsn.is_none() && !dd.complete, "{what}: says it is incomplete");
                    }
                }
                eprintln!("{what}: {covered} of {sent} bytes in place ({} holes)", col.holes.len());
            }
        }
    }
    assert_eq!(exact, want_exact, "directions compared whole");
}

fn nstat(name: &str, side: &str, counter: &str) -> u64 {
    let text = std::fs::read_to_string(common::testdata().join("matrix").join(format!("{name}.nstat-{side}.txt"))).unwrap();
    text.lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(counter)).then(|| it.next().unwrap().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("{name} {side}: no {counter}"))
}

#[test]
fn counts_equal_the_kernels() {
    for (name, path, truth) in matrix() {
        if truth["capture_window"] != "full" {
            continue; // the kernel counted packets the capture does not hold
        }
        let a = analyze(&path, None);
        let probes =
            |d: Dir| a.connections.iter().flat_map(|c| c.subflow_ids.iter()).map(|&s| a.subflows[s].dir(d).probe_bytes).sum::<u64>();
        // Each Linux window probe is one byte in a 1-byte mapping.
        assert_eq!(probes(Dir::C2s), nstat(&name, "client", "MPTcpExtWinProbe"), "{name}: client's window probes");
        assert_eq!(probes(Dir::S2c), nstat(&name, "server", "MPTcpExtWinProbe"), "{name}: server's window probes");
        // Joins the server accepted (third ACK with a valid HMAC received): a join the server
        // resets right after its third ACK, before any data (upload-only: MP_TCPRST,
        // MPTcpExtMPJoinRejected), was refused.
        let refused = |s: &mptcp_dissector::track::Subflow| {
            s.c2s.bytes == 0 && s.s2c.bytes == 0 && s.end.as_ref().is_some_and(|e| e.how.name() == "rst" || e.how.name() == "mp_tcprst")
        };
        let joins =
            a.subflows.iter().filter(|s| s.join && s.connection.is_some() && s.established_ts.is_some() && !refused(s)).count() as u64;
        assert_eq!(joins, nstat(&name, "server", "MPTcpExtMPJoinAckRx"), "{name}: joins established");
        // ADD_ADDR: sent by the server, received by the client (echoes not counted).
        let adds = a.connections.iter().flat_map(|c| c.announced.iter()).filter(|x| !x.echo && x.by.name() == "server").count() as u64;
        assert_eq!(adds, nstat(&name, "server", "MPTcpExtAddAddrTx"), "{name}: ADD_ADDR sent by the server");
        assert_eq!(adds, nstat(&name, "client", "MPTcpExtAddAddr"), "{name}: ADD_ADDR received by the client");
        // MP_CAPABLE handshakes the client completed (SYN/ACK with MP_CAPABLE received).
        let capable = a
            .subflows
            .iter()
            .filter(|s| s.kind == SubflowKind::Initial)
            .filter(|s| a.connections[s.connection.unwrap()].fallback.is_none())
            .count() as u64;
        assert_eq!(capable, nstat(&name, "client", "MPTcpExtMPCapableSYNACKRX"), "{name}: MP_CAPABLE SYN/ACKs");
        eprintln!(
            "{name}: probes {}/{}, joins {joins}, ADD_ADDR {adds}, MP_CAPABLE {capable}: as the kernel counted",
            probes(Dir::C2s),
            probes(Dir::S2c)
        );
    }
}
