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
        let live = if cli.interfaces.is_empty() {
            if cli.autostop.is_some() {
                return Err(CliError::Usage("-a stops a live capture: give -i IFACE".into()));
            }
            None
        } else {
            let duration = cli.autostop.as_deref().map(crate::live::parse_autostop).transpose().map_err(CliError::Usage)?;
            Some(crate::live::Live { interfaces: cli.interfaces.clone(), duration })
        };
        let stats_ns = cli.stats_interval.map(|s| (s * 1e9).round() as u64);
        if stats_ns.is_some() && !matches!(cli.command, crate::flags::Command::Analyze(_)) {
            return Err(CliError::Usage("--stats-interval works with analyze".into()));
        }
        let input = InputOptions { filter: cli.filter.clone(), count: cli.count, live, stats_ns };
        input.check().map_err(CliError::Usage)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let files = if cli.merge { 1 } else { cli.command.files().len() };
        let jobs = jobs_for(cli.jobs, files, cores);
        let alone = cli.merge || cli.command.files().len() <= 1;
        Ok(RunConfig {
            limits: Limits { idle_timeout_ns, max_state_bytes: state_budget(jobs), ..Limits::default() },
            input,
            jobs,
            merge: cli.merge,
            alone,
            hash_thread: alone || jobs <= 1,
        })
    }
}

impl RunConfig {
    /// The analyzer's bounds for a command whose sink also keeps something per open connection
    /// (the series of `throughput`, `plot` and `report`): the analyzer gets three quarters of
    /// the state budget, the series the rest, so the process stays within one budget.
    pub fn limits_with_series(&self) -> Limits {
        Limits { max_state_bytes: self.limits.max_state_bytes / 4 * 3, ..self.limits }
    }
}

/// Files analysed at once, at most, per core: a file's run is mostly one thread's work (plus a
/// read-ahead thread), so more than a few per core only adds threads and memory.
const JOBS_PER_CORE: usize = 4;

/// Files analysed at once: `--jobs` (default: the cores), never more than the files nor
/// [`JOBS_PER_CORE`] per core, and at least 1 (`-j 100000` on two files is 2 threads, not
/// 100,000).
fn jobs_for(asked: Option<usize>, files: usize, cores: usize) -> usize {
    asked.unwrap_or(cores).min(files).min(JOBS_PER_CORE * cores.max(1)).max(1)
}

/// The open state each file's analyzer may hold: the one budget of the process
/// ([`Limits::default`], 40 MiB) shared by the files analysed at once, so that `-j 8` does not
/// hold eight times as much; at least 1 MiB each.
fn state_budget(jobs: usize) -> usize {
    (Limits::default().max_state_bytes / jobs.max(1)).max(1 << 20)
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

#[cfg(test)]
mod tests {
    use super::{jobs_for, state_budget};

    #[test]
    fn files_at_once_share_one_state_budget() {
        assert_eq!(state_budget(1), 40 << 20);
        assert_eq!(state_budget(4), 10 << 20);
        assert_eq!(state_budget(1000), 1 << 20);
    }

    #[test]
    fn jobs_are_clamped_to_the_files_and_a_few_per_core() {
        // (asked, files, cores) -> threads
        assert_eq!(jobs_for(Some(100_000), 2, 2), 2);
        assert_eq!(jobs_for(Some(100_000), 1_000, 2), 8);
        assert_eq!(jobs_for(Some(3), 1_000, 2), 3);
        assert_eq!(jobs_for(None, 1_000, 2), 2);
        assert_eq!(jobs_for(None, 1, 16), 1);
        assert_eq!(jobs_for(Some(0), 5, 2), 1);
        assert_eq!(jobs_for(Some(4), 0, 2), 1);
    }
}
