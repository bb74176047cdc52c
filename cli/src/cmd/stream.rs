//! `stream FILE -d DIR -o OUT`: one connection's data-level byte stream, rebuilt across its
//! subflows and written as the analyzer delivers it; what is missing is said on stderr (exit 1).
use std::io::{self, Write};
use std::process::ExitCode;

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analyzer, Connection, DataSink, Dir, Subflow};

use crate::capture::{analyze_file, capture_end};
use crate::config::RunConfig;
use crate::error::CliError;
use crate::flags::StreamArgs;
use crate::jobs::Dest;
use crate::output;

/// Ranges (gaps, uncaptured) listed before "… N more".
const LISTED: usize = 20;

/// The stream's output, its first write error and the bytes written.
struct Written {
    out: output::Sink<'static>,
    error: Option<io::Error>,
    bytes: u64,
}

/// Writes the rebuilt stream; keeps the first write error to report after the run. Lent to the
/// analyzer by `&mut` for the run.
struct WriteSink {
    state: Written,
    /// Write only from this DSN on (a mid-connection capture's complete suffix).
    from: Option<u64>,
}

impl DataSink for WriteSink {
    fn data(&mut self, dsn: u64, bytes: &[u8]) {
        let st = &mut self.state;
        if st.error.is_some() {
            return;
        }
        let bytes = match self.from {
            // Wrapping distance: below `from` when more than half the space away.
            Some(from) if dsn.wrapping_sub(from) >= 1 << 63 => {
                let skip = from.wrapping_sub(dsn);
                match usize::try_from(skip).ok().and_then(|k| bytes.get(k..)) {
                    Some(rest) => rest,
                    None => return,
                }
            }
            _ => bytes,
        };
        match st.out.write_all(bytes) {
            Ok(()) => st.bytes += bytes.len() as u64,
            Err(e) => st.error = Some(e),
        }
    }
}

/// What a pass keeps of the connections it is handed: how many there are, and the few asked
/// about (memory follows what is open, not the capture).
#[derive(Default)]
struct Pick {
    /// `--token`/`--subflow`: the lowest-numbered connection they keep.
    select: Option<Selection>,
    matched: Option<Connection>,
    /// `--connection`, or the one the second pass writes.
    want: Option<usize>,
    wanted: Option<Connection>,
    /// Connection 0 (the default when it is the only one).
    first: Option<Connection>,
    count: usize,
}

impl Sink for Pick {
    fn connection(&mut self, conn: Connection, _subflows: Vec<Subflow>) {
        self.count = self.count.max(conn.id + 1);
        if self.select.is_some_and(|s| s.keeps_connection(&conn)) && self.matched.as_ref().is_none_or(|m| conn.id < m.id) {
            self.matched = Some(conn.clone());
        }
        if self.want == Some(conn.id) {
            self.wanted = Some(conn.clone());
        }
        if conn.id == 0 {
            self.first = Some(conn);
        }
    }
}

/// Writes the stream; exit 0 when complete, 1 when something is missing (said on stderr).
pub fn run(args: &StreamArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let StreamArgs { file, select, direction, output } = args;
    let file = file.as_path();
    output::refuse_input(output, &[file])?;
    let dir = direction.dir();
    let sel = select.selection();
    let mut connection = sel.connection.filter(|_| sel.token.is_none() && sel.subflow.is_none());
    // A file is read twice: the first pass checks the selection before the output is
    // created, and finds where a connection picked up from the data level (the capture
    // starts after its handshake) becomes complete: bytes sent before the capture began
    // leave gaps near its start, and the stream is the complete suffix after the last one.
    let mut from = None;
    if file.as_os_str() != "-" {
        let resolving = sel.token.is_some() || sel.subflow.is_some();
        let mut pick = Pick { select: resolving.then_some(sel), want: connection, ..Pick::default() };
        let first_pass = Analyzer::new(cfg.limits).with_events(false).hand_over_finished();
        let (_, end) = analyze_file(file, true, cfg, first_pass, &mut pick)?;
        if end.as_ref().is_some_and(|e| !e.is_truncation()) {
            // A damaged capture: said now (the second pass would say it again), no output.
            return Ok(ExitCode::from(capture_end(file, end, &mut Dest::Std)));
        }
        let n = pick.count;
        let conn = if resolving {
            let m = pick.matched.ok_or_else(|| CliError::Usage(format!("{}: no connection matches the selection", file.display())))?;
            connection = Some(m.id);
            Some(m)
        } else if connection.is_none() && n == 1 {
            connection = Some(0);
            pick.first
        } else {
            pick.wanted
        };
        let Some(c) = connection else {
            return Err(CliError::Usage(format!(
                "stream: which connection? {} has {n}: --connection ID (as `analyze` numbers them), --token HEX or --subflow ID",
                file.display()
            )));
        };
        let Some(conn) = conn else {
            say!("mptcp-trace: error: {}: no connection {c} (the capture has {n})", file.display());
            return Ok(ExitCode::from(2));
        };
        if conn.found_by == mptcp_dissector::track::FoundBy::DataLevel {
            from = conn.data(dir).gaps.last().map(|g| g.1).or(conn.data(dir).first_dsn.map(|d| d.0));
        }
    } else if sel.token.is_some() || sel.subflow.is_some() {
        return Err(CliError::Usage("--token and --subflow read the capture twice: give a file, not standard input".into()));
    }
    let Some(connection) = connection else {
        return Err(CliError::Usage(
            "stream: which connection? --connection ID, --token HEX or --subflow ID (standard input is read once)".into(),
        ));
    };
    let target = (output.as_os_str() != "-").then_some(output.as_path());
    let state = Written { out: output::Sink::open(target, &[file], Box::new(io::stdout()))?, error: None, bytes: 0 };
    let mut sink = WriteSink { state, from };
    let mut limits = cfg.limits;
    if from.is_some() {
        limits.reassembly.hole_policy = mptcp_dissector::reassembly::HolePolicy::Skip;
    }
    let analyzer = Analyzer::new(limits).with_events(false).hand_over_finished().with_sink(connection, dir, Box::new(&mut sink));
    let mut pick = Pick { want: Some(connection), ..Pick::default() };
    let (_, end) = analyze_file(file, true, cfg, analyzer, &mut pick)?;
    let Written { out: w, error: err, bytes: written } = sink.state;
    if let Some(e) = err {
        return Err(CliError::Write { to: w.name(), source: e });
    }
    let code = capture_end(file, end, &mut Dest::Std);
    let Some(conn) = pick.wanted else {
        say!("mptcp-trace: error: {}: no connection {connection} (the capture has {})", file.display(), pick.count);
        return Ok(ExitCode::from(2));
    };
    if code == 2 {
        // A damaged capture: the output is not put in place (nor the old one touched).
        if target.is_some() {
            say!("mptcp-trace: {} not written", output.display());
        }
        return Ok(ExitCode::from(2));
    }
    w.finish()?;
    let code = ExitCode::from(code);
    let dd = conn.data(dir);
    let name = if dir == Dir::C2s { "c2s" } else { "s2c" };
    if let Some(from) = from {
        let end = match dd.data_fin_dsn {
            Some(fin) => format!("to the DATA_FIN at DSN {fin}"),
            None => "to the last byte in the capture (no DATA_FIN in it)".into(),
        };
        say!(
            "mptcp-trace: connection {connection} {name}: the capture starts after the connection's handshake (found from the data level): wrote the {written} bytes from DSN {from} {end}, the part of the stream after the last gap"
        );
        return Ok(ExitCode::from(1));
    }
    if dd.complete {
        say!("mptcp-trace: connection {connection} {name}: {written} bytes, complete");
        return Ok(code);
    }
    say!("mptcp-trace: connection {connection} {name}: INCOMPLETE: wrote the first {written} of {} data-level bytes seen", dd.bytes);
    for (a, b) in dd.gaps.iter().take(LISTED) {
        say!("  gap: DSN {a}..{b} ({} bytes) never in the capture", b.wrapping_sub(*a));
    }
    if dd.gaps.len() > LISTED {
        say!("  … {} more gap(s)", dd.gaps.len() - LISTED);
    }
    for (a, b) in dd.uncaptured.iter().take(LISTED) {
        say!("  uncaptured: DSN {a}..{b} ({} bytes) cut by the capture's snaplen", b.wrapping_sub(*a));
    }
    if dd.uncaptured.len() > LISTED {
        say!("  … {} more uncaptured range(s)", dd.uncaptured.len() - LISTED);
    }
    if dd.capped_bytes > 0 {
        say!("  {} bytes were reordered beyond the reassembly window and not kept (counted as uncaptured above)", dd.capped_bytes);
    }
    if dd.data_fin_dsn.is_none() {
        say!("  no DATA_FIN in the capture: the end of the stream is unknown");
    }
    Ok(ExitCode::from(1))
}
