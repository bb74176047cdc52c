//! `throughput FILE…`: bytes per interval per subflow and the data-level goodput, as CSV (one
//! row per interval and series) or one JSON document.
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::series::{self, Row, Throughput};
use mptcp_dissector::track::{Analysis, Analyzer};

use crate::capture::{analyze_input, capture_end};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{SeriesFormat, ThroughputArgs};
use crate::jobs::{msg, Dest};
use crate::select;

/// One file's series, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &ThroughputArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let connection = args.select.connection;
    let selection = args.select.selection();
    let mut series = match &args.interval {
        Some(i) => Throughput::new(series::parse_interval(i).map_err(CliError::Usage)?, connection),
        None => Throughput::auto(connection),
    };
    let (analysis, end) = analyze_input(file, merge, cfg, dest, Analyzer::new(cfg.limits), &mut series)?;
    if let Some(c) = connection {
        if analysis.connections.get(c).is_none() {
            msg!(dest, "mptcp-trace: error: {}: no connection {c} (the capture has {})", file.display(), analysis.connections.len());
            return Ok(2);
        }
    }
    let mut rows = if args.dense { series.rows() } else { series.sparse_rows() };
    rows.retain(|r| select::keeps_row(&selection, &analysis, r.connection, r.subflow));
    // Time 0 is the first packet of the capture (docs/throughput.md), as in analyze and
    // plot; the series count from the first TCP segment.
    let first_ns = (analysis.stats.first_ts * 1e9).round() as u64;
    let offset_s = series.t0_ns().map_or(0.0, |t| t.saturating_sub(first_ns) as f64 / 1e9);
    for r in &mut rows {
        r.t += offset_s;
    }
    let mut out = BufWriter::new(dest.out());
    match args.format {
        SeriesFormat::Csv => write_csv(&mut out, &rows, &analysis),
        SeriesFormat::Json => write_json(&mut out, &rows, &analysis, series.interval_secs()),
    }
    .and_then(|_| out.flush())
    .map_err(CliError::write(STDOUT))?;
    drop(out);
    Ok(capture_end(file, end, dest))
}

/// A subflow's path (`client -> server`), or the data level's name.
fn label(analysis: &Analysis, sf: Option<usize>) -> String {
    match sf.and_then(|s| analysis.subflows.get(s)) {
        Some(f) => format!("{} -> {}", f.client, f.server),
        None => "data-level goodput".to_string(),
    }
}

/// `--format csv`: a header line, then one line per row.
fn write_csv(out: &mut impl Write, rows: &[Row], analysis: &Analysis) -> io::Result<()> {
    writeln!(
        out,
        "t,connection,subflow,path,c2s_bytes,s2c_bytes,c2s_bps,s2c_bps,c2s_acked_bytes,s2c_acked_bytes,c2s_delivered_bytes,s2c_delivered_bytes"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:.6},{},{},\"{}\",{},{},{:.0},{:.0},{},{},{},{}",
            r.t,
            r.connection,
            r.subflow.map(|s| s.to_string()).unwrap_or_default(),
            label(analysis, r.subflow),
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
}

/// `--format json`: the interval, each subflow's path, and the rows.
fn write_json(out: &mut impl Write, rows: &[Row], analysis: &Analysis, interval_s: f64) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        interval_s: f64,
        paths: BTreeMap<String, String>,
        rows: &'a [Row],
    }
    let mut paths = BTreeMap::new();
    for r in rows {
        if let Some(sf) = r.subflow {
            paths.entry(sf.to_string()).or_insert_with(|| label(analysis, Some(sf)));
        }
    }
    let doc = Doc { interval_s, paths, rows };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from).and_then(|_| writeln!(out))
}
