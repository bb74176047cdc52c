//! mptcp-report: one self-contained HTML page from a capture (`mptcp-trace report`), the thing a
//! tester attaches to a bug. It holds the capture summary, the connections and their subflows,
//! the `verify` verdicts with their frames, the event timeline, and the throughput and data
//! sequence plots of the busiest connections as inline SVG. Nothing is fetched: no script, no
//! external style sheet, font or image (the page is checked in a headless Chromium by
//! `cli/tests/report_browser.rs`).
//!
//! It sits after the plots in the pipeline: [`Page`] is a pipeline sink that reads the capture
//! once (with the analyzer handing finished connections and events over), runs the `verify`
//! catalog on each connection as it finishes and keeps only what the page shows, so memory and
//! the page follow [`Options`], not the capture: totals and distributions over every connection,
//! per-check totals, the listed connections (all of them up to `max_connections`; past that the
//! ones that failed a check or had anomalies first, then the busiest), the first `max_events`
//! events, and the plot series of the `plotted_connections` busiest.
//!
//! ```
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::track::Limits;
//!
//! // testdata/two-subflows.pcap: one MPTCP connection, 12 checks passed, 4 skipped, none failed
//! // (`mptcp-trace verify`).
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let opts = mptcp_report::Options::default();
//! let page = mptcp_report::gather("two-subflows.pcap", &mut reader, 100_000_000, Limits::default(), &opts);
//! assert_eq!((page.verdicts.passed, page.verdicts.failed, page.verdicts.skipped), (12, 0, 4));
//! let mut html = Vec::new();
//! mptcp_report::write_html(&mut html, &page, &opts).unwrap();
//! let html = String::from_utf8(html).unwrap();
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains("<title>MPTCP report: two-subflows.pcap</title>"));
//! assert!(html.contains("198.51.100.1:44329")); // the joined subflow's client end
//! ```
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::{self, Write};

use mptcp_dissector::analysis::verify::{CheckResult, Outcome};
use mptcp_dissector::track::{Connection, Dir, Event, Subflow, SubflowKind};
use mptcp_plots::{Capture, PlotKind, PlotOptions};
use plotters::prelude::{IntoDrawingArea, SVGBackend};

mod page;
pub use page::{analyzer, gather, Gathered, Page, Totals};

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Options {
    /// Plots are drawn for at most this many connections (the busiest, by data-level bytes).
    pub plotted_connections: usize,
    /// At most this many events are listed (the rest are counted).
    pub max_events: usize,
    /// At most this many connections get a row and a subflow table (the rest are counted).
    pub max_connections: usize,
    /// Plot size in pixels.
    pub plot_width: u32,
    pub plot_height: u32,
    /// Shown in the header: the tool and its version.
    pub generator: String,
    /// How the capture ended early, if it did.
    pub warning: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            plotted_connections: 3,
            max_events: 2000,
            max_connections: 200,
            plot_width: 900,
            plot_height: 420,
            generator: "mptcp-trace".into(),
            warning: None,
        }
    }
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 1.5em auto; max-width: 1200px; color: #1b1b1b; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; } th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #136f2e; font-weight: 600; } .fail { color: #b00020; font-weight: 700; } .skip { color: #777; }
.meta { color: #555; font-size: 0.9em; } .warn { background: #fff4e5; border: 1px solid #f0b35a; padding: 0.4em 0.7em; }
figure { margin: 0.8em 0; } figure svg { border: 1px solid #e3e3e3; max-width: 100%; height: auto; }
.placeholder { border: 1px dashed #aaa; color: #666; padding: 0.8em; font-size: 0.9em; }
nav a { margin-right: 1em; } code { font-size: 0.9em; }
"#;

/// Writes the page.
pub fn write_html<W: Write>(out: &mut W, g: &Gathered, opts: &Options) -> io::Result<()> {
    let mut h = String::with_capacity(1 << 20);
    let (cap, verdicts) = (&g.cap, &g.verdicts);
    let a = &cap.analysis;
    let s = &a.stats;
    let title = format!("MPTCP report: {}", cap.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(h, "<p class=\"meta\">made by {} — self-contained: no script, nothing fetched</p>", esc(&opts.generator));
    let _ = writeln!(
        h,
        "<nav><a href=\"#summary\">Summary</a><a href=\"#connections\">Connections</a><a href=\"#distributions\">Distributions</a><a href=\"#verify\">Verify</a><a href=\"#events\">Events</a><a href=\"#plots\">Plots</a></nav>"
    );

    // Capture summary.
    let _ = writeln!(h, "<h2 id=\"summary\">Capture summary</h2>");
    if let Some(w) = &opts.warning {
        let _ = writeln!(h, "<p class=\"warn\">warning: {}; everything before it was used</p>", esc(w));
    }
    let _ = writeln!(h, "<table class=\"summary\">");
    let row = |h: &mut String, k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), v);
    };
    row(&mut h, "file", esc(&cap.name));
    row(&mut h, "packets", format!("{} ({} TCP, {} with MPTCP options)", s.packets, s.tcp_packets, s.mptcp_packets));
    row(&mut h, "duration", format!("{:.3} s", (s.last_ts - s.first_ts).max(0.0)));
    row(&mut h, "MPTCP connections", g.totals.connections.to_string());
    row(&mut h, "subflows", g.totals.subflows.to_string());
    row(
        &mut h,
        "plain TCP (no MPTCP option)",
        format!("{} connection(s), {} flow(s) without their SYN", s.tcp_connections, s.tcp_flows_without_syn),
    );
    row(&mut h, "MP_CAPABLE offered, not answered", s.mp_capable_unanswered.to_string());
    row(&mut h, "orphan subflows", g.totals.orphans.to_string());
    row(&mut h, "capture anomalies", (a.anomalies.len() as u64 + a.anomalies_dropped).to_string());
    row(&mut h, "connections that failed a check or had an anomaly", g.totals.problems.to_string());
    row(
        &mut h,
        "verify",
        format!(
            "<span class=\"{}\">{} passed, {} failed, {} skipped</span>",
            if verdicts.ok() { "pass" } else { "fail" },
            verdicts.passed,
            verdicts.failed,
            verdicts.skipped
        ),
    );
    let _ = writeln!(h, "</table>");
    if g.totals.connections == 0 {
        let _ = writeln!(
            h,
            "<p class=\"warn\">No MPTCP connection in this capture: see the plain TCP, MP_CAPABLE and orphan counts above (<code>mptcp-trace analyze</code> says what they can mean).</p>"
        );
    }

    write_connections(&mut h, g);
    write_distributions(&mut h, g);
    write_verdicts(&mut h, g);
    write_events(&mut h, g);
    write_plots(&mut h, cap, opts);
    let _ = writeln!(h, "</body>\n</html>");
    out.write_all(h.as_bytes())
}

fn state_word(c: &Connection) -> String {
    c.state.to_string()
}

fn write_connections(h: &mut String, g: &Gathered) {
    let cap = &g.cap;
    let _ = writeln!(h, "<h2 id=\"connections\">Connections and subflows</h2>");
    if g.totals.connections == 0 {
        let _ = writeln!(h, "<p>none</p>");
        return;
    }
    let not_listed = g.totals.connections - g.listed.len() as u64;
    if not_listed > 0 {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{} of {} connections listed: those that failed a check or had an anomaly first, then the busiest (data-level bytes)</p>",
            g.listed.len(),
            g.totals.connections
        );
    }
    let _ = writeln!(
        h,
        "<table class=\"connections\"><tr><th>id</th><th>version</th><th>client</th><th>server</th><th>state</th><th>subflows</th><th>start (s)</th><th>end (s)</th><th>c2s bytes</th><th>s2c bytes</th><th>complete</th><th>reinjected bytes</th><th>fallback</th></tr>"
    );
    for c in g.listed.iter().map(|l| &l.conn) {
        let _ = writeln!(
            h,
            "<tr><td class=\"num\"><a href=\"#conn-{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            c.version.map_or("-".into(), |v| format!("v{v}")),
            esc(&c.client.to_string()),
            esc(&c.server.to_string()),
            esc(&state_word(c)),
            c.subflow_ids.len(),
            cap.rel(c.start_ts),
            cap.rel(c.end_ts),
            c.c2s.bytes,
            c.s2c.bytes,
            match (c.c2s.complete, c.s2c.complete) {
                (true, true) => "both ways",
                (true, false) => "c2s only",
                (false, true) => "s2c only",
                (false, false) => "no",
            },
            c.c2s.reinjected_bytes + c.s2c.reinjected_bytes,
            c.fallback.as_ref().map_or(String::new(), |f| esc(&format!("frame {}: {}", f.frame, f.detail))),
            id = c.id,
        );
    }
    let _ = writeln!(h, "</table>");
    if not_listed > 0 {
        let _ = writeln!(h, "<p class=\"meta\">{not_listed} more connection(s) not listed (`mptcp-trace analyze` lists them all)</p>");
    }
    for l in &g.listed {
        let c = &l.conn;
        let _ = writeln!(
            h,
            "<h3 id=\"conn-{}\">Connection {}: {} → {}</h3>\n<p class=\"meta\">client key {} token {} · server key {} token {}</p>",
            c.id,
            c.id,
            esc(&c.client.to_string()),
            esc(&c.server.to_string()),
            esc(&c.client_key.map_or("-".into(), |v| v.to_string())),
            esc(&c.client_token.map_or("-".into(), |v| v.to_string())),
            esc(&c.server_key.map_or("-".into(), |v| v.to_string())),
            esc(&c.server_token.map_or("-".into(), |v| v.to_string())),
        );
        write_subflows(h, cap, &l.subflows);
    }
}

fn write_distributions(h: &mut String, g: &Gathered) {
    let _ = writeln!(h, "<h2 id=\"distributions\">Distributions</h2>");
    if g.totals.connections == 0 {
        let _ = writeln!(h, "<p>no MPTCP connection</p>");
        return;
    }
    let _ = writeln!(h, "<p class=\"meta\">Every connection of the capture, listed or not.</p>");
    for d in &g.totals.distributions {
        let _ = writeln!(h, "<table class=\"distribution\"><tr><th>{}</th><th>connections</th></tr>", esc(d.title));
        for (name, n) in d.names().zip(&d.counts) {
            let _ = writeln!(h, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(name));
        }
        let _ = writeln!(h, "</table>");
    }
}

fn write_subflows(h: &mut String, cap: &Capture, subflows: &[Subflow]) {
    let _ = writeln!(
        h,
        "<table class=\"subflows\"><tr><th>id</th><th>kind</th><th>client → server</th><th>address ids</th><th>backup</th><th>start (s)</th><th>end (s)</th><th>c2s bytes</th><th>s2c bytes</th><th>retransmitted bytes</th><th>ended</th></tr>"
    );
    for f in subflows {
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{} → {}</td><td>{}/{}</td><td>{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            f.id,
            match f.kind {
                SubflowKind::Initial => "init",
                SubflowKind::Join => "join",
                SubflowKind::Tcp => "TCP",
                SubflowKind::Unknown => "unknown",
            },
            esc(&f.client.to_string()),
            esc(&f.server.to_string()),
            f.client_address_id.map_or("-".into(), |v| v.to_string()),
            f.server_address_id.map_or("-".into(), |v| v.to_string()),
            if f.backup { "yes" } else { "no" },
            cap.rel(f.start_ts),
            cap.rel(f.last_ts),
            f.c2s.bytes,
            f.s2c.bytes,
            f.c2s.retransmitted_bytes + f.s2c.retransmitted_bytes,
            f.end.as_ref().map_or("-".to_string(), |e| esc(&format!("{} (frame {})", e.how, e.frame))),
        );
    }
    let _ = writeln!(h, "</table>");
}

fn outcome_cell(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "<td class=\"pass\">PASS</td>",
        Outcome::Fail => "<td class=\"fail\">FAIL</td>",
        Outcome::Skip => "<td class=\"skip\">skip</td>",
    }
}

fn check_rows(h: &mut String, checks: &[CheckResult]) {
    for k in checks {
        let frames = k.frames.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            h,
            "<tr>{}<td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            outcome_cell(k.outcome),
            esc(k.id.id()),
            esc(k.rfc),
            esc(&k.detail),
            esc(&frames)
        );
    }
}

fn write_verdicts(h: &mut String, g: &Gathered) {
    let r = &g.verdicts;
    let _ = writeln!(h, "<h2 id=\"verify\">Verify verdicts</h2>");
    let _ = writeln!(
        h,
        "<p class=\"{}\">{} passed, {} failed, {} skipped (as <code>mptcp-trace verify</code> reports them; a failed check exits 1 there)</p>",
        if r.ok() { "pass" } else { "fail" },
        r.passed,
        r.failed,
        r.skipped
    );
    if !g.totals.checks.is_empty() {
        let _ = writeln!(
            h,
            "<table class=\"check-totals\"><tr><th>check</th><th>RFC</th><th>connections passed</th><th>failed</th><th>skipped</th></tr>"
        );
        for t in &g.totals.checks {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td></tr>",
                esc(t.id),
                esc(t.rfc),
                t.counts[0],
                if t.counts[1] > 0 { " fail" } else { "" },
                t.counts[1],
                t.counts[2]
            );
        }
        let _ = writeln!(h, "</table>");
    }
    const HEAD: &str = "<tr><th>outcome</th><th>check</th><th>RFC</th><th>detail</th><th>frames</th></tr>";
    for c in g.listed.iter().map(|l| &l.verdicts) {
        let _ = writeln!(h, "<h3>Connection {}: {} → {}</h3>", c.connection, esc(&c.client), esc(&c.server));
        let _ = writeln!(h, "<table class=\"verdicts\">{HEAD}");
        check_rows(h, &c.checks);
        let _ = writeln!(h, "</table>");
    }
    if !r.capture_checks.is_empty() {
        let _ = writeln!(h, "<h3>Capture</h3>\n<table class=\"verdicts\">{HEAD}");
        check_rows(h, &r.capture_checks);
        let _ = writeln!(h, "</table>");
    }
}

fn write_events(h: &mut String, g: &Gathered) {
    let (cap, events) = (&g.cap, &g.totals.events);
    let _ = writeln!(h, "<h2 id=\"events\">Event timeline</h2>");
    if events.is_empty() {
        let _ = writeln!(h, "<p>no event</p>");
        return;
    }
    let _ = writeln!(
        h,
        "<table class=\"events\"><tr><th>time (s)</th><th>frame</th><th>event</th><th>connection</th><th>token</th><th>subflow</th><th>source</th><th>destination</th><th>details</th></tr>"
    );
    for e in events {
        let mut details = Vec::new();
        if let Some(id) = e.address_id {
            details.push(format!("id={id}"));
        }
        if let Some(a) = &e.address {
            details.push(format!("addr={a}"));
        }
        if let Some(b) = e.backup {
            details.push(format!("backup={}", u8::from(b)));
        }
        if let Some(r) = &e.reason {
            details.push(format!("reason={r}"));
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{:.6}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            cap.rel(e.ts),
            e.frame,
            esc(&event_word(e)),
            e.connection.map_or("-".into(), |c| c.to_string()),
            esc(&e.token.map_or("-".into(), |t| t.to_string())),
            e.subflow.map_or("-".into(), |c| c.to_string()),
            esc(&e.saddr.to_string()),
            esc(&e.daddr.to_string()),
            esc(&details.join(" ")),
        );
    }
    let _ = writeln!(h, "</table>");
    if g.totals.events_seen > events.len() as u64 {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{} more event(s) (`mptcp-trace events` lists them all)</p>",
            g.totals.events_seen - events.len() as u64
        );
    }
}

/// The event's name as `ip mptcp monitor` prints it (`SF_ESTABLISHED`).
fn event_word(e: &Event) -> String {
    let debug = format!("{:?}", e.kind);
    let mut o = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            o.push('_');
        }
        o.push(ch.to_ascii_uppercase());
    }
    o
}

/// One plot as an inline `<svg>` element (the SVG document without its XML declaration).
fn svg_plot(cap: &Capture, opts: &PlotOptions) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (opts.width, opts.height)).into_drawing_area();
        mptcp_plots::draw(&root, cap, opts).map_err(|e| e.to_string())?;
    }
    Ok(match buf.find("<svg") {
        Some(i) => buf.split_off(i),
        None => buf,
    })
}

fn write_plots(h: &mut String, cap: &Capture, opts: &Options) {
    let a = &cap.analysis;
    let _ = writeln!(h, "<h2 id=\"plots\">Plots</h2>");
    let mut conns: Vec<&Connection> = a.connections.iter().collect();
    conns.sort_by_key(|c| (std::cmp::Reverse(c.c2s.bytes + c.s2c.bytes), c.id));
    if conns.is_empty() {
        let _ = writeln!(h, "<p>no MPTCP connection to plot</p>");
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">The busiest {} connection(s) by data-level bytes; throughput in {} intervals (picked from the duration unless given).</p>",
        opts.plotted_connections.min(conns.len()),
        esc(&interval_words(cap.interval_ns))
    );
    for c in conns.iter().take(opts.plotted_connections) {
        let _ = writeln!(h, "<h3>Connection {}: {} → {}</h3>", c.id, esc(&c.client.to_string()), esc(&c.server.to_string()));
        for (kind, kind_name) in [(PlotKind::Throughput, "throughput"), (PlotKind::Sequence, "sequence"), (PlotKind::Hol, "hol")] {
            for (dir, dir_name) in [(Dir::C2s, "c2s"), (Dir::S2c, "s2c")] {
                if c.data(dir).bytes == 0 && kind != PlotKind::Throughput {
                    continue;
                }
                let po = PlotOptions {
                    kind,
                    connection: Some(c.id),
                    direction: dir,
                    width: opts.plot_width,
                    height: opts.plot_height,
                    stacked: false,
                    ..PlotOptions::default()
                };
                match svg_plot(cap, &po) {
                    Ok(svg) => {
                        let _ = writeln!(
                            h,
                            "<figure class=\"plot\" data-kind=\"{kind_name}\" data-direction=\"{dir_name}\" data-connection=\"{}\">{svg}<figcaption>{kind_name}, {dir_name}</figcaption></figure>",
                            c.id
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(h, "<p class=\"warn\">{kind_name} {dir_name}: not drawn: {}</p>", esc(&e));
                    }
                }
            }
        }
    }
}

fn interval_words(ns: u64) -> String {
    match ns {
        n if n >= 1_000_000_000 && n.is_multiple_of(1_000_000_000) => format!("{} s", n / 1_000_000_000),
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{} ms", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{} µs", n / 1_000),
        n => format!("{n} ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_capture_is_escaped() {
        assert_eq!(esc(r#"<script>"a" & 'b'</script>"#), "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
    }

    #[test]
    fn event_names_are_the_monitor_s() {
        let e = Event {
            ts: 0.0,
            ts_ns: 0,
            frame: 1,
            kind: mptcp_dissector::track::EventKind::SfEstablished,
            connection: None,
            token: None,
            subflow: None,
            saddr: "192.0.2.1:1".parse().unwrap(),
            daddr: "192.0.2.2:2".parse().unwrap(),
            address_id: None,
            address: None,
            backup: None,
            reason: None,
        };
        assert_eq!(event_word(&e), "SF_ESTABLISHED");
    }
}
