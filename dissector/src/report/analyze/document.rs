//! The `analyze --format json` document: every connection with its subflows inlined, the orphan
//! subflows and the anomalies, as one value ([`AnalyzeReport`]) that the text report reads too.
use std::io::{self, Write};

use serde::Serialize;

use super::totals::is_orphan;
use crate::analysis::select::Selection;
use crate::pipeline::Sink;
use crate::report::spool::Spool;
use crate::track::{Analysis, Anomaly, Connection, Stats, Subflow};
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

/// `analyze --format json` as connections finish: each connection (and orphan subflow) is
/// rendered when it is handed over, into a [`Spool`] in id order, and the document is written
/// at the end, when the statistics that head it are known. The same bytes as [`write_json`] of
/// the whole analysis; memory follows what is open.
pub struct JsonDocument {
    connections: Spool,
    orphans: Spool,
    selection: Selection,
    /// Connections handed over, selected or not (ids count from 0).
    pub seen: usize,
    /// The first error of the spool; nothing is written after it.
    pub error: Option<io::Error>,
}

impl JsonDocument {
    pub fn new(selection: Selection) -> Self {
        JsonDocument { connections: Spool::new(b",\n"), orphans: Spool::new(b",\n"), selection, seen: 0, error: None }
    }

    fn keep(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// Writes the document: `a` is the analysis at the end (statistics, anomalies).
    pub fn finish(self, out: &mut dyn Write, file: &str, a: &Analysis, warning: Option<String>) -> io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let head = AnalyzeReport {
            file,
            stats: &a.stats,
            connections: Vec::new(),
            orphans: Vec::new(),
            anomalies: &a.anomalies,
            anomalies_dropped: a.anomalies_dropped,
            warning,
        };
        let doc = serde_json::to_string_pretty(&head)?;
        Spool::splice_json_arrays(&doc, vec![("connections", self.connections), ("orphans", self.orphans)], out)?;
        out.write_all(b"\n")
    }
}

impl Sink for JsonDocument {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.seen = self.seen.max(conn.id + 1);
        for f in &subflows {
            let r = self.orphans.skip(f.id);
            self.keep(r);
        }
        if !self.selection.keeps_connection(&conn) {
            let r = self.connections.skip(conn.id);
            return self.keep(r);
        }
        let own = conn.subflow_ids.iter().filter_map(|&s| subflows.iter().find(|f| f.id == s)).collect();
        let r = Spool::json(&ConnectionReport { connection: &conn, subflows: own }, 4)
            .and_then(|part| self.connections.part(conn.id, part.as_bytes()));
        self.keep(r);
    }
    fn flow(&mut self, flow: Subflow) {
        // Flows outside every connection are not selected (as in the streamed reports).
        if !is_orphan(&flow) || !self.selection.is_empty() {
            let r = self.orphans.skip(flow.id);
            return self.keep(r);
        }
        let r = Spool::json(&flow, 4).and_then(|part| self.orphans.part(flow.id, part.as_bytes()));
        self.keep(r);
    }
}
