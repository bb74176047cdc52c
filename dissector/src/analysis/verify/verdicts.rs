//! The catalog's checks on one connection, and the capture-level ones: mostly the tracker's
//! tallies (`track::checks`) turned into results, plus what only the whole connection shows
//! (data completeness, DATA_FIN closure, fallback, signals).
use super::{CheckResult, ConnectionVerdicts, Outcome};
use crate::track::checks::{CheckId, Verdict};
use crate::track::kinds::{AnomalyKind, EndHow, FoundBy};
use std::net::SocketAddr;

use crate::track::{Analysis, ConnState, Connection, Dir, EventKind, OrphanToken, Subflow};

/// An MP_JOIN subflow whose token no MP_CAPABLE handshake in the capture produced (some were
/// placed in a connection from the data level afterwards).
pub(super) struct OrphanJoin {
    pub(super) id: usize,
    token: mptcp_wire::crypto::Token,
    first_frame: u64,
    start_ts: f64,
    client: SocketAddr,
    server: SocketAddr,
}

impl OrphanJoin {
    pub(super) fn of(s: &Subflow) -> Option<OrphanJoin> {
        let token = s.orphan_token.and_then(OrphanToken::token)?;
        Some(OrphanJoin { id: s.id, token, first_frame: s.first_frame, start_ts: s.start_ts, client: s.client, server: s.server })
    }
}

/// What the join-token check needs of each connection with both keys known, spooled (to
/// memory, then a temporary file past [`Briefs::IN_MEMORY`]) as connections finish and read
/// back at the end only when some MP_JOIN token matched no connection.
#[derive(Default)]
pub(super) struct Briefs {
    mem: Vec<Brief>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// The spool could not be written: the check says so rather than guess.
    lost: bool,
}

#[derive(Clone, Copy)]
struct Brief {
    id: u64,
    start_ts: f64,
    end_ts: f64,
    server_port: u16,
    client_ip: std::net::IpAddr,
    tokens: [Option<mptcp_wire::crypto::Token>; 2],
}

impl Brief {
    const BYTES: usize = 8 + 8 + 8 + 2 + 17 + 10;

    fn encode(&self) -> [u8; Self::BYTES] {
        let mut b = [0u8; Self::BYTES];
        b[0..8].copy_from_slice(&self.id.to_le_bytes());
        b[8..16].copy_from_slice(&self.start_ts.to_le_bytes());
        b[16..24].copy_from_slice(&self.end_ts.to_le_bytes());
        b[24..26].copy_from_slice(&self.server_port.to_le_bytes());
        match self.client_ip {
            std::net::IpAddr::V4(ip) => b[27..31].copy_from_slice(&ip.octets()),
            std::net::IpAddr::V6(ip) => {
                b[26] = 1;
                b[27..43].copy_from_slice(&ip.octets());
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if let Some(t) = t {
                b[43 + i * 5] = 1;
                b[44 + i * 5..48 + i * 5].copy_from_slice(&t.0.to_le_bytes());
            }
        }
        b
    }

    fn decode(b: &[u8; Self::BYTES]) -> Brief {
        let u64_at = |i: usize| u64::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
        let client_ip = if b[26] == 1 {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[27..43]);
            std::net::IpAddr::from(o)
        } else {
            std::net::IpAddr::from([b[27], b[28], b[29], b[30]])
        };
        let token = |i: usize| {
            (b[43 + i * 5] == 1)
                .then(|| mptcp_wire::crypto::Token(u32::from_le_bytes([b[44 + i * 5], b[45 + i * 5], b[46 + i * 5], b[47 + i * 5]])))
        };
        Brief {
            id: u64_at(0),
            start_ts: f64::from_bits(u64_at(8)),
            end_ts: f64::from_bits(u64_at(16)),
            server_port: u16::from_le_bytes([b[24], b[25]]),
            client_ip,
            tokens: [token(0), token(1)],
        }
    }
}

impl Briefs {
    /// Briefs kept in memory before they go to a temporary file.
    const IN_MEMORY: usize = 4096;

    pub(super) fn push(&mut self, c: &Connection) {
        if c.client_key.is_none() || c.server_key.is_none() {
            return;
        }
        let b = Brief {
            id: c.id as u64,
            start_ts: c.start_ts,
            end_ts: c.end_ts,
            server_port: c.server.port(),
            client_ip: c.client.ip(),
            tokens: [c.client_token, c.server_token],
        };
        if self.file.is_none() && self.mem.len() < Self::IN_MEMORY {
            self.mem.push(b);
            return;
        }
        use std::io::Write;
        if self.file.is_none() && !self.lost {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(std::io::BufWriter::new(f)),
                Err(_) => self.lost = true,
            }
        }
        if let Some(f) = &mut self.file {
            if f.write_all(&b.encode()).is_err() {
                self.lost = true;
                self.file = None;
            }
        }
    }

    /// For each orphan join, the connection of the lowest id alive with both keys known when
    /// it started, to the same server port (or whose client the join went to); `Err` when the
    /// spool could not be read back. One pass over the spool; the joins by start time, so that
    /// each connection looks only at those that started while it was alive.
    fn live_at(&mut self, orphans: &[OrphanJoin]) -> Result<Vec<Option<Brief>>, ()> {
        use std::io::{Read, Seek};
        let mut by_start: Vec<(f64, usize)> = orphans.iter().enumerate().map(|(i, o)| (o.start_ts, i)).collect();
        by_start.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best: Vec<Option<Brief>> = vec![None; orphans.len()];
        let mut take = |c: Brief| {
            let from = by_start.partition_point(|&(t, _)| t < c.start_ts);
            for &(t, i) in by_start.get(from..).unwrap_or_default() {
                if t > c.end_ts {
                    break;
                }
                let s = &orphans[i];
                let matches = c.server_port == s.server.port() || c.client_ip == s.server.ip();
                if matches && best[i].is_none_or(|x| c.id < x.id) {
                    best[i] = Some(c);
                }
            }
        };
        self.mem.iter().copied().for_each(&mut take);
        if self.lost {
            return Err(());
        }
        if let Some(w) = self.file.take() {
            let mut f = w.into_inner().map_err(|_| ())?;
            f.rewind().map_err(|_| ())?;
            let mut r = std::io::BufReader::new(&mut f);
            let mut buf = [0u8; Brief::BYTES];
            loop {
                match r.read_exact(&mut buf) {
                    Ok(()) => take(Brief::decode(&buf)),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(_) => return Err(()),
                }
            }
        }
        Ok(best)
    }
}

/// Capture-level `mp_join.token`: an MP_JOIN SYN whose token no connection produced is an
/// orphan subflow, not part of any connection's checks. It fails when a connection to the
/// same server port (or a server-initiated join to its client's address) was alive, with both
/// keys known, when the join started: that connection's peer should have produced the token.
/// Otherwise the connection is simply not in the capture, and the check skips. `joins`: the
/// MP_JOIN subflows of the capture; `orphans`: those without a connection, in id order
/// (`unlisted` more were only counted).
pub(super) fn join_token_check(joins: u64, orphans: &[OrphanJoin], unlisted: u64, briefs: &mut Briefs) -> CheckResult {
    let id = CheckId::JoinToken;
    let total = orphans.len() as u64 + unlisted;
    if total == 0 {
        return if joins == 0 {
            CheckResult::skip(id, "no MP_JOIN subflow in the capture")
        } else {
            CheckResult::pass(id, format!("all {joins} MP_JOIN token(s) matched a connection"), vec![])
        };
    }
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    let Ok(lives) = briefs.live_at(orphans) else {
        return CheckResult::skip(id, "not checkable: the temporary file of the connections could not be written or read back");
    };
    for (s, live) in orphans.iter().zip(lives) {
        let token = s.token;
        match live {
            Some(c) => bad.push((
                s.first_frame,
                format!(
                    "MP_JOIN SYN {} -> {} at frame {} has token {token}, but connection {} (tokens {} / {}) was alive with both keys known",
                    s.client,
                    s.server,
                    s.first_frame,
                    c.id,
                    c.tokens[0].map_or_else(|| "?".into(), |t| t.to_string()),
                    c.tokens[1].map_or_else(|| "?".into(), |t| t.to_string())
                ),
            )),
            None => unknown.push((s.first_frame, format!("token {token} at frame {}", s.first_frame))),
        }
    }
    let more = if unlisted > 0 { format!(" ({unlisted} more not examined)") } else { String::new() };
    let frames: Vec<u64> = bad.iter().chain(unknown.iter()).map(|(f, _)| *f).take(8).collect();
    if let Some((_, first)) = bad.first() {
        CheckResult {
            id,
            rfc: id.rfc(),
            outcome: Outcome::Fail,
            evaluated: total,
            detail: format!("{} of {} unknown MP_JOIN token(s) wrong: {first}{more}", bad.len(), total),
            frames,
        }
    } else {
        CheckResult {
            id,
            rfc: id.rfc(),
            outcome: Outcome::Skip,
            evaluated: total,
            detail: format!(
                "MP_JOIN token(s) of a connection not in the capture (no live connection to that server with both keys): {}{more}",
                unknown.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>().join("; ")
            ),
            frames,
        }
    }
}

fn from_tally(c: &Connection, id: CheckId, skip_reason: &str) -> CheckResult {
    let rfc = id.rfc();
    match c.checks.get(id) {
        None => CheckResult { id, rfc, outcome: Outcome::Skip, evaluated: 0, detail: skip_reason.into(), frames: vec![] },
        Some(t) => {
            let evaluated = t.pass + t.fail + t.legacy + t.not_checkable;
            // The frames that show the verdict: the failures of a failed check, else what was kept.
            let shown = |v: Verdict| t.findings.iter().filter(move |f| f.verdict == v).map(|f| f.frame);
            let frames: Vec<u64> = match t.verdict {
                Verdict::Fail | Verdict::Legacy => shown(t.verdict).take(8).collect(),
                _ if t.findings.is_empty() => vec![t.first_frame],
                _ => t.findings.iter().map(|f| f.frame).take(8).collect(),
            };
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

/// The catalog on connection `c` with its own `subflows`; `signals`: its MP_FASTCLOSE and
/// MP_FAIL events (kind, frame), in capture order.
pub(super) fn connection_verdicts(c: &Connection, subflows: &[Subflow], signals: &[(EventKind, u64)]) -> ConnectionVerdicts {
    let sub = |s: usize| subflow(subflows, s);
    let mut checks = Vec::new();
    let handshake_fallback = c.fallback.as_ref().is_some_and(|f| f.kind == AnomalyKind::Handshake);

    // Version.
    checks.push(match (c.syn_version, c.version) {
        _ if handshake_fallback => CheckResult::skip(CheckId::CapableVersion, "the peer answered without MP_CAPABLE"),
        (Some(s), Some(v)) if v <= s => CheckResult::pass(CheckId::CapableVersion, format!("SYN v{s}, SYN/ACK v{v}"), vec![]),
        (Some(s), Some(v)) => CheckResult::fail(CheckId::CapableVersion, format!("SYN/ACK version {v} above the SYN's {s}"), vec![]),
        _ if c.found_by == FoundBy::DataLevel => {
            CheckResult::skip(CheckId::CapableVersion, "the capture starts after the handshake (connection found from the data level)")
        }
        _ => CheckResult::skip(CheckId::CapableVersion, "handshake not in the capture"),
    });
    let no_keys = if handshake_fallback {
        "the peer answered without MP_CAPABLE"
    } else if c.found_by == FoundBy::DataLevel {
        "the capture starts after the handshake: keys not in it"
    } else {
        "no third ACK or first data with both keys in the capture"
    };
    let id = CheckId::CapableKeyEcho;
    checks.push(from_tally(c, id, no_keys));
    let joins = c.subflow_ids.iter().filter(|&&s| sub(s).is_some_and(|f| f.join)).count();
    for (id, answered) in
        [(CheckId::JoinToken, "MP_JOIN SYN"), (CheckId::JoinSynackHmac, "MP_JOIN SYN/ACK"), (CheckId::JoinAckHmac, "MP_JOIN third ACK")]
    {
        let handshakes_missing =
            c.subflow_ids.iter().filter(|&&s| sub(s).is_some_and(|f| f.kind == crate::track::SubflowKind::Unknown)).count();
        let why = if joins > 0 && c.client_key.is_none() && c.server_key.is_none() {
            "the connection's keys are not in the capture (its handshake is not)".to_string()
        } else if joins == 0 && handshakes_missing > 0 {
            format!("{handshakes_missing} subflow(s) whose handshake is not in the capture")
        } else if joins == 0 {
            "no MP_JOIN subflow in the capture".to_string()
        } else {
            format!("{joins} MP_JOIN SYN(s) but no {answered} in the capture (join refused?)")
        };
        checks.push(from_tally(c, id, &why));
    }
    let id = CheckId::AddAddrHmac;
    checks.push(if c.version == Some(0) {
        // RFC 6824 §3.4.1: a v0 ADD_ADDR has no HMAC field, so there is nothing to check.
        let n = c.announced.iter().filter(|x| !x.echo).count();
        CheckResult {
            id,
            rfc: id.rfc(),
            outcome: Outcome::Skip,
            evaluated: 0,
            detail: format!("not applicable to v0: an RFC 6824 ADD_ADDR carries no HMAC ({n} ADD_ADDR in the capture)"),
            frames: vec![],
        }
    } else {
        from_tally(c, id, "no ADD_ADDR in the capture")
    });
    let id = CheckId::DssChecksum;
    checks.push(from_tally(c, id, if c.checksums { "no checksummed mapping in the capture" } else { "DSS checksums not negotiated" }));
    // Mapping consistency: DSN agreement (tracker) and byte agreement (reassembler).
    let id = CheckId::MappingConsistency;
    let mut mc = from_tally(c, id, "no DSS mapping in the capture");
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
            .all(|&s| sub(s).is_some_and(|f| f.end.as_ref().is_some_and(|e| e.how == EndHow::Fin || e.how == EndHow::NoAnswer)));
    let mut details = Vec::new();
    let (mut failed, mut passed) = (false, false);
    for (name, d) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
        let dd = c.data(d);
        if dd.bytes == 0 && dd.data_fin_dsn.is_none() {
            details.push(format!("{name}: no data"));
        } else if dd.data_fin_dsn.is_none() {
            details.push(format!("{name}: no DATA_FIN in the capture: it ends before the data does (not checkable)"));
        } else if dd.gap_count == 0 && dd.start_unknown {
            // No handshake: nothing says where the stream began, so no verdict on its start.
            details.push(format!(
                "{name}: {} bytes, no gaps from DSN {} (the first in the capture) to the DATA_FIN; the start is not in the capture (not checkable)",
                dd.bytes,
                dd.first_dsn.map_or_else(|| "?".to_string(), |d| d.to_string())
            ));
        } else if dd.gap_count == 0 {
            passed = true;
            details.push(format!("{name}: {} bytes, no gaps", dd.bytes));
        } else if dd.data_acked.is_some_and(|ack| dd.gaps.iter().all(|(_, end)| mptcp_wire::seq::DataSeq(*end) <= ack)) {
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
        id: CheckId::DataComplete,
        rfc: CheckId::DataComplete.rfc(),
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
            (Some(fin), Some(ack)) if ack > fin => {
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
        id: CheckId::DataClosure,
        rfc: CheckId::DataClosure.rfc(),
        outcome,
        evaluated: 2,
        detail: details.join("; "),
        frames: vec![],
    });

    // Fallback: after a checksum failure on a lone subflow it is what RFC 8684 §3.7 asks for.
    let answers_mp_fail = |frame: u64| c.checksum_failures.iter().any(|x| x.mp_fail_frame.is_some_and(|m| m < frame));
    checks.push(match &c.fallback {
        None => CheckResult::pass(CheckId::Fallback, "no fallback".into(), vec![]),
        Some(f) if f.kind == AnomalyKind::Handshake => {
            CheckResult::pass(CheckId::Fallback, format!("peer does not speak MPTCP: {}", f.detail), vec![f.frame])
        }
        Some(f) if f.kind == AnomalyKind::InfiniteMapping && answers_mp_fail(f.frame) => CheckResult::pass(
            CheckId::Fallback,
            format!("fell back to TCP after a DSS checksum failure, as §3.7 prescribes: {}", f.detail),
            vec![f.frame],
        ),
        Some(f) => {
            CheckResult::fail(CheckId::Fallback, format!("fell back to TCP mid-connection ({}): {}", f.kind, f.detail), vec![f.frame])
        }
    });
    checks.push(super::mp_fail::response(c, subflows));
    let id = CheckId::FastcloseKey;
    checks.push(from_tally(c, id, "no MP_FASTCLOSE"));

    // Signals: reported, not failed.
    let mut seen = Vec::new();
    let mut frames = Vec::new();
    for &(kind, frame) in signals {
        let name = match kind {
            EventKind::Fastclose => Some("MP_FASTCLOSE"),
            EventKind::MpFail => Some("MP_FAIL"),
            _ => None,
        };
        if let Some(name) = name {
            seen.push(format!("{name} at frame {frame}"));
            frames.push(frame);
        }
    }
    for &s in &c.subflow_ids {
        if let Some(end) = sub(s).and_then(|f| f.end.as_ref()) {
            if end.how == EndHow::MpTcprst {
                seen.push(format!("MP_TCPRST reason {} on subflow {s} at frame {}", end.reason.unwrap_or(0), end.frame));
                frames.push(end.frame);
            }
        }
    }
    frames.sort_unstable();
    frames.dedup();
    checks.push(if seen.is_empty() {
        CheckResult::pass(CheckId::Signals, "no MP_FAIL, MP_FASTCLOSE or MP_TCPRST".into(), vec![])
    } else {
        frames.truncate(8);
        CheckResult::pass(CheckId::Signals, seen.join("; "), frames)
    });
    checks.push(if c.malformed_options == 0 {
        CheckResult::pass(CheckId::OptionsLength, "every MPTCP option well-formed".into(), vec![])
    } else {
        let frames = c.anomalies.iter().filter(|x| x.kind == AnomalyKind::MalformedOption).map(|x| x.frame).take(8).collect();
        let first = c.anomalies.iter().find(|x| x.kind == AnomalyKind::MalformedOption).map(|x| x.detail.clone()).unwrap_or_default();
        CheckResult::fail(CheckId::OptionsLength, format!("{} malformed MPTCP option(s); first: {first}", c.malformed_options), frames)
    });
    if c.version == Some(0) {
        for k in &mut checks {
            k.rfc = v0_rfc(k.rfc);
        }
    }
    ConnectionVerdicts { connection: c.id, client: c.client.to_string(), server: c.server.to_string(), checks }
}

/// Subflow `id` among a connection's own `subflows` (in id order).
pub(super) fn subflow(subflows: &[Subflow], id: usize) -> Option<&Subflow> {
    subflows.binary_search_by_key(&id, |f| f.id).ok().and_then(|i| subflows.get(i))
}

/// Where RFC 6824 (v0) states the rule the catalog cites from RFC 8684: the same sections up to
/// Fast Close (§3.5); v0 has fallback and MP_FAIL in §3.6 (RFC 8684 §3.7) and no MP_TCPRST.
pub(super) fn v0_rfc(rfc: &'static str) -> &'static str {
    match rfc {
        "RFC 8684 §3" => "RFC 6824 §3",
        "RFC 8684 §3.1" => "RFC 6824 §3.1",
        "RFC 8684 §3.2" => "RFC 6824 §3.2",
        "RFC 8684 §3.3" => "RFC 6824 §3.3",
        "RFC 8684 §3.3.1" => "RFC 6824 §3.3.1",
        "RFC 8684 §3.3.3" => "RFC 6824 §3.3.3",
        "RFC 8684 §3.4.1" => "RFC 6824 §3.4.1",
        "RFC 8684 §3.5" => "RFC 6824 §3.5",
        "RFC 8684 §3.5-3.7" => "RFC 6824 §3.5-3.6",
        "RFC 8684 §3.7" => "RFC 6824 §3.6",
        other => other,
    }
}

/// Capture-level `options.length`: a malformed MPTCP option on a packet of no connection (a
/// lone SYN, a flow whose handshake is not in the capture) is still a wrong option. Nothing is
/// added when there is none (the connections' own checks cover theirs).
pub(super) fn capture_options(a: &Analysis) -> Option<CheckResult> {
    let mut bad = a.anomalies.iter().filter(|x| x.kind == AnomalyKind::MalformedOption);
    let first = bad.next()?;
    let n = 1 + bad.count();
    let frames = a.anomalies.iter().filter(|x| x.kind == AnomalyKind::MalformedOption).map(|x| x.frame).take(8).collect();
    Some(CheckResult::fail(
        CheckId::OptionsLength,
        format!("{n} malformed MPTCP option(s) outside any connection; first: {}", first.detail),
        frames,
    ))
}
