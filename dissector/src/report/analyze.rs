//! `analyze` and `events` reports: a readable text report and a JSON document (docs/analyze.md,
//! docs/events.md).
use std::io::{self, Write};

use serde::Serialize;

use crate::track::checks::Verdict;
use crate::track::{Analysis, Anomaly, Connection, Dir, Event, Stats, Subflow};

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
    let s = report.stats;
    writeln!(
        out,
        "{}: {} packets ({} TCP, {} with MPTCP options), {:.3} s, {} MPTCP connection(s)",
        report.file,
        s.packets,
        s.tcp_packets,
        s.mptcp_packets,
        (s.last_ts - s.first_ts).max(0.0),
        report.connections.len()
    )?;
    if let Some(w) = &report.warning {
        writeln!(out, "warning: {w}")?;
    }
    let t0 = s.first_ts;
    for cr in &report.connections {
        let c = cr.connection;
        writeln!(out)?;
        writeln!(
            out,
            "Connection {}: MPTCP v{} {} -> {}, state {:?}{}",
            c.id,
            opt(&c.version),
            c.client,
            c.server,
            c.state,
            if c.checksums { ", DSS checksums on" } else { "" }
        )?;
        match c.found_by {
            "data_level" => writeln!(
                out,
                "  found from the data level: no handshake in the capture (client/server {})",
                if c.role_rule == "ports" { "by ports: the higher port is the client's" } else { "by the first packet" }
            )?,
            "mp_capable_ack" => writeln!(out, "  found from the keys of a third ACK: the SYN is not in the capture")?,
            _ => {}
        }
        writeln!(out, "  client key {} token {} idsn {}", opt(&c.client_key), opt(&c.client_token), opt(&c.client_idsn))?;
        writeln!(out, "  server key {} token {} idsn {}", opt(&c.server_key), opt(&c.server_token), opt(&c.server_idsn))?;
        writeln!(out, "  time {:.3} s .. {:.3} s", c.start_ts - t0, c.end_ts - t0)?;
        if let Some(fb) = &c.fallback {
            writeln!(out, "  FALLBACK at frame {}: {}", fb.frame, fb.detail)?;
        }
        for (name, d) in [("c2s", Dir::C2s), ("s2c", Dir::S2c)] {
            let dd = c.data(d);
            writeln!(
                out,
                "  data {name}: {} distinct ({} captured), {}, {} gap(s) {}, {} reinjection(s) {}, goodput {:.2} Mbit/s{}",
                human_bytes(dd.bytes),
                human_bytes(dd.captured_bytes),
                if dd.complete { "complete" } else { "INCOMPLETE" },
                dd.gaps.len(),
                human_bytes(dd.gap_bytes),
                dd.reinjections,
                human_bytes(dd.reinjected_bytes),
                dd.goodput_bps / 1e6,
                dd.sha256.as_ref().map(|h| format!(", sha256 {h}")).unwrap_or_default()
            )?;
            if c.found_by == "data_level" {
                if let Some(first) = dd.first_dsn {
                    writeln!(out, "    starts at DSN {first}, the lowest mapped in the capture: the bytes before it are not in it")?;
                }
            }
        }
        writeln!(out, "  subflows:")?;
        writeln!(
            out,
            "    {:>3} {:<5} {:<44} {:>7} {:>6} {:>9} {:>9} {:>11} {:>11} {:<14}",
            "id", "kind", "client -> server", "ids", "backup", "start", "end", "c2s bytes", "s2c bytes", "ended"
        )?;
        for f in &cr.subflows {
            let ids = format!("{}/{}", opt(&f.client_address_id), opt(&f.server_address_id));
            let ended = f
                .end
                .as_ref()
                .map(|e| match e.reason {
                    Some(r) => format!("{} ({r})", e.how),
                    None => e.how.to_string(),
                })
                .unwrap_or_else(|| "open".into());
            writeln!(
                out,
                "    {:>3} {:<5} {:<44} {:>7} {:>6} {:>9.3} {:>9} {:>11} {:>11} {:<14}",
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
        for f in &cr.subflows {
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
                    "    {:>3} {:<3} {:>10} {:>10} {:>10} {:>10} {:>7} {:>10} {:>5.1}% {:>9} {}",
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
                    from
                )?;
            }
        }
        if !c.announced.is_empty() {
            write!(out, "  announced:")?;
            for a in &c.announced {
                write!(out, " {}#{}={}{}", a.by, a.address_id, a.address, a.port.map(|p| format!(":{p}")).unwrap_or_default())?;
            }
            writeln!(out)?;
        }
        if !c.removed_address_ids.is_empty() {
            writeln!(out, "  removed address ids: {:?}", c.removed_address_ids)?;
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
    if !report.orphans.is_empty() {
        writeln!(out)?;
        writeln!(out, "Orphan subflows (no MP_CAPABLE handshake in the capture):")?;
        for f in &report.orphans {
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
    }
    if !report.anomalies.is_empty() {
        writeln!(out)?;
        writeln!(out, "Capture anomalies:")?;
        for a in report.anomalies.iter().take(50) {
            writeln!(out, "  frame {}: {}: {}", a.frame, a.kind, a.detail)?;
        }
    }
    Ok(())
}

/// `events` as text: one line per event, like `ip mptcp monitor`.
pub fn write_events_text<W: Write>(out: &mut W, events: &[Event]) -> io::Result<()> {
    for e in events {
        write!(
            out,
            "{:.6} [{:>14}] token={} conn={} saddr={} daddr={}",
            e.ts,
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
pub fn write_events_jsonl<W: Write>(out: &mut W, events: &[Event]) -> io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *out, e)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
