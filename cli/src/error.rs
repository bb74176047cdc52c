//! [`CliError`]: why a command stopped, and the exit status and message it maps to.
use std::io;
use std::path::PathBuf;

use mptcp_dissector::capture::CaptureError;
use mptcp_plots::PlotError;

/// Where a report goes when no file is named.
pub const STDOUT: &str = "standard output";

/// Why a command stopped. Every kind exits 2 with its message, except a closed pipe: the reader
/// of our output went away (`| head`), which is not an error worth a message (exit 0).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
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
    pub fn open(path: &std::path::Path) -> impl FnOnce(io::Error) -> CliError + '_ {
        move |source| CliError::Open { path: path.to_path_buf(), source }
    }
    pub fn capture(path: &std::path::Path) -> impl FnOnce(CaptureError) -> CliError + '_ {
        move |source| CliError::Capture { path: path.to_path_buf(), source }
    }
    pub fn write(to: impl std::fmt::Display) -> impl FnOnce(io::Error) -> CliError {
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
    pub fn is_broken_pipe(&self) -> bool {
        self.io_error().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
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
