//! `pair CLIENT SERVER` (and `plot --kind owd`): the two captures opened in the order their
//! handshakes say (the client's first, [`pair_ends`]), matched, and the report written.
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mptcp_dissector::analysis::pair::{self, PairOptions, PairReport};
use mptcp_dissector::analysis::pair_ends::{self, Ends};
use mptcp_dissector::capture::CaptureReader;
use serde::Serialize;

use crate::capture::{capture_end, open_capture, open_file};
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{PairArgs, PairFormat};
use crate::jobs::Dest;

/// Packets read at most from each capture's start to find its handshakes.
const SCAN_PACKETS: u64 = 200_000;

/// Bytes of standard input (or a pipe) held at most for that (they are read again from memory,
/// and freed once read: issue 25's bound on memory; it was 64 MiB).
const SCAN_STDIN_BYTES: usize = 16 << 20;

/// Two captures matched: the report, the exit status, and which file was taken as which side.
pub struct Paired {
    pub report: PairReport,
    pub code: u8,
    pub client: PathBuf,
    pub server: PathBuf,
    pub ends: Ends,
}

/// `pair --format json`: the report with which file was taken as the client's.
#[derive(Serialize)]
struct PairJson<'a> {
    client_capture: String,
    server_capture: String,
    ends: &'a Ends,
    #[serde(flatten)]
    report: &'a PairReport,
}

/// `pair CLIENT SERVER [--format]`.
pub fn run(args: &PairArgs, cfg: &RunConfig) -> Result<u8, CliError> {
    let p = run_pair(&args.client, &args.server, cfg, PairOptions::default())?;
    let (c, s) = (p.client.display().to_string(), p.server.display().to_string());
    // written as it is made: the report grows with the subflows, its text need not be held too
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = match args.format {
        PairFormat::Text => {
            let mut w = FmtIo { out: &mut out, err: None };
            let _ = pair::write_text(&mut w, &p.report, &c, &s);
            w.err.map_or(Ok(()), Err)
        }
        PairFormat::Json => {
            let j = PairJson { client_capture: c, server_capture: s, ends: &p.ends, report: &p.report };
            serde_json::to_writer_pretty(&mut out, &j).map_err(io::Error::from).and_then(|_| out.write_all(b"\n"))
        }
    };
    written.and_then(|_| out.flush()).map_err(CliError::write(STDOUT))?;
    Ok(p.code)
}

/// `fmt::Write` onto an `io::Write`, keeping the first I/O error.
struct FmtIo<'a, W: Write> {
    out: &'a mut W,
    err: Option<io::Error>,
}

impl<W: Write> std::fmt::Write for FmtIo<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.err.get_or_insert(e);
            std::fmt::Error
        })
    }
}

/// A capture that cannot be opened twice (standard input, a pipe) read through while its start
/// is scanned: what was read is kept, to be read again by the real pass.
struct Recorded {
    inner: Rc<RefCell<Box<dyn Read>>>,
    log: Rc<RefCell<Vec<u8>>>,
}

impl Read for Recorded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.borrow_mut().read(buf)?;
        self.log.borrow_mut().extend_from_slice(buf.get(..n).unwrap_or(&[]));
        Ok(n)
    }
}

/// Such a capture read again: what was recorded (freed once read), then the rest.
struct Replay {
    seen: Option<io::Cursor<Vec<u8>>>,
    rest: Rc<RefCell<Box<dyn Read>>>,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(seen) = &mut self.seen {
            let n = seen.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.seen = None;
        }
        self.rest.borrow_mut().read(buf)
    }
}

/// One capture's handshakes, and the capture opened again at its start: a regular file is
/// opened twice; standard input or a pipe (`<(zcat x.pcap.gz)`) is read once, its start kept in
/// memory ([`SCAN_STDIN_BYTES`] at most).
fn scan(path: &Path, cfg: &RunConfig) -> Result<(pair_ends::Handshakes, CaptureReader), CliError> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = open_file(path)?;
        if file.metadata().is_ok_and(|m| m.is_file()) {
            drop(file);
            let hs = pair_ends::scan(&mut open_capture(path, cfg)?, SCAN_PACKETS, &mut || true);
            return Ok((hs, open_capture(path, cfg)?));
        }
        Box::new(file)
    };
    let inner = Rc::new(RefCell::new(input));
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut first = CaptureReader::new(Recorded { inner: inner.clone(), log: log.clone() }).map_err(CliError::capture(path))?;
    cfg.input.prepare(&mut first);
    let hs = pair_ends::scan(&mut first, SCAN_PACKETS, &mut || log.borrow().len() < SCAN_STDIN_BYTES);
    drop(first);
    let seen = std::mem::take(&mut *log.borrow_mut());
    let mut again = CaptureReader::new(Replay { seen: Some(io::Cursor::new(seen)), rest: inner }).map_err(CliError::capture(path))?;
    cfg.input.prepare(&mut again);
    Ok((hs, again))
}

/// `pair`'s matching of two captures, the client's first whichever order they were given in
/// (said on stderr when swapped); the exit status: the worse capture end, or 1 when the
/// captures share no traffic (said on stderr).
pub fn run_pair(first: &Path, second: &Path, cfg: &RunConfig, opts: PairOptions) -> Result<Paired, CliError> {
    if first.as_os_str() == "-" && second.as_os_str() == "-" {
        return Err(CliError::Usage(
            "pair reads two captures: standard input (`-`) can be only one of them; give the other as a file".into(),
        ));
    }
    let (ha, a) = scan(first, cfg)?;
    let (hb, b) = scan(second, cfg)?;
    let ends = pair_ends::decide(&ha, &hb);
    let ((client, c), (server, s)) = if ends.swapped { ((second, b), (first, a)) } else { ((first, a), (second, b)) };
    if ends.swapped {
        let (c, s) = (client.display().to_string(), server.display().to_string());
        say!(
            "mptcp-trace: warning: taking {c} as the client side and {s} as the server side (given the other way round): {}; the report is that of `pair {c} {s}`",
            pair_ends::reason(&ends)
        );
    }
    let (report, ends_read) = pair::pair(c, s, opts);
    for l in &report.limits {
        say!("mptcp-trace: warning: pair: {l}");
    }
    let mut code = capture_end(client, ends_read.client, &mut Dest::Std).max(capture_end(server, ends_read.server, &mut Dest::Std));
    if code == 0 && report.matched == 0 {
        say!("mptcp-trace: {} and {} share no traffic: no segment was seen in both", client.display(), server.display());
        code = 1;
    }
    Ok(Paired { report, code, client: client.to_path_buf(), server: server.to_path_buf(), ends })
}
