//! `mptcp-trace report FILE -o report.html`: reads the capture (twice for a file: the first pass
//! finds the busiest connection's duration, which picks the throughput interval), runs the
//! verify catalog on each connection as it finishes and writes the page (`mptcp_report`), whose
//! size and memory follow its options, not the capture. Both passes run under the run's global
//! flags (`--idle-timeout`, `-f`, `-c`), as `analyze` does.
use std::io;
use std::process::ExitCode;

use mptcp_dissector::pipeline::Sink as PipelineSink;
use mptcp_dissector::track::{Analyzer, Connection, Subflow};

use crate::auto;
use crate::capture::{capture_end, open_capture};
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::ReportArgs;
use crate::jobs::Dest;
use crate::output::{self, Sink};

/// The busiest connection handed over so far (data-level bytes both ways, the lower id first
/// among equals): its start and end.
#[derive(Default)]
struct Busiest(Option<((u64, std::cmp::Reverse<usize>), f64, f64)>);

impl PipelineSink for Busiest {
    fn connection(&mut self, c: Connection, _subflows: Vec<Subflow>) {
        let key = (c.c2s.bytes + c.s2c.bytes, std::cmp::Reverse(c.id));
        if self.0.as_ref().is_none_or(|(best, _, _)| key > *best) {
            self.0 = Some((key, c.start_ts, c.end_ts));
        }
    }
}

/// Writes the page; exit 2 when the capture is damaged.
pub fn run(args: &ReportArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let (file, target) = (args.file.as_path(), args.output.as_path());
    output::refuse_input(target, &[file])?;
    let name = file.display().to_string();
    let interval_ns = if file.as_os_str() == "-" {
        100_000_000
    } else {
        let mut busiest = Busiest::default();
        let analyzer = Analyzer::new(cfg.limits_with_series()).with_events(false).hand_over_finished();
        mptcp_dissector::pipeline::run_into(&mut open_capture(file, cfg)?, analyzer, &mut busiest);
        busiest.0.map_or(100_000_000, |(_, start, end)| auto::connection_interval(start, end))
    };
    let opts = mptcp_report::Options {
        generator: format!("mptcp-trace {}", env!("CARGO_PKG_VERSION")),
        max_connections: args.max_connections,
        ..mptcp_report::Options::default()
    };
    let mut page = mptcp_report::gather(&name, &mut open_capture(file, cfg)?, interval_ns, cfg.limits_with_series(), &opts);
    let end = page.cap.end.take();
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        say!("mptcp-trace: error: {name}: {e}");
        return Ok(ExitCode::from(2));
    }
    let opts = mptcp_report::Options { warning: end.as_ref().filter(|e| e.is_truncation()).map(|e| e.to_string()), ..opts };
    let mut out = Sink::open(Some(target), &[file], Box::new(io::stdout()))?;
    let to = out.name();
    mptcp_report::write_html(&mut out, &page, &opts).map_err(CliError::write(&to))?;
    out.finish()?;
    let verdicts = &page.verdicts;
    if target.as_os_str() != "-" {
        say!(
            "mptcp-trace: wrote {to}: {} connection(s), verify {} passed, {} failed, {} skipped",
            page.totals.connections,
            verdicts.passed,
            verdicts.failed,
            verdicts.skipped
        );
    }
    Ok(ExitCode::from(capture_end(file, end, &mut Dest::Std)))
}
