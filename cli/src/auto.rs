//! Throughput intervals picked from the duration when `--interval` is not given
//! (`mptcp_dissector::analysis::series::auto_interval`: a round value, a few hundred intervals).
use std::path::Path;

use mptcp_dissector::analysis::series::auto_interval;
use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::track::Limits;
use mptcp_plots::{Collector, PlotKind, PlotOptions};

/// The interval a throughput plot of `opts` uses when none is given: from the plotted
/// connection's duration. That connection (the asked one, or the busiest) is known only after a
/// pass over the capture, so a file is read twice; standard input, which cannot be, and the
/// other plot kinds keep 100 ms. The reordering plot's sending shares are per interval too, of
/// about 50 over the connection (shares of a few packets each would only flicker). The pass
/// runs under the run's `limits`, as the plot's own.
pub(crate) fn plot_interval<E>(
    file: &Path,
    opts: &PlotOptions,
    limits: Limits,
    open: impl FnOnce() -> Result<CaptureReader, E>,
) -> Result<u64, E> {
    const FALLBACK_NS: u64 = 100_000_000;
    if !matches!(opts.kind, PlotKind::Throughput | PlotKind::Reorder) || file.as_os_str() == "-" {
        return Ok(FALLBACK_NS);
    }
    let mut reader = open()?;
    let first = mptcp_plots::collect_limited(&file.display().to_string(), &mut reader, Collector::for_plot(FALLBACK_NS, opts), limits);
    Ok(match first.connection(opts.connection, opts.direction) {
        Ok(c) if opts.kind == PlotKind::Reorder => auto_interval(((c.end_ts - c.start_ts).max(0.0) * 6e9) as u64),
        Ok(c) => connection_interval(c.start_ts, c.end_ts),
        Err(_) => FALLBACK_NS,
    })
}

/// [`auto_interval`] of a connection lasting from `start` to `end` (seconds).
pub(crate) fn connection_interval(start: f64, end: f64) -> u64 {
    auto_interval(((end - start).max(0.0) * 1e9) as u64)
}
