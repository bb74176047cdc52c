//! `--stats-interval N` (issue 26): a line of totals every N seconds of capture time, beside a
//! command's own output (a live capture's pulse, as dumpcap's packet count).
use std::io::Write;
use std::ops::ControlFlow;

use crate::pipeline::{Seen, Sink};
use crate::track::{Connection, Event, SegmentRecord, Subflow};
use mptcp_wire::crypto::Token;

/// Passes everything on to `inner`, counting; writes a line to `out` each time a packet's
/// timestamp passes the next multiple of the interval (no packet: no line), and a last one at
/// the end ([`Ticker::finish`]): the lines' byte counts add up to the capture's.
pub struct Ticker<'a, W: Write> {
    pub inner: &'a mut dyn Sink,
    out: W,
    every_ns: u64,
    next_ns: Option<u64>,
    finished: u64,
    subflows: u64,
    failed: u64,
    /// Since the last line: data-level bytes new to their connection, and reinjected.
    new_bytes: u64,
    reinjected: u64,
    last_ns: u64,
}

/// `ts_ns` as UTC (RFC 3339, whole seconds).
fn format_utc(ts_ns: u64) -> String {
    jiff::Timestamp::from_second(i64::try_from(ts_ns / 1_000_000_000).unwrap_or(0))
        .map_or_else(|_| format!("{ts_ns} ns"), |t| t.to_string())
}

impl<'a, W: Write> Ticker<'a, W> {
    pub fn new(inner: &'a mut dyn Sink, out: W, every_ns: u64) -> Self {
        Ticker {
            inner,
            out,
            every_ns: every_ns.max(1),
            next_ns: None,
            finished: 0,
            subflows: 0,
            failed: 0,
            new_bytes: 0,
            reinjected: 0,
            last_ns: 0,
        }
    }

    /// The last line, at the end of the capture (everything finished): the rest of the counts.
    pub fn finish(&mut self) {
        let at = self.last_ns;
        self.line(at, 0, 0, "end");
    }

    fn line(&mut self, at_ns: u64, flows: usize, conns: usize, what: &str) {
        let secs = self.every_ns as f64 / 1e9;
        let _ = writeln!(
            self.out,
            "mptcp-trace: stats {what} {}: {conns} connection(s) open ({flows} flows), {} finished ({} subflows, {} with a failed check); in the interval: {} data-level bytes ({:.3} Mbit/s over {secs} s), {} reinjected",
            format_utc(at_ns),
            self.finished,
            self.subflows,
            self.failed,
            self.new_bytes,
            self.new_bytes as f64 * 8.0 / secs / 1e6,
            self.reinjected,
        );
        let _ = self.out.flush();
        self.new_bytes = 0;
        self.reinjected = 0;
    }
}

impl<W: Write> Sink for Ticker<'_, W> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        let flow = self.inner.packet(seen);
        let ts = seen.packet.ts_ns;
        self.last_ns = self.last_ns.max(ts);
        let next = *self.next_ns.get_or_insert(ts - ts % self.every_ns + self.every_ns);
        if ts >= next {
            let (flows, conns) = seen.analyzer.map_or((0, 0), |a| a.open_counts());
            self.line(next, flows, conns, "at");
            self.next_ns = Some(ts - ts % self.every_ns + self.every_ns);
        }
        flow
    }
    fn segment(&mut self, r: &SegmentRecord) {
        self.new_bytes += r.new_bytes;
        self.reinjected += r.reinjected_bytes;
        self.inner.segment(r);
    }
    fn connection(&mut self, c: Connection, subflows: Vec<Subflow>) {
        self.finished += 1;
        self.subflows += subflows.len() as u64;
        self.failed += u64::from(c.checks.any_fail());
        self.inner.connection(c, subflows);
    }
    fn flow(&mut self, f: Subflow) {
        self.inner.flow(f);
    }
    fn event(&mut self, e: &Event, tokens: [Option<Token>; 2]) {
        self.inner.event(e, tokens);
    }
}
