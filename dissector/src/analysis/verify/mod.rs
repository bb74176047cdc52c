//! Offline conformance checking: turns an [`Analysis`] into a catalog of checks (id, RFC
//! section, pass/fail/skip with frames) per connection, plus user expectations (`--expect`).
//!
//! ```
//! use mptcp_dissector::analysis::verify::{parse_expectation, Op};
//! let e = parse_expectation("subflows>=2").unwrap();
//! assert_eq!((e.key.as_str(), e.op, e.value.as_str()), ("subflows", Op::Ge, "2"));
//! assert!(parse_expectation("bogus=1").is_err());
//! ```
//!
//! `verdicts.rs` turns each connection (and the capture) into the catalog's results;
//! `expect.rs` parses and evaluates the `--expect` rules.
use serde::Serialize;

use crate::track::{Analysis, Connection, Event, EventKind, Subflow};

mod expect;
mod mp_fail;
mod verdicts;

pub use expect::{expectation_help, needs_hashes, parse_expectation, Expectation, ExpectationResult, Op};

/// Outcome of one catalog check or expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

pub use crate::track::checks::CheckId;

/// The checks `verify` runs on every connection, in report order (docs/verify.md lists them
/// with examples): [`CheckId::CONNECTION`] of the one catalogue, [`CheckId`].
pub const CATALOG: &[CheckId] = CheckId::CONNECTION;

/// The result of one check on one connection.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: CheckId,
    pub rfc: &'static str,
    pub outcome: Outcome,
    /// How many times the check was evaluated (e.g. one per DSS checksum).
    pub evaluated: u64,
    /// Why it failed or was skipped, or what was seen.
    pub detail: String,
    /// Frames that show it (the first few).
    pub frames: Vec<u64>,
}

impl CheckResult {
    pub(super) fn pass(id: CheckId, detail: String, frames: Vec<u64>) -> CheckResult {
        CheckResult { id, rfc: id.rfc(), outcome: Outcome::Pass, evaluated: 1, detail, frames }
    }
    pub(super) fn fail(id: CheckId, detail: String, frames: Vec<u64>) -> CheckResult {
        CheckResult { id, rfc: id.rfc(), outcome: Outcome::Fail, evaluated: 1, detail, frames }
    }
    pub(super) fn skip(id: CheckId, detail: &str) -> CheckResult {
        CheckResult { id, rfc: id.rfc(), outcome: Outcome::Skip, evaluated: 0, detail: detail.into(), frames: vec![] }
    }
}

/// All check results of one connection.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionVerdicts {
    pub connection: usize,
    pub client: String,
    pub server: String,
    pub checks: Vec<CheckResult>,
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

    /// A capture without any MPTCP connection (`connections`: how many the report shows) gets
    /// the capture check `capture.mptcp`: failed (a CI job that captured nothing, or only plain
    /// TCP, must not pass), or skipped when `allow_empty`. It says what the capture held instead
    /// (plain TCP connections, MP_CAPABLE SYNs no MP_CAPABLE SYN/ACK answered). Captures with a
    /// connection are left as they are.
    pub fn require_connections(&mut self, connections: u64, a: &Analysis, allow_empty: bool) {
        if connections > 0 {
            return;
        }
        let s = &a.stats;
        let detail = format!(
            "no MPTCP connection in the capture ({} TCP packet(s); plain TCP: {} connection(s), {} flow(s) without their SYN){}",
            s.tcp_packets,
            s.tcp_connections,
            s.tcp_flows_without_syn,
            if allow_empty { "; allowed by --allow-empty" } else { "; --allow-empty accepts such a capture" }
        );
        let outcome = if allow_empty { Outcome::Skip } else { Outcome::Fail };
        let check =
            CheckResult { id: CheckId::CaptureMptcp, rfc: CheckId::CaptureMptcp.rfc(), outcome, evaluated: 1, detail, frames: vec![] };
        self.capture_checks.insert(0, check);
        match outcome {
            Outcome::Fail => self.failed += 1,
            _ => self.skipped += 1,
        }
    }
}

/// Builds the report of a whole-capture analysis: the catalog on every connection, then the
/// expectations ([`Verifier`] fed the analysis).
pub fn verify(file: &str, a: &Analysis, expectations: &[Expectation]) -> VerifyReport {
    let mut v = Verifier::new(expectations);
    for e in &a.events {
        v.event(e);
    }
    let in_connection: ahash::HashSet<usize> = a.connections.iter().flat_map(|c| c.subflow_ids.iter().copied()).collect();
    let mut connections = Vec::with_capacity(a.connections.len());
    for c in &a.connections {
        let by_id = |s: usize| a.subflows.get(s).filter(|f| f.id == s).or_else(|| a.subflows.iter().find(|f| f.id == s));
        let mut subflows: Vec<Subflow> = c.subflow_ids.iter().filter_map(|&s| by_id(s)).cloned().collect();
        subflows.sort_by_key(|f| f.id);
        connections.push(v.connection(c, &subflows, true));
    }
    for f in a.subflows.iter().filter(|f| !in_connection.contains(&f.id)) {
        v.flow(f);
    }
    let mut r = v.finish(file, a);
    r.connections = connections;
    r
}

/// The checks as connections finish: [`Verifier::connection`] gives a connection's verdicts
/// when it is handed over, [`Verifier::finish`] the capture-level checks, the expectations
/// and the counts at the end. What it keeps between is a few counters per connection still
/// open (its MP_FAIL/MP_FASTCLOSE frames and MP_PRIO count, from [`Verifier::event`]), the
/// expectations' per-connection lists (their text), and the MP_JOIN subflows whose token no
/// connection produced; what the join-token check needs of every connection is spooled to a
/// temporary file and read back only when there is such a subflow.
pub struct Verifier<'e> {
    expectations: &'e [Expectation],
    tallies: Vec<expect::Tally>,
    /// Per open connection: its MP_FAIL / MP_FASTCLOSE events (kind, frame) and MP_PRIO count.
    signals: ahash::HashMap<usize, (Vec<(EventKind, u64)>, u64)>,
    fastcloses: u64,
    connections: u64,
    all_v0: bool,
    joins: u64,
    orphans: Vec<verdicts::OrphanJoin>,
    orphans_unlisted: u64,
    briefs: verdicts::Briefs,
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl<'e> Verifier<'e> {
    pub fn new(expectations: &'e [Expectation]) -> Self {
        Verifier {
            expectations,
            tallies: expectations.iter().map(|_| expect::Tally::default()).collect(),
            signals: ahash::HashMap::default(),
            fastcloses: 0,
            connections: 0,
            all_v0: true,
            joins: 0,
            orphans: Vec::new(),
            orphans_unlisted: 0,
            briefs: verdicts::Briefs::default(),
            passed: 0,
            failed: 0,
            skipped: 0,
        }
    }

    /// An event of the timeline (in capture order, before its connection is handed over).
    pub fn event(&mut self, e: &Event) {
        let (signal, prio) = match e.kind {
            EventKind::Fastclose => {
                self.fastcloses += 1;
                (true, false)
            }
            EventKind::MpFail => (true, false),
            EventKind::SfPriority => (false, true),
            _ => return,
        };
        if let Some(c) = e.connection {
            let entry = self.signals.entry(c).or_default();
            if signal {
                entry.0.push((e.kind, e.frame));
            }
            entry.1 += u64::from(prio);
        }
    }

    /// A finished connection and its own `subflows` (in id order): its verdicts. `selected`:
    /// whether the report shows it (a connection left out by `--connection`/`--token` still
    /// counts its MP_JOIN subflows, as the capture-level check sees every subflow).
    pub fn connection(&mut self, c: &Connection, subflows: &[Subflow], selected: bool) -> ConnectionVerdicts {
        let (signals, prio) = self.signals.remove(&c.id).unwrap_or_default();
        for f in subflows {
            self.subflow(f);
        }
        if !selected {
            return ConnectionVerdicts { connection: c.id, client: String::new(), server: String::new(), checks: Vec::new() };
        }
        self.connections += 1;
        self.all_v0 &= c.version == Some(0);
        self.briefs.push(c);
        for (e, t) in self.expectations.iter().zip(&mut self.tallies) {
            t.observe(e, c, subflows, prio);
        }
        let v = verdicts::connection_verdicts(c, subflows, &signals);
        for k in &v.checks {
            self.count(k.outcome);
        }
        v
    }

    /// A flow outside every connection.
    pub fn flow(&mut self, f: &Subflow) {
        self.subflow(f);
    }

    fn subflow(&mut self, f: &Subflow) {
        if !f.join {
            return;
        }
        self.joins += 1;
        if let Some(o) = verdicts::OrphanJoin::of(f) {
            if self.orphans.len() < MAX_ORPHANS_LISTED {
                self.orphans.push(o);
            } else {
                self.orphans_unlisted += 1;
            }
        }
    }

    fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail => self.failed += 1,
            Outcome::Skip => self.skipped += 1,
        }
    }

    /// How many connections were handed over and shown.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// The report without its connections' verdicts (given as they finished): the
    /// capture-level checks from `a`, the analysis at the end (its counters and anomalies),
    /// the expectations, and the counts of every outcome.
    pub fn finish(mut self, file: &str, a: &Analysis) -> VerifyReport {
        let expectations: Vec<ExpectationResult> =
            self.expectations.iter().zip(&self.tallies).map(|(e, t)| t.result(e, self.connections, self.fastcloses)).collect();
        let mut orphans = std::mem::take(&mut self.orphans);
        orphans.sort_by_key(|o| o.id);
        let mut capture_checks = vec![verdicts::join_token_check(self.joins, &orphans, self.orphans_unlisted, &mut self.briefs)];
        capture_checks.extend(verdicts::capture_options(a));
        if self.connections > 0 && self.all_v0 {
            for k in &mut capture_checks {
                k.rfc = verdicts::v0_rfc(k.rfc);
            }
        }
        for o in capture_checks.iter().map(|k| k.outcome).chain(expectations.iter().map(|e| e.outcome)).collect::<Vec<_>>() {
            self.count(o);
        }
        VerifyReport {
            file: file.into(),
            connections: Vec::new(),
            capture_checks,
            expectations,
            capture_anomalies: a.anomalies.len() as u64 + a.anomalies_dropped,
            passed: self.passed,
            failed: self.failed,
            skipped: self.skipped,
        }
    }
}

/// MP_JOIN subflows without a connection listed at most in the join-token check (more are
/// counted).
const MAX_ORPHANS_LISTED: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_unique_and_cited() {
        for (i, e) in CATALOG.iter().enumerate() {
            assert!(e.rfc().starts_with("RFC"), "{}", e.id());
            assert!(CATALOG.iter().skip(i + 1).all(|o| o.id() != e.id()), "{}", e.id());
        }
    }
}
