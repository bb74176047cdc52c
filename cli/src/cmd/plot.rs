//! `plot FILE -k KIND -o OUT.svg|png`: one plot of one connection (`mptcp_plots`), under the
//! run's global flags as `analyze` is; `-k owd` from two captures matched as `pair` does.
use std::path::Path;
use std::process::ExitCode;

use mptcp_dissector::analysis::pair::PairOptions;
use mptcp_dissector::track::Analyzer;
use mptcp_plots::{Collector, PlotError};

use crate::auto;
use crate::capture::{analyze_file, capture_end, open_capture};
use crate::cmd::pair;
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::{PlotArgs, PlotKindArg};
use crate::jobs::Dest;
use crate::output;
use crate::select::SelectArgs;

/// Draws the plot; exit 2 when the capture is damaged or has no such connection.
pub fn run(args: &PlotArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    if matches!(args.kind, PlotKindArg::Owd) {
        return run_owd(args, cfg);
    }
    let PlotArgs { file, kind, select, direction, interval, width, height, stacked, from, to, output, .. } = args;
    let file = file.as_path();
    if matches!(kind, PlotKindArg::Hol) && (from.is_some() || to.is_some()) {
        return Err(CliError::Usage("--from/--to: the hol plot has no time axis (its x axis is a delay)".into()));
    }
    plot_format(output)?;
    output::refuse_input(output, &[file])?;
    let connection = connection_of(file, select, cfg)?;
    let opts = mptcp_plots::PlotOptions {
        kind: match kind {
            PlotKindArg::Throughput => mptcp_plots::PlotKind::Throughput,
            PlotKindArg::Sequence => mptcp_plots::PlotKind::Sequence,
            PlotKindArg::Rtt => mptcp_plots::PlotKind::Rtt,
            PlotKindArg::Subflows => mptcp_plots::PlotKind::Subflows,
            PlotKindArg::Hol => mptcp_plots::PlotKind::Hol,
            PlotKindArg::Reorder => mptcp_plots::PlotKind::Reorder,
            PlotKindArg::Owd => return Err(CliError::Internal("owd is drawn from two captures")),
        },
        connection,
        direction: direction.dir(),
        width: *width,
        height: *height,
        stacked: *stacked,
        from: *from,
        to: *to,
    };
    let interval_ns = match &interval {
        Some(i) => mptcp_dissector::analysis::series::parse_interval(i).map_err(CliError::Usage)?,
        None => auto::plot_interval(file, &opts, cfg.limits_with_series(), || open_capture(file, cfg))?,
    };
    let mut reader = open_capture(file, cfg)?;
    let collector = Collector::for_plot(interval_ns, &opts);
    let mut cap = mptcp_plots::collect_limited(&file.display().to_string(), &mut reader, collector, cfg.limits_with_series());
    let end = cap.end.take();
    if end.as_ref().is_some_and(|e| !e.is_truncation()) {
        // A damaged capture: no plot (a cut one is drawn up to the cut, with a warning).
        return Ok(ExitCode::from(capture_end(file, end, &mut Dest::Std)));
    }
    if cap.records_dropped > 0 {
        say!(
            "mptcp-trace: warning: {} segments were not plotted: the plot's memory guard ({} points over all series) was full",
            cap.records_dropped,
            mptcp_plots::MAX_POINTS
        );
    }
    match cap.window(&opts) {
        Err(PlotError::Range(m)) => return Err(CliError::Usage(m)),
        Err(e @ (PlotError::NoConnection { .. } | PlotError::NoConnections)) => {
            say!("mptcp-trace: error: {}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
        _ => {}
    }
    let out = output::OutFile::create(output, &[file])?;
    let conn = match mptcp_plots::render_file(&cap, &opts, out.tmp_path()) {
        Ok(conn) => {
            out.commit()?;
            conn
        }
        Err(e @ (PlotError::NoConnection { .. } | PlotError::NoConnections)) => {
            say!("mptcp-trace: error: {}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
        Err(e @ PlotError::Format(_)) => return Err(CliError::PlotFormat(e)),
        Err(source) => return Err(CliError::Plot { path: output.clone(), source }),
    };
    // A cut-off capture's warning concerns the data drawn: said before "wrote".
    let code = capture_end(file, end, &mut Dest::Std);
    say!("mptcp-trace: connection {conn}: wrote {}", output.display());
    Ok(ExitCode::from(code))
}

/// `-k owd`: one-way delay per subflow between FILE (client side) and `--server`.
fn run_owd(args: &PlotArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let PlotArgs { file, server, width, height, from, to, output, .. } = args;
    let file = file.as_path();
    let Some(server) = server.as_deref() else {
        return Err(CliError::Usage("plot --kind owd needs the server-side capture: --server FILE".into()));
    };
    let win = owd_window(*from, *to)?;
    plot_format(output)?;
    output::refuse_input(output, &[file, server])?;
    let pair::Paired { report, code, .. } = pair::run_pair(file, server, cfg, PairOptions { series: true, ..Default::default() })?;
    let name = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    let title = format!("{} / {}", name(file), name(server));
    let out = output::OutFile::create(output, &[file, server])?;
    match mptcp_plots::owd::render_file(&report, &title, *width, *height, &win, out.tmp_path()) {
        Ok(()) => {
            out.commit()?;
            say!("mptcp-trace: wrote {}", output.display())
        }
        Err(PlotError::Range(m)) => return Err(CliError::Usage(m)),
        Err(e @ PlotError::Format(_)) => return Err(CliError::PlotFormat(e)),
        Err(source) => return Err(CliError::Plot { path: output.clone(), source }),
    }
    Ok(ExitCode::from(code))
}

/// The owd plot's `--from/--to`: seconds since each sender's capture's first packet.
fn owd_window(from: Option<mptcp_plots::TimeBound>, to: Option<mptcp_plots::TimeBound>) -> Result<mptcp_plots::Window, CliError> {
    let rel = |b: Option<mptcp_plots::TimeBound>| match b {
        None => Ok(None),
        Some(mptcp_plots::TimeBound::Relative(s)) => Ok(Some(s)),
        Some(mptcp_plots::TimeBound::Epoch(_)) => {
            Err(CliError::Usage("plot --kind owd: --from/--to take seconds since each capture's first packet (e.g. 1.5, 250ms)".into()))
        }
    };
    mptcp_plots::Window::new(rel(from)?, rel(to)?).map_err(|e| CliError::Usage(e.to_string()))
}

/// A plot's output must say its format (.png or .svg): checked before any input is read.
fn plot_format(output: &Path) -> Result<(), CliError> {
    match output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png" | "svg") => Ok(()),
        _ => Err(CliError::PlotFormat(PlotError::Format(output.display().to_string()))),
    }
}

/// The connection `stream` and `plot` work on: `--connection` as given; `--token` or
/// `--subflow` looked up in a first pass over the file. `None`: nothing was selected.
fn connection_of(file: &Path, select: &SelectArgs, cfg: &RunConfig) -> Result<Option<usize>, CliError> {
    let sel = select.selection();
    if sel.token.is_none() && sel.subflow.is_none() {
        return Ok(sel.connection);
    }
    if file.as_os_str() == "-" {
        return Err(CliError::Usage("--token and --subflow read the capture twice: give a file, not standard input".into()));
    }
    // The connections are handed over as they finish: memory follows those open.
    let mut first = FirstMatch { selection: sel, id: None };
    analyze_file(file, false, cfg, Analyzer::new(cfg.limits_with_series()).with_events(false).hand_over_finished(), &mut first)?;
    match first.id {
        Some(c) => Ok(Some(c)),
        None => Err(CliError::Usage(format!("{}: no connection matches the selection", file.display()))),
    }
}

/// The lowest id of the finished connections the selection keeps (what
/// `crate::select::resolve_connection` finds in a whole-capture analysis).
struct FirstMatch {
    selection: mptcp_dissector::analysis::select::Selection,
    id: Option<usize>,
}

impl mptcp_dissector::pipeline::Sink for FirstMatch {
    fn connection(&mut self, conn: mptcp_dissector::track::Connection, _subflows: Vec<mptcp_dissector::track::Subflow>) {
        if self.selection.keeps_connection(&conn) {
            self.id = Some(self.id.map_or(conn.id, |id| id.min(conn.id)));
        }
    }
}
