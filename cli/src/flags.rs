//! The command line: the global flags ([`Cli`]), one subcommand per [`Command`] with its own
//! flags (`…Args`), and the value enums they take. Nothing here runs anything: `crate::config`
//! turns the global flags into a [`crate::config::RunConfig`], `crate::cmd` runs the command.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mptcp_dissector::report::time::TimeFormat;

use crate::gen;
use crate::select::SelectArgs;
use crate::timespec;

#[derive(Parser)]
#[command(name = "mptcp-trace", version, about = "MPTCP (RFC 8684 / RFC 6824) packet-analysis toolkit")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// A connection (or TCP flow) without a packet for this long is finished and reported as
    /// timed out, and its state freed, e.g. 300s, 5m, 1h; 0 never (like Zeek's
    /// tcp_inactivity_timeout).
    #[arg(long, global = true, default_value = "300s", value_name = "DURATION")]
    pub idle_timeout: String,
    /// Files analysed at once when several are given (default: the number of cores).
    #[arg(long, short = 'j', global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// Several captures of the same traffic (per interface, or at several points) analysed as
    /// one: packets merged in time order, subflows joined to their connection across files, a
    /// packet seen in two files counted once (analyze, verify, events, throughput).
    #[arg(long, global = true)]
    pub merge: bool,
    /// Capture filter in BPF syntax, as tcpdump takes it (e.g. 'host 192.0.2.1 and port 7000'),
    /// applied to every capture before analysis; frame numbers stay those of the file.
    #[arg(short = 'f', long = "filter", global = true, value_name = "BPF")]
    pub filter: Option<String>,
    /// Stop after N packets (those that pass -f), as tcpdump -c and tshark -c.
    #[arg(short = 'c', long = "count", global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Capture live on this interface (repeat for several; `any` for all) through libpcap,
    /// instead of reading files (analyze, events, verify, dissect). Ctrl-C ends it: what is
    /// open is reported as open.
    #[arg(short = 'i', long = "interface", global = true, value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Stop a live capture: duration:SECONDS (as tshark -a).
    #[arg(short = 'a', long = "autostop", global = true, value_name = "duration:N")]
    pub autostop: Option<String>,
    /// analyze: a line of totals on standard error every N seconds of capture time (open and
    /// finished connections, subflows, data rate, reinjected bytes, failed checks).
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    pub stats_interval: Option<f64>,
}

/// A number of seconds above 0.
fn parse_seconds(s: &str) -> Result<f64, String> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0).ok_or_else(|| format!("{s}: a number of seconds above 0"))
}

#[derive(Subcommand)]
pub enum Command {
    /// Decode every MPTCP option, one line per packet (like tcpdump / tshark -V for MPTCP).
    #[command(after_help = gen::examples::DISSECT)]
    Dissect(DissectArgs),
    /// Connections, subflows, keys/tokens, verification verdicts, data-level measures.
    #[command(after_help = gen::examples::ANALYZE)]
    Analyze(AnalyzeArgs),
    /// Write a connection's data-level byte stream, rebuilt across all its subflows.
    #[command(after_help = gen::examples::STREAM)]
    Stream(StreamArgs),
    /// Per-interval bytes per subflow and data-level goodput (CSV or JSON), for plots and spreadsheets.
    #[command(after_help = gen::examples::THROUGHPUT)]
    Throughput(ThroughputArgs),
    /// Conformance check of a capture against RFC 8684, for CI: exit 0 all pass, 1 a check or
    /// expectation failed, 2 usage or unreadable input.
    #[command(after_help = gen::examples::VERIFY)]
    Verify(VerifyArgs),
    /// Draw a plot (PNG or SVG, from the output's extension): throughput, data sequence, RTT, the subflow timeline, head-of-line delay, the reordering buffer, or one-way delay between two captures.
    #[command(after_help = gen::examples::PLOT)]
    Plot(PlotArgs),
    /// The event timeline `ip mptcp monitor` would have printed (CREATED, ESTABLISHED, ...).
    #[command(after_help = gen::examples::EVENTS)]
    Events(EventsArgs),
    /// The same traffic captured at two points: segments lost between them and one-way delay,
    /// per subflow and direction (docs/pair.md).
    #[command(after_help = gen::examples::PAIR)]
    Pair(PairArgs),
    /// Parquet tables of each capture (connections, subflows, mappings, data_acks, events,
    /// checks; --segments adds segments) under OUT/<table>/<capture>.parquet (docs/export.md).
    #[command(after_help = gen::examples::EXPORT)]
    Export(ExportArgs),
    /// One self-contained HTML page to attach to a bug: capture summary, connections and
    /// subflows, verify verdicts, event timeline, throughput and sequence plots (docs/report.md).
    #[command(after_help = gen::examples::REPORT)]
    Report(ReportArgs),
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

#[derive(Args)]
pub struct DissectArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
    /// each on its own, in parallel (`--jobs`), and reported in the order given.
    #[arg(required_unless_present = "interfaces")]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = DissectFormat::Text)]
    pub format: DissectFormat,
    /// Print every TCP packet (and undecodable packets), not only those with MPTCP options.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Time format, as tshark's -t: r (seconds since the first packet), d (since the
    /// previous packet), dd (since the previous line), a/ad/adoy (local time, with date or
    /// day of year), u/ud/udoy (UTC), e (epoch seconds).
    #[arg(short = 't', value_name = "FORMAT", default_value = "r", value_parser = TimeFormat::parse)]
    pub time: TimeFormat,
    /// Text: TCP sequence and acknowledgement numbers as on the wire, as tcpdump's -S (by
    /// default they count from each connection's first ones, as tcpdump prints them).
    #[arg(short = 'S', long)]
    pub absolute_tcp_sequence_numbers: bool,
    #[command(flatten)]
    pub write: crate::write::WriteArgs,
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
    /// each on its own, in parallel (`--jobs`), and reported in the order given.
    #[arg(required_unless_present = "interfaces")]
    pub files: Vec<PathBuf>,
    /// text; json (one document, every connection kept to the end); jsonl (one line per
    /// connection as it finishes, then a summary line: memory follows the open connections);
    /// tsv (a connection log in Zeek conn.log's format, one line per connection as it finishes).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Also compute the sha256 of every rebuilt data stream.
    #[arg(long)]
    pub sha256: bool,
    /// Text: list every connection (by default, past 20 connections, the totals and the
    /// connections that matter: failed checks, anomalies, fallback, the largest).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub write: crate::write::WriteArgs,
}

#[derive(Args)]
pub struct StreamArgs {
    /// Capture file (pcap or pcapng); `-` reads standard input.
    pub file: PathBuf,
    /// The connection: --connection ID (as `analyze` numbers them), --token HEX or --subflow ID
    /// (one of its subflows); --token and --subflow read the file twice.
    #[command(flatten)]
    pub select: SelectArgs,
    /// c2s: from the MP_CAPABLE SYN sender; s2c: the other way.
    #[arg(long, short = 'd', value_enum)]
    pub direction: StreamDir,
    /// Output file; `-` is standard output.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

#[derive(Args)]
pub struct ThroughputArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
    /// each on its own, in parallel (`--jobs`), and reported in the order given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Interval length, e.g. 100ms, 1s, 250us (default: picked from the duration, a round
    /// value giving a few hundred intervals).
    #[arg(long)]
    pub interval: Option<String>,
    #[arg(long, value_enum, default_value_t = SeriesFormat::Csv)]
    pub format: SeriesFormat,
    /// Every interval from a series' first to its last, zero rows included (by default only
    /// the intervals where something happened are written).
    #[arg(long)]
    pub dense: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
    /// each on its own, in parallel (`--jobs`), and reported in the order given.
    #[arg(required_unless_present = "interfaces")]
    pub files: Vec<PathBuf>,
    /// An expectation, e.g. subflows>=2, version=1, no-fallback, reinjected-bytes=0,
    /// add-addr>=1, c2s-sha256=HEX, s2c-bytes=N, checksums=on (docs/verify.md). Repeatable.
    #[arg(long = "expect", value_name = "RULE")]
    pub expect: Vec<String>,
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    /// Write the report here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Pass a capture without any MPTCP connection (by default it fails: exit 1).
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Args)]
pub struct PlotArgs {
    /// Capture file (pcap or pcapng); `-` reads standard input.
    pub file: PathBuf,
    #[arg(long, short = 'k', value_enum)]
    pub kind: PlotKindArg,
    /// The connection (--connection ID, --token HEX, --subflow ID; the last two read the file
    /// twice); default: the one with the most data in --direction.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Data direction plotted: c2s from the MP_CAPABLE SYN sender, s2c the other way.
    #[arg(long, short = 'd', value_enum, default_value_t = StreamDir::C2s)]
    pub direction: StreamDir,
    /// Throughput interval, e.g. 100ms, 1s, 250us (default: picked from the connection's
    /// duration, a round value giving a few hundred intervals).
    #[arg(long)]
    pub interval: Option<String>,
    /// owd: the server-side capture of the same traffic (FILE is the client side's), as for `pair`.
    #[arg(long, value_name = "SERVER_SIDE")]
    pub server: Option<PathBuf>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1000)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
    /// Throughput: stacked areas per subflow instead of one line each.
    #[arg(long)]
    pub stacked: bool,
    /// Draw from this time: seconds since the capture's first packet (1.5, 0.85s, 250ms), a
    /// local date and time as tshark -t ad shows it (2026-12-07 04:35:01.25; a Z or +01:00 at
    /// the end gives the zone), or @ and epoch seconds (@1796618101.25). Default: the
    /// connection's first packet. Not for hol; owd: relative seconds only.
    #[arg(long, value_name = "TIME", value_parser = timespec::parse)]
    pub from: Option<mptcp_plots::TimeBound>,
    /// Draw up to this time (the forms of --from). Default: the connection's last packet.
    #[arg(long, value_name = "TIME", value_parser = timespec::parse)]
    pub to: Option<mptcp_plots::TimeBound>,
    /// Output image: a .png or .svg file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

#[derive(Args)]
pub struct EventsArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input. Several files are analysed
    /// each on its own, in parallel (`--jobs`), and reported in the order given.
    #[arg(required_unless_present = "interfaces")]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = EventsFormat::Text)]
    pub format: EventsFormat,
    /// Print what `ip mptcp monitor` on that host would have printed, in its format.
    #[arg(long, value_enum, conflicts_with = "format")]
    pub side: Option<SideArg>,
    /// With --side: prefix each line with the capture time of the packet that shows it.
    #[arg(long, requires = "side")]
    pub timestamps: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Time format of text lines, as tshark's -t: r (seconds since the capture's first
    /// packet), d/dd (since the previous event), a/ad/adoy (local time), u/ud/udoy (UTC),
    /// e (epoch seconds).
    #[arg(short = 't', value_name = "FORMAT", default_value = "r", value_parser = TimeFormat::parse)]
    pub time: TimeFormat,
}

#[derive(Args)]
pub struct PairArgs {
    /// Capture at the client side (c2s segments leave here); `-`: standard input.
    pub client: PathBuf,
    /// Capture at the server side (s2c segments leave here). Given the other way round, as
    /// the handshakes show, the two are swapped with a warning (docs/pair.md).
    pub server: PathBuf,
    #[arg(long, value_enum, default_value_t = PairFormat::Text)]
    pub format: PairFormat,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Capture files (pcap or pcapng), each exported on its own, in parallel (`--jobs`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Directory of the tables (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Also write the segments table (one row per TCP segment).
    #[arg(long)]
    pub segments: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Capture file (pcap or pcapng); `-` reads standard input.
    pub file: PathBuf,
    /// Output HTML file; `-` is standard output.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// List at most N connections with their subflows and verdicts: those that failed a check
    /// or had an anomaly first, then the busiest. The totals, distributions and per-check
    /// counts cover every connection.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_connections: usize,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PairFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SideArg {
    Client,
    Server,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Jsonl,
    Tsv,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeriesFormat {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PlotKindArg {
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
pub enum StreamDir {
    C2s,
    S2c,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EventsFormat {
    Text,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DissectFormat {
    Text,
    Jsonl,
}

impl Command {
    /// The captures a command reads files from (none for those that read none or one pair).
    pub fn files(&self) -> &[PathBuf] {
        match self {
            Command::Dissect(a) => &a.files,
            Command::Analyze(a) => &a.files,
            Command::Throughput(a) => &a.files,
            Command::Verify(a) => &a.files,
            Command::Events(a) => &a.files,
            Command::Export(a) => &a.files,
            Command::Stream(a) => std::slice::from_ref(&a.file),
            Command::Plot(a) => std::slice::from_ref(&a.file),
            Command::Report(a) => std::slice::from_ref(&a.file),
            Command::Pair(_) | Command::Completions { .. } | Command::Man { .. } => &[],
        }
    }
}

/// `-r FILE`, as tcpdump and tshark read a capture, is the same as FILE.
pub fn args_with_read_flag(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
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

/// `-c` was `--connection` on `stream`, `throughput` and `plot`; it is now the packet count of
/// every command (as tcpdump's and tshark's), so an old command line is told what changed.
pub fn warn_old_connection_flag(command: &Command) {
    if !matches!(command, Command::Stream(_) | Command::Throughput(_) | Command::Plot(_)) {
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

impl StreamDir {
    /// The analyzer's direction.
    pub fn dir(self) -> mptcp_dissector::track::Dir {
        match self {
            StreamDir::C2s => mptcp_dissector::track::Dir::C2s,
            StreamDir::S2c => mptcp_dissector::track::Dir::S2c,
        }
    }
}
