//! `mp_fail.response`: what the ends did about a DSS checksum failure (RFC 8684 §3.7).
//!
//! The receiver of a mapping whose checksum failed sends MP_FAIL with the DSN of the start of
//! that mapping. With other subflows open it closes the failing subflow with a RST (Linux adds
//! MP_TCPRST reason 6, middlebox interference) and the data is reinjected elsewhere: the
//! connection stays MPTCP. On a lone subflow the sender answers with an infinite mapping and
//! both fall back to TCP (or, when fallback is no longer possible, the connection is reset).
//! A path that corrupts data is not the stacks' fault: this check fails only when their answer
//! is not the one §3.7 asks for.
use super::{CheckId, CheckResult};
use crate::track::{AnomalyKind, ChecksumFailure, ConnState, Connection, EndHow, Subflow};

const ID: CheckId = CheckId::MpFailResponse;

pub(super) fn response(c: &Connection, subflows: &[Subflow]) -> CheckResult {
    if c.checksum_failures.is_empty() {
        return CheckResult::skip(ID, "no DSS checksum failure or MP_FAIL in the capture");
    }
    let mut notes = Vec::new();
    let mut frames = Vec::new();
    let mut failed = false;
    let mut judged = false;
    for x in &c.checksum_failures {
        frames.extend(x.frame);
        frames.extend(x.mp_fail_frame);
        let what = format!(
            "{} data on subflow {}{}",
            x.dir.name(),
            x.subflow,
            x.frame.map(|f| format!(", checksum failed at frame {f}")).unwrap_or_default()
        );
        let Some(mp_fail) = x.mp_fail_frame else {
            if c.state == ConnState::Closed {
                failed = true;
                notes.push(format!("{what}: no MP_FAIL answered it, though the connection closed in the capture"));
            } else {
                notes.push(format!("{what}: no MP_FAIL in the capture (not checkable: the capture may end first)"));
            }
            continue;
        };
        if let (Some(dsn), Some(sent)) = (x.dsn, x.mp_fail_dsn) {
            if dsn != sent {
                failed = true;
                notes.push(format!("{what}: MP_FAIL at frame {mp_fail} carries DSN {sent}, the failed mapping starts at DSN {dsn}"));
                continue;
            }
        }
        let answer = answer(subflows, c, x, mp_fail);
        judged = true;
        match (x.others_open, answer) {
            (Some(true), Some(Answer::Reset(f))) => {
                frames.push(f);
                notes.push(format!(
                    "{what}: MP_FAIL at frame {mp_fail}, subflow {} reset at frame {f}, the connection stays MPTCP on its other subflows",
                    x.subflow
                ));
            }
            (Some(true), Some(Answer::Fallback(f))) => {
                failed = true;
                frames.push(f);
                notes.push(format!("{what}: MP_FAIL at frame {mp_fail} with other subflows open, yet an infinite mapping at frame {f} fell back to TCP (the subflow should have been reset)"));
            }
            (_, Some(Answer::Fallback(f))) => {
                frames.push(f);
                notes.push(format!(
                    "{what}: MP_FAIL at frame {mp_fail} on the only subflow, answered by an infinite mapping at frame {f}: fallback to TCP"
                ));
            }
            (_, Some(Answer::Reset(f))) => {
                frames.push(f);
                notes.push(format!(
                    "{what}: MP_FAIL at frame {mp_fail} on the only subflow, which was reset at frame {f} (no fallback possible)"
                ));
            }
            (_, None) if x.options_stopped_frame.is_some() => {
                failed = true;
                let stopped = x.options_stopped_frame.unwrap_or_default();
                frames.push(stopped);
                notes.push(format!(
                    "{what}: MP_FAIL at frame {mp_fail} on the only subflow{}, then the data sender's segments carry no MPTCP option from frame {stopped} on, without an infinite mapping: it fell back without telling its peer (§3.7 asks for an infinite mapping)",
                    x.mp_fail_echo_frame.map(|f| format!(", answered by an MP_FAIL at frame {f}")).unwrap_or_default()
                ));
            }
            (_, None) if c.state == ConnState::Closed => {
                failed = true;
                notes.push(format!("{what}: MP_FAIL at frame {mp_fail}, but neither the subflow's reset nor an infinite mapping followed"));
            }
            (_, None) => {
                judged = false;
                notes.push(format!("{what}: MP_FAIL at frame {mp_fail}, no answer in the capture yet (not checkable)"));
            }
        }
    }
    frames.sort_unstable();
    frames.dedup();
    frames.truncate(8);
    match (failed, judged) {
        (true, _) => CheckResult::fail(ID, notes.join("; "), frames),
        (false, true) => CheckResult::pass(ID, notes.join("; "), frames),
        (false, false) => CheckResult { frames, ..CheckResult::skip(ID, &notes.join("; ")) },
    }
}

enum Answer {
    /// The failing subflow ended with a RST (frame).
    Reset(u64),
    /// An infinite mapping (frame).
    Fallback(u64),
}

fn answer(subflows: &[Subflow], c: &Connection, x: &ChecksumFailure, after: u64) -> Option<Answer> {
    if let Some(f) = c.fallback.as_ref().filter(|f| f.kind == AnomalyKind::InfiniteMapping && f.frame > after) {
        return Some(Answer::Fallback(f.frame));
    }
    let end = super::verdicts::subflow(subflows, x.subflow)?.end.as_ref()?;
    (matches!(end.how, EndHow::Rst | EndHow::MpTcprst) && end.frame >= after).then_some(Answer::Reset(end.frame))
}
