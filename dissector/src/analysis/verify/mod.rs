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

use crate::track::Analysis;

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

    /// A capture without any MPTCP connection gets the capture check `capture.mptcp`: failed
    /// (a CI job that captured nothing, or only plain TCP, must not pass), or skipped when
    /// `allow_empty`. It says what the capture held instead (plain TCP connections, MP_CAPABLE
    /// SYNs no MP_CAPABLE SYN/ACK answered). Captures with a connection are left as they are.
    pub fn require_connections(&mut self, a: &Analysis, allow_empty: bool) {
        if !a.connections.is_empty() {
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

/// Builds the report: the catalog on every connection, then the expectations.
pub fn verify(file: &str, a: &Analysis, expectations: &[Expectation]) -> VerifyReport {
    // Each connection's events, found once (not a scan of the timeline per connection).
    let mut events: ahash::HashMap<usize, Vec<&crate::track::Event>> = ahash::HashMap::default();
    for e in &a.events {
        if let Some(c) = e.connection {
            events.entry(c).or_default().push(e);
        }
    }
    // Each connection's checks on its own: in parallel (rayon's pool), in connection order.
    use rayon::prelude::*;
    let connections: Vec<ConnectionVerdicts> =
        a.connections.par_iter().map(|c| verdicts::connection_verdicts(a, c, events.get(&c.id).map_or(&[], |v| v))).collect();
    let expectations: Vec<ExpectationResult> = expectations.iter().map(|e| expect::evaluate(a, e)).collect();
    let mut capture_checks = verdicts::capture_checks(a);
    capture_checks.extend(verdicts::capture_options(a));
    if !a.connections.is_empty() && a.connections.iter().all(|c| c.version == Some(0)) {
        for k in &mut capture_checks {
            k.rfc = verdicts::v0_rfc(k.rfc);
        }
    }
    let mut r = VerifyReport {
        file: file.into(),
        connections,
        capture_checks,
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
