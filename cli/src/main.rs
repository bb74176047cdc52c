//! `mptcp-trace`: the command-line front end. Parses flags, opens the capture, picks a
//! reporter, maps errors to exit codes (0 ok, 1 findings where a command defines them, 2 usage
//! or unreadable input).
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::report::dissect::{self, DissectConfig};

#[derive(Parser)]
#[command(name = "mptcp-trace", version, about = "MPTCP (RFC 8684 / RFC 6824) packet-analysis toolkit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode every MPTCP option, one line per packet (like tcpdump / tshark -V for MPTCP).
    Dissect {
        /// Capture file (pcap or pcapng); `-` reads standard input.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = DissectFormat::Text)]
        format: DissectFormat,
        /// Print every TCP packet (and undecodable packets), not only those with MPTCP options.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DissectFormat {
    Text,
    Jsonl,
}

/// Opens a capture file or standard input (`-`).
fn open_capture(path: &PathBuf) -> Result<CaptureReader, String> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
    };
    CaptureReader::new(input).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reports how the capture ended: a cut-off file is a warning (exit stays 0), anything else an error.
fn capture_end(path: &PathBuf, end: Option<CaptureError>) -> ExitCode {
    match end {
        None => ExitCode::SUCCESS,
        Some(e) if e.is_truncation() => {
            eprintln!("mptcp-trace: warning: {}: {e}; everything before it was used", path.display());
            ExitCode::SUCCESS
        }
        Some(e) => {
            eprintln!("mptcp-trace: error: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Dissect { file, format, all } => {
            let mut reader = open_capture(&file)?;
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let config = DissectConfig {
                format: match format {
                    DissectFormat::Text => dissect::Format::Text,
                    DissectFormat::Jsonl => dissect::Format::Jsonl,
                },
                all,
            };
            let (_summary, end) = dissect::dissect(&mut reader, config, &mut out).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            Ok(capture_end(&file, end))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            if msg.contains("Broken pipe") {
                return ExitCode::SUCCESS;
            }
            eprintln!("mptcp-trace: error: {msg}");
            ExitCode::from(2)
        }
    }
}
