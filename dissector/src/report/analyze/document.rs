//! The `analyze --format json` document: every connection with its subflows inlined, the orphan
//! subflows and the anomalies, as one value ([`AnalyzeReport`]) that the text report reads too.
use std::io::{self, Write};

use serde::Serialize;

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
