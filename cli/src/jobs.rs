//! Several files at once: each file's run writes into its own [`Dest`] buffers, and
//! [`run_files`] writes them out in the order the files were given, joined as [`Join`] says.
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::{
    AnalyzeArgs, Command, DissectArgs, DissectFormat, EventsArgs, EventsFormat, ReportFormat, SeriesFormat, ThroughputArgs, VerifyArgs,
    VerifyFormat,
};

/// Where one file's report and messages go: the terminal, or the file's own buffers while
/// several files run at once (handed back and written out in the order the files were given).
pub enum Dest {
    Std,
    Buf { out: Vec<u8>, err: Vec<u8> },
}

impl Dest {
    /// A writer of the report.
    pub fn out(&mut self) -> Box<dyn Write + '_> {
        match self {
            Dest::Std => Box::new(io::stdout()),
            Dest::Buf { out, .. } => Box::new(out),
        }
    }

    /// A writer of the messages.
    pub fn err(&mut self) -> Box<dyn Write + '_> {
        match self {
            Dest::Std => Box::new(io::stderr()),
            Dest::Buf { err, .. } => Box::new(err),
        }
    }

    /// Whether the report goes straight to standard output (one file at a time).
    pub fn is_std(&self) -> bool {
        matches!(self, Dest::Std)
    }

    /// The report and messages written into a file's buffers (nothing for the terminal).
    pub fn into_buffers(self) -> (Vec<u8>, Vec<u8>) {
        match self {
            Dest::Std => (Vec::new(), Vec::new()),
            Dest::Buf { out, err } => (out, err),
        }
    }
}

/// A message on the file's standard error.
macro_rules! msg {
    ($dest:expr, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($dest.err(), $($arg)*);
    }};
}
pub(crate) use msg;

/// Runs `run` on each file, `cfg.jobs` at a time (rayon), and writes each file's output and
/// messages in the order the files were given, as soon as the files before it are done (like
/// ripgrep), joined as `join` says. A file that cannot be read is named in its error and the
/// others still run. The exit status is the worst of them.
pub fn run_files<F>(join: Join, files: &[PathBuf], cfg: &RunConfig, run: F) -> Result<ExitCode, CliError>
where
    F: Fn(&PathBuf, &mut Dest) -> Result<u8, CliError> + Sync,
{
    if let [file] = files {
        return run(file, &mut Dest::Std).map(ExitCode::from);
    }
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("standard input (`-`) cannot be one of several files".into()));
    }
    let pool = pool(cfg)?;
    // (index, output, messages, status or (closed pipe, error))
    type Done = (usize, Vec<u8>, Vec<u8>, Result<u8, (bool, String)>);
    let (tx, rx) = mpsc::channel::<Done>();
    let mut worst = 0u8;
    let mut closed = false;
    let run = &run;
    pool.in_place_scope(|scope| {
        for (i, file) in files.iter().enumerate() {
            let tx = tx.clone();
            scope.spawn(move |_| {
                let mut dest = Dest::Buf { out: Vec::new(), err: Vec::new() };
                let r = run(file, &mut dest).map_err(|e| (e.is_broken_pipe(), e.to_string()));
                let (out, err) = dest.into_buffers();
                let _ = tx.send((i, out, err, r));
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut joined = Joiner { how: join, started: false };
        for done in rx {
            waiting.insert(done.0, done);
            while let Some((i, out, err, r)) = waiting.remove(&next) {
                next += 1;
                if closed {
                    continue;
                }
                let out = joined.part(&files[i].display().to_string(), out);
                let wrote = io::stdout().write_all(&out).and_then(|_| io::stdout().flush());
                let _ = io::stderr().write_all(&err);
                match (wrote, r) {
                    (Err(e), _) if e.kind() == io::ErrorKind::BrokenPipe => closed = true,
                    (_, Err((true, _))) => closed = true,
                    (Err(e), _) => {
                        say!("mptcp-trace: error: {STDOUT}: {e}");
                        worst = worst.max(2);
                    }
                    (Ok(()), Err((false, e))) => {
                        say!("mptcp-trace: error: {e}");
                        worst = worst.max(2);
                    }
                    (Ok(()), Ok(code)) => worst = worst.max(code),
                }
            }
        }
        if !closed {
            let end = joined.end();
            if let Err(e) = io::stdout().write_all(&end).and_then(|_| io::stdout().flush()) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    say!("mptcp-trace: error: {STDOUT}: {e}");
                    worst = worst.max(2);
                }
            }
        }
    });
    Ok(ExitCode::from(worst))
}

/// The thread pool of `--jobs`.
pub fn pool(cfg: &RunConfig) -> Result<rayon::ThreadPool, CliError> {
    rayon::ThreadPoolBuilder::new().num_threads(cfg.jobs).build().map_err(|e| CliError::Usage(format!("--jobs: {e}")))
}

/// How the outputs of several files make one output that says which file each part is from.
#[derive(Clone, Copy, PartialEq)]
pub enum Join {
    /// Each file's output names it already (analyze text): one after the other.
    AsIs,
    /// Text without the file's name: a `==> FILE <==` line before each file's (as head/tail).
    Header,
    /// JSON lines: each line gets a `file` field first (the analyze summary line has one).
    FileField,
    /// CSV: one header line, with a `file` column first.
    CsvColumn,
    /// Zeek-style TSV: one header, with a `file` column first in `#fields` and `#types`.
    TsvColumn,
    /// JSON documents: one array of them, in the order given.
    JsonArray,
}

impl Join {
    pub fn of(command: &Command) -> Join {
        match command {
            Command::Dissect(DissectArgs { format: DissectFormat::Text, .. })
            | Command::Events(EventsArgs { format: EventsFormat::Text, .. }) => Join::Header,
            Command::Events(EventsArgs { side: Some(_), .. }) => Join::Header,
            Command::Dissect(DissectArgs { format: DissectFormat::Jsonl, .. })
            | Command::Events(EventsArgs { format: EventsFormat::Jsonl, .. })
            | Command::Analyze(AnalyzeArgs { format: ReportFormat::Jsonl, .. }) => Join::FileField,
            Command::Analyze(AnalyzeArgs { format: ReportFormat::Json, .. })
            | Command::Throughput(ThroughputArgs { format: SeriesFormat::Json, .. })
            | Command::Verify(VerifyArgs { format: VerifyFormat::Json, .. }) => Join::JsonArray,
            Command::Throughput(ThroughputArgs { format: SeriesFormat::Csv, .. }) => Join::CsvColumn,
            Command::Analyze(AnalyzeArgs { format: ReportFormat::Tsv, .. }) => Join::TsvColumn,
            _ => Join::AsIs,
        }
    }
}

/// Joins the files' outputs as [`Join`] says, as each comes.
struct Joiner {
    how: Join,
    started: bool,
}

impl Joiner {
    /// The bytes to write for the output `out` of the file `name`.
    fn part(&mut self, name: &str, out: Vec<u8>) -> Vec<u8> {
        let first = !self.started;
        match self.how {
            Join::AsIs => return out,
            Join::JsonArray if out.is_empty() => return out,
            _ => self.started = true,
        }
        let mut v = Vec::with_capacity(out.len() + 64);
        match self.how {
            Join::AsIs => {}
            Join::Header => {
                if !first {
                    v.push(b'\n');
                }
                v.extend_from_slice(format!("==> {name} <==\n").as_bytes());
                v.extend_from_slice(&out);
            }
            Join::FileField => {
                let field = format!("{{\"file\":{},", serde_json::Value::String(name.to_string()));
                for line in out.split_inclusive(|&b| b == b'\n') {
                    match line.strip_prefix(b"{") {
                        Some(rest) if !line.starts_with(b"{\"type\":\"summary\",\"file\":") && rest.first() != Some(&b'}') => {
                            v.extend_from_slice(field.as_bytes());
                            v.extend_from_slice(rest);
                        }
                        _ => v.extend_from_slice(line),
                    }
                }
            }
            Join::CsvColumn => {
                let quoted = format!("\"{}\",", name.replace('"', "\"\""));
                for (k, line) in out.split_inclusive(|&b| b == b'\n').enumerate() {
                    if k == 0 {
                        if first {
                            v.extend_from_slice(b"file,");
                            v.extend_from_slice(line);
                        }
                        continue;
                    }
                    v.extend_from_slice(quoted.as_bytes());
                    v.extend_from_slice(line);
                }
            }
            Join::TsvColumn => {
                let mut field = String::new();
                mptcp_dissector::report::analyze::tsv_escape(&mut field, name);
                field.push('\t');
                for line in out.split_inclusive(|&b| b == b'\n') {
                    if let Some(rest) = line.strip_prefix(b"#fields\t") {
                        if first {
                            v.extend_from_slice(b"#fields\tfile\t");
                            v.extend_from_slice(rest);
                        }
                    } else if let Some(rest) = line.strip_prefix(b"#types\t") {
                        if first {
                            v.extend_from_slice(b"#types\tstring\t");
                            v.extend_from_slice(rest);
                        }
                    } else if line.starts_with(b"#") {
                        if first {
                            v.extend_from_slice(line);
                        }
                    } else {
                        v.extend_from_slice(field.as_bytes());
                        v.extend_from_slice(line);
                    }
                }
            }
            Join::JsonArray => {
                v.extend_from_slice(if first { b"[\n" } else { b",\n" });
                v.extend_from_slice(out.trim_ascii_end());
                v.push(b'\n');
            }
        }
        v
    }

    /// What closes the joined output.
    fn end(&self) -> Vec<u8> {
        match (self.how, self.started) {
            (Join::JsonArray, true) => b"]\n".to_vec(),
            (Join::JsonArray, false) => b"[]\n".to_vec(),
            _ => Vec::new(),
        }
    }
}
