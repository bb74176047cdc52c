//! `analyze FILE…`: connections, subflows, checks and data-level measures, as text (bounded:
//! the connections that matter past a few), one JSON document, or JSON lines written as each
//! connection finishes.
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::report::analyze::{self as analyze_report, AnalyzeReport};
use mptcp_dissector::track::{Analysis, Analyzer};

use crate::capture::{analyze_input, capture_end, warning_of};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{AnalyzeArgs, ReportFormat};
use crate::jobs::{msg, Dest};
use crate::select::{self, SelectedRetire};
use crate::write;
use mptcp_dissector::report::pcap_out::Tee;

/// One file's report, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &AnalyzeArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let analyzer = Analyzer::new(cfg.limits).with_hashes(args.sha256).with_hash_thread(cfg.hash_thread).with_events(false);
    let mut pcap = write::open(&args.write, &args.select.selection(), file, merge, cfg, dest)?;
    let code = report(args, file, merge, cfg, dest, analyzer, &mut pcap)?;
    // Exit 2 (a file that could not be read, no such connection): no capture written.
    if code != 2 {
        write::close(pcap, dest)?;
    }
    Ok(code)
}

/// [`analyze_input`], the packets also to `-w`'s writer when there is one.
fn input(
    file: &Path,
    merge: &[PathBuf],
    cfg: &RunConfig,
    dest: &mut Dest,
    writer: &mut Option<write::Writer>,
    analyzer: Analyzer,
    sink: &mut dyn mptcp_dissector::pipeline::Sink,
) -> Result<(Analysis, Option<mptcp_dissector::capture::CaptureError>), CliError> {
    let mut tee;
    let sink: &mut dyn mptcp_dissector::pipeline::Sink = match writer {
        Some(w) => {
            tee = Tee(sink, w);
            &mut tee
        }
        None => sink,
    };
    match cfg.input.stats_ns {
        Some(every) => {
            let mut ticker = analyze_report::Ticker::new(sink, io::stderr(), every);
            let result = analyze_input(file, merge, cfg, dest, analyzer, &mut ticker);
            ticker.finish();
            result
        }
        None => analyze_input(file, merge, cfg, dest, analyzer, sink),
    }
}

/// The report itself.
fn report(
    args: &AnalyzeArgs,
    file: &Path,
    merge: &[PathBuf],
    cfg: &RunConfig,
    dest: &mut Dest,
    analyzer: Analyzer<'static>,
    pcap: &mut Option<write::Writer>,
) -> Result<u8, CliError> {
    let selection = args.select.selection();
    let name = file.display().to_string();
    match (args.format, args.all) {
        // Streamed: each connection is written as it finishes.
        (ReportFormat::Jsonl, _) => {
            // Straight to standard output as connections finish; with several files at once,
            // held until the run is over and then added to the file's report.
            let mut held = Vec::new();
            let writer: Box<dyn Write + '_> = if dest.is_std() { Box::new(io::stdout()) } else { Box::new(&mut held) };
            let mut jsonl = analyze_report::JsonlWriter::new(BufWriter::new(writer));
            jsonl.flush_lines = cfg.input.live.is_some();
            let mut sink = selected(jsonl, selection);
            let (analysis, end) = input(file, merge, cfg, dest, pcap, analyzer.hand_over_finished(), &mut sink)?;
            let missing = missing(args, file, &analysis, sink.seen, dest);
            let finished = match missing {
                Some(_) => Ok(()),
                None => sink.inner.finish(&name, &analysis, &warning_of(&end)),
            };
            drop(sink);
            streamed_end(file, dest, &held, missing, finished, end)
        }
        // A connection log: each connection's line as it finishes (the verdicts need the
        // MP_FAIL/MP_FASTCLOSE events, handed over as they come).
        (ReportFormat::Tsv, _) => {
            let mut held = Vec::new();
            let writer: Box<dyn Write + '_> = if dest.is_std() { Box::new(io::stdout()) } else { Box::new(&mut held) };
            let mut sink = analyze_report::TsvWriter::new(BufWriter::new(writer), selection);
            sink.flush_lines = cfg.input.live.is_some();
            let analyzer = analyzer.with_events(true).hand_over_events(false).hand_over_finished();
            let (analysis, end) = input(file, merge, cfg, dest, pcap, analyzer, &mut sink)?;
            let missing = missing(args, file, &analysis, sink.seen, dest);
            // No log (not even its header) when `--connection` names none.
            let finished = if missing.is_some() { Ok(()) } else { sink.finish() };
            drop(sink);
            streamed_end(file, dest, &held, missing, finished, end)
        }
        // Bounded: totals and the connections that matter past a few.
        (ReportFormat::Text, false) => {
            let mut sink = selected(analyze_report::TextSummary::default(), selection);
            let (analysis, end) = input(file, merge, cfg, dest, pcap, analyzer.hand_over_finished(), &mut sink)?;
            if let Some(code) = missing(args, file, &analysis, sink.seen, dest) {
                return Ok(code);
            }
            let mut out = BufWriter::new(dest.out());
            sink.inner.write(&mut out, &name, &analysis, &warning_of(&end)).and_then(|_| out.flush()).map_err(CliError::write(STDOUT))?;
            drop(out);
            Ok(capture_end(file, end, dest))
        }
        // Rendered as connections finish, written at the end (the statistics come first).
        (ReportFormat::Json, _) => {
            let mut doc = analyze_report::JsonDocument::new(selection);
            let (analysis, end) = input(file, merge, cfg, dest, pcap, analyzer.hand_over_finished(), &mut doc)?;
            if let Some(code) = missing(args, file, &analysis, doc.seen, dest) {
                return Ok(code);
            }
            let mut out = BufWriter::new(dest.out());
            doc.finish(&mut out, &name, &analysis, warning_of(&end)).and_then(|_| out.flush()).map_err(CliError::write(STDOUT))?;
            drop(out);
            Ok(capture_end(file, end, dest))
        }
        (format, _) => {
            let (mut analysis, end) = input(file, merge, cfg, dest, pcap, analyzer, &mut ())?;
            if let Some(code) = missing(args, file, &analysis, 0, dest) {
                return Ok(code);
            }
            select::restrict(&mut analysis, &selection);
            let mut report = AnalyzeReport::new(&name, &analysis, warning_of(&end));
            if !selection.is_empty() {
                // Flows outside every connection are not selected (as in the streamed reports).
                report.orphans.clear();
            }
            let mut out = BufWriter::new(dest.out());
            match format {
                ReportFormat::Json => analyze_report::write_json(&mut out, &report),
                _ => analyze_report::write_text(&mut out, &report),
            }
            .and_then(|_| out.flush())
            .map_err(CliError::write(STDOUT))?;
            drop(out);
            Ok(capture_end(file, end, dest))
        }
    }
}

/// The end of a report streamed as connections finished: what several files at once held is
/// written, then `--connection` naming none (exit 2), a failed write, or how the capture ended.
fn streamed_end(
    file: &Path,
    dest: &mut Dest,
    held: &[u8],
    missing: Option<u8>,
    finished: io::Result<()>,
    end: Option<mptcp_dissector::capture::CaptureError>,
) -> Result<u8, CliError> {
    dest.out().write_all(held).map_err(CliError::write(STDOUT))?;
    if let Some(code) = missing {
        return Ok(code);
    }
    finished.map_err(CliError::write(STDOUT))?;
    Ok(capture_end(file, end, dest))
}

/// A streamed report's sink behind the selection.
fn selected<R>(inner: R, selection: Selection) -> SelectedRetire<R> {
    SelectedRetire { inner, selection, seen: 0 }
}

/// `--connection ID` naming no connection (`seen`: how many the streamed sinks were given): the
/// same error (2) as stream, plot and throughput, and no report.
fn missing(args: &AnalyzeArgs, file: &Path, analysis: &Analysis, seen: usize, dest: &mut Dest) -> Option<u8> {
    let c = args.select.connection?;
    let have = analysis.connections.len().max(seen);
    (c >= have).then(|| {
        msg!(dest, "mptcp-trace: error: {}: no connection {c} (the capture has {have})", file.display());
        2
    })
}
