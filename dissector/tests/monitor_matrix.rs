//! `events --side` against the kernel: every event line `ip mptcp monitor` printed on either host
//! while a testdata/matrix capture was recorded (NAME.monitor-client.txt, NAME.monitor-server.txt
//! beside NAME.pcap) must have a matching line in our rebuilt output for that host (same event,
//! token, addresses, ports, ids, backup, flags; only the fields in `UNKNOWABLE_FIELDS` are
//! dropped). The truth is the kernel's own log, not our code.
//!
//! Exceptions, each counted and printed (docs/events.md, "What the wire cannot show"):
//! - listener events, which iproute2 6.1 prints as `[UNKNOWN 15]` / `[UNKNOWN 16]`;
//! - capture_window "starts-mid-connection" (NAME.truth.json): lines of a connection whose
//!   MP_CAPABLE handshake is not in the file (its tokens cannot be computed);
//! - capture_window "ends-mid-connection": SF_CLOSED and CLOSED lines (the closing is after the
//!   capture);
//! - the client's CLOSED of a connection that fell back during the handshake: a v1 client's key
//!   only travels in the third ACK, so its token never reaches the wire.
mod common;

use std::collections::HashSet;
use std::path::Path;

use common::{analyze, testdata};
use mptcp_dissector::report::events::{monitor_lines, MonitorLine};
use mptcp_dissector::track::{Analysis, Side};

const CHECKED: &[&str] = &["CREATED", "ESTABLISHED", "ANNOUNCED", "REMOVED", "SF_ESTABLISHED", "SF_PRIO", "SF_CLOSED", "CLOSED"];

fn capture_window(dir: &Path, name: &str) -> String {
    let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.truth.json"))) else { return "full".into() };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.truth.json: {e}"));
    v["capture_window"].as_str().unwrap_or("full").to_string()
}

/// Why a kernel line without a match is excused, if it is.
fn excuse(line: &MonitorLine, side: Side, window: &str, a: &Analysis) -> Option<&'static str> {
    let known: HashSet<String> = a.connections.iter().flat_map(|c| c.tokens()).map(|t| t.to_string()).collect();
    let token_known = line.get("token").is_some_and(|t| known.contains(t));
    if !token_known && window == "starts-mid-connection" {
        return Some("handshake before the capture started");
    }
    if window == "ends-mid-connection" && matches!(line.kind.as_str(), "SF_CLOSED" | "CLOSED") {
        return Some("closed after the capture ended");
    }
    let client_key_unseen =
        a.connections.iter().any(|c| c.fallback.as_ref().is_some_and(|f| f.kind.name() == "handshake") && c.client_token.is_none());
    if !token_known && side == Side::Client && line.kind == "CLOSED" && client_key_unseen {
        return Some("handshake fallback: the client's key never went on the wire");
    }
    None
}

#[test]
fn every_kernel_monitor_line_has_a_match_in_events_side() {
    let dir = testdata().join("matrix");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).map(|rd| rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect()).unwrap_or_default();
    names.retain(|n| n.ends_with(".pcap"));
    names.iter_mut().for_each(|n| n.truncate(n.len() - ".pcap".len()));
    names.retain(|n| ["client", "server"].iter().any(|s| dir.join(format!("{n}.monitor-{s}.txt")).exists()));
    names.sort();
    assert!(
        !names.is_empty(),
        "testdata/matrix/ has no NAME.pcap with NAME.monitor-client.txt / NAME.monitor-server.txt: \
         nothing to compare `events --side` with (the matrix captures are not in this checkout)"
    );
    let (mut matched, mut excused, mut failures) = (0usize, Vec::new(), Vec::new());
    for name in &names {
        let a = analyze(&format!("matrix/{name}.pcap"));
        let window = capture_window(&dir, name);
        for (side, word) in [(Side::Client, "client"), (Side::Server, "server")] {
            let Ok(log) = std::fs::read_to_string(dir.join(format!("{name}.monitor-{word}.txt"))) else { continue };
            let ours = monitor_lines(&a, side);
            let mut used = vec![false; ours.len()];
            for kernel in log.lines().filter_map(MonitorLine::parse) {
                if kernel.kind.starts_with("UNKNOWN") {
                    continue; // listener created/closed: not a connection event
                }
                assert!(CHECKED.contains(&kernel.kind.as_str()), "{name} {word}: unexpected monitor event {kernel}");
                let hit = ours.iter().enumerate().position(|(i, o)| !used[i] && kernel.matched_by(o));
                match (hit, excuse(&kernel, side, &window, &a)) {
                    (Some(i), _) => {
                        used[i] = true;
                        matched += 1;
                    }
                    (None, Some(why)) => excused.push(format!("{name} {word}: {kernel} ({why})")),
                    (None, None) => failures.push(format!("{name} {word}: kernel printed {kernel}")),
                }
            }
        }
    }
    eprintln!("{} captures, {matched} kernel lines matched, {} excused:", names.len(), excused.len());
    for e in &excused {
        eprintln!("  {e}");
    }
    assert!(failures.is_empty(), "kernel monitor lines without a match in `events --side`:\n{}", failures.join("\n"));
    assert!(matched > 0, "no kernel monitor line was compared");
}
