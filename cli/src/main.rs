//! `mptcp-trace`: the command-line front end. Parses flags, opens the capture, picks a
//! reporter, maps errors to exit codes (0 ok, 1 findings where a command defines them, 2 usage
//! or unreadable input).
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// `eprintln!` that never panics: when standard error cannot be written (a full disk, a closed
/// pipe) the message is lost, the exit status still tells.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod input;
mod libpcap;
mod output;
mod pair_cmd;
mod select;
mod timespec;
use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::report::analyze::{self as analyze_report, AnalyzeReport};
use mptcp_dissector::report::dissect::{self, DissectConfig};
use mptcp_dissector::report::events as monitor;
use mptcp_dissector::report::time::TimeFormat;
use mptcp_dissector::track::{Analysis, Analyzer, DataSink, Dir, Limits};
use mptcp_plots::PlotError;
use select::SelectArgs;

mod auto;
mod gen;
mod report;

/// The stream writer, its first write error and the bytes written, shared with the sink.
type SinkState = std::rc::Rc<std::cell::RefCell<(output::Sink, Option<io::Error>, u64)>>;

/// Writes the rebuilt stream; keeps the first write error to report after the run.
struct WriteSink {
    out: SinkState,
    /// Write only from this DSN on (a mid-connection capture's complete suffix).
    from: Option<u64>,
}

impl DataSink for WriteSink {
    fn data(&mut self, dsn: u64, bytes: &[u8]) {
        let mut st = self.out.borrow_mut();
        if st.1.is_some() {
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
        match st.0.write_all(bytes) {
            Ok(()) => st.2 += bytes.len() as u64,
            Err(e) => st.1 = Some(e),
        }
    }
}

#[derive(Parser)]
#[command(name = "mptcp-trace", version, about = "MPTCP (RFC 8684 / RFC 6824) packet-analysis toolkit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A connection (or TCP flow) without a packet for this long is finished and reported as
    /// timed out, and its state freed, e.g. 300s, 5m, 1h; 0 never (like Zeek's
    /// tcp_inactivity_timeout).
    #[arg(long, global = true, default_value = "300s", value_name = "DURATION")]
    idle_timeout: String,
    /// Files analysed at once when several are given (default: the number of cores).
    #[arg(long, short = 'j', global = true, value_name = "N")]
    jobs: Option<usize>,
    /// Several captures of the same traffic (per interface, or at several points) analysed as
    /// one: packets merged in time order, subflows joined to their connection across files, a
    /// packet seen in two files counted once (analyze, verify, events, throughput).
    #[arg(long, global = true)]
    merge: bool,
    /// Capture filter in BPF syntax, as tcpdump takes it (e.g. 'host 192.0.2.1 and port 7000'),
    /// applied to every capture before analysis; frame numbers stay those of the file.
    #[arg(short = 'f', long = "filter", global = true, value_name = "BPF")]
    filter: Option<String>,
    /// Stop after N packets (those that pass -f), as tcpdump -c and tshark -c.
    #[arg(short = 'c', long = "count", global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Decode every MPTCP option, one line per packet (like tcpdump / tshark -V for MPTCP).
    #[command(after_help = gen::examples::DISSECT)]
    Dissect {
        /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
        /// each on its own, in parallel (`--jobs`), and reported in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = DissectFormat::Text)]
        format: DissectFormat,
        /// Print every TCP packet (and undecodable packets), not only those with MPTCP options.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        select: SelectArgs,
        /// Time format, as tshark's -t: r (seconds since the first packet), d (since the
        /// previous packet), dd (since the previous line), a/ad/adoy (local time, with date or
        /// day of year), u/ud/udoy (UTC), e (epoch seconds).
        #[arg(short = 't', value_name = "FORMAT", default_value = "r", value_parser = TimeFormat::parse)]
        time: TimeFormat,
        /// Text: TCP sequence and acknowledgement numbers as on the wire, as tcpdump's -S (by
        /// default they count from each connection's first ones, as tcpdump prints them).
        #[arg(short = 'S', long)]
        absolute_tcp_sequence_numbers: bool,
    },
    /// Connections, subflows, keys/tokens, verification verdicts, data-level measures.
    #[command(after_help = gen::examples::ANALYZE)]
    Analyze {
        /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
        /// each on its own, in parallel (`--jobs`), and reported in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// text; json (one document, every connection kept to the end); jsonl (one line per
        /// connection as it finishes, then a summary line: memory follows the open connections).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Also compute the sha256 of every rebuilt data stream.
        #[arg(long)]
        sha256: bool,
        /// Text: list every connection (by default, past 20 connections, the totals and the
        /// connections that matter: failed checks, anomalies, fallback, the largest).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Write a connection's data-level byte stream, rebuilt across all its subflows.
    #[command(after_help = gen::examples::STREAM)]
    Stream {
        /// Capture file (pcap or pcapng); `-` reads standard input.
        file: PathBuf,
        /// The connection: --connection ID (as `analyze` numbers them), --token HEX or --subflow ID
        /// (one of its subflows); --token and --subflow read the file twice.
        #[command(flatten)]
        select: SelectArgs,
        /// c2s: from the MP_CAPABLE SYN sender; s2c: the other way.
        #[arg(long, short = 'd', value_enum)]
        direction: StreamDir,
        /// Output file; `-` is standard output.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Per-interval bytes per subflow and data-level goodput (CSV or JSON), for plots and spreadsheets.
    #[command(after_help = gen::examples::THROUGHPUT)]
    Throughput {
        /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
        /// each on its own, in parallel (`--jobs`), and reported in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        select: SelectArgs,
        /// Interval length, e.g. 100ms, 1s, 250us (default: picked from the duration, a round
        /// value giving a few hundred intervals).
        #[arg(long)]
        interval: Option<String>,
        #[arg(long, value_enum, default_value_t = SeriesFormat::Csv)]
        format: SeriesFormat,
        /// Every interval from a series' first to its last, zero rows included (by default only
        /// the intervals where something happened are written).
        #[arg(long)]
        dense: bool,
    },
    /// Conformance check of a capture against RFC 8684, for CI: exit 0 all pass, 1 a check or
    /// expectation failed, 2 usage or unreadable input.
    #[command(after_help = gen::examples::VERIFY)]
    Verify {
        /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
        /// each on its own, in parallel (`--jobs`), and reported in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// An expectation, e.g. subflows>=2, version=1, no-fallback, reinjected-bytes=0,
        /// add-addr>=1, c2s-sha256=HEX, s2c-bytes=N, checksums=on (docs/verify.md). Repeatable.
        #[arg(long = "expect", value_name = "RULE")]
        expect: Vec<String>,
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
        /// Write the report here instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// Pass a capture without any MPTCP connection (by default it fails: exit 1).
        #[arg(long)]
        allow_empty: bool,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Draw a plot (PNG or SVG, from the output's extension): throughput, data sequence, RTT, the subflow timeline, head-of-line delay, the reordering buffer, or one-way delay between two captures.
    #[command(after_help = gen::examples::PLOT)]
    Plot {
        /// Capture file (pcap or pcapng); `-` reads standard input.
        file: PathBuf,
        #[arg(long, short = 'k', value_enum)]
        kind: PlotKindArg,
        /// The connection (--connection ID, --token HEX, --subflow ID; the last two read the file
        /// twice); default: the one with the most data in --direction.
        #[command(flatten)]
        select: SelectArgs,
        /// Data direction plotted: c2s from the MP_CAPABLE SYN sender, s2c the other way.
        #[arg(long, short = 'd', value_enum, default_value_t = StreamDir::C2s)]
        direction: StreamDir,
        /// Throughput interval, e.g. 100ms, 1s, 250us (default: picked from the connection's
        /// duration, a round value giving a few hundred intervals).
        #[arg(long)]
        interval: Option<String>,
        /// owd: the server-side capture of the same traffic (FILE is the client side's), as for `pair`.
        #[arg(long, value_name = "SERVER_SIDE")]
        server: Option<PathBuf>,
        /// Image width in pixels.
        #[arg(long, default_value_t = 1000)]
        width: u32,
        /// Image height in pixels.
        #[arg(long, default_value_t = 600)]
        height: u32,
        /// Throughput: stacked areas per subflow instead of one line each.
        #[arg(long)]
        stacked: bool,
        /// Draw from this time: seconds since the capture's first packet (1.5, 0.85s, 250ms), a
        /// local date and time as tshark -t ad shows it (2026-12-07 04:35:01.25; a Z or +01:00 at
        /// the end gives the zone), or @ and epoch seconds (@1796618101.25). Default: the
        /// connection's first packet. Not for hol; owd: relative seconds only.
        #[arg(long, value_name = "TIME", value_parser = timespec::parse)]
        from: Option<mptcp_plots::TimeBound>,
        /// Draw up to this time (the forms of --from). Default: the connection's last packet.
        #[arg(long, value_name = "TIME", value_parser = timespec::parse)]
        to: Option<mptcp_plots::TimeBound>,
        /// Output image: a .png or .svg file.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// The event timeline `ip mptcp monitor` would have printed (CREATED, ESTABLISHED, ...).
    #[command(after_help = gen::examples::EVENTS)]
    Events {
        /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
        /// each on its own, in parallel (`--jobs`), and reported in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = EventsFormat::Text)]
        format: EventsFormat,
        /// Print what `ip mptcp monitor` on that host would have printed, in its format.
        #[arg(long, value_enum, conflicts_with = "format")]
        side: Option<SideArg>,
        /// With --side: prefix each line with the capture time of the packet that shows it.
        #[arg(long, requires = "side")]
        timestamps: bool,
        #[command(flatten)]
        select: SelectArgs,
        /// Time format of text lines, as tshark's -t: r (seconds since the capture's first
        /// packet), d/dd (since the previous event), a/ad/adoy (local time), u/ud/udoy (UTC),
        /// e (epoch seconds).
        #[arg(short = 't', value_name = "FORMAT", default_value = "r", value_parser = TimeFormat::parse)]
        time: TimeFormat,
    },
    /// The same traffic captured at two points: segments lost between them and one-way delay,
    /// per subflow and direction (docs/pair.md).
    #[command(after_help = gen::examples::PAIR)]
    Pair {
        /// Capture at the client side (c2s segments leave here); `-`: standard input.
        client: PathBuf,
        /// Capture at the server side (s2c segments leave here). Given the other way round, as
        /// the handshakes show, the two are swapped with a warning (docs/pair.md).
        server: PathBuf,
        #[arg(long, value_enum, default_value_t = PairFormat::Text)]
        format: PairFormat,
    },
    /// Parquet tables of each capture (connections, subflows, mappings, data_acks, events,
    /// checks; --segments adds segments) under OUT/<table>/<capture>.parquet (docs/export.md).
    #[command(after_help = gen::examples::EXPORT)]
    Export {
        /// Capture files (pcap or pcapng), each exported on its own, in parallel (`--jobs`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory of the tables (created if missing).
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// Also write the segments table (one row per TCP segment).
        #[arg(long)]
        segments: bool,
    },
    /// One self-contained HTML page to attach to a bug: capture summary, connections and
    /// subflows, verify verdicts, event timeline, throughput and sequence plots (docs/report.md).
    #[command(after_help = gen::examples::REPORT)]
    Report {
        /// Capture file (pcap or pcapng); `-` reads standard input.
        file: PathBuf,
        /// Output HTML file; `-` is standard output.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Write the shell completion script for bash, zsh or fish to standard output.
    #[command(after_help = gen::examples::COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: gen::Shell,
    },
    /// Write the man pages (mptcp-trace.1 and one per command) into a folder.
    #[command(after_help = gen::examples::MAN)]
    Man {
        /// Folder for the pages (created when missing).
        #[arg(long, default_value = "man")]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PairFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SideArg {
    Client,
    Server,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum VerifyFormat {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeriesFormat {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlotKindArg {
    Throughput,
    Sequence,
    Rtt,
    Subflows,
    /// Head-of-line delay distribution, one line per subflow the bytes arrived on.
    Hol,
    /// Data-level reordering buffer over time, the subflows' sending shares beneath.
    Reorder,
    /// One-way delay per subflow between FILE (client side) and --server (needs both).
    Owd,
}

#[derive(Clone, Copy, ValueEnum)]
enum StreamDir {
    C2s,
    S2c,
}

#[derive(Clone, Copy, ValueEnum)]
enum EventsFormat {
    Text,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum DissectFormat {
    Text,
    Jsonl,
}

/// Why a command stopped. Every kind exits 2 with its message, except a closed pipe: the reader
/// of our output went away (`| head`), which is not an error worth a message (exit 0).
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// A file that could not be opened or created.
    #[error("{}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    /// A capture whose header is not a capture's (or could not be read).
    #[error("{}: {source}", path.display())]
    Capture { path: PathBuf, source: CaptureError },
    /// Writing a report or a stream failed; `to` names where (a file, or standard output).
    #[error("{to}: {source}")]
    Write { to: String, source: io::Error },
    /// A flag value the command cannot use (e.g. `--interval 3parsecs`).
    #[error("{0}")]
    Usage(String),
    /// The plot's output name says no format we draw.
    #[error(transparent)]
    PlotFormat(PlotError),
    /// Drawing or writing the plot failed.
    #[error("{}: {source}", path.display())]
    Plot { path: PathBuf, source: PlotError },
    #[error("internal: {0}")]
    Internal(&'static str),
}

impl CliError {
    fn open(path: &std::path::Path) -> impl FnOnce(io::Error) -> CliError + '_ {
        move |source| CliError::Open { path: path.to_path_buf(), source }
    }
    fn capture(path: &std::path::Path) -> impl FnOnce(CaptureError) -> CliError + '_ {
        move |source| CliError::Capture { path: path.to_path_buf(), source }
    }
    fn write(to: impl std::fmt::Display) -> impl FnOnce(io::Error) -> CliError {
        move |source| CliError::Write { to: to.to_string(), source }
    }

    /// The io::Error underneath, if there is one.
    fn io_error(&self) -> Option<&io::Error> {
        match self {
            CliError::Open { source, .. } | CliError::Write { source, .. } => Some(source),
            CliError::Capture { source: CaptureError::Io { source, .. }, .. } => Some(source),
            _ => None,
        }
    }

    /// The reader of our output closed its end (`mptcp-trace dissect x.pcap | head`).
    fn is_broken_pipe(&self) -> bool {
        self.io_error().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Ranges (gaps, uncaptured) listed by `stream` before "… N more".
const LISTED: usize = 20;

/// Where a report goes when no file is named.
const STDOUT: &str = "standard output";

/// Opens a capture file; a directory is named as such (reading one fails with EISDIR, which
/// would otherwise surface as a read error of the capture).
fn open_file(path: &(impl AsRef<std::path::Path> + ?Sized)) -> Result<File, CliError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(CliError::open(path))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CliError::open(path)(io::Error::other("is a directory, not a capture file")));
    }
    Ok(file)
}

/// Opens a capture file or standard input (`-`).
fn open_capture(path: &PathBuf) -> Result<CaptureReader, CliError> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" { Box::new(io::stdin()) } else { Box::new(open_file(path)?) };
    let mut reader = CaptureReader::new(input).map_err(CliError::capture(path))?;
    input::prepare(&mut reader);
    Ok(reader)
}

/// Reports how the capture ended: a cut-off file is a warning (exit stays 0), anything else an
/// error (2).
fn capture_end(path: &std::path::Path, end: Option<CaptureError>, dest: &Dest) -> u8 {
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

/// A byte buffer shared with a writer that the analyzer may own (a report sink).
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where one file's report and messages go: the terminal, or buffers while several files run
/// at once (written out in the order the files were given).
enum Dest {
    Std,
    Buf { out: Rc<RefCell<Vec<u8>>>, err: Rc<RefCell<Vec<u8>>> },
}

impl Dest {
    fn out(&self) -> Box<dyn Write> {
        match self {
            Dest::Std => Box::new(io::stdout()),
            Dest::Buf { out, .. } => Box::new(SharedBuf(out.clone())),
        }
    }
    fn err(&self) -> Box<dyn Write> {
        match self {
            Dest::Std => Box::new(io::stderr()),
            Dest::Buf { err, .. } => Box::new(SharedBuf(err.clone())),
        }
    }
    /// A progress bar only for a file run alone.
    fn progress(&self) -> bool {
        matches!(self, Dest::Std)
    }
}

/// A message on the file's standard error.
macro_rules! msg {
    ($dest:expr, $($arg:tt)*) => {{
        let _ = writeln!($dest.err(), $($arg)*);
    }};
}
use msg;

/// Whether large streams are hashed on a helper thread: not when the files already keep every
/// core busy (several files, `--jobs` above 1).
static HASH_THREAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn hash_thread() -> bool {
    HASH_THREAD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `command` on each file, `jobs` at a time (rayon), and writes each file's output and
/// messages in the order the files were given, as soon as the files before it are done (like
/// ripgrep). A file that cannot be read is named in its error and the others still run. The
/// exit status is the worst of them.
fn run_files(command: &Command, files: &[PathBuf], jobs: usize, limits: Limits) -> Result<ExitCode, CliError> {
    if let [file] = files {
        return run_file(command, file, limits, &Dest::Std).map(ExitCode::from);
    }
    HASH_THREAD.store(jobs <= 1, std::sync::atomic::Ordering::Relaxed);
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("standard input (`-`) cannot be one of several files".into()));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| CliError::Usage(format!("--jobs: {e}")))?;
    // (index, output, messages, status or (closed pipe, error))
    type Done = (usize, Vec<u8>, Vec<u8>, Result<u8, (bool, String)>);
    let (tx, rx) = std::sync::mpsc::channel::<Done>();
    let mut worst = 0u8;
    let mut closed = false;
    pool.in_place_scope(|scope| {
        for (i, file) in files.iter().enumerate() {
            let tx = tx.clone();
            scope.spawn(move |_| {
                let (out, err) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(Vec::new())));
                let dest = Dest::Buf { out: out.clone(), err: err.clone() };
                let r = run_file(command, file, limits, &dest).map_err(|e| (e.is_broken_pipe(), e.to_string()));
                drop(dest);
                let take = |b: Rc<RefCell<Vec<u8>>>| std::mem::take(&mut *b.borrow_mut());
                let _ = tx.send((i, take(out), take(err), r));
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut joined = Joiner { how: Join::of(command), started: false };
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

/// How the outputs of several files make one output that says which file each part is from.
#[derive(Clone, Copy, PartialEq)]
enum Join {
    /// Each file's output names it already (analyze text): one after the other.
    AsIs,
    /// Text without the file's name: a `==> FILE <==` line before each file's (as head/tail).
    Header,
    /// JSON lines: each line gets a `file` field first (the analyze summary line has one).
    FileField,
    /// CSV: one header line, with a `file` column first.
    CsvColumn,
    /// JSON documents: one array of them, in the order given.
    JsonArray,
}

impl Join {
    fn of(command: &Command) -> Join {
        match command {
            Command::Dissect { format: DissectFormat::Text, .. } | Command::Events { format: EventsFormat::Text, .. } => Join::Header,
            Command::Events { side: Some(_), .. } => Join::Header,
            Command::Dissect { format: DissectFormat::Jsonl, .. }
            | Command::Events { format: EventsFormat::Jsonl, .. }
            | Command::Analyze { format: ReportFormat::Jsonl, .. } => Join::FileField,
            Command::Analyze { format: ReportFormat::Json, .. }
            | Command::Throughput { format: SeriesFormat::Json, .. }
            | Command::Verify { format: VerifyFormat::Json, .. } => Join::JsonArray,
            Command::Throughput { format: SeriesFormat::Csv, .. } => Join::CsvColumn,
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

/// [`analyze_file`], or with `merge` the k-way merge of those captures (each file's end is
/// reported here; a file that cannot be opened is named and left out, and the run ends with 2).
fn analyze_input(file: &PathBuf, merge: &[PathBuf], dest: &Dest, analyzer: Analyzer) -> Result<(Analysis, Option<CaptureError>), CliError> {
    if merge.is_empty() {
        return analyze_file(file, dest.progress(), analyzer);
    }
    let (mut readers, mut names, mut failed) = (Vec::new(), Vec::new(), false);
    for f in merge {
        match open_file(f).and_then(|h| CaptureReader::new(h).map_err(CliError::capture(f))) {
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
    let count = input::prepare_merged(&mut readers);
    let mut reader = mptcp_dissector::capture::merge::MergedReader::new(readers);
    input::limit_merged(&mut reader, count);
    let (analysis, ends) = mptcp_dissector::pipeline::run_merged(&mut reader, analyzer);
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
fn progress_bar(path: &std::path::Path, file: &File) -> Option<indicatif::ProgressBar> {
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

/// Runs the whole pipeline on a capture, with a progress bar for long runs (see [`progress_bar`]).
fn analyze_file(path: &PathBuf, progress: bool, analyzer: Analyzer) -> Result<(Analysis, Option<CaptureError>), CliError> {
    let (mut reader, bar) = if path.as_os_str() == "-" {
        (open_capture(path)?, None)
    } else {
        let file = open_file(path)?;
        match progress_bar(path, &file).filter(|_| progress) {
            Some(bar) => {
                let input = ProgressRead { inner: file, bar: bar.clone() };
                (CaptureReader::new(input).map_err(CliError::capture(path))?, Some(bar))
            }
            // Several files at once keep the cores busy already: no read-ahead thread per file
            // (it is started only for a plain `File`).
            None if !progress => (CaptureReader::new(Box::new(file) as Box<dyn Read>).map_err(CliError::capture(path))?, None),
            None => (CaptureReader::new(file).map_err(CliError::capture(path))?, None),
        }
    };
    input::prepare(&mut reader);
    let result = mptcp_dissector::pipeline::run(&mut reader, analyzer);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result)
}

fn warning_of(end: &Option<CaptureError>) -> Option<String> {
    end.as_ref().filter(|e| e.is_truncation()).map(|e| e.to_string())
}

/// `--idle-timeout`: a duration (ns, us, ms, s, m, h) or 0 (never).
fn parse_idle_timeout(s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    if t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<f64>() == Ok(0.0) {
        return Ok(0);
    }
    let (num, scale) = match t.strip_suffix('h').or_else(|| t.strip_suffix('m').filter(|n| !n.ends_with(['m', 'u', 'n']))) {
        Some(n) if t.ends_with('h') => (n, 3600.0),
        Some(n) => (n, 60.0),
        None => return mptcp_dissector::series::parse_interval(t).map_err(|_| bad_idle_timeout(s)),
    };
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && v * scale < 1e6 => Ok((v * scale * 1e9) as u64),
        _ => Err(bad_idle_timeout(s)),
    }
}

/// Every unit `--idle-timeout` takes, in one message whatever was wrong.
fn bad_idle_timeout(s: &str) -> CliError {
    CliError::Usage(format!(
        "--idle-timeout: bad duration {s:?}: a number and a unit, ns, us, ms, s, m (minutes) or h (e.g. 300s, 5m, 1h), or 0 for never"
    ))
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let idle_timeout_ns = parse_idle_timeout(&cli.idle_timeout)?;
    input::configure(input::InputOptions { filter: cli.filter.clone(), count: cli.count }).map_err(CliError::Usage)?;
    let limits = Limits { idle_timeout_ns, ..Limits::default() };
    let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    if let Command::Verify { files, output: Some(o), .. } = &cli.command {
        output::refuse_input(o, &files.iter().map(|p| p.as_path()).collect::<Vec<_>>())?;
    }
    match &cli.command {
        Command::Completions { shell } => {
            gen::completions(*shell, Cli::command(), &mut io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => {
            for f in gen::man_pages(Cli::command(), out)? {
                say!("mptcp-trace: wrote {}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dissect { .. }
        | Command::Stream { .. }
        | Command::Plot { .. }
        | Command::Pair { .. }
        | Command::Report { .. }
        | Command::Export { .. }
            if cli.merge =>
        {
            Err(CliError::Usage("--merge works with analyze, verify, events and throughput".into()))
        }
        Command::Analyze { files, .. }
        | Command::Throughput { files, .. }
        | Command::Verify { files, .. }
        | Command::Events { files, .. }
            if cli.merge =>
        {
            run_merged(&cli.command, files, limits)
        }
        Command::Verify { files, .. } if files.len() > 1 => run_verify_files(&cli.command, files, jobs, limits),
        Command::Dissect { files, .. }
        | Command::Analyze { files, .. }
        | Command::Throughput { files, .. }
        | Command::Verify { files, .. }
        | Command::Events { files, .. } => run_files(&cli.command, files, jobs, limits),
        Command::Report { file, output } => report::run(file, output, limits),
        Command::Stream { .. } | Command::Plot { .. } | Command::Pair { .. } => run_one(cli.command, limits),
        Command::Export { files, out, segments } => run_export(files, out, *segments, jobs, limits),
    }
}

/// `export`: each file's tables, files in parallel; a line per file and table on stdout, in the
/// order given. Exit status: the worst of the files (2 for a file that is not a capture, whose
/// partial tables are removed).
fn run_export(files: &[PathBuf], out: &std::path::Path, segments: bool, jobs: usize, limits: Limits) -> Result<ExitCode, CliError> {
    use rayon::prelude::*;
    let mut names = std::collections::HashSet::new();
    for f in files {
        if f.as_os_str() == "-" {
            return Err(CliError::Usage("export reads files, not standard input".into()));
        }
        if !names.insert(f.file_name()) {
            return Err(CliError::Usage(format!("{}: two captures with the same file name would write the same tables", f.display())));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| CliError::Usage(format!("--jobs: {e}")))?;
    let opts = mptcp_export::ExportOptions { segments };
    let new_dirs = output::NewDirs::missing(std::iter::once(out.to_path_buf()).chain(mptcp_export::TABLES.iter().map(|t| out.join(t))));
    let results: Vec<(String, u8)> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let name = f.display().to_string();
                let mut reader = match open_capture(f) {
                    Ok(r) => r,
                    Err(e) => return (format!("mptcp-trace: error: {e}\n"), 2),
                };
                match mptcp_export::export(&name, &mut reader, out, opts, limits) {
                    // A damaged capture (not merely cut short) is exit 2 for every command: its
                    // tables are not put in place, and an earlier export's stay as they were.
                    Ok((_, Some(e))) if !e.is_truncation() => {
                        (format!("mptcp-trace: error: {name}: {e}\nmptcp-trace: {name}: no table written\n"), 2)
                    }
                    Ok((w, end)) => {
                        let mut text = String::new();
                        for (table, path, rows) in &w.tables {
                            text.push_str(&format!("{name}: {table} {rows} rows -> {}\n", path.display()));
                        }
                        if let Err(e) = w.commit() {
                            return (format!("mptcp-trace: error: {name}: {e}\n"), 2);
                        }
                        if let Some(e) = &end {
                            text.push_str(&format!("mptcp-trace: warning: {name}: {e}; everything before it was used\n"));
                        }
                        (text, 0)
                    }
                    Err(e) => (format!("mptcp-trace: error: {name}: {e}\n"), 2),
                }
            })
            .collect()
    });
    let mut worst = 0;
    let mut stdout = io::stdout().lock();
    for (text, code) in results {
        worst = worst.max(code);
        for line in text.lines() {
            if line.starts_with("mptcp-trace: ") {
                say!("{line}");
            } else {
                writeln!(stdout, "{line}").map_err(CliError::write(STDOUT))?;
            }
        }
    }
    if worst != 0 {
        // Folders made for tables that were not written go again.
        new_dirs.remove_empty();
    }
    Ok(ExitCode::from(worst))
}

/// `stream` and `plot`: one capture, one output file; `pair`: two captures, one report.
fn run_one(command: Command, limits: Limits) -> Result<ExitCode, CliError> {
    match command {
        Command::Pair { client, server, format } => pair_cmd::run(&client, &server, format).map(ExitCode::from),
        Command::Plot { file, kind: PlotKindArg::Owd, server, width, height, from, to, output, .. } => {
            use mptcp_dissector::analysis::pair;
            let Some(server) = server else {
                return Err(CliError::Usage("plot --kind owd needs the server-side capture: --server FILE".into()));
            };
            let win = owd_window(from, to)?;
            plot_format(&output)?;
            output::refuse_input(&output, &[&file, &server])?;
            let pair_cmd::Paired { report, code, .. } =
                pair_cmd::run_pair(&file, &server, pair::PairOptions { series: true, ..Default::default() })?;
            let name = |p: &PathBuf| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
            let title = format!("{} / {}", name(&file), name(&server));
            let out = output::OutFile::create(&output, &[&file, &server])?;
            match mptcp_plots::owd::render_file(&report, &title, width, height, &win, out.tmp_path()) {
                Ok(()) => {
                    out.commit()?;
                    say!("mptcp-trace: wrote {}", output.display())
                }
                Err(PlotError::Range(m)) => return Err(CliError::Usage(m)),
                Err(e @ PlotError::Format(_)) => return Err(CliError::PlotFormat(e)),
                Err(source) => return Err(CliError::Plot { path: output, source }),
            }
            Ok(ExitCode::from(code))
        }
        Command::Stream { file, select, direction, output } => {
            output::refuse_input(&output, &[&file])?;
            let dir = match direction {
                StreamDir::C2s => Dir::C2s,
                StreamDir::S2c => Dir::S2c,
            };
            let sel = select.selection();
            let mut connection = sel.connection.filter(|_| sel.token.is_none() && sel.subflow.is_none());
            // A file is read twice: the first pass checks the selection before the output is
            // created, and finds where a connection picked up from the data level (the capture
            // starts after its handshake) becomes complete: bytes sent before the capture began
            // leave gaps near its start, and the stream is the complete suffix after the last one.
            let mut from = None;
            if file.as_os_str() != "-" {
                let (first, end) = analyze_file(&file, true, Analyzer::new(limits).with_events(false))?;
                if end.as_ref().is_some_and(|e| !e.is_truncation()) {
                    // A damaged capture: said now (the second pass would say it again), no output.
                    return Ok(ExitCode::from(capture_end(&file, end, &Dest::Std)));
                }
                if sel.token.is_some() || sel.subflow.is_some() {
                    connection = Some(
                        select::resolve_connection(&sel, &first)
                            .ok_or_else(|| CliError::Usage(format!("{}: no connection matches the selection", file.display())))?,
                    );
                }
                let n = first.connections.len();
                if connection.is_none() && n == 1 {
                    connection = Some(0);
                }
                let Some(c) = connection else {
                    return Err(CliError::Usage(format!(
                        "stream: which connection? {} has {n}: --connection ID (as `analyze` numbers them), --token HEX or --subflow ID",
                        file.display()
                    )));
                };
                let Some(conn) = first.connections.get(c) else {
                    say!("mptcp-trace: error: {}: no connection {c} (the capture has {n})", file.display());
                    return Ok(ExitCode::from(2));
                };
                if conn.found_by == mptcp_dissector::track::FoundBy::DataLevel {
                    from = conn.data(dir).gaps.last().map(|g| g.1).or(conn.data(dir).first_dsn);
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
            let state =
                std::rc::Rc::new(std::cell::RefCell::new((output::Sink::open(target, &[&file], Box::new(io::stdout()))?, None, 0u64)));
            let sink = WriteSink { out: state.clone(), from };
            let mut limits = limits;
            if from.is_some() {
                limits.reassembly.hole_policy = mptcp_dissector::reassembly::HolePolicy::Skip;
            }
            let analyzer = Analyzer::new(limits).with_sink(connection, dir, Box::new(sink));
            let (analysis, end) = analyze_file(&file, true, analyzer)?;
            let (w, err, written) = match std::rc::Rc::try_unwrap(state) {
                Ok(cell) => cell.into_inner(),
                Err(_) => return Err(CliError::Internal("stream sink still shared")),
            };
            if let Some(e) = err {
                return Err(CliError::Write { to: w.name(), source: e });
            }
            let code = capture_end(&file, end, &Dest::Std);
            let Some(conn) = analysis.connections.get(connection) else {
                say!("mptcp-trace: error: {}: no connection {connection} (the capture has {})", file.display(), analysis.connections.len());
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
            say!(
                "mptcp-trace: connection {connection} {name}: INCOMPLETE: wrote the first {written} of {} data-level bytes seen",
                dd.bytes
            );
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
        Command::Plot { file, kind, select, direction, interval, width, height, stacked, from, to, output, .. } => {
            if matches!(kind, PlotKindArg::Hol) && (from.is_some() || to.is_some()) {
                return Err(CliError::Usage("--from/--to: the hol plot has no time axis (its x axis is a delay)".into()));
            }
            plot_format(&output)?;
            output::refuse_input(&output, &[&file])?;
            let connection = connection_of(&file, &select, limits)?;
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
                direction: match direction {
                    StreamDir::C2s => Dir::C2s,
                    StreamDir::S2c => Dir::S2c,
                },
                width,
                height,
                stacked,
                from,
                to,
            };
            let interval_ns = match &interval {
                Some(i) => mptcp_dissector::series::parse_interval(i).map_err(CliError::Usage)?,
                None => auto::plot_interval(&file, &opts, || open_capture(&file))?,
            };
            let mut reader = open_capture(&file)?;
            let mut cap = mptcp_plots::collect_for(&file.display().to_string(), &mut reader, interval_ns, &opts);
            let end = cap.end.take();
            if end.as_ref().is_some_and(|e| !e.is_truncation()) {
                // A damaged capture: no plot (a cut one is drawn up to the cut, with a warning).
                return Ok(ExitCode::from(capture_end(&file, end, &Dest::Std)));
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
                    eprintln!("mptcp-trace: error: {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
                _ => {}
            }
            let out = output::OutFile::create(&output, &[&file])?;
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
                Err(source) => return Err(CliError::Plot { path: output, source }),
            };
            // A cut-off capture's warning concerns the data drawn: said before "wrote".
            let code = capture_end(&file, end, &Dest::Std);
            say!("mptcp-trace: connection {conn}: wrote {}", output.display());
            Ok(ExitCode::from(code))
        }
        _ => Err(CliError::Internal("several files: run_files")),
    }
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
fn plot_format(output: &std::path::Path) -> Result<(), CliError> {
    match output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png" | "svg") => Ok(()),
        _ => Err(CliError::PlotFormat(PlotError::Format(output.display().to_string()))),
    }
}

/// The connection `stream` and `plot` work on: `--connection` as given; `--token` or
/// `--subflow` looked up in a first pass over the file. `None`: nothing was selected.
fn connection_of(file: &PathBuf, select: &SelectArgs, limits: Limits) -> Result<Option<usize>, CliError> {
    let sel = select.selection();
    if sel.token.is_none() && sel.subflow.is_none() {
        return Ok(sel.connection);
    }
    if file.as_os_str() == "-" {
        return Err(CliError::Usage("--token and --subflow read the capture twice: give a file, not standard input".into()));
    }
    let (first, _) = analyze_file(file, false, Analyzer::new(limits).with_events(false))?;
    match select::resolve_connection(&sel, &first) {
        Some(c) => Ok(Some(c)),
        None => Err(CliError::Usage(format!("{}: no connection matches the selection", file.display()))),
    }
}

/// One file's run of a command that takes several files; returns its exit status.
fn run_file(command: &Command, file: &PathBuf, limits: Limits, dest: &Dest) -> Result<u8, CliError> {
    run_input(command, file, &[], limits, dest)
}

/// `--merge`: the files as one capture, reported under their names joined by ` + `.
fn run_merged(command: &Command, files: &[PathBuf], limits: Limits) -> Result<ExitCode, CliError> {
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("--merge reads files, not standard input".into()));
    }
    let name = PathBuf::from(files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + "));
    run_input(command, &name, files, limits, &Dest::Std).map(ExitCode::from)
}

/// One run over `file`, or over the captures `merge` merged into one (then `file` is their name).
fn run_input(command: &Command, file: &PathBuf, merge: &[PathBuf], limits: Limits, dest: &Dest) -> Result<u8, CliError> {
    match command {
        Command::Dissect { format, all, select, time, absolute_tcp_sequence_numbers, .. } => {
            let mut reader = open_capture(file)?;
            let mut out = BufWriter::new(dest.out());
            let config = DissectConfig {
                format: match *format {
                    DissectFormat::Text => dissect::Format::Text,
                    DissectFormat::Jsonl => dissect::Format::Jsonl,
                },
                all: *all,
                time: *time,
                absolute_seq: *absolute_tcp_sequence_numbers,
            };
            let mut selection = select.selection();
            if selection.token.is_some() && file.as_os_str() != "-" {
                let (first, _) = analyze_file(file, false, Analyzer::new(limits).with_events(false))?;
                match select::resolve_token(selection, &first) {
                    Some(s) => selection = s,
                    // Like a display filter that matches nothing: no line, and a word why.
                    None => {
                        msg!(dest, "mptcp-trace: warning: {}: no connection has that token (with that id)", file.display());
                        return Ok(0);
                    }
                }
            }
            let tracker = (!selection.is_empty()).then(|| dissect::Tracker::new(Analyzer::new(limits), selection));
            let (_summary, end) = dissect::dissect_selected(&mut reader, config, tracker, &mut out).map_err(CliError::write(STDOUT))?;
            out.flush().map_err(CliError::write(STDOUT))?;
            Ok(capture_end(file, end, dest))
        }
        Command::Analyze { format, sha256, all, select, .. } => {
            let analyzer = Analyzer::new(limits).with_hashes(*sha256).with_hash_thread(hash_thread()).with_events(false);
            let selection = select.selection();
            let seen = Rc::new(std::cell::Cell::new(0usize));
            let retire = |sink: Box<dyn mptcp_dissector::track::Retire>| -> Box<dyn mptcp_dissector::track::Retire> {
                Box::new(select::SelectedRetire { inner: sink, selection, seen: seen.clone() })
            };
            // `--connection ID` naming no connection: the same error (2) as stream, plot and
            // throughput, and no report.
            let missing = |analysis: &Analysis| -> Option<u8> {
                let c = select.connection?;
                let have = analysis.connections.len().max(seen.get());
                (c >= have).then(|| {
                    msg!(dest, "mptcp-trace: error: {}: no connection {c} (the capture has {have})", file.display());
                    2
                })
            };
            let name = file.display().to_string();
            match (*format, *all) {
                // Streamed: each connection is written as it finishes.
                (ReportFormat::Jsonl, _) => {
                    let sink = Rc::new(RefCell::new(analyze_report::JsonlWriter::new(BufWriter::new(dest.out()))));
                    let (analysis, end) =
                        analyze_input(file, merge, dest, analyzer.with_retire(retire(Box::new(analyze_report::Shared(sink.clone())))))?;
                    if let Some(code) = missing(&analysis) {
                        return Ok(code);
                    }
                    sink.borrow_mut().finish(&name, &analysis, &warning_of(&end)).map_err(CliError::write(STDOUT))?;
                    Ok(capture_end(file, end, dest))
                }
                // Bounded: totals and the connections that matter past a few.
                (ReportFormat::Text, false) => {
                    let sink = Rc::new(RefCell::new(analyze_report::TextSummary::default()));
                    let (analysis, end) =
                        analyze_input(file, merge, dest, analyzer.with_retire(retire(Box::new(analyze_report::Shared(sink.clone())))))?;
                    if let Some(code) = missing(&analysis) {
                        return Ok(code);
                    }
                    let mut out = BufWriter::new(dest.out());
                    sink.borrow_mut()
                        .write(&mut out, &name, &analysis, &warning_of(&end))
                        .and_then(|_| out.flush())
                        .map_err(CliError::write(STDOUT))?;
                    Ok(capture_end(file, end, dest))
                }
                (format, _) => {
                    let (mut analysis, end) = analyze_input(file, merge, dest, analyzer)?;
                    if let Some(code) = missing(&analysis) {
                        return Ok(code);
                    }
                    select::restrict(&mut analysis, &selection);
                    let mut report = AnalyzeReport::new(&name, &analysis, warning_of(&end));
                    if !selection.is_empty() {
                        // Flows outside every connection are not selected (as in the streamed reports).
                        report.orphans.clear();
                    }
                    let mut out = BufWriter::new(dest.out());
                    match format {
                        ReportFormat::Json => analyze_report::write_json(&mut out, &report),
                        _ => analyze_report::write_text(&mut out, &report),
                    }
                    .and_then(|_| out.flush())
                    .map_err(CliError::write(STDOUT))?;
                    Ok(capture_end(file, end, dest))
                }
            }
        }
        Command::Throughput { select, interval, format, dense, .. } => {
            let connection = &select.connection;
            let selection = select.selection();
            let series = std::rc::Rc::new(std::cell::RefCell::new(match interval {
                Some(i) => mptcp_dissector::series::Throughput::new(
                    mptcp_dissector::series::parse_interval(i).map_err(CliError::Usage)?,
                    *connection,
                ),
                None => mptcp_dissector::series::Throughput::auto(*connection),
            }));
            let analyzer = Analyzer::new(limits).with_observer(Box::new(mptcp_dissector::series::SharedObserver(series.clone())));
            let (analysis, end) = analyze_input(file, merge, dest, analyzer)?;
            if let Some(c) = *connection {
                if analysis.connections.get(c).is_none() {
                    msg!(
                        dest,
                        "mptcp-trace: error: {}: no connection {c} (the capture has {})",
                        file.display(),
                        analysis.connections.len()
                    );
                    return Ok(2);
                }
            }
            let mut rows = if *dense { series.borrow().rows() } else { series.borrow().sparse_rows() };
            rows.retain(|r| select::keeps_row(&selection, &analysis, r.connection, r.subflow));
            // Time 0 is the first packet of the capture (docs/throughput.md), as in analyze and
            // plot; the series count from the first TCP segment.
            let first_ns = (analysis.stats.first_ts * 1e9).round() as u64;
            let offset_s = series.borrow().t0_ns().map_or(0.0, |t| t.saturating_sub(first_ns) as f64 / 1e9);
            for r in &mut rows {
                r.t += offset_s;
            }
            let label = |sf: Option<usize>| match sf.and_then(|s| analysis.subflows.get(s)) {
                Some(f) => format!("{} -> {}", f.client, f.server),
                None => "data-level goodput".to_string(),
            };
            let mut out = BufWriter::new(dest.out());
            let res = match format {
                SeriesFormat::Csv => (|| -> io::Result<()> {
                    writeln!(
                        out,
                        "t,connection,subflow,path,c2s_bytes,s2c_bytes,c2s_bps,s2c_bps,c2s_acked_bytes,s2c_acked_bytes,c2s_delivered_bytes,s2c_delivered_bytes"
                    )?;
                    for r in &rows {
                        writeln!(
                            out,
                            "{:.6},{},{},\"{}\",{},{},{:.0},{:.0},{},{},{},{}",
                            r.t,
                            r.connection,
                            r.subflow.map(|s| s.to_string()).unwrap_or_default(),
                            label(r.subflow),
                            r.c2s_bytes,
                            r.s2c_bytes,
                            r.c2s_bps,
                            r.s2c_bps,
                            r.c2s_acked_bytes,
                            r.s2c_acked_bytes,
                            r.c2s_delivered_bytes,
                            r.s2c_delivered_bytes
                        )?;
                    }
                    Ok(())
                })(),
                SeriesFormat::Json => {
                    #[derive(serde::Serialize)]
                    struct Doc<'a> {
                        interval_s: f64,
                        paths: std::collections::BTreeMap<String, String>,
                        rows: &'a [mptcp_dissector::series::Row],
                    }
                    let mut paths = std::collections::BTreeMap::new();
                    for r in &rows {
                        if let Some(sf) = r.subflow {
                            paths.entry(sf.to_string()).or_insert_with(|| label(Some(sf)));
                        }
                    }
                    let doc = Doc { interval_s: series.borrow().interval_secs(), paths, rows: &rows };
                    serde_json::to_writer_pretty(&mut out, &doc).map_err(io::Error::from).and_then(|_| writeln!(out))
                }
            };
            res.and_then(|_| out.flush()).map_err(CliError::write(STDOUT))?;
            Ok(capture_end(file, end, dest))
        }
        Command::Verify { expect, format, output, allow_empty, select, .. } => {
            let exps = match parse_expectations(expect) {
                Ok(e) => e,
                Err(msg) => {
                    msg!(dest, "mptcp-trace: usage error: {msg}");
                    return Ok(2);
                }
            };
            let report = match verify_report(file, merge, dest, limits, &exps, *allow_empty, select)? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let inputs: Vec<&std::path::Path> =
                if merge.is_empty() { vec![file.as_path()] } else { merge.iter().map(|p| p.as_path()).collect() };
            let ok = report.ok();
            write_verify(output.as_deref(), &inputs, dest.out(), *format, &[report])?;
            Ok(if ok { 0 } else { 1 })
        }
        Command::Events { format, side, timestamps, select, time, .. } => {
            let (mut analysis, end) = analyze_input(file, merge, dest, Analyzer::new(limits))?;
            select::restrict_events(&mut analysis, &select.selection());
            let mut out = BufWriter::new(dest.out());
            let side = side.map(|s| match s {
                SideArg::Client => mptcp_dissector::track::Side::Client,
                SideArg::Server => mptcp_dissector::track::Side::Server,
            });
            match (side, *format) {
                (Some(side), _) => monitor::write_monitor_text(&mut out, &monitor::monitor_lines(&analysis, side), *timestamps),
                (None, EventsFormat::Text) => analyze_report::write_events_text(&mut out, &analysis.events, *time, &analysis.stats),
                (None, EventsFormat::Jsonl) => analyze_report::write_events_jsonl(&mut out, &analysis.events),
            }
            .and_then(|_| out.flush())
            .map_err(CliError::write(STDOUT))?;
            Ok(capture_end(file, end, dest))
        }
        Command::Stream { .. }
        | Command::Plot { .. }
        | Command::Pair { .. }
        | Command::Report { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Export { .. } => Err(CliError::Internal("one file only")),
    }
}

fn parse_expectations(rules: &[String]) -> Result<Vec<mptcp_dissector::verify::Expectation>, String> {
    rules.iter().map(|r| mptcp_dissector::verify::parse_expectation(r)).collect()
}

/// `verify`'s report of one input (or of merged inputs), or the exit status that stands for it
/// (2: the capture is damaged; its message is written).
fn verify_report(
    file: &PathBuf,
    merge: &[PathBuf],
    dest: &Dest,
    limits: Limits,
    exps: &[mptcp_dissector::verify::Expectation],
    allow_empty: bool,
    select: &SelectArgs,
) -> Result<Result<mptcp_dissector::verify::VerifyReport, u8>, CliError> {
    let analyzer = Analyzer::new(limits).with_hashes(mptcp_dissector::verify::needs_hashes(exps)).with_hash_thread(hash_thread());
    let (mut analysis, end) = analyze_input(file, merge, dest, analyzer)?;
    select::restrict(&mut analysis, &select.selection());
    if let Some(e) = end.as_ref().filter(|e| !e.is_truncation()) {
        msg!(dest, "mptcp-trace: error: {}: {e}", file.display());
        return Ok(Err(2));
    }
    if let Some(w) = warning_of(&end) {
        msg!(dest, "mptcp-trace: warning: {}: {w}; everything before it was used", file.display());
    }
    let mut report = mptcp_dissector::verify::verify(&file.display().to_string(), &analysis, exps);
    report.require_connections(&analysis, allow_empty);
    Ok(Ok(report))
}

/// Writes `verify`'s reports as one document: text (each capture's report under its own
/// header line), JSON (one report: its document; several: an array of them), JUnit (one
/// `<testsuites>`, a suite per capture).
fn write_verify(
    output: Option<&std::path::Path>,
    inputs: &[&std::path::Path],
    stdout: Box<dyn Write>,
    format: VerifyFormat,
    reports: &[mptcp_dissector::verify::VerifyReport],
) -> Result<(), CliError> {
    use mptcp_dissector::report::verify as vr;
    let mut out = output::Sink::open(output, inputs, stdout)?;
    let to = out.name();
    match (format, reports) {
        (VerifyFormat::Json, [one]) => vr::write_json(&mut out, one),
        (VerifyFormat::Json, _) => vr::write_json_many(&mut out, reports),
        (VerifyFormat::Junit, _) => vr::write_junit_many(&mut out, reports),
        (VerifyFormat::Text, _) => reports.iter().try_for_each(|r| vr::write_text(&mut out, r)),
    }
    .map_err(CliError::write(&to))?;
    out.finish()
}

/// `verify` over several files: each read on its own, in parallel, and one report of them all,
/// in the order given. With `-o`, a file that cannot be read leaves the output unwritten (a
/// report must not silently lack a capture); on standard output the others' reports are written.
fn run_verify_files(command: &Command, files: &[PathBuf], jobs: usize, limits: Limits) -> Result<ExitCode, CliError> {
    use rayon::prelude::*;
    let Command::Verify { expect, format, output, allow_empty, select, .. } = command else {
        return Err(CliError::Internal("verify only"));
    };
    let exps = parse_expectations(expect).map_err(CliError::Usage)?;
    if files.iter().any(|f| f.as_os_str() == "-") {
        return Err(CliError::Usage("standard input (`-`) cannot be one of several files".into()));
    }
    HASH_THREAD.store(jobs <= 1, std::sync::atomic::Ordering::Relaxed);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| CliError::Usage(format!("--jobs: {e}")))?;
    let done: Vec<(Vec<u8>, Result<mptcp_dissector::verify::VerifyReport, u8>)> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let (out, err) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(Vec::new())));
                let dest = Dest::Buf { out, err: err.clone() };
                let r = match verify_report(f, &[], &dest, limits, &exps, *allow_empty, select) {
                    Ok(r) => r,
                    Err(e) => {
                        msg!(dest, "mptcp-trace: error: {e}");
                        Err(2)
                    }
                };
                drop(dest);
                let err = std::mem::take(&mut *err.borrow_mut());
                (err, r)
            })
            .collect()
    });
    let (mut worst, mut reports) = (0u8, Vec::new());
    for (err, r) in done {
        let _ = io::stderr().write_all(&err);
        match r {
            Ok(r) => {
                worst = worst.max(if r.ok() { 0 } else { 1 });
                reports.push(r);
            }
            Err(code) => worst = worst.max(code),
        }
    }
    if worst == 2 {
        if let Some(o) = output.as_ref().filter(|o| o.as_os_str() != "-") {
            say!("mptcp-trace: {} not written: a capture could not be read", o.display());
            return Ok(ExitCode::from(2));
        }
    }
    let inputs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    write_verify(output.as_deref(), &inputs, Box::new(io::stdout()), *format, &reports)?;
    Ok(ExitCode::from(worst))
}

/// `-r FILE`, as tcpdump and tshark read a capture, is the same as FILE.
fn args_with_read_flag(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        if a == "-r" && args.peek().is_some() {
            continue;
        }
        match a.to_str().and_then(|s| s.strip_prefix("-r")).filter(|rest| !rest.is_empty() && !rest.starts_with('-')) {
            Some(file) => out.push(file.into()),
            None => out.push(a),
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(args_with_read_flag(std::env::args_os()));
    warn_old_connection_flag(&cli.command);
    match run(cli) {
        Ok(code) => code,
        // A closed pipe (e.g. `| head`) is not an error worth a message.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            say!("mptcp-trace: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `-c` was `--connection` on `stream`, `throughput` and `plot`; it is now the packet count of
/// every command (as tcpdump's and tshark's), so an old command line is told what changed.
fn warn_old_connection_flag(command: &Command) {
    if !matches!(command, Command::Stream { .. } | Command::Throughput { .. } | Command::Plot { .. }) {
        return;
    }
    let short_c = std::env::args_os().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == "-c" || a.strip_prefix("-c").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    });
    if short_c {
        say!("mptcp-trace: note: -c is the packet count (as in tcpdump and tshark); a connection is chosen with --connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_found_by_its_kind_not_its_text() {
        let closed = CliError::write(STDOUT)(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(closed.is_broken_pipe());
        // The same words with another kind are an error like any other.
        let lookalike = CliError::write(STDOUT)(io::Error::other("Broken pipe (os error 32)"));
        assert!(!lookalike.is_broken_pipe());
        // A read error under a capture error is looked through too.
        let read = CliError::capture(std::path::Path::new("x.pcap"))(CaptureError::Io {
            after_frame: 3,
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        });
        assert!(read.is_broken_pipe());
        assert!(!CliError::Usage("bad interval".into()).is_broken_pipe());
    }

    #[test]
    fn messages_name_the_file() {
        let e = CliError::open(std::path::Path::new("/nonexistent"))(io::Error::from(io::ErrorKind::NotFound));
        assert!(e.to_string().starts_with("/nonexistent: "), "{e}");
    }
}
