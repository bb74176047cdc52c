//! `mptcp-trace report FILE -o report.html`: reads the capture (twice for a file: the first pass
//! finds the busiest connection's duration, which picks the throughput interval), runs the
//! verify catalog on the analysis and writes the page (`mptcp_report`).
use std::io;
use std::path::Path;
use std::process::ExitCode;

use mptcp_dissector::track::Limits;

use crate::output::Sink;
use crate::{auto, capture_end, open_capture, CliError, Dest};

pub(crate) fn run(file: &Path, output: &Path, _limits: Limits) -> Result<ExitCode, CliError> {
    crate::output::refuse_input(output, &[file])?;
    let file_buf = file.to_path_buf();
    let name = file.display().to_string();
    let interval_ns = if file.as_os_str() == "-" {
        100_000_000
    } else {
        let mut reader = open_capture(&file_buf)?;
        let first = mptcp_plots::collect(&name, &mut reader, 100_000_000);
        let busiest = first.analysis.connections.iter().max_by_key(|c| (c.c2s.bytes + c.s2c.bytes, std::cmp::Reverse(c.id)));
        busiest.map_or(100_000_000, |c| auto::connection_interval(c.start_ts, c.end_ts))
    };
    let mut reader = open_capture(&file_buf)?;
    let mut cap = mptcp_plots::collect(&name, &mut reader, interval_ns);
    let end = cap.end.take();
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        say!("mptcp-trace: error: {name}: {e}");
        return Ok(ExitCode::from(2));
    }
    let mut verdicts = mptcp_dissector::verify::verify(&name, &cap.analysis, &[]);
    verdicts.require_connections(&cap.analysis, false);
    let opts = mptcp_report::Options {
        generator: format!("mptcp-trace {}", env!("CARGO_PKG_VERSION")),
        warning: end.as_ref().filter(|e| e.is_truncation()).map(|e| e.to_string()),
        ..mptcp_report::Options::default()
    };
    let mut out = Sink::open(Some(output), &[file], Box::new(io::stdout()))?;
    let to = out.name();
    mptcp_report::write_html(&mut out, &cap, &verdicts, &opts).map_err(CliError::write(&to))?;
    out.finish()?;
    if output.as_os_str() != "-" {
        say!(
            "mptcp-trace: wrote {to}: {} connection(s), verify {} passed, {} failed, {} skipped",
            cap.analysis.connections.len(),
            verdicts.passed,
            verdicts.failed,
            verdicts.skipped
        );
    }
    Ok(ExitCode::from(capture_end(file, end, &Dest::Std)))
}
