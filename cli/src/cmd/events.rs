//! `events FILE…`: the event timeline (text or JSON lines), or what `ip mptcp monitor` on one
//! side would have printed (`--side`).
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::pipeline::{Seen, Sink};
use mptcp_dissector::track::{Connection, Event, Subflow};
use mptcp_wire::crypto::Token;

use mptcp_dissector::report::analyze as analyze_report;
use mptcp_dissector::report::events as monitor;
use mptcp_dissector::track::Analyzer;

use crate::capture::{analyze_input, capture_end};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{EventsArgs, EventsFormat, SideArg};
use crate::jobs::Dest;
use crate::select;

/// One file's timeline, or with `merge` the merged captures' (then `file` is their name).
pub fn run(args: &EventsArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let side = args.side.map(|s| match s {
        SideArg::Client => mptcp_dissector::track::Side::Client,
        SideArg::Server => mptcp_dissector::track::Side::Server,
    });
    let Some(side) = side else { return timeline(args, file, merge, cfg, dest) };
    // What a host's monitor prints of an event needs its connection's end: each connection's
    // lines are made when it is handed over, and written in capture order (docs/events.md).
    let mut held = Vec::new();
    let to: Box<dyn Write + '_> = if dest.is_std() { Box::new(io::stdout()) } else { Box::new(&mut held) };
    let mut sink = MonitorSink {
        monitor: monitor::Monitor::new(side),
        out: BufWriter::new(to),
        selection: args.select.selection(),
        timestamps: args.timestamps,
        flush: (file.as_os_str() == "-" || cfg.input.live.is_some()) && merge.is_empty(),
        error: None,
    };
    let analyzer = Analyzer::new(cfg.limits).hand_over_finished().hand_over_events(false);
    let (_, end) = analyze_input(file, merge, cfg, dest, analyzer, &mut sink)?;
    let written = match sink.error.take() {
        Some(e) => Err(e),
        None => {
            let (out, timestamps) = (&mut sink.out, sink.timestamps);
            sink.monitor.finish().try_for_each(|l| monitor::write_monitor_line(out, &l, timestamps)).and_then(|_| out.flush())
        }
    };
    drop(sink);
    written.map_err(CliError::write(STDOUT))?;
    dest.out().write_all(&held).map_err(CliError::write(STDOUT))?;
    Ok(capture_end(file, end, dest))
}

/// `events --side`: the monitor's lines as connections end.
struct MonitorSink<'w> {
    monitor: monitor::Monitor,
    out: BufWriter<Box<dyn Write + 'w>>,
    selection: Selection,
    timestamps: bool,
    flush: bool,
    error: Option<io::Error>,
}

impl Sink for MonitorSink<'_> {
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.monitor.event(e);
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        let selection = &self.selection;
        self.monitor.connection(&conn, &subflows, |e| selection.keeps_event(e, Some(&conn)));
        let mut wrote = false;
        while let Some(l) = self.monitor.next_line() {
            if self.error.is_none() {
                self.error = monitor::write_monitor_line(&mut self.out, &l, self.timestamps).err();
                wrote = true;
            }
        }
        if wrote && self.flush && self.error.is_none() {
            self.error = self.out.flush().err();
        }
    }
}

/// The timeline, each event written when its connection's token is known (docs/events.md):
/// memory follows what is open. Reading standard input, each line is flushed as it is written.
struct Timeline<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    format: EventsFormat,
    text: analyze_report::EventText,
    line: Vec<u8>,
    selection: Selection,
    flush: bool,
    error: Option<io::Error>,
}

impl Sink for Timeline<'_> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        self.text.first_ns.get_or_insert(seen.packet.ts_ns);
        self.text.digits = self.text.digits.max(seen.packet.ts_digits);
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
    fn event(&mut self, e: &Event, tokens: [Option<Token>; 2]) {
        if self.error.is_some() || !self.selection.keeps_packet(e.connection, e.subflow, tokens) {
            return;
        }
        let out: &mut dyn Write = &mut self.out;
        let mut r = match self.format {
            EventsFormat::Text => self.text.write(out, e),
            EventsFormat::Jsonl => analyze_report::write_event_jsonl(out, e, &mut self.line),
        };
        if self.flush && r.is_ok() {
            r = self.out.flush();
        }
        self.error = r.err();
    }
}

fn timeline(args: &EventsArgs, file: &Path, merge: &[PathBuf], cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    // Standard input and a live capture are read once, each line shown as it comes.
    let flush = (file.as_os_str() == "-" || cfg.input.live.is_some()) && merge.is_empty();
    let mut selection = args.select.selection();
    if let Some(token) = selection.token.filter(|_| !flush) {
        let mut find = select::FindToken::new(token);
        let first = Analyzer::new(cfg.limits).with_events(false).hand_over_finished();
        analyze_input(file, merge, cfg, &mut Dest::Buf { out: Vec::new(), err: Vec::new() }, first, &mut find)?;
        // No connection has the token: no event (as before the first pass).
        selection = find.selection(selection).unwrap_or(Selection { connection: Some(usize::MAX), ..Selection::default() });
    }
    let mut held = Vec::new();
    let to: Box<dyn Write + '_> = if dest.is_std() { Box::new(io::stdout()) } else { Box::new(&mut held) };
    let mut sink = Timeline {
        out: BufWriter::new(to),
        format: args.format,
        text: analyze_report::EventText::new(args.time),
        line: Vec::with_capacity(256),
        selection,
        flush,
        error: None,
    };
    let analyzer = Analyzer::new(cfg.limits).hand_over_finished().hand_over_events(true);
    let (_, end) = analyze_input(file, merge, cfg, dest, analyzer, &mut sink)?;
    let written = match sink.error.take() {
        Some(e) => Err(e),
        None => sink.out.flush(),
    };
    drop(sink);
    written.map_err(CliError::write(STDOUT))?;
    dest.out().write_all(&held).map_err(CliError::write(STDOUT))?;
    Ok(capture_end(file, end, dest))
}
