//! `verify FILE…`: the check catalogue and the `--expect` rules on each capture, one report of
//! them all (text, JSON, JUnit) on standard output or `-o FILE`; exit 1 when a check failed.
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::analysis::verify::{self, Expectation, Verifier};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::report::verify as vr;
use mptcp_dissector::track::{Analyzer, Connection, Event, Subflow};
use mptcp_wire::crypto::Token;
use rayon::prelude::*;

use crate::capture::{analyze_input, warning_of};
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::{VerifyArgs, VerifyFormat};
use crate::jobs::{self, msg, Dest};
use crate::output;

/// One capture's report, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &VerifyArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let exps = match parse_expectations(&args.expect) {
        Ok(e) => e,
        Err(msg) => {
            msg!(dest, "mptcp-trace: usage error: {msg}");
            return Ok(2);
        }
    };
    let report = match report(args, file, merge, cfg, dest, &exps, format_of(args.format, false))? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let inputs: Vec<&Path> = if merge.is_empty() { vec![file] } else { merge.iter().map(|p| p.as_path()).collect() };
    let ok = report.report.ok();
    write(args.output.as_deref(), &inputs, dest.out(), format_of(args.format, false), vec![report])?;
    Ok(if ok { 0 } else { 1 })
}

fn parse_expectations(rules: &[String]) -> Result<Vec<Expectation>, String> {
    rules.iter().map(|r| verify::parse_expectation(r)).collect()
}

/// The report's format; `many`: one of several captures' reports in one document.
fn format_of(format: VerifyFormat, many: bool) -> vr::Format {
    match format {
        VerifyFormat::Text => vr::Format::Text,
        VerifyFormat::Json => vr::Format::Json { many },
        VerifyFormat::Junit => vr::Format::Junit,
    }
}

/// The checks as connections finish, each connection's verdicts rendered at once: memory
/// follows what is open, not the capture.
struct Checker<'e> {
    verifier: Verifier<'e>,
    out: vr::Streamed,
    selection: Selection,
    error: Option<io::Error>,
}

impl Sink for Checker<'_> {
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.verifier.event(e);
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        let selected = self.selection.keeps_connection(&conn);
        let v = self.verifier.connection(&conn, &subflows, selected);
        let written = if selected { self.out.connection(&v) } else { self.out.skip(conn.id) };
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }
    fn flow(&mut self, flow: Subflow) {
        self.verifier.flow(&flow);
    }
}

/// The report of one input (or of merged inputs), or the exit status that stands for it (2:
/// the capture is damaged; its message is written).
fn report(
    args: &VerifyArgs,
    file: &Path,
    merge: &[PathBuf],
    cfg: &RunConfig,
    dest: &mut Dest,
    exps: &[Expectation],
    format: vr::Format,
) -> Result<Result<vr::Streamed, u8>, CliError> {
    let analyzer = Analyzer::new(cfg.limits)
        .with_hashes(verify::needs_hashes(exps))
        .with_hash_thread(cfg.hash_thread)
        .hand_over_finished()
        .hand_over_events(false);
    let mut checker =
        Checker { verifier: Verifier::new(exps), out: vr::Streamed::new(format), selection: args.select.selection(), error: None };
    let (analysis, end) = analyze_input(file, merge, cfg, dest, analyzer, &mut checker)?;
    if let Some(e) = checker.error {
        return Err(CliError::write("the report's temporary file")(e));
    }
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        msg!(dest, "mptcp-trace: error: {}: {e}", file.display());
        return Ok(Err(2));
    }
    if let Some(w) = warning_of(&end) {
        msg!(dest, "mptcp-trace: warning: {}: {w}; everything before it was used", file.display());
    }
    let connections = checker.verifier.connections();
    let mut report = checker.verifier.finish(&file.display().to_string(), &analysis);
    report.require_connections(connections, &analysis, args.allow_empty);
    let mut out = checker.out;
    out.report = report;
    Ok(Ok(out))
}

/// Writes the reports as one document (`-o FILE` or standard output).
fn write(
    output: Option<&Path>,
    inputs: &[&Path],
    stdout: Box<dyn Write + '_>,
    format: vr::Format,
    reports: Vec<vr::Streamed>,
) -> Result<(), CliError> {
    let mut out = output::Sink::open(output, inputs, stdout)?;
    let to = out.name();
    vr::write(&mut out, format, reports).map_err(CliError::write(&to))?;
    out.finish()
}

/// `verify` over several files: each read on its own, in parallel, and one report of them all,
/// in the order given. With `-o`, a file that cannot be read leaves the output unwritten (a
/// report must not silently lack a capture); on standard output the others' reports are written.
pub fn run_files(args: &VerifyArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let files = &args.files;
    let exps = parse_expectations(&args.expect).map_err(CliError::Usage)?;
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("standard input (`-`) cannot be one of several files".into()));
    }
    let pool = jobs::pool(cfg)?;
    let format = format_of(args.format, true);
    let done: Vec<(Vec<u8>, Result<vr::Streamed, u8>)> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let mut dest = Dest::Buf { out: Vec::new(), err: Vec::new() };
                let r = match report(args, f, &[], cfg, &mut dest, &exps, format) {
                    Ok(r) => r,
                    Err(e) => {
                        msg!(dest, "mptcp-trace: error: {e}");
                        Err(2)
                    }
                };
                (dest.into_buffers().1, r)
            })
            .collect()
    });
    let (mut worst, mut reports) = (0u8, Vec::new());
    for (err, r) in done {
        let _ = io::stderr().write_all(&err);
        match r {
            Ok(r) => {
                worst = worst.max(if r.report.ok() { 0 } else { 1 });
                reports.push(r);
            }
            Err(code) => worst = worst.max(code),
        }
    }
    if worst == 2 {
        if let Some(o) = args.output.as_ref().filter(|o| o.as_os_str() != "-") {
            say!("mptcp-trace: {} not written: a capture could not be read", o.display());
            return Ok(ExitCode::from(2));
        }
    }
    let inputs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    write(args.output.as_deref(), &inputs, Box::new(io::stdout()), format, reports)?;
    Ok(ExitCode::from(worst))
}
