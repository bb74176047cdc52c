//! `mptcp-trace`: the command-line front end. Parses flags, runs the command, maps errors to
//! exit codes (0 ok, 1 findings where a command defines them, 2 usage or unreadable input).
//!
//! The flags are in [`flags`], the global ones checked into one [`config::RunConfig`] passed
//! down to the command's module under [`cmd`].
use std::process::ExitCode;

use clap::Parser;

/// `eprintln!` that never panics: when standard error cannot be written (a full disk, a closed
/// pipe) the message is lost, the exit status still tells.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod auto;
mod capture;
mod cmd;
mod config;
mod error;
mod flags;
mod gen;
mod input;
mod jobs;
mod libpcap;
mod live;
mod output;
mod select;
mod timespec;
mod write;

fn main() -> ExitCode {
    let cli = flags::Cli::parse_from(flags::args_with_read_flag(std::env::args_os()));
    flags::warn_old_connection_flag(&cli.command);
    match config::RunConfig::new(&cli).and_then(|cfg| cmd::run(&cli.command, &cfg)) {
        Ok(code) => code,
        // A closed pipe (e.g. `| head`) is not an error worth a message.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            say!("mptcp-trace: error: {e}");
            ExitCode::from(2)
        }
    }
}
