//! Why a capture could not be read (further): [`CaptureError`], with a compressed stream's
//! failure named as the compression's.
use std::io;

use super::decompress;

/// Why a capture could not be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{}", not_a_capture(magic))]
    NotACapture { magic: Vec<u8> },
    #[error("capture ends in the middle of a record after frame {after_frame}: the rest is cut off")]
    Truncated { after_frame: u64 },
    #[error("bad capture record after frame {after_frame}: {message}")]
    Format { after_frame: u64, message: String },
    #[error("{message} (after frame {after_frame})")]
    Compressed { after_frame: u64, format: decompress::Compression, message: String },
    /// Compressed in a format this build does not read (its cargo feature was off).
    #[error(transparent)]
    NoSupport(#[from] decompress::NoSupport),
    #[error("capture filter: {message} (at frame {frame})")]
    Filter { frame: u64, message: String },
    #[error("read error after frame {after_frame}: {source}")]
    Io {
        after_frame: u64,
        #[source]
        source: io::Error,
    },
    /// The file ends inside its file header (pcap) or section header block (pcapng): there is
    /// no record to be cut, and no packet.
    #[error("{format} file header incomplete: the file ends within it (no packet in the file)")]
    HeaderTruncated { format: &'static str },
}

/// Why the first bytes are not a capture's, naming a compression we do not read (bzip2: "BZh"
/// and the block size digit).
fn not_a_capture(magic: &[u8]) -> String {
    match magic {
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => {
            "bzip2-compressed; not supported: decompress it first (bunzip2), or compress with gzip, zstd, xz or lz4".into()
        }
        _ => format!(
            "not a pcap or pcapng capture (first bytes {magic:02x?}, expected a pcap magic such as a1b2c3d4 or the pcapng 0a0d0d0a)"
        ),
    }
}

impl CaptureError {
    /// A cut-off file still yields every packet before the cut; callers treat this as a warning.
    pub fn is_truncation(&self) -> bool {
        matches!(self, CaptureError::Truncated { .. })
    }
}

impl CaptureError {
    /// A decoder's failure, carried up as an I/O error, named as what it is.
    pub(super) fn classify(self) -> CaptureError {
        match self {
            CaptureError::Io { after_frame, source } => match decompress::corrupt_of(&source) {
                Some(c) => CaptureError::Compressed { after_frame, format: c.format, message: c.message.clone() },
                None => CaptureError::Io { after_frame, source },
            },
            other => other,
        }
    }
}
