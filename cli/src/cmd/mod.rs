//! One module per command; [`run`] picks the command's and how its files are read: one alone,
//! several at once ([`crate::jobs::run_files`]), or merged into one (`--merge`).
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::{Cli, Command};
use crate::jobs::{self, Dest, Join};
use crate::{gen, output};

mod analyze;
mod dissect;
mod events;
mod export;
pub mod pair;
mod plot;
mod report;
mod stream;
mod throughput;
mod verify;

/// Runs `command` under the run's `cfg`; the exit status.
pub fn run(command: &Command, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    match command {
        Command::Analyze(a) => crate::write::check(&a.write, &a.select.selection(), &a.files, cfg.merge, cfg.input.live.is_some())?,
        Command::Dissect(a) => crate::write::check(&a.write, &a.select.selection(), &a.files, cfg.merge, cfg.input.live.is_some())?,
        _ => {}
    }
    if let Command::Verify(v) = command {
        if let Some(o) = &v.output {
            output::refuse_input(o, &v.files.iter().map(|p| p.as_path()).collect::<Vec<_>>())?;
        }
    }
    match command {
        Command::Completions { shell } => {
            gen::completions(*shell, Cli::command(), &mut io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => {
            for f in gen::man_pages(Cli::command(), out)? {
                say!("mptcp-trace: wrote {}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dissect(_) | Command::Stream(_) | Command::Plot(_) | Command::Pair(_) | Command::Report(_) | Command::Export(_)
            if cfg.merge =>
        {
            Err(CliError::Usage("--merge works with analyze, verify, events and throughput".into()))
        }
        Command::Dissect(_) | Command::Analyze(_) | Command::Verify(_) | Command::Events(_) if cfg.input.live.is_some() => {
            if !command.files().is_empty() || cfg.merge {
                return Err(CliError::Usage("-i captures live: give no capture file (and no --merge)".into()));
            }
            let name = PathBuf::from(cfg.input.live.as_ref().map(|l| l.name()).unwrap_or_default());
            run_input(command, &name, &[], cfg, &mut Dest::Std).map(ExitCode::from)
        }
        _ if cfg.input.live.is_some() => Err(CliError::Usage("-i works with analyze, events, verify and dissect".into())),
        Command::Analyze(_) | Command::Throughput(_) | Command::Verify(_) | Command::Events(_) if cfg.merge => {
            run_merged(command, command.files(), cfg)
        }
        Command::Verify(v) if v.files.len() > 1 => verify::run_files(v, cfg),
        Command::Dissect(_) | Command::Analyze(_) | Command::Throughput(_) | Command::Verify(_) | Command::Events(_) => {
            jobs::run_files(Join::of(command), command.files(), cfg, |file, dest| run_input(command, file, &[], cfg, dest))
        }
        Command::Report(a) => report::run(a, cfg),
        Command::Stream(a) => stream::run(a, cfg),
        Command::Plot(a) => plot::run(a, cfg),
        Command::Pair(a) => pair::run(a, cfg).map(ExitCode::from),
        Command::Export(a) => export::run(a, cfg),
    }
}

/// `--merge`: the files as one capture, reported under their names joined by ` + `.
fn run_merged(command: &Command, files: &[PathBuf], cfg: &RunConfig) -> Result<ExitCode, CliError> {
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("--merge reads files, not standard input".into()));
    }
    let name = PathBuf::from(files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + "));
    run_input(command, &name, files, cfg, &mut Dest::Std).map(ExitCode::from)
}

/// One run over `file`, or over the captures `merge` merged into one (then `file` is their
/// name), of a command that reads several files; its exit status.
fn run_input(command: &Command, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    match command {
        Command::Dissect(a) => dissect::run(a, file, cfg, dest),
        Command::Analyze(a) => analyze::run(a, file, merge, cfg, dest),
        Command::Throughput(a) => throughput::run(a, file, merge, cfg, dest),
        Command::Verify(a) => verify::run(a, file, merge, cfg, dest),
        Command::Events(a) => events::run(a, file, merge, cfg, dest),
        Command::Stream(_)
        | Command::Plot(_)
        | Command::Pair(_)
        | Command::Report(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Export(_) => Err(CliError::Internal("one file only")),
    }
}
