//! [`RunConfig`]: the global flags of a run, checked and turned into what the commands use,
//! built once in `main` and passed down by reference (no process-wide setting).
use mptcp_dissector::track::Limits;

use crate::error::CliError;
use crate::flags::Cli;
use crate::input::InputOptions;

/// What every command applies to what it reads, from the global flags.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The analyzer's bounds (`--idle-timeout`, and the defaults of the others).
    pub limits: Limits,
    /// The capture filter (`-f`) and packet count (`-c`).
    pub input: InputOptions,
    /// Files analysed at once (`--jobs`, default the number of cores).
    pub jobs: usize,
    /// `--merge`: several captures analysed as one.
    pub merge: bool,
    /// Whether one file is read at a time: a run over several files at once (not merged) writes
    /// no progress bar and keeps each file's report until the ones before it are written.
    pub alone: bool,
    /// Whether large streams are hashed on a helper thread: not when the files already keep
    /// every core busy (several files, `--jobs` above 1).
    pub hash_thread: bool,
}

impl RunConfig {
    /// Checks the global flags (a bad `--idle-timeout` or `-f` is a usage error before any
    /// file is read).
    pub fn new(cli: &Cli) -> Result<RunConfig, CliError> {
        let idle_timeout_ns = parse_idle_timeout(&cli.idle_timeout)?;
        let input = InputOptions { filter: cli.filter.clone(), count: cli.count };
        input.check().map_err(CliError::Usage)?;
        let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
        let alone = cli.merge || cli.command.files().len() <= 1;
        Ok(RunConfig {
            limits: Limits { idle_timeout_ns, ..Limits::default() },
            input,
            jobs,
            merge: cli.merge,
            alone,
            hash_thread: alone || jobs <= 1,
        })
    }
}

/// `--idle-timeout`: a duration (ns, us, ms, s, m, h) or 0 (never).
fn parse_idle_timeout(s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    if t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<f64>() == Ok(0.0) {
        return Ok(0);
    }
    let (num, scale) = match t.strip_suffix('h').or_else(|| t.strip_suffix('m').filter(|n| !n.ends_with(['m', 'u', 'n']))) {
        Some(n) if t.ends_with('h') => (n, 3600.0),
        Some(n) => (n, 60.0),
        None => return mptcp_dissector::analysis::series::parse_interval(t).map_err(|_| bad_idle_timeout(s)),
    };
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && v * scale < 1e6 => Ok((v * scale * 1e9) as u64),
        _ => Err(bad_idle_timeout(s)),
    }
}

/// Every unit `--idle-timeout` takes, in one message whatever was wrong.
fn bad_idle_timeout(s: &str) -> CliError {
    CliError::Usage(format!(
        "--idle-timeout: bad duration {s:?}: a number and a unit, ns, us, ms, s, m (minutes) or h (e.g. 300s, 5m, 1h), or 0 for never"
    ))
}
