//! `events FILE…`: the event timeline (text or JSON lines), or what `ip mptcp monitor` on one
//! side would have printed (`--side`).
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
    let (mut analysis, end) = analyze_input(file, merge, cfg, dest, Analyzer::new(cfg.limits), &mut ())?;
    select::restrict_events(&mut analysis, &args.select.selection());
    let side = args.side.map(|s| match s {
        SideArg::Client => mptcp_dissector::track::Side::Client,
        SideArg::Server => mptcp_dissector::track::Side::Server,
    });
    let mut out = BufWriter::new(dest.out());
    match (side, args.format) {
        (Some(side), _) => monitor::write_monitor_text(&mut out, &monitor::monitor_lines(&analysis, side), args.timestamps),
        (None, EventsFormat::Text) => analyze_report::write_events_text(&mut out, &analysis.events, args.time, &analysis.stats),
        (None, EventsFormat::Jsonl) => analyze_report::write_events_jsonl(&mut out, &analysis.events),
    }
    .and_then(|_| out.flush())
    .map_err(CliError::write(STDOUT))?;
    drop(out);
    Ok(capture_end(file, end, dest))
}
