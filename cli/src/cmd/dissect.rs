//! `dissect FILE…`: every MPTCP option decoded, one line per packet (text or JSON lines); with
//! `--token`, a first pass finds the connection the token names.
use std::io::{BufWriter, Write};
use std::path::Path;

use mptcp_dissector::report::dissect::{self, DissectConfig};
use mptcp_dissector::track::Analyzer;

use crate::capture::{analyze_file, capture_end, open_capture};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{DissectArgs, DissectFormat};
use crate::jobs::{msg, Dest};
use crate::select;
use crate::write;
use mptcp_dissector::pipeline::Sink;

/// One file's packets.
pub fn run(args: &DissectArgs, file: &Path, cfg: &RunConfig, dest: &mut Dest) -> Result<u8, CliError> {
    let mut reader = open_capture(file, cfg)?;
    let config = DissectConfig {
        format: match args.format {
            DissectFormat::Text => dissect::Format::Text,
            DissectFormat::Jsonl => dissect::Format::Jsonl,
        },
        all: args.all,
        time: args.time,
        absolute_seq: args.absolute_tcp_sequence_numbers,
    };
    let mut selection = args.select.selection();
    if let Some(token) = selection.token.filter(|_| file.as_os_str() != "-" && cfg.input.live.is_none()) {
        let mut find = select::FindToken::new(token);
        analyze_file(file, false, cfg, Analyzer::new(cfg.limits).with_events(false).hand_over_finished(), &mut find)?;
        match find.selection(selection) {
            Some(s) => selection = s,
            // Like a display filter that matches nothing: no line, and a word why.
            None => {
                msg!(dest, "mptcp-trace: warning: {}: no connection has that token (with that id)", file.display());
                return Ok(0);
            }
        }
    }
    // The selection as the token pass resolved it (the connection's id): -w needs no pass of its own.
    let mut writer = write::open(&args.write, &selection, file, &[], cfg, dest)?;
    // -w needs the analyzer (which connection each packet belongs to) with or without a selection.
    let tracker = (!selection.is_empty() || writer.is_some()).then(|| dissect::Tracker::new(Analyzer::new(cfg.limits), selection));
    let mut out = BufWriter::new(dest.out());
    let also = writer.as_mut().map(|w| w as &mut dyn Sink);
    let (_summary, end) = dissect::dissect_selected(&mut reader, config, tracker, also, &mut out).map_err(CliError::write(STDOUT))?;
    out.flush().map_err(CliError::write(STDOUT))?;
    drop(out);
    let code = capture_end(file, end, dest);
    if code != 2 {
        write::close(writer, dest)?;
    }
    Ok(code)
}
