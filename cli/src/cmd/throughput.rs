//! `throughput FILE…`: bytes per interval per subflow and the data-level goodput, as CSV (one
//! row per interval and series) or one JSON document.
//!
//! One pass, memory following the connections open (issue 25): the analyzer hands each
//! connection over when it finishes ([`Analyzer::hand_over_finished`]), with its subflows'
//! paths and its tokens; its series are taken out of the counting then and kept as compact
//! records ([`Spill`]: in memory while small, else in an unnamed temporary file). The interval
//! picked from the duration is known only at the end, so the rows are written then, from the
//! records read back in connection order: the output is the one the whole-capture analysis gave.
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::analysis::series::{self, connection_rows, ConnSeries, Row, Throughput};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analyzer, Connection, SegmentRecord, Subflow};
use mptcp_wire::crypto::Token;

use crate::capture::{analyze_input, capture_end};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{SeriesFormat, ThroughputArgs};
use crate::jobs::{msg, Dest};

/// What the temporary records are called in an error message.
const SPILL: &str = "throughput's temporary file";

/// One file's series, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &ThroughputArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let connection = args.select.connection;
    let series = match &args.interval {
        Some(i) => Throughput::new(series::parse_interval(i).map_err(CliError::Usage)?, connection),
        None => Throughput::auto(connection),
    };
    let mut sink = Finished::new(series);
    // The event timeline is not reported here: not kept (it would grow with the capture).
    let analyzer = Analyzer::new(cfg.limits_with_series()).with_events(false).hand_over_finished();
    let (analysis, end) = analyze_input(file, merge, cfg, dest, analyzer, &mut sink)?;
    sink.take_rest();
    if let Some(e) = sink.failed.take() {
        return Err(CliError::write(SPILL)(e));
    }
    if let Some(c) = connection {
        if c >= sink.connections {
            msg!(dest, "mptcp-trace: error: {}: no connection {c} (the capture has {})", file.display(), sink.connections);
            return Ok(2);
        }
    }
    let Finished { series, spill, mut index, .. } = sink;
    // Connection order (they finish in another order); stable: parts of one stay in order.
    index.sort_by_key(|&(id, _)| id);
    let mut records = spill.reader().map_err(CliError::write(SPILL))?;
    // Time 0 is the first packet of the capture (docs/throughput.md), as in analyze and
    // plot; the series count from the first TCP segment.
    let first_ns = (analysis.stats.first_ts * 1e9).round() as u64;
    let offset_s = series.t0_ns().map_or(0.0, |t| t.saturating_sub(first_ns) as f64 / 1e9);
    let how = Rows { interval_ns: series.interval_ns(), dense: args.dense, offset_s, selection: args.select.selection() };
    let mut out = BufWriter::new(dest.out());
    let written = match args.format {
        SeriesFormat::Csv => write_csv(&mut out, &mut records, &index, &how),
        SeriesFormat::Json => write_json(&mut out, &mut records, &index, &how, series.interval_secs()),
    };
    written.and_then(|_| Ok(out.flush()?)).map_err(|e| match e {
        Failed::Out(e) => CliError::write(STDOUT)(e),
        Failed::Spill(e) => CliError::write(SPILL)(e),
    })?;
    drop(out);
    Ok(capture_end(file, end, dest))
}

/// Why writing the rows stopped: the output, or reading the records back.
enum Failed {
    Out(io::Error),
    Spill(io::Error),
}

impl From<io::Error> for Failed {
    fn from(e: io::Error) -> Self {
        Failed::Out(e)
    }
}

/// The counting sink: segments into the series, each finished connection's series out to the
/// records with what its rows need (paths, tokens).
struct Finished {
    series: Throughput,
    spill: Spill,
    /// (connection, offset of its record), in the order written.
    index: Vec<(usize, u64)>,
    /// Connections handed over (ids count from 0): whether `--connection ID` names one.
    connections: usize,
    /// The record being encoded (reused).
    buf: Vec<u8>,
    /// The records could not be written (the run goes on; the command fails at the end).
    failed: Option<io::Error>,
}

impl Finished {
    fn new(series: Throughput) -> Self {
        Finished { series, spill: Spill::default(), index: Vec::new(), connections: 0, buf: Vec::new(), failed: None }
    }

    /// Writes one record: the series, the connection's tokens and its subflows' paths.
    fn keep(&mut self, s: ConnSeries, conn: Option<&Connection>, subflows: &[Subflow]) {
        if self.failed.is_some() {
            return;
        }
        let buf = &mut self.buf;
        buf.clear();
        let token = |t: Option<Token>| t.map_or(u64::MAX, |t| u64::from(t.0));
        put(buf, token(conn.and_then(|c| c.client_token)));
        put(buf, token(conn.and_then(|c| c.server_token)));
        let paths: Vec<&Subflow> = s.subflows().filter_map(|id| subflows.iter().find(|f| f.id == id)).collect();
        put(buf, paths.len() as u64);
        for f in paths {
            let path = format!("{} -> {}", f.client, f.server);
            put(buf, f.id as u64);
            put(buf, path.len() as u64);
            buf.extend_from_slice(path.as_bytes());
        }
        s.encode(buf);
        match self.spill.append(buf) {
            Ok(at) => self.index.push((s.connection, at)),
            Err(e) => self.failed = Some(e),
        }
    }

    /// The series still counted at the end (none when every connection was handed over).
    fn take_rest(&mut self) {
        for s in self.series.take_all() {
            self.keep(s, None, &[]);
        }
    }
}

impl Sink for Finished {
    fn segment(&mut self, r: &SegmentRecord) {
        self.series.segment(r);
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.connections = self.connections.max(conn.id + 1);
        if let Some(s) = self.series.take_connection(conn.id) {
            self.keep(s, Some(&conn), &subflows);
        }
    }
}

fn put(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// A u64 at the start of `rest`, which moves past it.
fn get(rest: &mut &[u8]) -> Option<u64> {
    let (head, tail) = rest.split_first_chunk::<8>()?;
    *rest = tail;
    Some(u64::from_le_bytes(*head))
}

/// One connection read back: its series (one part, or more when counting went on after it was
/// handed over), tokens and subflows' paths.
#[derive(Default)]
struct Record {
    parts: Vec<ConnSeries>,
    tokens: [Option<Token>; 2],
    paths: Vec<(usize, String)>,
}

impl Record {
    /// Adds the record `bytes` ([`Finished::keep`] wrote them).
    fn add(&mut self, bytes: &[u8]) -> Option<()> {
        let mut rest = bytes;
        for t in &mut self.tokens {
            let v = get(&mut rest)?;
            if t.is_none() {
                *t = u32::try_from(v).ok().map(Token);
            }
        }
        for _ in 0..get(&mut rest)? {
            let id = usize::try_from(get(&mut rest)?).ok()?;
            let len = usize::try_from(get(&mut rest)?).ok()?;
            let (text, tail) = rest.split_at_checked(len)?;
            rest = tail;
            self.paths.push((id, String::from_utf8_lossy(text).into_owned()));
        }
        let (series, _) = ConnSeries::decode(rest)?;
        self.parts.push(series);
        Some(())
    }

    /// A subflow's path (`client -> server`), or the data level's name.
    fn label(&self, sf: Option<usize>) -> &str {
        match sf.and_then(|s| self.paths.iter().find(|(id, _)| *id == s)) {
            Some((_, p)) => p,
            None => "data-level goodput",
        }
    }
}

/// How the rows are made from the records.
struct Rows {
    interval_ns: u64,
    dense: bool,
    /// Seconds from the first packet to the first TCP segment, where the intervals start.
    offset_s: f64,
    selection: Selection,
}

/// Calls `each` with every connection's rows (those the selection keeps) and record, in
/// connection order.
fn for_each_connection(
    records: &mut SpillReader,
    index: &[(usize, u64)],
    how: &Rows,
    mut each: impl FnMut(&[Row], &Record) -> Result<(), Failed>,
) -> Result<(), Failed> {
    let mut buf = Vec::new();
    let mut rows = Vec::new();
    for group in index.chunk_by(|a, b| a.0 == b.0) {
        let mut rec = Record::default();
        for &(_, at) in group {
            records.read(at, &mut buf).map_err(Failed::Spill)?;
            rec.add(&buf).ok_or_else(|| Failed::Spill(io::Error::other("a record could not be read back")))?;
        }
        rows.clear();
        rows.extend(connection_rows(&rec.parts, how.interval_ns, how.dense));
        let sel = &how.selection;
        rows.retain(|r| sel.is_empty() || sel.keeps_packet(Some(r.connection), r.subflow, rec.tokens));
        for r in &mut rows {
            r.t += how.offset_s;
        }
        each(&rows, &rec)?;
    }
    Ok(())
}

/// `--format csv`: a header line, then one line per row.
fn write_csv(out: &mut impl Write, records: &mut SpillReader, index: &[(usize, u64)], how: &Rows) -> Result<(), Failed> {
    writeln!(
        out,
        "t,connection,subflow,path,c2s_bytes,s2c_bytes,c2s_bps,s2c_bps,c2s_acked_bytes,s2c_acked_bytes,c2s_delivered_bytes,s2c_delivered_bytes"
    )?;
    for_each_connection(records, index, how, |rows, rec| {
        for r in rows {
            writeln!(
                out,
                "{:.6},{},{},\"{}\",{},{},{:.0},{:.0},{},{},{},{}",
                r.t,
                r.connection,
                r.subflow.map(|s| s.to_string()).unwrap_or_default(),
                rec.label(r.subflow),
                r.c2s_bytes,
                r.s2c_bytes,
                r.c2s_bps,
                r.s2c_bps,
                r.c2s_acked_bytes,
                r.s2c_acked_bytes,
                r.c2s_delivered_bytes,
                r.s2c_delivered_bytes
            )?;
        }
        Ok(())
    })
}

/// `--format json`: the interval, each subflow's path, and the rows, as
/// `serde_json::to_writer_pretty` writes `{ interval_s, paths, rows }` (paths keyed by subflow id
/// as text, so in text order). Two passes over the records: the paths of the subflows with rows
/// (kept aside by subflow id), then the rows.
fn write_json(out: &mut impl Write, records: &mut SpillReader, index: &[(usize, u64)], how: &Rows, interval_s: f64) -> Result<(), Failed> {
    let mut paths = Spill::default();
    // Subflow id → offset of its path in `paths` (u64::MAX: no row).
    let mut at: Vec<u64> = Vec::new();
    let mut failed = None;
    for_each_connection(records, index, how, |rows, rec| {
        for sf in rows.iter().filter_map(|r| r.subflow) {
            if at.len() <= sf {
                at.resize(sf + 1, u64::MAX);
            }
            if at[sf] == u64::MAX {
                match paths.append(rec.label(Some(sf)).as_bytes()) {
                    Ok(o) => at[sf] = o,
                    Err(e) => failed = Some(e),
                }
            }
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(Failed::Spill(e));
    }
    let mut paths = paths.reader().map_err(Failed::Spill)?;
    write!(out, "{{\n  \"interval_s\": {},\n  \"paths\": {{", json(&interval_s)?)?;
    let (mut first, mut text) = (true, Vec::new());
    let mut path_of = |sf: usize, out: &mut dyn Write| -> Result<(), Failed> {
        let Some(&o) = at.get(sf).filter(|&&o| o != u64::MAX) else { return Ok(()) };
        paths.read(o, &mut text).map_err(Failed::Spill)?;
        let sep = if first { "\n" } else { ",\n" };
        first = false;
        write!(out, "{sep}    \"{sf}\": {}", json(&String::from_utf8_lossy(&text))?)?;
        Ok(())
    };
    // Subflow ids in the order of their decimal text ("0", "1", "10", "100", "11", …, "2").
    if !at.is_empty() {
        path_of(0, out)?;
        for d in 1..=9 {
            in_text_order(d, at.len() - 1, &mut |sf| path_of(sf, out))?;
        }
    }
    out.write_all(if first { b"},\n  \"rows\": [" } else { b"\n  },\n  \"rows\": [" })?;
    let mut any = false;
    for_each_connection(records, index, how, |rows, _| {
        for r in rows {
            let text = serde_json::to_string_pretty(r).map_err(io::Error::from)?;
            out.write_all(if any { b",\n" } else { b"\n" })?;
            any = true;
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                write!(out, "    {line}")?;
            }
        }
        Ok(())
    })?;
    writeln!(out, "{}]\n}}", if any { "\n  " } else { "" })?;
    Ok(())
}

/// `v` as JSON text.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> io::Result<String> {
    serde_json::to_string(v).map_err(io::Error::from)
}

/// Calls `each` with `n` and every number up to `max` whose decimal text starts with `n`'s, in
/// text order.
fn in_text_order(n: usize, max: usize, each: &mut dyn FnMut(usize) -> Result<(), Failed>) -> Result<(), Failed> {
    if n > max {
        return Ok(());
    }
    each(n)?;
    for d in 0..=9 {
        match n.checked_mul(10).and_then(|m| m.checked_add(d)) {
            Some(m) if m <= max => in_text_order(m, max, each)?,
            _ => break,
        }
    }
    Ok(())
}

/// Bytes of records kept in memory before they go to a temporary file.
const SPILL_MEM: usize = 4 << 20;

/// Records appended one after the other (each with its length) and read back by offset: in
/// memory up to [`SPILL_MEM`] bytes, then in an unnamed temporary file (removed as soon as it is
/// made; it goes away with the process).
#[derive(Default)]
struct Spill {
    mem: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
}

impl Spill {
    /// Appends a record; returns its offset.
    fn append(&mut self, record: &[u8]) -> io::Result<u64> {
        let at = self.len;
        let head = (record.len() as u64).to_le_bytes();
        if self.file.is_none() && self.mem.len() + record.len() + head.len() > SPILL_MEM {
            let mut f = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            f.write_all(&self.mem)?;
            self.mem = Vec::new();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => {
                f.write_all(&head)?;
                f.write_all(record)?;
            }
            None => {
                self.mem.extend_from_slice(&head);
                self.mem.extend_from_slice(record);
            }
        }
        self.len += (head.len() + record.len()) as u64;
        Ok(at)
    }

    /// The records, for reading back.
    fn reader(self) -> io::Result<SpillReader> {
        Ok(match self.file {
            None => SpillReader::Mem(self.mem),
            Some(f) => {
                let mut f = f.into_inner().map_err(|e| e.into_error())?;
                f.seek(SeekFrom::Start(0))?;
                SpillReader::File { file: BufReader::with_capacity(1 << 16, f), pos: 0 }
            }
        })
    }
}

/// Records written by a [`Spill`].
enum SpillReader {
    Mem(Vec<u8>),
    File { file: BufReader<File>, pos: u64 },
}

impl SpillReader {
    /// The record at `at` into `buf`.
    fn read(&mut self, at: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let short = || io::Error::new(io::ErrorKind::UnexpectedEof, "record past the end");
        buf.clear();
        match self {
            SpillReader::Mem(m) => {
                let rest = usize::try_from(at).ok().and_then(|a| m.get(a..)).ok_or_else(short)?;
                let (head, rest) = rest.split_first_chunk::<8>().ok_or_else(short)?;
                let len = usize::try_from(u64::from_le_bytes(*head)).map_err(|_| short())?;
                buf.extend_from_slice(rest.get(..len).ok_or_else(short)?);
            }
            SpillReader::File { file, pos } => {
                if *pos != at {
                    file.seek(SeekFrom::Start(at))?;
                }
                let mut head = [0u8; 8];
                file.read_exact(&mut head)?;
                let len = u64::from_le_bytes(head);
                file.by_ref().take(len).read_to_end(buf)?;
                if buf.len() as u64 != len {
                    return Err(short());
                }
                *pos = at + 8 + len;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_the_order_of_their_text() {
        let mut seen = vec![0];
        for d in 1..=9 {
            in_text_order(d, 120, &mut |n| {
                seen.push(n);
                Ok(())
            })
            .ok();
        }
        let mut want: Vec<usize> = (0..=120).collect();
        want.sort_by_key(|n| n.to_string());
        assert_eq!(seen, want);
    }

    #[test]
    fn records_read_back_from_memory_and_from_the_file() {
        let mut spill = Spill::default();
        let big = vec![7u8; SPILL_MEM / 3];
        let mut at = Vec::new();
        for i in 0..5u8 {
            at.push(spill.append(&[i, i, i]).unwrap());
            at.push(spill.append(&big).unwrap());
        }
        assert!(spill.file.is_some(), "past SPILL_MEM the records are in a file");
        let mut r = spill.reader().unwrap();
        let mut buf = Vec::new();
        for (k, &o) in at.iter().enumerate().rev() {
            r.read(o, &mut buf).unwrap();
            if k % 2 == 0 {
                assert_eq!(buf, [(k / 2) as u8; 3]);
            } else {
                assert_eq!(buf, big);
            }
        }
    }
}
