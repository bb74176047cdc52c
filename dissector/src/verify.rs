//! Offline conformance checking: turns an [`Analysis`] into a catalog of checks (id, RFC
//! section, pass/fail/skip with frames) per connection, plus user expectations (`--expect`).
//!
//! ```
//! use mptcp_dissector::verify::{parse_expectation, Op};
//! let e = parse_expectation("subflows>=2").unwrap();
//! assert_eq!((e.key.as_str(), e.op, e.value.as_str()), ("subflows", Op::Ge, "2"));
//! assert!(parse_expectation("bogus=1").is_err());
//! ```
use serde::Serialize;

use crate::track::checks::{ids, Verdict};
use crate::track::{Analysis, ConnState, Connection, Dir, EventKind};

/// Outcome of one catalog check or expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One check of the catalog.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CatalogEntry {
    pub id: &'static str,
    pub rfc: &'static str,
    pub what: &'static str,
}

/// Every check `verify` runs, in report order (docs/verify.md lists them with examples).
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry { id: "mp_capable.version", rfc: "RFC 8684 §3.1", what: "the SYN/ACK's MP_CAPABLE version is not above the SYN's" },
    CatalogEntry {
        id: "mp_capable.key_echo",
        rfc: "RFC 8684 §3.1",
        what: "third ACK / first data MP_CAPABLE echo the keys of SYN/ACK (and SYN in v0)",
    },
    CatalogEntry { id: "mp_join.token", rfc: "RFC 8684 §3.2", what: "MP_JOIN SYN tokens match a key of a connection in the capture" },
    CatalogEntry {
        id: "mp_join.synack_hmac",
        rfc: "RFC 8684 §3.2",
        what: "SYN/ACK truncated HMAC = leftmost 64 bits of HMAC(KeyB‖KeyA, NonceB‖NonceA)",
    },
    CatalogEntry { id: "mp_join.ack_hmac", rfc: "RFC 8684 §3.2", what: "third-ACK HMAC = 160 bits of HMAC(KeyA‖KeyB, NonceA‖NonceB)" },
    CatalogEntry {
        id: "add_addr.hmac",
        rfc: "RFC 8684 §3.4.1",
        what: "ADD_ADDR HMAC = rightmost 64 bits of HMAC(sender key‖receiver key, id‖addr‖port)",
    },
    CatalogEntry {
        id: "dss.checksum",
        rfc: "RFC 8684 §3.3.1",
        what: "DSS checksum over pseudo-header and the mapping's payload, when checksums are in use",
    },
    CatalogEntry {
        id: "dss.mapping_consistency",
        rfc: "RFC 8684 §3.3.1",
        what: "overlapping mappings agree on DSNs, and re-sent data-level bytes agree with the first copy",
    },
    CatalogEntry {
        id: "data.complete",
        rfc: "RFC 8684 §3.3",
        what: "no DSN gaps between the first data byte and the DATA_FIN in either direction",
    },
    CatalogEntry { id: "data.closure", rfc: "RFC 8684 §3.3.3", what: "each DATA_FIN is data-ACKed by the peer" },
    CatalogEntry {
        id: "fallback",
        rfc: "RFC 8684 §3.7",
        what: "no fallback to TCP after MPTCP was in use (an MP_CAPABLE SYN answered without MPTCP is reported, not failed)",
    },
    CatalogEntry { id: "mp_fastclose.key", rfc: "RFC 8684 §3.5", what: "MP_FASTCLOSE carries the receiver's key" },
    CatalogEntry {
        id: "signals",
        rfc: "RFC 8684 §3.5-3.7",
        what: "MP_FAIL, MP_FASTCLOSE and MP_TCPRST seen (reported with their frames and reasons)",
    },
    CatalogEntry { id: "options.length", rfc: "RFC 8684 §3", what: "no MPTCP option with a wrong length or layout" },
];

/// The result of one check on one connection.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub rfc: &'static str,
    pub outcome: Outcome,
    /// How many times the check was evaluated (e.g. one per DSS checksum).
    pub evaluated: u64,
    /// Why it failed or was skipped, or what was seen.
    pub detail: String,
    /// Frames that show it (the first few).
    pub frames: Vec<u64>,
}

/// All check results of one connection.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionVerdicts {
    pub connection: usize,
    pub client: String,
    pub server: String,
    pub checks: Vec<CheckResult>,
}

/// Comparison operator of an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

/// A user expectation, e.g. `subflows>=2`, `no-fallback`.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    pub rule: String,
    pub key: String,
    pub op: Op,
    pub value: String,
}

/// The result of an expectation.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationResult {
    pub rule: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub file: String,
    pub connections: Vec<ConnectionVerdicts>,
    /// Checks that belong to no connection (an MP_JOIN whose token matches none).
    pub capture_checks: Vec<CheckResult>,
    pub expectations: Vec<ExpectationResult>,
    /// Capture-level problems (undecodable packets, orphan subflows, caps hit).
    pub capture_anomalies: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl VerifyReport {
    /// Exit status: 0 when nothing failed, 1 otherwise.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Numeric keys (`key OP integer`) and what they measure.
const NUMERIC_KEYS: &[(&str, &str)] = &[
    ("connections", "MPTCP connections in the capture"),
    ("subflows", "subflows of each connection"),
    ("joins", "MP_JOIN subflows of each connection"),
    ("version", "MPTCP version of each connection"),
    ("reinjected-bytes", "data-level bytes reinjected on another subflow, both directions, per connection"),
    ("add-addr", "ADD_ADDR announcements (not echoes) per connection"),
    ("remove-addr", "REMOVE_ADDR address ids per connection"),
    ("mp-prio", "MP_PRIO options per connection"),
    ("c2s-bytes", "distinct data-level bytes client to server, per connection"),
    ("s2c-bytes", "distinct data-level bytes server to client, per connection"),
];
/// String keys (`key=value` / `key!=value`).
const STRING_KEYS: &[(&str, &str)] = &[
    ("c2s-sha256", "sha256 of the rebuilt client-to-server stream (it must be complete)"),
    ("s2c-sha256", "sha256 of the rebuilt server-to-client stream"),
    ("checksums", "on|off: DSS checksums negotiated"),
];
/// Bare flags.
const FLAGS: &[(&str, &str)] = &[
    ("no-fallback", "no connection fell back to TCP, at the handshake or later"),
    ("fallback", "some connection fell back to TCP"),
    ("complete", "every data stream is complete (no gaps, DATA_FIN seen, all bytes captured)"),
    ("no-fastclose", "no MP_FASTCLOSE"),
];

/// The expectation grammar, for `--help` and docs.
pub fn expectation_help() -> String {
    let mut s = String::from("RULE is KEY OP VALUE with OP one of = != >= <= > <, or a flag.\n");
    for (k, what) in NUMERIC_KEYS {
        s.push_str(&format!("  {k} OP N: {what}\n"));
    }
    for (k, what) in STRING_KEYS {
        s.push_str(&format!("  {k}=VALUE: {what}\n"));
    }
    for (k, what) in FLAGS {
        s.push_str(&format!("  {k}: {what}\n"));
    }
    s
}

/// Parses one `--expect` rule; unknown keys and malformed rules are errors.
pub fn parse_expectation(rule: &str) -> Result<Expectation, String> {
    let rule = rule.trim();
    if FLAGS.iter().any(|(k, _)| *k == rule) {
        return Ok(Expectation { rule: rule.into(), key: rule.into(), op: Op::Eq, value: "true".into() });
    }
    const OPS: [(&str, Op); 6] = [(">=", Op::Ge), ("<=", Op::Le), ("!=", Op::Ne), ("=", Op::Eq), (">", Op::Gt), ("<", Op::Lt)];
    let Some((at, text, op)) =
        OPS.iter().filter_map(|(t, o)| rule.find(t).map(|i| (i, *t, *o))).min_by_key(|(i, t, _)| (*i, usize::MAX - t.len()))
    else {
        return Err(format!("expectation {rule:?}: no operator; expected KEY OP VALUE or a flag\n{}", expectation_help()));
    };
    let key = rule[..at].trim().to_string();
    let value = rule[at + text.len()..].trim().to_string();
    if NUMERIC_KEYS.iter().any(|(k, _)| *k == key) {
        value.parse::<u64>().map_err(|_| format!("expectation {rule:?}: {key} takes a whole number"))?;
    } else if STRING_KEYS.iter().any(|(k, _)| *k == key) {
        if !matches!(op, Op::Eq | Op::Ne) {
            return Err(format!("expectation {rule:?}: {key} takes = or !="));
        }
        if key == "checksums" && !matches!(value.as_str(), "on" | "off") {
            return Err(format!("expectation {rule:?}: checksums is on or off"));
        }
        if key.ends_with("sha256") && (value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("expectation {rule:?}: a sha256 is 64 hex digits"));
        }
    } else {
        return Err(format!("expectation {rule:?}: unknown key {key:?}\n{}", expectation_help()));
    }
    Ok(Expectation { rule: rule.into(), key, op, value })
}

/// Whether any expectation needs stream hashes (so the analyzer must compute them).
pub fn needs_hashes(exps: &[Expectation]) -> bool {
    exps.iter().any(|e| e.key.ends_with("sha256"))
}

fn compare(actual: u64, op: Op, want: u64) -> bool {
    match op {
        Op::Eq => actual == want,
        Op::Ne => actual != want,
        Op::Ge => actual >= want,
        Op::Le => actual <= want,
        Op::Gt => actual > want,
        Op::Lt => actual < want,
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Ge => ">=",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Lt => "<",
    }
}

/// Builds the report: the catalog on every connection, then the expectations.
pub fn verify(file: &str, a: &Analysis, expectations: &[Expectation]) -> VerifyReport {
    let connections: Vec<ConnectionVerdicts> = a.connections.iter().map(|c| connection_verdicts(a, c)).collect();
    let expectations: Vec<ExpectationResult> = expectations.iter().map(|e| evaluate(a, e)).collect();
    let mut r = VerifyReport {
        file: file.into(),
        connections,
        capture_checks: capture_checks(a),
        expectations,
        capture_anomalies: a.anomalies.len() as u64 + a.anomalies_dropped,
        passed: 0,
        failed: 0,
        skipped: 0,
    };
    let outcomes = r
        .connections
        .iter()
        .flat_map(|c| c.checks.iter().map(|k| k.outcome))
        .chain(r.capture_checks.iter().map(|k| k.outcome))
        .chain(r.expectations.iter().map(|e| e.outcome));
    for o in outcomes.collect::<Vec<_>>() {
        match o {
            Outcome::Pass => r.passed += 1,
            Outcome::Fail => r.failed += 1,
            Outcome::Skip => r.skipped += 1,
        }
    }
    r
}

/// Capture-level checks. `mp_join.token`: an MP_JOIN SYN whose token no connection produced
/// is an orphan subflow, not part of any connection's checks. It fails when a connection to the
/// same server port (or a server-initiated join to its client's address) was alive, with both
/// keys known, when the join started: that connection's peer should have produced the token.
/// Otherwise the connection is simply not in the capture, and the check skips.
fn capture_checks(a: &Analysis) -> Vec<CheckResult> {
    let (id, _) = ids::JOIN_TOKEN;
    // Joins whose token no MP_CAPABLE handshake in the capture produced (some were placed in a
    // connection from the data level afterwards).
    let orphans: Vec<_> = a.subflows.iter().filter(|s| s.join && s.orphan_token.as_deref().is_some_and(|t| !t.is_empty())).collect();
    let joins = a.subflows.iter().filter(|s| s.join).count();
    if orphans.is_empty() {
        return vec![if joins == 0 {
            skip(id, "no MP_JOIN subflow in the capture")
        } else {
            pass(id, format!("all {joins} MP_JOIN token(s) matched a connection"), vec![])
        }];
    }
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    for s in &orphans {
        let token = s.orphan_token.as_deref().unwrap_or_default();
        let live = a.connections.iter().find(|c| {
            c.client_key.is_some()
                && c.server_key.is_some()
                && c.start_ts <= s.start_ts
                && s.start_ts <= c.end_ts
                && (c.server.port() == s.server.port() || c.client.ip() == s.server.ip())
        });
        match live {
            Some(c) => bad.push((
                s.first_frame,
                format!(
                    "MP_JOIN SYN {} -> {} at frame {} has token {token}, but connection {} (tokens {} / {}) was alive with both keys known",
                    s.client,
                    s.server,
                    s.first_frame,
                    c.id,
                    c.client_token.as_deref().unwrap_or("?"),
                    c.server_token.as_deref().unwrap_or("?")
                ),
            )),
            None => unknown.push((s.first_frame, format!("token {token} at frame {}", s.first_frame))),
        }
    }
    let frames: Vec<u64> = bad.iter().chain(unknown.iter()).map(|(f, _)| *f).take(8).collect();
    vec![if let Some((_, first)) = bad.first() {
        CheckResult {
            id,
            rfc: entry(id),
            outcome: Outcome::Fail,
            evaluated: orphans.len() as u64,
            detail: format!("{} of {} unknown MP_JOIN token(s) wrong: {first}", bad.len(), orphans.len()),
            frames,
        }
    } else {
        CheckResult {
            id,
            rfc: entry(id),
            outcome: Outcome::Skip,
            evaluated: orphans.len() as u64,
            detail: format!(
                "MP_JOIN token(s) of a connection not in the capture (no live connection to that server with both keys): {}",
                unknown.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>().join("; ")
            ),
            frames,
        }
    }]
}

fn from_tally(c: &Connection, id: &'static str, rfc: &'static str, skip_reason: &str) -> CheckResult {
    match c.checks.get(id) {
        None => CheckResult { id, rfc, outcome: Outcome::Skip, evaluated: 0, detail: skip_reason.into(), frames: vec![] },
        Some(t) => {
            let evaluated = t.pass + t.fail + t.legacy + t.not_checkable;
            let frames: Vec<u64> =
                if t.findings.is_empty() { vec![t.first_frame] } else { t.findings.iter().map(|f| f.frame).take(8).collect() };
            let first_reason =
                t.findings.iter().find(|f| f.verdict != Verdict::NotCheckable).or(t.findings.first()).map(|f| f.reason.clone());
            let (outcome, detail) = match t.verdict {
                Verdict::Pass => (
                    Outcome::Pass,
                    if t.not_checkable > 0 {
                        format!("{} passed, {} not checkable", t.pass, t.not_checkable)
                    } else {
                        format!("{} passed", t.pass)
                    },
                ),
                Verdict::Fail => (Outcome::Fail, format!("{} of {evaluated} failed: {}", t.fail, first_reason.unwrap_or_default())),
                Verdict::Legacy => (Outcome::Fail, format!("{} legacy (not RFC 8684): {}", t.legacy, first_reason.unwrap_or_default())),
                Verdict::NotCheckable => (Outcome::Skip, format!("not checkable: {}", first_reason.unwrap_or_default())),
            };
            CheckResult { id, rfc, outcome, evaluated, detail, frames }
        }
    }
}

fn entry(id: &'static str) -> &'static str {
    CATALOG.iter().find(|e| e.id == id).map_or("", |e| e.rfc)
}

fn connection_verdicts(a: &Analysis, c: &Connection) -> ConnectionVerdicts {
    let mut checks = Vec::new();
    let handshake_fallback = c.fallback.as_ref().is_some_and(|f| f.kind == "handshake");

    // Version.
    checks.push(match (c.syn_version, c.version) {
        _ if handshake_fallback => skip("mp_capable.version", "the peer answered without MP_CAPABLE"),
        (Some(s), Some(v)) if v <= s => pass("mp_capable.version", format!("SYN v{s}, SYN/ACK v{v}"), vec![]),
        (Some(s), Some(v)) => fail("mp_capable.version", format!("SYN/ACK version {v} above the SYN's {s}"), vec![]),
        _ if c.found_by == "data_level" => {
            skip("mp_capable.version", "the capture starts after the handshake (connection found from the data level)")
        }
        _ => skip("mp_capable.version", "handshake not in the capture"),
    });
    let no_keys = if handshake_fallback {
        "the peer answered without MP_CAPABLE"
    } else if c.found_by == "data_level" {
        "the capture starts after the handshake: keys not in it"
    } else {
        "no third ACK or first data with both keys in the capture"
    };
    let (id, rfc) = ids::CAPABLE_KEY_ECHO;
    checks.push(from_tally(c, id, rfc, no_keys));
    let joins = c.subflow_ids.iter().filter(|&&s| a.subflows.get(s).is_some_and(|f| f.join)).count();
    for ((id, rfc), answered) in
        [(ids::JOIN_TOKEN, "MP_JOIN SYN"), (ids::JOIN_SYNACK_HMAC, "MP_JOIN SYN/ACK"), (ids::JOIN_ACK_HMAC, "MP_JOIN third ACK")]
    {
        let handshakes_missing =
            c.subflow_ids.iter().filter(|&&s| a.subflows.get(s).is_some_and(|f| f.kind == crate::track::SubflowKind::Unknown)).count();
        let why = if joins > 0 && c.client_key.is_none() && c.server_key.is_none() {
            "the connection's keys are not in the capture (its handshake is not)".to_string()
        } else if joins == 0 && handshakes_missing > 0 {
            format!("{handshakes_missing} subflow(s) whose handshake is not in the capture")
        } else if joins == 0 {
            "no MP_JOIN subflow in the capture".to_string()
        } else {
            format!("{joins} MP_JOIN SYN(s) but no {answered} in the capture (join refused?)")
        };
        checks.push(from_tally(c, id, rfc, &why));
    }
    let (id, rfc) = ids::ADD_ADDR_HMAC;
    checks.push(from_tally(c, id, rfc, "no ADD_ADDR in the capture"));
    let (id, rfc) = ids::DSS_CHECKSUM;
    checks.push(from_tally(c, id, rfc, if c.checksums { "no checksummed mapping in the capture" } else { "DSS checksums not negotiated" }));
    // Mapping consistency: DSN agreement (tracker) and byte agreement (reassembler).
    let (id, rfc) = ids::MAPPING_CONSISTENCY;
    let mut mc = from_tally(c, id, rfc, "no DSS mapping in the capture");
    let mismatched = c.c2s.mismatched_bytes + c.s2c.mismatched_bytes;
    if mismatched > 0 {
        mc.outcome = Outcome::Fail;
        mc.detail = format!("{mismatched} re-sent data-level bytes differ from the first copy; {}", mc.detail);
    }
    checks.push(mc);

    // Data completeness per direction: pass when a checked direction has no gaps; a gap is a
    // failure only when the capture shows the connection closed cleanly (every subflow ended
    // with FIN) without the peer ever data-ACKing past it. Anything else the capture cannot
    // tell: no data, no DATA_FIN (the capture ended first), gaps the peer data-ACKed (the
    // capture missed them), gaps still open when the capture ends.
    let closed_cleanly = c.state == ConnState::Closed
        && c.subflow_ids
            .iter()
            .all(|&s| a.subflows.get(s).is_some_and(|f| f.end.as_ref().is_some_and(|e| e.how == "fin" || e.how == "no_answer")));
    let mut details = Vec::new();
    let (mut failed, mut passed) = (false, false);
    for (name, d) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
        let dd = c.data(d);
        if dd.bytes == 0 && dd.data_fin_dsn.is_none() {
            details.push(format!("{name}: no data"));
        } else if dd.data_fin_dsn.is_none() {
            details.push(format!("{name}: no DATA_FIN in the capture: it ends before the data does (not checkable)"));
        } else if dd.gap_count == 0 {
            passed = true;
            details.push(format!("{name}: {} bytes, no gaps", dd.bytes));
        } else if dd.data_acked.is_some_and(|ack| dd.gaps.iter().all(|(_, end)| crate::seq::DataSeq(*end) <= crate::seq::DataSeq(ack))) {
            // Every gap was data-ACKed: the peer got those bytes on a path the capture missed.
            details.push(format!(
                "{name}: {} gap(s), {} bytes, all data-ACKed by the peer: missed by the capture, not by the peer (not checkable)",
                dd.gap_count, dd.gap_bytes
            ));
        } else if closed_cleanly {
            failed = true;
            details.push(format!(
                "{name}: {} gap(s), {} bytes never seen and never data-ACKed, first at DSN {}, though every subflow closed with FIN",
                dd.gap_count,
                dd.gap_bytes,
                dd.gaps.first().map_or(0, |g| g.0)
            ));
        } else {
            details.push(format!(
                "{name}: {} gap(s), {} bytes not in the capture and not data-ACKed in it; the connection did not close cleanly in the capture (not checkable)",
                dd.gap_count, dd.gap_bytes
            ));
        }
    }
    let outcome = if failed {
        Outcome::Fail
    } else if passed {
        Outcome::Pass
    } else {
        Outcome::Skip
    };
    checks.push(CheckResult {
        id: "data.complete",
        rfc: entry("data.complete"),
        outcome,
        evaluated: 2,
        detail: details.join("; "),
        frames: vec![],
    });

    // DATA_FIN closure.
    let mut details = Vec::new();
    let mut outcome = Outcome::Skip;
    for (name, d) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
        let dd = c.data(d);
        match (dd.data_fin_dsn, dd.data_acked) {
            (Some(fin), Some(ack)) if crate::seq::DataSeq(ack) > crate::seq::DataSeq(fin) => {
                if outcome == Outcome::Skip {
                    outcome = Outcome::Pass;
                }
                details.push(format!("{name}: DATA_FIN at {fin} data-ACKed"));
            }
            (Some(fin), ack) if closed_cleanly => {
                outcome = Outcome::Fail;
                let ack = ack.map_or_else(|| "none".to_string(), |a| a.to_string());
                details.push(format!(
                    "{name}: DATA_FIN at {fin} never data-ACKed (highest data ACK {ack}) though every subflow closed with FIN"
                ));
            }
            (Some(fin), _) => details.push(format!("{name}: DATA_FIN at {fin} not data-ACKed in the capture")),
            (None, _) => details.push(format!("{name}: no DATA_FIN")),
        }
    }
    checks.push(CheckResult {
        id: "data.closure",
        rfc: entry("data.closure"),
        outcome,
        evaluated: 2,
        detail: details.join("; "),
        frames: vec![],
    });

    // Fallback.
    checks.push(match &c.fallback {
        None => pass("fallback", "no fallback".into(), vec![]),
        Some(f) if f.kind == "handshake" => pass("fallback", format!("peer does not speak MPTCP: {}", f.detail), vec![f.frame]),
        Some(f) => fail("fallback", format!("fell back to TCP mid-connection ({}): {}", f.kind, f.detail), vec![f.frame]),
    });
    let (id, rfc) = ids::FASTCLOSE_KEY;
    checks.push(from_tally(c, id, rfc, "no MP_FASTCLOSE"));

    // Signals: reported, not failed.
    let mut seen = Vec::new();
    let mut frames = Vec::new();
    for e in a.events.iter().filter(|e| e.connection == Some(c.id)) {
        let name = match e.kind {
            EventKind::Fastclose => Some("MP_FASTCLOSE"),
            EventKind::MpFail => Some("MP_FAIL"),
            _ => None,
        };
        if let Some(name) = name {
            seen.push(format!("{name} at frame {}", e.frame));
            frames.push(e.frame);
        }
    }
    for &s in &c.subflow_ids {
        if let Some(end) = a.subflows.get(s).and_then(|f| f.end.as_ref()) {
            if end.how == "mp_tcprst" {
                seen.push(format!("MP_TCPRST reason {} on subflow {s} at frame {}", end.reason.unwrap_or(0), end.frame));
                frames.push(end.frame);
            }
        }
    }
    frames.sort_unstable();
    frames.dedup();
    checks.push(if seen.is_empty() {
        pass("signals", "no MP_FAIL, MP_FASTCLOSE or MP_TCPRST".into(), vec![])
    } else {
        frames.truncate(8);
        pass("signals", seen.join("; "), frames)
    });
    checks.push(if c.malformed_options == 0 {
        pass("options.length", "every MPTCP option well-formed".into(), vec![])
    } else {
        let frames = c.anomalies.iter().filter(|x| x.kind == "malformed_option").map(|x| x.frame).take(8).collect();
        let first = c.anomalies.iter().find(|x| x.kind == "malformed_option").map(|x| x.detail.clone()).unwrap_or_default();
        fail("options.length", format!("{} malformed MPTCP option(s); first: {first}", c.malformed_options), frames)
    });
    ConnectionVerdicts { connection: c.id, client: c.client.to_string(), server: c.server.to_string(), checks }
}

fn pass(id: &'static str, detail: String, frames: Vec<u64>) -> CheckResult {
    CheckResult { id, rfc: entry(id), outcome: Outcome::Pass, evaluated: 1, detail, frames }
}
fn fail(id: &'static str, detail: String, frames: Vec<u64>) -> CheckResult {
    CheckResult { id, rfc: entry(id), outcome: Outcome::Fail, evaluated: 1, detail, frames }
}
fn skip(id: &'static str, detail: &str) -> CheckResult {
    CheckResult { id, rfc: entry(id), outcome: Outcome::Skip, evaluated: 0, detail: detail.into(), frames: vec![] }
}

fn evaluate(a: &Analysis, e: &Expectation) -> ExpectationResult {
    let conns = &a.connections;
    let result = |ok: bool, detail: String| ExpectationResult {
        rule: e.rule.clone(),
        outcome: if ok { Outcome::Pass } else { Outcome::Fail },
        detail,
    };
    let per_conn = |f: &dyn Fn(&Connection) -> u64| -> ExpectationResult {
        let want: u64 = e.value.parse().unwrap_or(0);
        if conns.is_empty() {
            return result(false, "no MPTCP connection in the capture".into());
        }
        let values: Vec<u64> = conns.iter().map(f).collect();
        let ok = values.iter().all(|&v| compare(v, e.op, want));
        result(ok, format!("{} {} {want}: per connection {:?}", e.key, op_text(e.op), values))
    };
    match e.key.as_str() {
        "connections" => {
            let want: u64 = e.value.parse().unwrap_or(0);
            let n = conns.len() as u64;
            result(compare(n, e.op, want), format!("{n} connection(s)"))
        }
        "subflows" => per_conn(&|c| c.subflow_ids.len() as u64),
        "joins" => per_conn(&|c| c.subflow_ids.iter().filter(|&&s| a.subflows.get(s).is_some_and(|f| f.join)).count() as u64),
        "version" => per_conn(&|c| u64::from(c.version.unwrap_or(u8::MAX))),
        "reinjected-bytes" => per_conn(&|c| c.c2s.reinjected_bytes + c.s2c.reinjected_bytes),
        "add-addr" => per_conn(&|c| c.announced.iter().filter(|x| !x.echo).count() as u64),
        "remove-addr" => per_conn(&|c| c.removed_address_ids.len() as u64),
        "mp-prio" => {
            per_conn(&|c| a.events.iter().filter(|x| x.connection == Some(c.id) && x.kind == EventKind::SfPriority).count() as u64)
        }
        "c2s-bytes" => per_conn(&|c| c.c2s.bytes),
        "s2c-bytes" => per_conn(&|c| c.s2c.bytes),
        "c2s-sha256" | "s2c-sha256" => {
            let dir = if e.key.starts_with("c2s") { Dir::C2s } else { Dir::S2c };
            let hashes: Vec<Option<&str>> = conns.iter().map(|c| c.data(dir).sha256.as_deref()).collect();
            let any = hashes.contains(&Some(e.value.as_str()));
            let ok = if e.op == Op::Eq { any } else { !any };
            result(ok, format!("stream hashes per connection: {hashes:?} (none when the stream is incomplete)"))
        }
        "checksums" => {
            let want = e.value == "on";
            let values: Vec<bool> = conns.iter().map(|c| c.checksums).collect();
            let ok = !values.is_empty() && values.iter().all(|&v| (v == want) == (e.op == Op::Eq));
            result(ok, format!("checksums per connection: {values:?}"))
        }
        "no-fallback" => {
            let fb: Vec<usize> = conns.iter().filter(|c| c.fallback.is_some()).map(|c| c.id).collect();
            result(fb.is_empty(), if fb.is_empty() { "no fallback".into() } else { format!("connections {fb:?} fell back") })
        }
        "fallback" => {
            let fb: Vec<usize> = conns.iter().filter(|c| c.fallback.is_some()).map(|c| c.id).collect();
            result(!fb.is_empty(), format!("connections that fell back: {fb:?}"))
        }
        "complete" => {
            let bad: Vec<String> = conns
                .iter()
                .flat_map(|c| {
                    [("c2s", &c.c2s), ("s2c", &c.s2c)].into_iter().filter(|(_, d)| !d.complete).map(move |(n, _)| format!("{}:{n}", c.id))
                })
                .collect();
            result(
                !conns.is_empty() && bad.is_empty(),
                if bad.is_empty() { "all streams complete".into() } else { format!("incomplete: {bad:?}") },
            )
        }
        "no-fastclose" => {
            let n = a.events.iter().filter(|x| x.kind == EventKind::Fastclose).count();
            result(n == 0, format!("{n} MP_FASTCLOSE"))
        }
        other => ExpectationResult { rule: e.rule.clone(), outcome: Outcome::Fail, detail: format!("unknown key {other}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(parse_expectation("subflows>=2").map(|e| e.op), Ok(Op::Ge));
        assert_eq!(parse_expectation("reinjected-bytes=0").map(|e| (e.op, e.value)), Ok((Op::Eq, "0".into())));
        assert_eq!(parse_expectation("version != 0").map(|e| e.op), Ok(Op::Ne));
        assert_eq!(parse_expectation("no-fallback").map(|e| e.key), Ok("no-fallback".into()));
        assert_eq!(parse_expectation("checksums=on").map(|e| e.value), Ok("on".into()));
        for bad in ["subflows>=two", "checksums=maybe", "c2s-sha256=abc", "frobs=1", "subflows", "c2s-sha256>=00"] {
            assert!(parse_expectation(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catalog_ids_are_unique_and_cited() {
        for (i, e) in CATALOG.iter().enumerate() {
            assert!(e.rfc.starts_with("RFC"), "{}", e.id);
            assert!(CATALOG.iter().skip(i + 1).all(|o| o.id != e.id), "{}", e.id);
        }
    }
}
