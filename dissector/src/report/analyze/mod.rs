//! `analyze` and `events` reports: a readable text report and a JSON document (docs/analyze.md,
//! docs/events.md).
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use serde::Serialize;

use crate::report::time::{write_epoch_json, write_time, TimeFormat, TimeRef};
use crate::track::checks::Verdict;
use crate::track::kinds::{FoundBy, RoleRule};
use crate::track::receiver::HolDelay;
use crate::track::{Analysis, Announcement, Anomaly, Connection, Dir, Event, Retire, Stats, Subflow, SubflowKind};

/// One connection with its subflows inlined, as the JSON report shows it.
#[derive(Serialize)]
pub struct ConnectionReport<'a> {
    #[serde(flatten)]
    pub connection: &'a Connection,
    pub subflows: Vec<&'a Subflow>,
}

/// The JSON document of `analyze`.
#[derive(Serialize)]
pub struct AnalyzeReport<'a> {
    pub file: &'a str,
    pub stats: &'a Stats,
    pub connections: Vec<ConnectionReport<'a>>,
    /// Subflows with MPTCP options whose connection handshake is not in the capture.
    pub orphans: Vec<&'a Subflow>,
    pub anomalies: &'a [Anomaly],
    pub anomalies_dropped: u64,
    /// Set when the capture was cut mid-record (everything before it was analysed).
    pub warning: Option<String>,
}

impl<'a> AnalyzeReport<'a> {
    pub fn new(file: &'a str, a: &'a Analysis, warning: Option<String>) -> Self {
        let connections = a
            .connections
            .iter()
            .map(|c| ConnectionReport { connection: c, subflows: c.subflow_ids.iter().filter_map(|&s| a.subflows.get(s)).collect() })
            .collect();
        AnalyzeReport {
            file,
            stats: &a.stats,
            connections,
            orphans: a.orphans().collect(),
            anomalies: &a.anomalies,
            anomalies_dropped: a.anomalies_dropped,
            warning,
        }
    }
}

pub fn write_json<W: Write>(out: &mut W, report: &AnalyzeReport<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
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

fn human_bytes(b: u64) -> String {
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

fn write_header<W: Write>(out: &mut W, file: &str, s: &Stats, connections: u64, warning: &Option<String>) -> io::Result<()> {
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
fn write_connection<W: Write>(out: &mut W, t0: f64, c: &Connection, subflows: &[&Subflow]) -> io::Result<()> {
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
                    Some(r) => match crate::options::mptcp::tcprst_reason_name(r) {
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
        "ttl" => format!("TTL client {} server {}", opt(&p.client_ttl), opt(&p.server_ttl)),
        "handshake" => format!("SYN to SYN/ACK {} ms, SYN/ACK to ACK {} ms", ms3(p.syn_to_synack_ms), ms3(p.synack_to_ack_ms)),
        "forwarded_copies" => "segments captured in and out of a router".to_string(),
        _ => "no TTL or handshake timing tells".to_string(),
    };
    writeln!(out, "  receiver view (capture point: {}, {how}):", p.near)?;
    for (name, d) in dirs {
        let r = &c.data(d).receiver;
        let at = match p.at_receiver(d == Dir::C2s) {
            Some(true) => "at the receiver",
            Some(false) => "at the sender: an estimate",
            None if p.near == "between" => "between the ends: an estimate",
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

/// Orphan subflows; `more`: orphans not kept (bounded reports).
fn write_orphans<W: Write>(out: &mut W, orphans: &[&Subflow], more: u64) -> io::Result<()> {
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
                f.orphan_token.as_deref().filter(|t| !t.is_empty()).unwrap_or("-"),
                f.c2s.bytes,
                f.s2c.bytes
            )?;
        }
        if more > 0 {
            writeln!(out, "  ... and {more} more")?;
        }
    }
    Ok(())
}

fn write_anomalies<W: Write>(out: &mut W, anomalies: &[Anomaly]) -> io::Result<()> {
    if !anomalies.is_empty() {
        writeln!(out)?;
        writeln!(out, "Capture anomalies:")?;
        for a in anomalies.iter().take(50) {
            writeln!(out, "  frame {}: {}: {}", a.frame, a.kind, a.detail)?;
        }
    }
    Ok(())
}

/// `events` as text: one line per event, like `ip mptcp monitor`.
/// `events` as text lines, each starting with its time in `time` (`d` and `dd` both count from
/// the previous event printed); `stats` gives the capture's first packet and timestamp digits.
pub fn write_events_text<W: Write>(out: &mut W, events: &[Event], time: TimeFormat, stats: &Stats) -> io::Result<()> {
    let mut prev: Option<u64> = None;
    for e in events {
        let times = TimeRef {
            first_ns: stats.first_ts_ns,
            prev_ns: prev.unwrap_or(e.ts_ns),
            prev_shown_ns: prev,
            digits: if stats.ts_digits == 0 { 6 } else { stats.ts_digits },
        };
        write_time(out, time, e.ts_ns, &times)?;
        prev = Some(e.ts_ns);
        write!(
            out,
            " [{:>14}] token={} conn={} saddr={} daddr={}",
            serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            e.token.as_deref().unwrap_or("-"),
            opt(&e.connection),
            e.saddr,
            e.daddr
        )?;
        if let Some(id) = e.address_id {
            write!(out, " id={id}")?;
        }
        if let Some(a) = &e.address {
            write!(out, " addr={a}")?;
        }
        if let Some(b) = e.backup {
            write!(out, " backup={}", u8::from(b))?;
        }
        if let Some(r) = &e.reason {
            write!(out, " reason=\"{r}\"")?;
        }
        writeln!(out, " frame={}", e.frame)?;
    }
    Ok(())
}

/// `events` as JSON lines.
/// `ts` is written exact (every digit of the capture's timestamp, see
/// [`write_epoch_json`]), not through a double.
pub fn write_events_jsonl<W: Write>(out: &mut W, events: &[Event]) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    for e in events {
        line.clear();
        serde_json::to_writer(&mut line, e)?;
        // `ts` is the first field: `{"ts":<double>,...`; put the exact value in its place.
        let rest = line.strip_prefix(b"{\"ts\":").and_then(|r| r.iter().position(|&b| b == b',').and_then(|k| r.get(k..)));
        match rest {
            Some(rest) => {
                out.write_all(b"{\"ts\":")?;
                write_epoch_json(out, e.ts_ns)?;
                out.write_all(rest)?;
            }
            None => out.write_all(&line)?,
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Shares a [`Retire`] sink with the caller: the analyzer owns the box, the caller keeps the
/// `Rc` to read the results after [`crate::track::Analyzer::finish`].
pub struct Shared<T>(pub Rc<RefCell<T>>);

impl<T: Retire> Retire for Shared<T> {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.0.borrow_mut().connection(conn, subflows);
    }
    fn flow(&mut self, flow: Subflow) {
        self.0.borrow_mut().flow(flow);
    }
}

/// Counters over every finished connection, for reports that do not keep them all.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    pub connections: u64,
    pub subflows: u64,
    pub orphans: u64,
    /// Connections by state at their end.
    pub closed: u64,
    pub fast_closed: u64,
    pub fallback: u64,
    pub timed_out: u64,
    pub open_at_end: u64,
    /// Connections with a failed check, with anomalies.
    pub failed_checks: u64,
    pub with_anomalies: u64,
    /// Connections whose two directions were both rebuilt complete.
    pub complete: u64,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    pub reinjected_bytes: u64,
}

impl Totals {
    fn add(&mut self, c: &Connection, subflows: usize) {
        use crate::track::ConnState;
        self.connections += 1;
        self.subflows += subflows as u64;
        match c.state {
            ConnState::Closed => self.closed += 1,
            ConnState::FastClosed => self.fast_closed += 1,
            ConnState::Fallback => self.fallback += 1,
            ConnState::TimedOut => self.timed_out += 1,
            ConnState::SynSent | ConnState::Established => self.open_at_end += 1,
        }
        self.failed_checks += u64::from(c.checks.any_fail());
        self.with_anomalies += u64::from(!c.anomalies.is_empty());
        self.complete += u64::from(c.c2s.complete && c.s2c.complete);
        self.c2s_bytes += c.c2s.bytes;
        self.s2c_bytes += c.s2c.bytes;
        self.reinjected_bytes += c.c2s.reinjected_bytes + c.s2c.reinjected_bytes;
    }
}

/// The `analyze --format jsonl` record of a finished connection.
#[derive(Serialize)]
struct ConnectionRecord<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    report: ConnectionReport<'a>,
}

#[derive(Serialize)]
struct OrphanRecord<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    subflow: &'a Subflow,
}

/// The last `analyze --format jsonl` record.
#[derive(Serialize)]
struct SummaryRecord<'a> {
    r#type: &'static str,
    file: &'a str,
    stats: &'a Stats,
    totals: &'a Totals,
    anomalies: &'a [Anomaly],
    anomalies_dropped: u64,
    warning: &'a Option<String>,
}

/// `analyze --format jsonl` (docs/analyze.md): one line per connection as it finishes, one per
/// orphan subflow, and a summary line at the end. Keeps nothing but the totals.
pub struct JsonlWriter<W: Write> {
    out: W,
    totals: Totals,
    /// The first write error; nothing is written after it.
    pub error: Option<io::Error>,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out, totals: Totals::default(), error: None }
    }

    fn line(&mut self, v: &impl Serialize) {
        if self.error.is_none() {
            let r = serde_json::to_writer(&mut self.out, v).map_err(io::Error::from).and_then(|_| self.out.write_all(b"\n"));
            self.error = r.err();
        }
    }

    /// Writes the summary record and flushes.
    pub fn finish(&mut self, file: &str, a: &Analysis, warning: &Option<String>) -> io::Result<()> {
        let totals = self.totals.clone();
        let rec = SummaryRecord {
            r#type: "summary",
            file,
            stats: &a.stats,
            totals: &totals,
            anomalies: &a.anomalies,
            anomalies_dropped: a.anomalies_dropped,
            warning,
        };
        self.line(&rec);
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

impl<W: Write> Retire for JsonlWriter<W> {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.totals.add(&conn, subflows.len());
        let report = ConnectionReport { connection: &conn, subflows: subflows.iter().collect() };
        self.line(&ConnectionRecord { r#type: "connection", report });
    }
    fn flow(&mut self, flow: Subflow) {
        if is_orphan(&flow) {
            self.totals.orphans += 1;
            self.line(&OrphanRecord { r#type: "orphan", subflow: &flow });
        }
    }
}

fn is_orphan(f: &Subflow) -> bool {
    f.connection.is_none() && f.kind != SubflowKind::Tcp
}

/// Up to this many connections the text report shows every one.
pub const TEXT_ALL_UP_TO: usize = 20;
/// Past [`TEXT_ALL_UP_TO`]: at most this many connections with failed checks or anomalies, and
/// this many of the largest others, are shown.
const TEXT_NOTABLE: usize = 20;
const TEXT_LARGEST: usize = 5;
const TEXT_ORPHANS: usize = 50;

type Finished = (Connection, Vec<Subflow>);

/// The text report of a capture of any size: every connection while there are at most
/// [`TEXT_ALL_UP_TO`]; past that, the totals and the connections that matter (failed checks,
/// anomalies, the largest), in bounded memory.
#[derive(Default)]
pub struct TextSummary {
    totals: Totals,
    /// Every connection while few; then only the notable ones.
    kept: Vec<Finished>,
    /// The largest of the others, by data-level bytes.
    largest: Vec<Finished>,
    notable_more: u64,
    orphans: Vec<Subflow>,
    orphans_more: u64,
}

fn notable(c: &Connection) -> bool {
    c.checks.any_fail() || !c.anomalies.is_empty() || c.fallback.is_some()
}

fn size(c: &Connection) -> u64 {
    c.c2s.bytes + c.s2c.bytes
}

impl TextSummary {
    fn many(&self) -> bool {
        self.totals.connections as usize > TEXT_ALL_UP_TO
    }

    fn consider_largest(&mut self, f: Finished) {
        self.largest.push(f);
        self.largest.sort_by(|a, b| size(&b.0).cmp(&size(&a.0)).then(a.0.id.cmp(&b.0.id)));
        self.largest.truncate(TEXT_LARGEST);
    }

    fn place(&mut self, f: Finished) {
        if notable(&f.0) {
            if self.kept.len() < TEXT_NOTABLE {
                self.kept.push(f);
            } else {
                self.notable_more += 1;
            }
        } else {
            self.consider_largest(f);
        }
    }

    pub fn write<W: Write>(&mut self, out: &mut W, file: &str, a: &Analysis, warning: &Option<String>) -> io::Result<()> {
        let t0 = a.stats.first_ts;
        write_header(out, file, &a.stats, self.totals.connections, warning)?;
        self.kept.sort_by_key(|f| f.0.id);
        if self.many() {
            let t = &self.totals;
            writeln!(out)?;
            writeln!(
                out,
                "Totals: {} connections, {} subflows; {} closed, {} fast-closed, {} fallback, {} timed out, {} open at the end",
                t.connections, t.subflows, t.closed, t.fast_closed, t.fallback, t.timed_out, t.open_at_end
            )?;
            writeln!(
                out,
                "  data c2s {}, s2c {}, reinjected {}; {} connections complete both ways",
                human_bytes(t.c2s_bytes),
                human_bytes(t.s2c_bytes),
                human_bytes(t.reinjected_bytes),
                t.complete
            )?;
            writeln!(out, "  {} with a failed check, {} with anomalies", t.failed_checks, t.with_anomalies)?;
            if !self.kept.is_empty() {
                writeln!(out)?;
                writeln!(
                    out,
                    "Connections with failed checks, anomalies or fallback ({} shown{}):",
                    self.kept.len(),
                    if self.notable_more > 0 { format!(", {} more", self.notable_more) } else { String::new() }
                )?;
            }
        }
        for (c, subflows) in &self.kept {
            write_connection(out, t0, c, &subflows.iter().collect::<Vec<_>>())?;
        }
        if self.many() {
            writeln!(out)?;
            writeln!(out, "Largest other connections ({} shown):", self.largest.len())?;
            for (c, subflows) in &self.largest {
                write_connection(out, t0, c, &subflows.iter().collect::<Vec<_>>())?;
            }
            writeln!(out)?;
            writeln!(out, "(`analyze --all` lists every connection; `--format jsonl` writes one line per connection)")?;
        }
        self.orphans.sort_by_key(|f| f.id);
        let orphans: Vec<&Subflow> = self.orphans.iter().collect();
        write_orphans(out, &orphans, self.orphans_more)?;
        write_anomalies(out, &a.anomalies)
    }
}

impl Retire for TextSummary {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.totals.add(&conn, subflows.len());
        if !self.many() {
            self.kept.push((conn, subflows));
            return;
        }
        if self.totals.connections as usize == TEXT_ALL_UP_TO + 1 {
            // From now on only what matters is kept.
            for f in std::mem::take(&mut self.kept) {
                self.place(f);
            }
        }
        self.place((conn, subflows));
    }
    fn flow(&mut self, flow: Subflow) {
        if is_orphan(&flow) {
            self.totals.orphans += 1;
            if self.orphans.len() < TEXT_ORPHANS {
                self.orphans.push(flow);
            } else {
                self.orphans_more += 1;
            }
        }
    }
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
