//! `analyze` and `events` reports: a readable text report and a JSON document (docs/analyze.md,
//! docs/events.md).
//!
//! `document.rs` is the JSON document, `text.rs` the text report, `summary.rs` and `jsonl.rs`
//! the reports written as connections finish (with the counters of `totals.rs`), `tsv.rs` the
//! connection log; this file holds
//! the `events` list writers and [`Shared`].
use std::io::{self, Write};

mod document;
mod jsonl;
mod summary;
mod text;
mod ticker;
mod totals;
mod tsv;

pub use document::{write_json, AnalyzeReport, ConnectionReport, JsonDocument};
pub use jsonl::JsonlWriter;
pub use summary::{TextSummary, TEXT_ALL_UP_TO};
pub use text::write_text;
pub use ticker::Ticker;
pub use totals::Totals;
pub use tsv::{tsv_escape, TsvWriter, TSV_FIELDS};

use crate::report::time::{write_epoch_json, write_time, TimeFormat, TimeRef};
use crate::track::{Event, Stats};
use text::opt;

/// `events` as text: one line per event, like `ip mptcp monitor`.
/// `events` as text lines, each starting with its time in `time` (`d` and `dd` both count from
/// the previous event printed); `stats` gives the capture's first packet and timestamp digits.
pub fn write_events_text<W: Write>(out: &mut W, events: &[Event], time: TimeFormat, stats: &Stats) -> io::Result<()> {
    let mut w = EventText::new(time);
    w.first_ns = Some(stats.first_ts_ns);
    w.digits = stats.ts_digits;
    events.iter().try_for_each(|e| w.write(out, e))
}

/// The `events` text lines, one event at a time: the time of the previous event printed and
/// what the times count from.
pub struct EventText {
    time: TimeFormat,
    prev: Option<u64>,
    /// The capture's first packet (`None`: the event's own packet is the first).
    pub first_ns: Option<u64>,
    /// Digits of a second the capture's timestamps hold (0: not known, 6).
    pub digits: u8,
}

impl EventText {
    pub fn new(time: TimeFormat) -> Self {
        EventText { time, prev: None, first_ns: None, digits: 0 }
    }

    pub fn write(&mut self, out: &mut dyn Write, e: &Event) -> io::Result<()> {
        let times = TimeRef {
            first_ns: self.first_ns.unwrap_or(e.ts_ns),
            prev_ns: self.prev.unwrap_or(e.ts_ns),
            prev_shown_ns: self.prev,
            digits: if self.digits == 0 { 6 } else { self.digits },
        };
        write_time(&mut &mut *out, self.time, e.ts_ns, &times)?;
        self.prev = Some(e.ts_ns);
        write!(
            out,
            " [{:>14}] token={} conn={} saddr={} daddr={}",
            serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            opt(&e.token),
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
        writeln!(out, " frame={}", e.frame)
    }
}

/// `events` as JSON lines.
/// `ts` is written exact (every digit of the capture's timestamp, see
/// [`write_epoch_json`]), not through a double.
pub fn write_events_jsonl<W: Write>(out: &mut W, events: &[Event]) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    events.iter().try_for_each(|e| write_event_jsonl(out, e, &mut line))
}

/// One `events` JSON line (`line`: a buffer to reuse).
pub fn write_event_jsonl(out: &mut dyn Write, e: &Event, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, e)?;
    // `ts` is the first field: `{"ts":<double>,...`; put the exact value in its place.
    let rest = line.strip_prefix(b"{\"ts\":").and_then(|r| r.iter().position(|&b| b == b',').and_then(|k| r.get(k..)));
    match rest {
        Some(rest) => {
            out.write_all(b"{\"ts\":")?;
            write_epoch_json(&mut &mut *out, e.ts_ns)?;
            out.write_all(rest)?;
        }
        None => out.write_all(line)?,
    }
    out.write_all(b"\n")
}
