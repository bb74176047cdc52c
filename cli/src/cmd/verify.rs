//! `verify FILE…`: the check catalogue and the `--expect` rules on each capture, one report of
//! them all (text, JSON, JUnit) on standard output or `-o FILE`; exit 1 when a check failed.
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mptcp_dissector::analysis::verify::{self, Expectation, VerifyReport};
use mptcp_dissector::track::Analyzer;
use rayon::prelude::*;

use crate::capture::{analyze_input, warning_of};
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::{VerifyArgs, VerifyFormat};
use crate::jobs::{self, msg, Dest};
use crate::output;
use crate::select;

/// One capture's report, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &VerifyArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let exps = match parse_expectations(&args.expect) {
        Ok(e) => e,
        Err(msg) => {
            msg!(dest, "mptcp-trace: usage error: {msg}");
            return Ok(2);
        }
    };
    let report = match report(args, file, merge, cfg, dest, &exps)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let inputs: Vec<&Path> = if merge.is_empty() { vec![file] } else { merge.iter().map(|p| p.as_path()).collect() };
    let ok = report.ok();
    write(args.output.as_deref(), &inputs, dest.out(), args.format, &[report])?;
    Ok(if ok { 0 } else { 1 })
}

fn parse_expectations(rules: &[String]) -> Result<Vec<Expectation>, String> {
    rules.iter().map(|r| verify::parse_expectation(r)).collect()
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
) -> Result<Result<VerifyReport, u8>, CliError> {
    let analyzer = Analyzer::new(cfg.limits).with_hashes(verify::needs_hashes(exps)).with_hash_thread(cfg.hash_thread);
    let (mut analysis, end) = analyze_input(file, merge, cfg, dest, analyzer, &mut ())?;
    select::restrict(&mut analysis, &args.select.selection());
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        msg!(dest, "mptcp-trace: error: {}: {e}", file.display());
        return Ok(Err(2));
    }
    if let Some(w) = warning_of(&end) {
        msg!(dest, "mptcp-trace: warning: {}: {w}; everything before it was used", file.display());
    }
    let mut report = verify::verify(&file.display().to_string(), &analysis, exps);
    report.require_connections(&analysis, args.allow_empty);
    Ok(Ok(report))
}

/// Writes the reports as one document: text (each capture's report under its own header
/// line), JSON (one report: its document; several: an array of them), JUnit (one
/// `<testsuites>`, a suite per capture).
fn write(
    output: Option<&Path>,
    inputs: &[&Path],
    stdout: Box<dyn Write + '_>,
    format: VerifyFormat,
    reports: &[VerifyReport],
) -> Result<(), CliError> {
    use mptcp_dissector::report::verify as vr;
    let mut out = output::Sink::open(output, inputs, stdout)?;
    let to = out.name();
    match (format, reports) {
        (VerifyFormat::Json, [one]) => vr::write_json(&mut out, one),
        (VerifyFormat::Json, _) => vr::write_json_many(&mut out, reports),
        (VerifyFormat::Junit, _) => vr::write_junit_many(&mut out, reports),
        (VerifyFormat::Text, _) => reports.iter().try_for_each(|r| vr::write_text(&mut out, r)),
    }
    .map_err(CliError::write(&to))?;
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
    let done: Vec<(Vec<u8>, Result<VerifyReport, u8>)> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let mut dest = Dest::Buf { out: Vec::new(), err: Vec::new() };
                let r = match report(args, f, &[], cfg, &mut dest, &exps) {
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
                worst = worst.max(if r.ok() { 0 } else { 1 });
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
    write(args.output.as_deref(), &inputs, Box::new(io::stdout()), args.format, &reports)?;
    Ok(ExitCode::from(worst))
}
