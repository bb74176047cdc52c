//! Verification verdicts, tallied per check id so a long capture stays small: counts of each
//! verdict plus the first few results that were not passes (with their frames and reasons).
use serde::Serialize;

/// Outcome of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The value on the wire matches what Linux before 5.8 sent (ADD_ADDR HMAC leftmost 64
    /// bits) or before 5.19 (byte-swapped DSS checksum): explained, but not RFC 8684.
    Legacy,
    NotCheckable,
}

/// One recorded result that was not a plain pass.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub verdict: Verdict,
    pub frame: u64,
    pub reason: String,
}

/// All results of one check id on one connection.
#[derive(Debug, Clone, Serialize)]
pub struct CheckTally {
    /// Stable id, e.g. `mp_join.synack_hmac` (docs/analyze.md lists them).
    pub id: &'static str,
    /// RFC 8684 section the rule comes from.
    pub rfc: &'static str,
    /// Overall verdict: fail if any failed, else legacy if any, else pass if any passed, else
    /// not checkable.
    pub verdict: Verdict,
    pub pass: u64,
    pub fail: u64,
    pub legacy: u64,
    pub not_checkable: u64,
    /// Frame of the first result.
    pub first_frame: u64,
    /// The first results that were not passes (at most [`MAX_FINDINGS`]).
    pub findings: Vec<Finding>,
}

/// Findings kept per check id and connection.
pub const MAX_FINDINGS: usize = 16;

/// The tallies of one connection.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Checks {
    tallies: Vec<CheckTally>,
}

impl Checks {
    /// Records one result. `reason` is only built for results that are kept.
    pub fn record(&mut self, id: &'static str, rfc: &'static str, verdict: Verdict, frame: u64, reason: impl FnOnce() -> String) {
        let idx = match self.tallies.iter().position(|t| t.id == id) {
            Some(i) => i,
            None => {
                self.tallies.push(CheckTally {
                    id,
                    rfc,
                    verdict,
                    pass: 0,
                    fail: 0,
                    legacy: 0,
                    not_checkable: 0,
                    first_frame: frame,
                    findings: Vec::new(),
                });
                self.tallies.len() - 1
            }
        };
        let Some(t) = self.tallies.get_mut(idx) else { return };
        match verdict {
            Verdict::Pass => t.pass += 1,
            Verdict::Fail => t.fail += 1,
            Verdict::Legacy => t.legacy += 1,
            Verdict::NotCheckable => t.not_checkable += 1,
        }
        if verdict != Verdict::Pass && t.findings.len() < MAX_FINDINGS {
            t.findings.push(Finding { verdict, frame, reason: reason() });
        }
        t.verdict = if t.fail > 0 {
            Verdict::Fail
        } else if t.legacy > 0 {
            Verdict::Legacy
        } else if t.pass > 0 {
            Verdict::Pass
        } else {
            Verdict::NotCheckable
        };
    }

    pub fn tallies(&self) -> &[CheckTally] {
        &self.tallies
    }

    pub fn get(&self, id: &str) -> Option<&CheckTally> {
        self.tallies.iter().find(|t| t.id == id)
    }

    /// Any check failed.
    pub fn any_fail(&self) -> bool {
        self.tallies.iter().any(|t| t.fail > 0)
    }
}

/// Check ids and their RFC sections.
pub mod ids {
    pub const CAPABLE_KEY_ECHO: (&str, &str) = ("mp_capable.key_echo", "RFC 8684 §3.1");
    pub const JOIN_TOKEN: (&str, &str) = ("mp_join.token", "RFC 8684 §3.2");
    pub const JOIN_SYNACK_HMAC: (&str, &str) = ("mp_join.synack_hmac", "RFC 8684 §3.2");
    pub const JOIN_ACK_HMAC: (&str, &str) = ("mp_join.ack_hmac", "RFC 8684 §3.2");
    pub const ADD_ADDR_HMAC: (&str, &str) = ("add_addr.hmac", "RFC 8684 §3.4.1");
    pub const DSS_CHECKSUM: (&str, &str) = ("dss.checksum", "RFC 8684 §3.3.1");
    pub const FASTCLOSE_KEY: (&str, &str) = ("mp_fastclose.key", "RFC 8684 §3.5");
    pub const MAPPING_CONSISTENCY: (&str, &str) = ("dss.mapping_consistency", "RFC 8684 §3.3.1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_verdicts() {
        let mut c = Checks::default();
        c.record("x", "§1", Verdict::Pass, 1, String::new);
        assert_eq!(c.get("x").map(|t| t.verdict), Some(Verdict::Pass));
        c.record("x", "§1", Verdict::NotCheckable, 2, || "snaplen".into());
        assert_eq!(c.get("x").map(|t| t.verdict), Some(Verdict::Pass));
        c.record("x", "§1", Verdict::Fail, 3, || "bad".into());
        let t = c.get("x").expect("tally");
        assert_eq!((t.verdict, t.pass, t.fail, t.not_checkable, t.findings.len()), (Verdict::Fail, 1, 1, 1, 2));
        for f in 0..100 {
            c.record("x", "§1", Verdict::Fail, f, || "bad".into());
        }
        assert_eq!(c.get("x").map(|t| t.findings.len()), Some(MAX_FINDINGS));
        assert!(c.any_fail());
    }
}
