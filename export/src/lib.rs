//! `mptcp-trace export`: the analysis of one capture as Parquet tables (docs/export.md), one file
//! per table under `OUT/<table>/<capture>.parquet`, so that a directory of many captures'
//! tables is one dataset per table for DuckDB or Spark (`read_parquet('OUT/subflows/*.parquet')`,
//! `spark.read.parquet("OUT/subflows")`).
//!
//! Every table is written while the capture is read, a row group of [`table::ROW_GROUP`] rows at
//! a time, so memory follows what is open, not the capture: the per-segment tables (`mappings`,
//! `data_acks`, `segments`) as segments are read, `events` in capture order as events are known
//! (with their connection's token, docs/events.md), and `connections`, `subflows` and the
//! connections' `checks` as each connection finishes, as Zeek writes conn.log: their rows are in
//! the order connections end, not by id (`ORDER BY connection` for that). Plain TCP flows and
//! subflows of no connection are written as they end; the capture-level checks last. Every row
//! carries the capture's name, and what joins across captures: tokens (and keys where seen) for
//! connections, the token and address ids for subflows.
//!
//! ```
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::track::Limits;
//! use mptcp_export::{export, ExportOptions};
//!
//! // testdata/two-subflows.pcap: one MPTCP connection, two subflows, 39 DSS mappings
//! // (`mptcp-trace export` says the same).
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let out = std::env::temp_dir().join(format!("mptcp-export-doc-{}", std::process::id()));
//! let (written, end) = export("two-subflows.pcap", &mut reader, &out, ExportOptions::default(), Limits::default()).unwrap();
//! assert!(end.is_none());
//! let rows = |t: &str| written.tables.iter().find(|w| w.0 == t).map(|w| w.2);
//! assert_eq!((rows("connections"), rows("subflows"), rows("mappings")), (Some(1), Some(2), Some(39)));
//! written.commit().unwrap();
//! assert!(out.join("subflows/two-subflows.pcap.parquet").is_file());
//! std::fs::remove_dir_all(&out).unwrap();
//! ```
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::verify::{CheckResult, ConnectionVerdicts, Outcome, Verifier};
use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analyzer, Connection, Dir, Event, Limits, SegmentRecord, Subflow, SubflowKind};
use mptcp_wire::crypto::Token;

pub mod table;

use table::{Table, Ty, V};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: parquet: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("arrow: {0}")]
    Arrow(String),
    #[error("internal: {0}")]
    Internal(&'static str),
}

impl ExportError {
    fn parquet(path: &Path, e: impl std::fmt::Display) -> ExportError {
        ExportError::Parquet { path: path.to_path_buf(), message: e.to_string() }
    }
}

/// What to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Also the `segments` table (one row per TCP segment of a tracked flow).
    pub segments: bool,
}

/// The tables written for one capture: (table, file, rows). They are put in place by
/// [`Written::commit`], all together; dropped uncommitted, they are removed and the files of an
/// earlier export stay as they were.
#[derive(Debug, Default)]
pub struct Written {
    pub tables: Vec<(&'static str, PathBuf, u64)>,
    committed: bool,
}

impl Written {
    /// Renames every table onto its place.
    pub fn commit(mut self) -> Result<(), ExportError> {
        self.committed = true;
        for (_, path, _) in &self.tables {
            let tmp = table::staging_path(path);
            std::fs::rename(&tmp, path).map_err(|source| ExportError::Io { path: path.clone(), source })?;
        }
        Ok(())
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if !self.committed {
            for (_, path, _) in &self.tables {
                let _ = std::fs::remove_file(table::staging_path(path));
            }
        }
    }
}

/// The tables, in the order they are listed.
pub const TABLES: [&str; 7] = ["connections", "subflows", "mappings", "data_acks", "events", "checks", "segments"];

/// Where table `table` of capture `name` goes: `OUT/<table>/<file name of the capture>.parquet`.
pub fn table_path(out: &Path, table: &str, name: &str) -> PathBuf {
    let file = Path::new(name).file_name().map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned());
    out.join(table).join(format!("{file}.parquet"))
}

fn open(out: &Path, table: &'static str, name: &str, columns: &[(&str, Ty, bool)]) -> Result<Table, ExportError> {
    let dir = out.join(table);
    std::fs::create_dir_all(&dir).map_err(|source| ExportError::Io { path: dir.clone(), source })?;
    Table::create(&table_path(out, table, name), columns)
}

const MAPPINGS: [(&str, Ty, bool); 12] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, true),
    ("subflow", Ty::U64, false),
    ("direction", Ty::Str, false),
    ("frame", Ty::U64, false),
    ("ts_ns", Ty::U64, false),
    ("dsn", Ty::U64, false),
    ("subflow_seq", Ty::U32, false),
    ("length", Ty::U32, false),
    ("data_fin", Ty::Bool, false),
    ("checksum", Ty::U16, true),
    ("implicit", Ty::Bool, false),
];

const DATA_ACKS: [(&str, Ty, bool); 7] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, true),
    ("subflow", Ty::U64, false),
    ("direction", Ty::Str, false),
    ("frame", Ty::U64, false),
    ("ts_ns", Ty::U64, false),
    ("data_ack", Ty::U64, false),
];

const SEGMENTS: [(&str, Ty, bool); 12] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, true),
    ("subflow", Ty::U64, false),
    ("direction", Ty::Str, false),
    ("frame", Ty::U64, false),
    ("ts_ns", Ty::U64, false),
    ("length", Ty::U32, false),
    ("tcp_retransmission", Ty::Bool, false),
    ("dsn", Ty::U64, true),
    ("new_bytes", Ty::U64, false),
    ("reinjected_bytes", Ty::U64, false),
    ("data_ack", Ty::U64, true),
];

/// Remembered per subflow direction to skip repeats (Linux repeats a mapping on every segment
/// it covers, and the same data ACK until it moves). Cleared when it reaches this size, so it
/// stays bounded whatever the capture's length (a repeat may then be written again).
const MAX_REMEMBERED: usize = 1 << 16;

/// Every table, fed by the analyzer as it reads.
struct Tables<'e> {
    capture: String,
    mappings: Table,
    data_acks: Table,
    segments: Option<Table>,
    connections: Table,
    subflows: Table,
    events: Table,
    checks: Table,
    verifier: Verifier<'e>,
    last_map: HashMap<(usize, bool), (u64, u32, u16, bool)>,
    last_ack: HashMap<(usize, bool), u64>,
    error: Option<ExportError>,
}

fn dir_name(c2s: bool) -> &'static str {
    if c2s {
        "c2s"
    } else {
        "s2c"
    }
}

impl Tables<'_> {
    fn segment_rows(&mut self, r: &SegmentRecord) -> Result<(), ExportError> {
        let key = (r.subflow, r.c2s);
        let (cap, conn, sf, dir) = (self.capture.as_str(), r.connection.map(|c| c as u64), r.subflow as u64, dir_name(r.c2s));
        if let Some(m) = r.mapping {
            let id = (m.dsn.0, m.subflow_seq.0, m.length, m.implicit);
            if self.last_map.get(&key) != Some(&id) {
                if self.last_map.len() >= MAX_REMEMBERED {
                    self.last_map.clear();
                }
                self.last_map.insert(key, id);
                self.mappings.row(&[
                    V::Str(Some(cap)),
                    V::U64(conn),
                    V::U64(Some(sf)),
                    V::Str(Some(dir)),
                    V::U64(Some(r.frame)),
                    V::U64(Some(r.ts_ns)),
                    V::U64(Some(m.dsn.0)),
                    V::U32(Some(m.subflow_seq.0)),
                    V::U32(Some(u32::from(m.length))),
                    V::Bool(Some(m.data_fin)),
                    V::U16(m.checksum),
                    V::Bool(Some(m.implicit)),
                ])?;
            }
        }
        if let Some(a) = r.data_ack.map(|a| a.0) {
            if self.last_ack.get(&key) != Some(&a) {
                if self.last_ack.len() >= MAX_REMEMBERED {
                    self.last_ack.clear();
                }
                self.last_ack.insert(key, a);
                self.data_acks.row(&[
                    V::Str(Some(cap)),
                    V::U64(conn),
                    V::U64(Some(sf)),
                    V::Str(Some(dir)),
                    V::U64(Some(r.frame)),
                    V::U64(Some(r.ts_ns)),
                    V::U64(Some(a)),
                ])?;
            }
        }
        if let Some(t) = self.segments.as_mut() {
            t.row(&[
                V::Str(Some(cap)),
                V::U64(conn),
                V::U64(Some(sf)),
                V::Str(Some(dir)),
                V::U64(Some(r.frame)),
                V::U64(Some(r.ts_ns)),
                V::U32(Some(r.payload_len)),
                V::Bool(Some(r.tcp_retransmission)),
                V::U64(r.dsn.map(|d| d.0)),
                V::U64(Some(r.new_bytes)),
                V::U64(Some(r.reinjected_bytes)),
                V::U64(r.data_ack.map(|a| a.0)),
            ])?;
        }
        Ok(())
    }

    fn connection_rows(&mut self, c: &Connection, subflows: &[Subflow]) -> Result<(), ExportError> {
        let v = self.verifier.connection(c, subflows, true);
        connection_row(&mut self.connections, &self.capture, c, &v)?;
        for sf in subflows {
            let own = if sf.opened_by_client() { c.server_token } else { c.client_token };
            let token = sf.orphan_token.map(|t| t.to_string()).or_else(|| own.map(|t| t.to_string()));
            subflow_row(&mut self.subflows, &self.capture, sf, token)?;
        }
        for k in &v.checks {
            check_row(&mut self.checks, &self.capture, Some(c.id as u64), k)?;
        }
        Ok(())
    }

    fn keep(&mut self, r: Result<(), ExportError>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

impl Sink for Tables<'_> {
    fn segment(&mut self, r: &SegmentRecord) {
        if self.error.is_none() {
            let r = self.segment_rows(r);
            self.keep(r);
        }
    }
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.verifier.event(e);
        if self.error.is_none() {
            let r = event_row(&mut self.events, &self.capture, e);
            self.keep(r);
        }
    }
    fn connection(&mut self, c: Connection, subflows: Vec<Subflow>) {
        if self.error.is_none() {
            let r = self.connection_rows(&c, &subflows);
            self.keep(r);
        }
    }
    fn flow(&mut self, f: Subflow) {
        self.verifier.flow(&f);
        if self.error.is_none() {
            let r = subflow_row(&mut self.subflows, &self.capture, &f, f.orphan_token.map(|t| t.to_string()));
            self.keep(r);
        }
    }
}

/// Exports capture `name` read from `reader` into `out`. Returns the tables written (staged:
/// [`Written::commit`] puts them in place) and how the capture ended.
pub fn export(
    name: &str,
    reader: &mut CaptureReader,
    out: &Path,
    opts: ExportOptions,
    limits: Limits,
) -> Result<(Written, Option<CaptureError>), ExportError> {
    let mut t = Tables {
        capture: name.to_string(),
        mappings: open(out, "mappings", name, &MAPPINGS)?,
        data_acks: open(out, "data_acks", name, &DATA_ACKS)?,
        segments: if opts.segments { Some(open(out, "segments", name, &SEGMENTS)?) } else { None },
        connections: open(out, "connections", name, &CONNECTIONS)?,
        subflows: open(out, "subflows", name, &SUBFLOWS)?,
        events: open(out, "events", name, &EVENTS)?,
        checks: open(out, "checks", name, &CHECKS)?,
        verifier: Verifier::new(&[]),
        last_map: HashMap::new(),
        last_ack: HashMap::new(),
        error: None,
    };
    let analyzer = Analyzer::new(limits).hand_over_finished().hand_over_events(true);
    let (analysis, end) = mptcp_dissector::pipeline::run_into(reader, analyzer, &mut t);
    if let Some(e) = t.error {
        return Err(e);
    }
    let report = t.verifier.finish(name, &analysis);
    for k in &report.capture_checks {
        check_row(&mut t.checks, name, None, k)?;
    }
    let mut written = Written::default();
    let tables = [
        ("connections", Some(t.connections)),
        ("subflows", Some(t.subflows)),
        ("mappings", Some(t.mappings)),
        ("data_acks", Some(t.data_acks)),
        ("events", Some(t.events)),
        ("checks", Some(t.checks)),
        ("segments", t.segments),
    ];
    for (name, table) in tables {
        if let Some(table) = table {
            let path = table.path.clone();
            written.tables.push((name, path, table.close()?));
        }
    }
    Ok((written, end))
}

fn state_name(c: &Connection) -> String {
    serde_name(&c.state)
}

/// A unit enum's name as serde writes it (`"established"` → `established`).
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).map(|s| s.trim_matches('"').to_string()).unwrap_or_default()
}

const CONNECTIONS: [(&str, Ty, bool); 26] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, false),
    ("version", Ty::U8, true),
    ("client", Ty::Str, false),
    ("server", Ty::Str, false),
    ("client_key", Ty::U64, true),
    ("server_key", Ty::U64, true),
    ("client_token", Ty::Str, true),
    ("server_token", Ty::Str, true),
    ("client_idsn", Ty::U64, true),
    ("server_idsn", Ty::U64, true),
    ("checksums", Ty::Bool, false),
    ("state", Ty::Str, false),
    ("found_by", Ty::Str, false),
    ("start_ts", Ty::F64, false),
    ("end_ts", Ty::F64, false),
    ("subflows", Ty::U32, false),
    ("c2s_bytes", Ty::U64, false),
    ("s2c_bytes", Ty::U64, false),
    ("c2s_complete", Ty::Bool, false),
    ("s2c_complete", Ty::Bool, false),
    ("c2s_reinjected_bytes", Ty::U64, false),
    ("s2c_reinjected_bytes", Ty::U64, false),
    ("checks_passed", Ty::U32, false),
    ("checks_failed", Ty::U32, false),
    ("checks_skipped", Ty::U32, false),
];

const SUBFLOWS: [(&str, Ty, bool); 22] = [
    ("capture", Ty::Str, false),
    ("subflow", Ty::U64, false),
    ("connection", Ty::U64, true),
    ("token", Ty::Str, true),
    ("kind", Ty::Str, false),
    ("opened_by_client", Ty::Bool, false),
    ("client_addr", Ty::Str, false),
    ("client_port", Ty::U16, false),
    ("server_addr", Ty::Str, false),
    ("server_port", Ty::U16, false),
    ("client_address_id", Ty::U8, true),
    ("server_address_id", Ty::U8, true),
    ("backup", Ty::Bool, false),
    ("start_ts", Ty::F64, false),
    ("end_ts", Ty::F64, false),
    ("end", Ty::Str, true),
    ("c2s_bytes", Ty::U64, false),
    ("s2c_bytes", Ty::U64, false),
    ("c2s_packets", Ty::U64, false),
    ("s2c_packets", Ty::U64, false),
    ("c2s_reinjected_bytes", Ty::U64, false),
    ("s2c_reinjected_bytes", Ty::U64, false),
];

const EVENTS: [(&str, Ty, bool); 13] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, true),
    ("subflow", Ty::U64, true),
    ("frame", Ty::U64, false),
    ("ts", Ty::F64, false),
    ("kind", Ty::Str, false),
    ("token", Ty::Str, true),
    ("saddr", Ty::Str, false),
    ("daddr", Ty::Str, false),
    ("address_id", Ty::U8, true),
    ("address", Ty::Str, true),
    ("backup", Ty::Bool, true),
    ("reason", Ty::Str, true),
];

const CHECKS: [(&str, Ty, bool); 8] = [
    ("capture", Ty::Str, false),
    ("connection", Ty::U64, true),
    ("check", Ty::Str, false),
    ("rfc", Ty::Str, false),
    ("outcome", Ty::Str, false),
    ("evaluated", Ty::U64, false),
    ("detail", Ty::Str, false),
    ("frames", Ty::ListU64, false),
];

/// The row of connection `c` with the counts of its verdicts `v`.
fn connection_row(t: &mut Table, name: &str, c: &Connection, v: &ConnectionVerdicts) -> Result<(), ExportError> {
    let (client, server, state) = (c.client.to_string(), c.server.to_string(), state_name(c));
    let (client_token, server_token) = (c.client_token.map(|t| t.to_string()), c.server_token.map(|t| t.to_string()));
    let count = |o: Outcome| v.checks.iter().filter(|k| k.outcome == o).count() as u32;
    let (d, u) = (c.data(Dir::C2s), c.data(Dir::S2c));
    t.row(&[
        V::Str(Some(name)),
        V::U64(Some(c.id as u64)),
        V::U8(c.version),
        V::Str(Some(&client)),
        V::Str(Some(&server)),
        V::U64(c.client_key.map(|k| k.0)),
        V::U64(c.server_key.map(|k| k.0)),
        V::Str(client_token.as_deref()),
        V::Str(server_token.as_deref()),
        V::U64(c.client_idsn.map(|i| i.0)),
        V::U64(c.server_idsn.map(|i| i.0)),
        V::Bool(Some(c.checksums)),
        V::Str(Some(&state)),
        V::Str(Some(c.found_by.name())),
        V::F64(Some(c.start_ts)),
        V::F64(Some(c.end_ts)),
        V::U32(Some(c.subflow_ids.len() as u32)),
        V::U64(Some(d.bytes)),
        V::U64(Some(u.bytes)),
        V::Bool(Some(d.complete)),
        V::Bool(Some(u.complete)),
        V::U64(Some(d.reinjected_bytes)),
        V::U64(Some(u.reinjected_bytes)),
        V::U32(Some(count(Outcome::Pass))),
        V::U32(Some(count(Outcome::Fail))),
        V::U32(Some(count(Outcome::Skip))),
    ])
}

/// The row of subflow (or plain flow) `sf`; `token` names its connection across captures: the
/// one its MP_JOIN SYN carried (the receiver's), or for the initial subflow the server's (what
/// a client's joins carry).
fn subflow_row(t: &mut Table, name: &str, sf: &Subflow, token: Option<String>) -> Result<(), ExportError> {
    let (ca, sa) = (sf.client.ip().to_string(), sf.server.ip().to_string());
    let kind = match sf.kind {
        SubflowKind::Initial => "MP_CAPABLE",
        SubflowKind::Join => "MP_JOIN",
        SubflowKind::Tcp => "TCP",
        SubflowKind::Unknown => "unknown",
    };
    t.row(&[
        V::Str(Some(name)),
        V::U64(Some(sf.id as u64)),
        V::U64(sf.connection.map(|c| c as u64)),
        V::Str(token.as_deref()),
        V::Str(Some(kind)),
        V::Bool(Some(sf.opened_by_client())),
        V::Str(Some(&ca)),
        V::U16(Some(sf.client.port())),
        V::Str(Some(&sa)),
        V::U16(Some(sf.server.port())),
        V::U8(sf.client_address_id),
        V::U8(sf.server_address_id),
        V::Bool(Some(sf.backup)),
        V::F64(Some(sf.start_ts)),
        V::F64(Some(sf.last_ts)),
        V::Str(sf.end.as_ref().map(|e| e.how.name())),
        V::U64(Some(sf.c2s.bytes)),
        V::U64(Some(sf.s2c.bytes)),
        V::U64(Some(sf.c2s.packets)),
        V::U64(Some(sf.s2c.packets)),
        V::U64(Some(sf.c2s.reinjected_bytes)),
        V::U64(Some(sf.s2c.reinjected_bytes)),
    ])
}

fn event_row(t: &mut Table, name: &str, e: &Event) -> Result<(), ExportError> {
    let (kind, s, d) = (serde_name(&e.kind), e.saddr.to_string(), e.daddr.to_string());
    let token = e.token.map(|t| t.to_string());
    t.row(&[
        V::Str(Some(name)),
        V::U64(e.connection.map(|c| c as u64)),
        V::U64(e.subflow.map(|c| c as u64)),
        V::U64(Some(e.frame)),
        V::F64(Some(e.ts)),
        V::Str(Some(&kind)),
        V::Str(token.as_deref()),
        V::Str(Some(&s)),
        V::Str(Some(&d)),
        V::U8(e.address_id),
        V::Str(e.address.as_deref()),
        V::Bool(e.backup),
        V::Str(e.reason.as_deref()),
    ])
}

/// The row of check `k`, of connection `conn` (none: a capture-level check).
fn check_row(t: &mut Table, name: &str, conn: Option<u64>, k: &CheckResult) -> Result<(), ExportError> {
    let outcome = match k.outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Skip => "skip",
    };
    t.row(&[
        V::Str(Some(name)),
        V::U64(conn),
        V::Str(Some(k.id.id())),
        V::Str(Some(k.rfc)),
        V::Str(Some(outcome)),
        V::U64(Some(k.evaluated)),
        V::Str(Some(&k.detail)),
        V::ListU64(&k.frames),
    ])
}
