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
    pub id: CheckId,
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
    pub fn record(&mut self, id: CheckId, verdict: Verdict, frame: u64, reason: impl FnOnce() -> String) {
        let idx = match self.tallies.iter().position(|t| t.id == id) {
            Some(i) => i,
            None => {
                self.tallies.push(CheckTally {
                    id,
                    rfc: id.rfc(),
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

    pub fn get(&self, id: CheckId) -> Option<&CheckTally> {
        self.tallies.iter().find(|t| t.id == id)
    }

    /// Any check failed.
    pub fn any_fail(&self) -> bool {
        self.tallies.iter().any(|t| t.fail > 0)
    }
}

macro_rules! catalog {
    ($($(#[$doc:meta])* $v:ident = $id:literal, $rfc:literal, $what:literal;)+) => {
        /// A check of the catalog: what `analyze` tallies and `verify` reports, in report
        /// order (docs/verify.md lists them with examples). Written as its stable id
        /// (`mp_join.synack_hmac`); the RFC 8684 section its rule comes from is [`CheckId::rfc`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CheckId {
            $($(#[$doc])* $v,)+
        }

        impl CheckId {
            /// Every check, in report order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$v,)+];

            /// The stable id, e.g. `mp_join.synack_hmac`.
            pub fn id(self) -> &'static str {
                match self {
                    $(CheckId::$v => $id,)+
                }
            }

            /// The check with stable id `id`.
            pub fn from_id(id: &str) -> Option<CheckId> {
                match id {
                    $($id => Some(CheckId::$v),)+
                    _ => None,
                }
            }

            /// The section of RFC 8684 the rule comes from.
            pub fn rfc(self) -> &'static str {
                match self {
                    $(CheckId::$v => $rfc,)+
                }
            }

            /// What the check asks, in a line.
            pub fn what(self) -> &'static str {
                match self {
                    $(CheckId::$v => $what,)+
                }
            }
        }
    };
}

catalog! {
    CapableVersion = "mp_capable.version", "RFC 8684 §3.1", "the SYN/ACK's MP_CAPABLE version is not above the SYN's";
    CapableKeyEcho = "mp_capable.key_echo", "RFC 8684 §3.1", "third ACK / first data MP_CAPABLE echo the keys of SYN/ACK (and SYN in v0)";
    JoinToken = "mp_join.token", "RFC 8684 §3.2", "MP_JOIN SYN tokens match a key of a connection in the capture";
    JoinSynackHmac = "mp_join.synack_hmac", "RFC 8684 §3.2", "SYN/ACK truncated HMAC = leftmost 64 bits of HMAC(KeyB‖KeyA, NonceB‖NonceA)";
    JoinAckHmac = "mp_join.ack_hmac", "RFC 8684 §3.2", "third-ACK HMAC = 160 bits of HMAC(KeyA‖KeyB, NonceA‖NonceB)";
    AddAddrHmac = "add_addr.hmac", "RFC 8684 §3.4.1", "ADD_ADDR HMAC = rightmost 64 bits of HMAC(sender key‖receiver key, id‖addr‖port)";
    DssChecksum = "dss.checksum", "RFC 8684 §3.3.1", "DSS checksum over pseudo-header and the mapping's payload, when checksums are in use";
    MappingConsistency = "dss.mapping_consistency", "RFC 8684 §3.3.1", "overlapping mappings agree on DSNs, and re-sent data-level bytes agree with the first copy";
    DataComplete = "data.complete", "RFC 8684 §3.3", "no DSN gaps between the first data byte and the DATA_FIN in either direction";
    DataClosure = "data.closure", "RFC 8684 §3.3.3", "each DATA_FIN is data-ACKed by the peer";
    Fallback = "fallback", "RFC 8684 §3.7", "no fallback to TCP after MPTCP was in use (an MP_CAPABLE SYN answered without MPTCP is reported, not failed)";
    MpFailResponse = "mp_fail.response", "RFC 8684 §3.7", "a DSS checksum failure is answered by MP_FAIL at the failed mapping's DSN, then by the subflow's reset (other subflows open) or an infinite mapping (a lone subflow falls back)";
    FastcloseKey = "mp_fastclose.key", "RFC 8684 §3.5", "MP_FASTCLOSE carries the receiver's key";
    Signals = "signals", "RFC 8684 §3.5-3.7", "MP_FAIL, MP_FASTCLOSE and MP_TCPRST seen (reported with their frames and reasons)";
    OptionsLength = "options.length", "RFC 8684 §3", "no MPTCP option with a wrong length or layout";
    /// Of the capture, not of a connection: the last of [`CheckId::ALL`].
    CaptureMptcp = "capture.mptcp", "RFC 8684 §3.1", "the capture holds an MPTCP connection (else failed, or skipped with --allow-empty)";
}

impl CheckId {
    /// The checks every connection gets, in report order: all but `capture.mptcp`.
    pub const CONNECTION: &'static [CheckId] = CheckId::ALL.split_at(CheckId::ALL.len() - 1).0;
}

/// The id, padded as `{:<24}` asks.
impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.id())
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_verdicts() {
        let mut c = Checks::default();
        c.record(CheckId::DssChecksum, Verdict::Pass, 1, String::new);
        assert_eq!(c.get(CheckId::DssChecksum).map(|t| t.verdict), Some(Verdict::Pass));
        c.record(CheckId::DssChecksum, Verdict::NotCheckable, 2, || "snaplen".into());
        assert_eq!(c.get(CheckId::DssChecksum).map(|t| t.verdict), Some(Verdict::Pass));
        c.record(CheckId::DssChecksum, Verdict::Fail, 3, || "bad".into());
        let t = c.get(CheckId::DssChecksum).expect("tally");
        assert_eq!((t.verdict, t.pass, t.fail, t.not_checkable, t.findings.len()), (Verdict::Fail, 1, 1, 1, 2));
        for f in 0..100 {
            c.record(CheckId::DssChecksum, Verdict::Fail, f, || "bad".into());
        }
        assert_eq!(c.get(CheckId::DssChecksum).map(|t| t.findings.len()), Some(MAX_FINDINGS));
        assert!(c.any_fail());
    }
}
