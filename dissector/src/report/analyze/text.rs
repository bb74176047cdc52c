//! The readable `analyze` report (docs/analyze.md): the capture's header, one block per
//! connection (subflows, data level, receiver, checks, announcements), orphan subflows and
//! anomalies. [`super::TextSummary`] writes the same blocks for a capture of any size.
use std::io::{self, Write};

use super::document::AnalyzeReport;
use crate::track::checks::Verdict;
use crate::track::kinds::{FoundBy, Near, NearRule, RoleRule};
use crate::track::receiver::HolDelay;
use crate::track::{Announcement, Anomaly, Connection, Dir, OrphanToken, Stats, Subflow};

pub(super) fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Legacy => "legacy",
        Verdict::NotCheckable => "not checkable",
    }
}

/// Each DSS checksum failure, with the MP_FAIL that answered it and what became of the data.
fn write_checksum_failures<W: Write>(out: &mut W, c: &Connection) -> io::Result<()> {
    for x in &c.checksum_failures {
        let mut line = match (x.frame, x.dsn) {
            (Some(f), Some(dsn)) => format!(
                "  DSS checksum FAILED at frame {f}: {} mapping at DSN {dsn} ({} B) on subflow {}",
                x.dir.name(),
                x.length,
                x.subflow
            ),
            _ => format!("  MP_FAIL about {} data on subflow {} whose checksum the capture did not see fail", x.dir.name(), x.subflow),
        };
        if let (Some(f), Some(dsn)) = (x.mp_fail_frame, x.mp_fail_dsn) {
            line.push_str(&format!("; MP_FAIL at frame {f} (DSN {dsn})"));
        }
        if x.frame.is_some() {
            line.push_str(if x.dropped {
                "; the receiver drops that data (it comes again on another subflow)"
            } else {
                "; the receiver keeps that data (a lone subflow falls back)"
            });
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `complete`, `INCOMPLETE`, or, for a stream whose start the capture lacks, how far it is whole.
fn completeness(dd: &crate::track::DataDir) -> String {
    match (dd.complete, dd.complete_from) {
        (true, _) => "complete".into(),
        (false, Some(from)) => format!("complete from DSN {from} only (the start is not in the capture)"),
        (false, None) => "INCOMPLETE".into(),
    }
}

/// A rate in the unit that shows it: 5 KiB over 9 s is "4.55 kbit/s", not "0.00 Mbit/s".
/// The goodput, or why there is none: data spanning less than 1 ms carries no rate.
fn goodput_text(dd: &crate::track::DataDir) -> String {
    if dd.bytes == 0 {
        return "0 bit/s".to_string();
    }
    if dd.duration_s < crate::track::data::MIN_RATE_DURATION_S {
        return match dd.start_ts == dd.end_ts {
            true => "n/a (all data at one instant: no rate)".to_string(),
            false => format!("n/a (data spans {:.3} ms, under 1 ms: too short for a rate)", dd.duration_s * 1e3),
        };
    }
    human_rate(dd.goodput_bps)
}

fn human_rate(bits_per_sec: f64) -> String {
    if bits_per_sec >= 1e6 {
        format!("{:.2} Mbit/s", bits_per_sec / 1e6)
    } else if bits_per_sec >= 1e3 {
        format!("{:.2} kbit/s", bits_per_sec / 1e3)
    } else {
        format!("{bits_per_sec:.0} bit/s")
    }
}

pub(super) fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The readable text report.
pub fn write_text<W: Write>(out: &mut W, report: &AnalyzeReport<'_>) -> io::Result<()> {
    write_header(out, report.file, report.stats, report.connections.len() as u64, &report.warning)?;
    for cr in &report.connections {
        write_connection(out, report.stats.first_ts, cr.connection, &cr.subflows)?;
    }
    write_orphans(out, &report.orphans, 0)?;
    write_anomalies(out, report.anomalies)
}

pub(super) fn write_header<W: Write>(out: &mut W, file: &str, s: &Stats, connections: u64, warning: &Option<String>) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} packets ({} TCP, {} with MPTCP options), {:.3} s, {} MPTCP connection(s)",
        file,
        s.packets,
        s.tcp_packets,
        s.mptcp_packets,
        (s.last_ts - s.first_ts).max(0.0),
        connections
    )?;
    if let Some(w) = warning {
        writeln!(out, "warning: {w}")?;
    }
    if s.forwarded_copies > 0 {
        writeln!(
            out,
            "{} segment(s) captured twice, on their way into and out of a router (TTL one lower): each counted once",
            s.forwarded_copies
        )?;
    }
    write_plain_tcp(out, s, connections)
}

/// What the capture holds besides MPTCP, so that a report without connections explains itself:
/// the plain TCP connections, and the MP_CAPABLE SYNs no MP_CAPABLE SYN/ACK answered.
fn write_plain_tcp<W: Write>(out: &mut W, s: &Stats, connections: u64) -> io::Result<()> {
    if s.tcp_connections + s.tcp_flows_without_syn > 0 {
        writeln!(
            out,
            "plain TCP (no MPTCP option): {} connection(s) with their SYN in the capture, {} flow(s) without it",
            s.tcp_connections, s.tcp_flows_without_syn
        )?;
    }
    if s.mp_capable_unanswered > 0 {
        writeln!(
            out,
            "MP_CAPABLE offered but not answered: {} connection(s) whose MP_CAPABLE SYN got no MP_CAPABLE SYN/ACK (fallback to TCP or no answer: a server without MPTCP, or a middlebox stripping the option)",
            s.mp_capable_unanswered
        )?;
    }
    if connections == 0 && s.tcp_packets > 0 {
        if s.mptcp_packets == 0 {
            writeln!(
                out,
                "no MPTCP connection: no SYN offered MP_CAPABLE and no MPTCP option was seen (MPTCP not enabled on the client, or the option removed before this capture point)"
            )?;
        } else {
            writeln!(
                out,
                "no MPTCP connection: MPTCP options were seen, but no handshake or data-level mapping tied them to a connection (the capture starts too late, or misses the initial subflow's path; orphan subflows below)"
            )?;
        }
    }
    Ok(())
}

/// One connection's block of the text report.
pub(super) fn write_connection<W: Write>(out: &mut W, t0: f64, c: &Connection, subflows: &[&Subflow]) -> io::Result<()> {
    {
        writeln!(out)?;
        writeln!(
            out,
            "Connection {}: MPTCP v{} {} -> {}, state {}{}",
            c.id,
            opt(&c.version),
            c.client,
            c.server,
            c.state,
            if c.checksums { ", DSS checksums on" } else { "" }
        )?;
        match c.found_by {
            FoundBy::DataLevel => writeln!(
                out,
                "  found from the data level: no handshake in the capture (client/server {})",
                if c.role_rule == RoleRule::Ports { "by ports: the higher port is the client's" } else { "by the first packet" }
            )?,
            FoundBy::MpCapableAck => writeln!(out, "  found from the keys of a third ACK: the SYN is not in the capture")?,
            _ => {}
        }
        writeln!(out, "  client key {} token {} idsn {}", opt(&c.client_key), opt(&c.client_token), opt(&c.client_idsn))?;
        writeln!(out, "  server key {} token {} idsn {}", opt(&c.server_key), opt(&c.server_token), opt(&c.server_idsn))?;
        writeln!(out, "  time {:.3} s .. {:.3} s", c.start_ts - t0, c.end_ts - t0)?;
        if let Some(fb) = &c.fallback {
            writeln!(out, "  FALLBACK at frame {}: {}", fb.frame, fb.detail)?;
        }
        write_checksum_failures(out, c)?;
        for (name, d) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
            let dd = c.data(d);
            writeln!(
                out,
                "  data {name}: {} distinct ({} captured{}), {}, {} gap(s) {}, {} reinjection(s) {}, goodput {}{}",
                human_bytes(dd.bytes),
                human_bytes(dd.captured_bytes),
                if dd.syn_data_bytes > 0 { format!(", and {} B in the SYN: TCP Fast Open", dd.syn_data_bytes) } else { String::new() },
                completeness(dd),
                dd.gaps.len(),
                human_bytes(dd.gap_bytes),
                dd.reinjections,
                human_bytes(dd.reinjected_bytes),
                goodput_text(dd),
                dd.sha256.as_ref().map(|h| format!(", sha256 {h}")).unwrap_or_default()
            )?;
            if c.found_by == FoundBy::DataLevel {
                if let Some(first) = dd.first_dsn {
                    writeln!(out, "    starts at DSN {first}, the lowest mapped in the capture: the bytes before it are not in it")?;
                }
            }
        }
        writeln!(out, "  subflows:")?;
        writeln!(
            out,
            "    {:>3} {:<5} {:<44} {:>7} {:>6} {:>9} {:>9} {:>11} {:>11} ended",
            "id", "kind", "client -> server", "ids", "backup", "start", "end", "c2s bytes", "s2c bytes"
        )?;
        for f in subflows {
            let ids = format!("{}/{}", opt(&f.client_address_id), opt(&f.server_address_id));
            let ended = f
                .end
                .as_ref()
                .map(|e| match e.reason {
                    Some(r) => match mptcp_wire::options::mptcp::tcprst_reason_name(r) {
                        Some(words) => format!("{} ({words})", e.how),
                        None => format!("{} (reason {r})", e.how),
                    },
                    None => e.how.to_string(),
                })
                .unwrap_or_else(|| "open".into());
            writeln!(
                out,
                "    {:>3} {:<5} {:<44} {:>7} {:>6} {:>9.3} {:>9} {:>11} {:>11} {}",
                f.id,
                if f.join { "join" } else { "init" },
                format!("{} -> {}", f.client, f.server),
                ids,
                if f.backup { "yes" } else { "no" },
                f.start_ts - t0,
                f.end.as_ref().map_or_else(|| "-".into(), |e| format!("{:.3}", e.ts - t0)),
                f.c2s.bytes,
                f.s2c.bytes,
                ended
            )?;
            write_tunnel(out, f)?;
        }
        writeln!(out, "  per subflow data:")?;
        writeln!(
            out,
            "    {:>3} {:<3} {:>10} {:>10} {:>10} {:>10} {:>7} {:>10} {:>6} {:>9} {:<}",
            "id", "dir", "wire B", "new B", "reinj B", "retrans B", "probe B", "unmapped B", "share", "rtt ms", "reinjected from"
        )?;
        for f in subflows {
            for (name, d) in [("c2s", &f.c2s), ("s2c", &f.s2c)] {
                let from = d
                    .reinjected_from
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {} B{}",
                            r.subflow.map_or("?".to_string(), |s| format!("sf{s}")),
                            r.bytes,
                            r.first_delay_ms.map(|ms| format!(" after {ms:.1} ms")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                writeln!(
                    out,
                    "    {:>3} {:<3} {:>10} {:>10} {:>10} {:>10} {:>7} {:>10} {:>5.1}% {:>9}{}{}",
                    f.id,
                    name,
                    d.bytes,
                    d.new_data_bytes,
                    d.reinjected_bytes,
                    d.retransmitted_bytes,
                    d.probe_bytes,
                    d.unmapped_bytes,
                    d.share * 100.0,
                    d.rtt.avg_ms.map_or("-".to_string(), |v| format!("{v:.2}")),
                    if from.is_empty() { "" } else { " " },
                    from
                )?;
            }
        }
        write_receiver(out, c)?;
        write_announced(out, &c.announced)?;
        if !c.removed_address_ids.is_empty() {
            let ids: Vec<String> = c.removed_address_ids.iter().map(|i| i.to_string()).collect();
            writeln!(out, "  removed address ids: {}", ids.join(", "))?;
        }
        writeln!(out, "  checks:")?;
        for t in c.checks.tallies() {
            writeln!(
                out,
                "    {:<24} {:<13} pass {} fail {} legacy {} not-checkable {}  ({})",
                t.id,
                verdict_word(t.verdict),
                t.pass,
                t.fail,
                t.legacy,
                t.not_checkable,
                t.rfc
            )?;
            for f in t.findings.iter().take(3) {
                writeln!(out, "      frame {}: {} — {}", f.frame, verdict_word(f.verdict), f.reason)?;
            }
        }
        if !c.anomalies.is_empty() {
            writeln!(out, "  anomalies:")?;
            for a in &c.anomalies {
                writeln!(out, "    frame {}: {}: {}", a.frame, a.kind, a.detail)?;
            }
            if c.anomalies_dropped > 0 {
                writeln!(out, "    ... and {} more", c.anomalies_dropped)?;
            }
        }
    }
    Ok(())
}

fn ms3(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.3}"))
}

fn hol_line(h: &HolDelay) -> String {
    format!(
        "{} pieces {}, {} waited ({}); head-of-line ms: median {} p90 {} p99 {} max {}",
        h.segments,
        human_bytes(h.bytes),
        h.waited_segments,
        human_bytes(h.waited_bytes),
        ms3(h.median_ms),
        ms3(h.p90_ms),
        ms3(h.p99_ms),
        ms3(h.max_ms)
    )
}

/// The receiver's view of each direction that carried data (issue 14).
fn write_receiver<W: Write>(out: &mut W, c: &Connection) -> io::Result<()> {
    let dirs: Vec<_> = [("c2s", Dir::C2s), ("s2c", Dir::S2c)].into_iter().filter(|(_, d)| c.data(*d).receiver.hol.segments > 0).collect();
    if dirs.is_empty() {
        return Ok(());
    }
    let p = &c.capture_point;
    let how = match p.rule {
        NearRule::Ttl => format!("TTL client {} server {}", opt(&p.client_ttl), opt(&p.server_ttl)),
        NearRule::Handshake => format!("SYN to SYN/ACK {} ms, SYN/ACK to ACK {} ms", ms3(p.syn_to_synack_ms), ms3(p.synack_to_ack_ms)),
        NearRule::ForwardedCopies => "segments captured in and out of a router".to_string(),
        NearRule::None => "no TTL or handshake timing tells".to_string(),
    };
    writeln!(out, "  receiver view (capture point: {}, {how}):", p.near)?;
    for (name, d) in dirs {
        let r = &c.data(d).receiver;
        let at = match p.at_receiver(d == Dir::C2s) {
            Some(true) => "at the receiver",
            Some(false) => "at the sender: an estimate",
            None if p.near == Near::Between => "between the ends: an estimate",
            None => "capture point unknown",
        };
        writeln!(out, "    {name} ({at}): {}", hol_line(&r.hol))?;
        let f0 = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        if r.out_of_order_segments == 0 {
            writeln!(out, "      out of order 0")?;
        } else {
            writeln!(
                out,
                "      out of order {} ({}), distance p50 {} B / {} ms, max {} B / {} ms; reorder buffer p50 {} B, p99 {} B, max {} B",
                r.out_of_order_segments,
                human_bytes(r.out_of_order_bytes),
                f0(r.reorder_distance_bytes.p50),
                ms3(r.reorder_distance_ms.p50),
                f0(r.reorder_distance_bytes.max),
                ms3(r.reorder_distance_ms.max),
                f0(r.reorder_buffer_bytes.p50),
                f0(r.reorder_buffer_bytes.p99),
                f0(r.reorder_buffer_bytes.max)
            )?;
        }
        writeln!(
            out,
            "      copies: {} duplicate(s) {}, {} retransmitted {}, {} probe(s){}{}",
            r.duplicate_segments,
            human_bytes(r.duplicate_bytes),
            r.retransmitted_duplicate_segments,
            human_bytes(r.retransmitted_duplicate_bytes),
            r.probe_segments,
            if r.undelivered_segments > 0 {
                format!("; {} piece(s) {} never deliverable", r.undelivered_segments, human_bytes(r.undelivered_bytes))
            } else {
                String::new()
            },
            if r.untracked_segments > 0 { format!("; {} piece(s) not followed (limit)", r.untracked_segments) } else { String::new() }
        )?;
        for h in &r.hol_by_subflow {
            let id = match h.subflow {
                Some(Some(s)) => format!("sf{s}"),
                _ => "other".to_string(),
            };
            writeln!(out, "      {id}: {}", hol_line(h))?;
        }
    }
    Ok(())
}

/// The line under a subflow that came through a tunnel (none for the others, so reports of
/// captures without tunnels are as they were).
fn write_tunnel<W: Write>(out: &mut W, f: &Subflow) -> io::Result<()> {
    match (f.tunnel(), f.tunnel_changed_frame()) {
        (Some(t), None) => writeln!(out, "        tunnel {t}"),
        (Some(t), Some(frame)) => writeln!(out, "        tunnel {t}; another tunnel (or none) from frame {frame}"),
        (None, Some(frame)) => writeln!(out, "        no tunnel, then one from frame {frame}"),
        (None, None) => Ok(()),
    }
}

/// Orphan subflows; `more`: orphans not kept (bounded reports).
pub(super) fn write_orphans<W: Write>(out: &mut W, orphans: &[&Subflow], more: u64) -> io::Result<()> {
    if !orphans.is_empty() {
        writeln!(out)?;
        writeln!(out, "Orphan subflows (no MP_CAPABLE handshake in the capture):")?;
        for f in orphans {
            writeln!(
                out,
                "  {} {} -> {} token {} c2s {} s2c {}",
                f.id,
                f.client,
                f.server,
                opt(&f.orphan_token.and_then(OrphanToken::token)),
                f.c2s.bytes,
                f.s2c.bytes
            )?;
            write_tunnel(out, f)?;
        }
        if more > 0 {
            writeln!(out, "  ... and {more} more")?;
        }
    }
    Ok(())
}

pub(super) fn write_anomalies<W: Write>(out: &mut W, anomalies: &[Anomaly]) -> io::Result<()> {
    if !anomalies.is_empty() {
        writeln!(out)?;
        writeln!(out, "Capture anomalies:")?;
        for a in anomalies.iter().take(50) {
            writeln!(out, "  frame {}: {}: {}", a.frame, a.kind, a.detail)?;
        }
    }
    Ok(())
}

/// `announced:` the ADD_ADDRs each side sent, each once, with `(echoed)` when the peer echoed
/// it (RFC 8684 §3.4.1: an echo acknowledges an announcement, it announces nothing); an echo
/// whose announcement the capture does not hold is listed apart.
fn write_announced<W: Write>(out: &mut W, announced: &[Announcement]) -> io::Result<()> {
    let addr = |a: &Announcement| format!("#{}={}{}", a.address_id, a.address, a.port.map(|p| format!(":{p}")).unwrap_or_default());
    let same = |a: &Announcement, b: &Announcement| a.by != b.by && a.address_id == b.address_id && a.address == b.address;
    let (echoes, sent): (Vec<&Announcement>, Vec<&Announcement>) = announced.iter().partition(|a| a.echo);
    if !sent.is_empty() {
        write!(out, "  announced:")?;
        for a in &sent {
            let echoed = echoes.iter().any(|e| same(e, a));
            write!(out, " {}{}{}", a.by, addr(a), if echoed { " (echoed)" } else { "" })?;
        }
        writeln!(out)?;
    }
    let lone: Vec<String> =
        echoes.iter().filter(|e| !sent.iter().any(|a| same(a, e))).map(|e| format!("by {} {}", e.by, addr(e))).collect();
    if !lone.is_empty() {
        writeln!(out, "  echoes of announcements not in the capture: {}", lone.join(", "))?;
    }
    Ok(())
}
