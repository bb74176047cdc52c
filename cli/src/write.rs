//! `-w OUT.pcap` on `analyze` and `dissect` (issue 26): the packets of the selected connections
//! as a capture Wireshark opens, written while the command reads ([`PcapOut`] beside the
//! command's own sink), into a temporary file renamed onto OUT when the run succeeded
//! ([`OutFile`]).
//!
//! Which connections: every MPTCP connection; those `--connection`/`--subflow` select (known at
//! each packet); `--token` and `--failed` are known only later in a connection (its keys, its
//! verdicts), so a first pass over the file finds the connections' ids and the second writes
//! their packets from the first SYN on (standard input, read once, is refused for them).
use std::collections::HashSet;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::report::pcap_out::{FailedConnections, Keep, PcapOut};
use mptcp_dissector::track::Analyzer;

use crate::capture::analyze_input;
use crate::config::RunConfig;
use crate::error::CliError;
use crate::jobs::{msg, Dest};
use crate::output::OutFile;
use crate::select::FindToken;

/// `-w` and what it keeps.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WriteArgs {
    /// Write the packets of the selected connections (every subflow, joins included; all MPTCP
    /// connections without a selection) to this pcap file, as tshark -w.
    #[arg(short = 'w', long = "write", value_name = "OUT.pcap")]
    pub write: Option<PathBuf>,
    /// With -w: only the connections that failed a check of `verify` (two passes).
    #[arg(long, requires = "write")]
    pub failed: bool,
}

/// The `-w` output being written.
pub type Writer = PcapOut<BufWriter<OutFile>>;

/// Usage errors of `-w` found before anything is read: several files (without `--merge`), and
/// standard input where a first pass is needed.
pub fn check(w: &WriteArgs, sel: &Selection, files: &[PathBuf], merge: bool, live: bool) -> Result<(), CliError> {
    let Some(out) = &w.write else { return Ok(()) };
    if files.len() > 1 && !merge {
        return Err(CliError::Usage("-w writes one capture: give one file (or --merge the files into one analysis)".into()));
    }
    if (w.failed || sel.token.is_some()) && (live || files.iter().any(|f| f.as_os_str() == "-")) {
        return Err(CliError::Usage(
            "-w with --token or --failed reads the capture twice: give a file, not standard input or -i (or select by --connection)".into(),
        ));
    }
    if out.as_os_str() == "-" {
        return Err(CliError::Usage("-w: give a file name (a pcap is not written to standard output here)".into()));
    }
    crate::output::refuse_input(out, &files.iter().map(PathBuf::as_path).collect::<Vec<_>>())
}

/// The writer for `file` (or the `merge` captures), after the first pass when one is needed;
/// `None` without `-w`.
pub fn open(
    w: &WriteArgs,
    sel: &Selection,
    file: &Path,
    merge: &[PathBuf],
    cfg: &RunConfig,
    dest: &mut Dest,
) -> Result<Option<Writer>, CliError> {
    let Some(target) = &w.write else { return Ok(None) };
    let keep = if w.failed {
        let mut find = FailedConnections::new(*sel);
        let analyzer = Analyzer::new(cfg.limits).hand_over_finished().hand_over_events(false);
        analyze_input(file, merge, cfg, &mut Dest::Std, analyzer, &mut find)?;
        Keep::Ids(find.ids)
    } else if let Some(token) = sel.token {
        let mut find = FindToken::new(token);
        analyze_input(file, merge, cfg, &mut Dest::Std, Analyzer::new(cfg.limits).with_events(false).hand_over_finished(), &mut find)?;
        match find.selection(*sel) {
            Some(s) => Keep::Selection(s),
            None => {
                msg!(dest, "mptcp-trace: warning: {}: no connection has that token: {} holds no packet", file.display(), target.display());
                Keep::Ids(HashSet::new())
            }
        }
    } else if sel.is_empty() {
        Keep::All
    } else {
        Keep::Selection(*sel)
    };
    let mut inputs: Vec<&Path> = merge.iter().map(PathBuf::as_path).collect();
    inputs.push(file);
    let out = OutFile::create(target, &inputs)?;
    Ok(Some(PcapOut::new(BufWriter::with_capacity(1 << 16, out), keep)))
}

/// Finishes the file and puts it in place (a failed run leaves OUT as it was).
pub fn close(w: Option<Writer>, dest: &mut Dest) -> Result<(), CliError> {
    let Some(w) = w else { return Ok(()) };
    let (other, bad) = (w.other_linktype, w.bad_timestamp);
    let out = w.finish().map_err(CliError::write("the -w file"))?;
    let out = out.into_inner().map_err(|e| CliError::write("the -w file")(e.into_error()))?;
    let target = out.target().display().to_string();
    if other > 0 {
        msg!(
            dest,
            "mptcp-trace: warning: {target}: {other} packet(s) of another link type than the first packet's left out (a pcap file has one)"
        );
    }
    if bad > 0 {
        msg!(dest, "mptcp-trace: warning: {target}: {bad} packet(s) with a timestamp a pcap record cannot hold left out");
    }
    out.commit()
}
