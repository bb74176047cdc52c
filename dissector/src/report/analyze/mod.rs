//! `analyze` and `events` reports: a readable text report and a JSON document (docs/analyze.md,
//! docs/events.md).
//!
//! `document.rs` is the JSON document, `text.rs` the text report, `summary.rs` and `jsonl.rs`
//! the reports written as connections finish (with the counters of `totals.rs`); this file holds
//! the `events` list writers and [`Shared`].
use std::io::{self, Write};

mod document;
mod jsonl;
mod summary;
mod text;
mod totals;

pub use document::{write_json, AnalyzeReport, ConnectionReport};
pub use jsonl::JsonlWriter;
pub use summary::{TextSummary, TEXT_ALL_UP_TO};
pub use text::write_text;
pub use totals::Totals;

use crate::report::time::{write_epoch_json, write_time, TimeFormat, TimeRef};
use crate::track::{Event, Stats};
use text::opt;

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
