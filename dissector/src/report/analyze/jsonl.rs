//! `analyze --format jsonl` (docs/analyze.md): one line per connection as it finishes, one per
//! orphan subflow, and a summary line at the end.
use std::io::{self, Write};

use serde::Serialize;

use super::document::ConnectionReport;
use super::totals::{is_orphan, Totals};
use crate::pipeline::Sink;
use crate::track::{Analysis, Anomaly, Connection, Stats, Subflow};

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
    /// Each line is flushed as it is written (a live capture: shown as connections finish).
    pub flush_lines: bool,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out, totals: Totals::default(), error: None, flush_lines: false }
    }

    fn line(&mut self, v: &impl Serialize) {
        if self.error.is_none() {
            let mut r = serde_json::to_writer(&mut self.out, v).map_err(io::Error::from).and_then(|_| self.out.write_all(b"\n"));
            if self.flush_lines {
                r = r.and_then(|_| self.out.flush());
            }
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

impl<W: Write> Sink for JsonlWriter<W> {
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
