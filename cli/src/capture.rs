//! Opening captures and running the analyzer over them, as every command does: a file or
//! standard input (`-`), the run's `-f`/`-c` applied ([`RunConfig::input`]), a progress bar for
//! a large file read alone, several files merged (`--merge`), and how a capture ended.
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Analyzer};

use crate::config::RunConfig;
use crate::error::CliError;
use crate::jobs::{msg, Dest};

/// Opens a capture file; a directory is named as such (reading one fails with EISDIR, which
/// would otherwise surface as a read error of the capture).
pub fn open_file(path: &(impl AsRef<Path> + ?Sized)) -> Result<File, CliError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(CliError::open(path))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CliError::open(path)(io::Error::other("is a directory, not a capture file")));
    }
    Ok(file)
}

/// Opens a capture file or standard input (`-`), with the run's filter and count.
pub fn open_capture(path: &Path, cfg: &RunConfig) -> Result<CaptureReader, CliError> {
    let input: Box<dyn Read> = match &cfg.input.live {
        Some(live) => Box::new(live.open()?),
        None if path.as_os_str() == "-" => Box::new(io::stdin()),
        None => Box::new(open_file(path)?),
    };
    let mut reader = CaptureReader::new(input).map_err(CliError::capture(path))?;
    cfg.input.prepare(&mut reader);
    Ok(reader)
}

/// Reports how the capture ended: a cut-off file is a warning (exit stays 0), anything else an
/// error (2).
pub fn capture_end(path: &Path, end: Option<CaptureError>, dest: &mut Dest) -> u8 {
    match end {
        None => 0,
        Some(e) if e.is_truncation() => {
            msg!(dest, "mptcp-trace: warning: {}: {e}; everything before it was used", path.display());
            0
        }
        Some(e) => {
            msg!(dest, "mptcp-trace: error: {}: {e}", path.display());
            2
        }
    }
}

/// The warning a report carries for a capture cut short.
pub fn warning_of(end: &Option<CaptureError>) -> Option<String> {
    end.as_ref().filter(|e| e.is_truncation()).map(|e| e.to_string())
}

/// Merged captures read ahead on a thread each, at most (`--merge` of more reads them directly).
const MERGE_READ_AHEAD_FILES: usize = 4;

/// [`analyze_file`], or with `merge` the k-way merge of those captures (each file's end is
/// reported here; a file that cannot be opened is named and left out, and the run ends with 2).
pub fn analyze_input(
    file: &Path,
    merge: &[std::path::PathBuf],
    cfg: &RunConfig,
    dest: &mut Dest,
    analyzer: Analyzer,
    sink: &mut dyn Sink,
) -> Result<(Analysis, Option<CaptureError>), CliError> {
    if merge.is_empty() {
        return analyze_file(file, cfg.alone, cfg, analyzer, sink);
    }
    let (mut readers, mut names, mut failed) = (Vec::new(), Vec::new(), false);
    for f in merge {
        // A read-ahead thread (up to 4.3 MiB of chunks) per file only for a few files: past
        // them each file is read on the merging thread through its 256 KiB buffer.
        let open = |h: File| {
            if merge.len() <= MERGE_READ_AHEAD_FILES {
                CaptureReader::new(h)
            } else {
                CaptureReader::new(Box::new(h) as Box<dyn Read>)
            }
        };
        match open_file(f).and_then(|h| open(h).map_err(CliError::capture(f))) {
            Ok(r) => {
                readers.push(r);
                names.push(f);
            }
            Err(e) => {
                msg!(dest, "mptcp-trace: error: {e}");
                failed = true;
            }
        }
    }
    let mut reader = cfg.input.prepare_merged(readers);
    let (analysis, ends) = mptcp_dissector::pipeline::run_merged(&mut reader, analyzer, sink);
    for (f, end) in names.iter().zip(ends) {
        if capture_end(f, end, dest) == 2 {
            failed = true;
        }
    }
    for (f, shared) in names.iter().zip(&analysis.inputs_shared) {
        if !shared {
            msg!(dest, "mptcp-trace: warning: {}: shares no MPTCP connection with the other captures merged", f.display());
        }
    }
    let worst = failed.then(|| CaptureError::Format { after_frame: 0, message: "a capture could not be read (see above)".into() });
    Ok((analysis, worst))
}

/// Counts the bytes read from the capture into a progress bar. It sits outside the library: the
/// pipeline only sees an `io::Read`, and the reader above it reads in large blocks, so this costs
/// one atomic add per block, not per packet.
struct ProgressRead<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for ProgressRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Captures smaller than this finish before a bar would be worth drawing.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// A progress bar on stderr for a large capture file, when stderr is a terminal; `None`
/// otherwise (pipes, redirections, standard input, small files stay quiet).
fn progress_bar(path: &Path, file: &File) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    let size = file.metadata().ok().filter(|m| m.is_file())?.len();
    if size < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(size), indicatif::ProgressDrawTarget::stderr_with_hz(4));
    let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    Some(bar)
}

/// Runs the whole pipeline on a capture, handing what it finds to `sink`, with a progress bar for long runs when `progress`
/// (see [`progress_bar`]).
pub fn analyze_file(
    path: &Path,
    progress: bool,
    cfg: &RunConfig,
    analyzer: Analyzer,
    sink: &mut dyn Sink,
) -> Result<(Analysis, Option<CaptureError>), CliError> {
    let (mut reader, bar) = if cfg.input.live.is_some() || path.as_os_str() == "-" {
        (open_capture(path, cfg)?, None)
    } else {
        let file = open_file(path)?;
        let (reader, bar) = match progress_bar(path, &file).filter(|_| progress) {
            Some(bar) => {
                let input = ProgressRead { inner: file, bar: bar.clone() };
                (CaptureReader::new(input).map_err(CliError::capture(path))?, Some(bar))
            }
            // Several files at once keep the cores busy already: no read-ahead thread per file
            // (it is started only for a plain `File`).
            None if !progress => (CaptureReader::new(Box::new(file) as Box<dyn Read>).map_err(CliError::capture(path))?, None),
            None => (CaptureReader::new(file).map_err(CliError::capture(path))?, None),
        };
        let mut reader = reader;
        cfg.input.prepare(&mut reader);
        (reader, bar)
    };
    let result = mptcp_dissector::pipeline::run_into(&mut reader, analyzer, sink);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result)
}
