//! `mptcp-trace report FILE -o report.html`: reads the capture (twice for a file: the first pass
//! finds the busiest connection's duration, which picks the throughput interval), runs the
//! verify catalog on the analysis and writes the page (`mptcp_report`). Both passes run under
//! the run's global flags (`--idle-timeout`, `-f`, `-c`), as `analyze` does.
use std::io;
use std::process::ExitCode;

use mptcp_plots::{Collector, MAX_SIDE};

use crate::auto;
use crate::capture::{capture_end, open_capture};
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::ReportArgs;
use crate::jobs::Dest;
use crate::output::{self, Sink};

/// Writes the page; exit 2 when the capture is damaged.
pub fn run(args: &ReportArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let (file, target) = (args.file.as_path(), args.output.as_path());
    output::refuse_input(target, &[file])?;
    let name = file.display().to_string();
    let collect = |interval_ns: u64| -> Result<mptcp_plots::Capture, CliError> {
        let mut reader = open_capture(file, cfg)?;
        Ok(mptcp_plots::collect_limited(&name, &mut reader, Collector::new(interval_ns, MAX_SIDE), cfg.limits))
    };
    let interval_ns = if file.as_os_str() == "-" {
        100_000_000
    } else {
        let first = collect(100_000_000)?;
        let busiest = first.analysis.connections.iter().max_by_key(|c| (c.c2s.bytes + c.s2c.bytes, std::cmp::Reverse(c.id)));
        busiest.map_or(100_000_000, |c| auto::connection_interval(c.start_ts, c.end_ts))
    };
    let mut cap = collect(interval_ns)?;
    let end = cap.end.take();
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        say!("mptcp-trace: error: {name}: {e}");
        return Ok(ExitCode::from(2));
    }
    let mut verdicts = mptcp_dissector::analysis::verify::verify(&name, &cap.analysis, &[]);
    verdicts.require_connections(cap.analysis.connections.len() as u64, &cap.analysis, false);
    let opts = mptcp_report::Options {
        generator: format!("mptcp-trace {}", env!("CARGO_PKG_VERSION")),
        warning: end.as_ref().filter(|e| e.is_truncation()).map(|e| e.to_string()),
        ..mptcp_report::Options::default()
    };
    let mut out = Sink::open(Some(target), &[file], Box::new(io::stdout()))?;
    let to = out.name();
    mptcp_report::write_html(&mut out, &cap, &verdicts, &opts).map_err(CliError::write(&to))?;
    out.finish()?;
    if target.as_os_str() != "-" {
        say!(
            "mptcp-trace: wrote {to}: {} connection(s), verify {} passed, {} failed, {} skipped",
            cap.analysis.connections.len(),
            verdicts.passed,
            verdicts.failed,
            verdicts.skipped
        );
    }
    Ok(ExitCode::from(capture_end(file, end, &mut Dest::Std)))
}
