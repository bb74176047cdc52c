//! Compressed captures: gzip, zstd, xz and lz4 (frame format) are recognised by their magic
//! bytes, whatever the file is called, and decompressed as a stream in front of the capture
//! reader: nothing is loaded whole, and standard input works the same way.
//!
//! A decoder's failure (corrupt data, or compressed data that ends before its stream does) is
//! turned into a [`Corrupt`] error, told apart by [`super::CaptureReader`] from a cut-off
//! capture: a compressed file that ends early is damaged, not merely cut short.
use std::fmt;
use std::io::{self, BufReader, Read};

/// A compression format we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Lz4,
}

impl Compression {
    /// The format whose magic number `head` (the input's first bytes, at least 4) starts with.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        match head {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            [0xfd, 0x37, 0x7a, 0x58, ..] => Some(Compression::Xz),
            [0x04, 0x22, 0x4d, 0x18, ..] => Some(Compression::Lz4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Lz4 => "lz4",
        }
    }
}

/// Why compressed data could not be decompressed; carried inside an `io::Error` through the
/// capture parsers (pcap-file among them) and recognised again by the capture reader.
#[derive(Debug)]
pub struct Corrupt {
    pub format: Compression,
    pub message: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Corrupt {}

/// The decompressed bytes of `input` (which still holds the magic number). The decoder is
/// `Send` when `input` is, so that a file's can run on the read-ahead thread.
pub fn decoder<R: Read>(format: Compression, input: R) -> Decompressed<R> {
    // Every decoder reads a buffered source; 64 KiB keeps the system calls few.
    let buffered = BufReader::with_capacity(64 << 10, input);
    let inner = match format {
        // Several gzip members one after another (`cat a.gz b.gz`) are one stream, as for gunzip.
        Compression::Gzip => Ok(Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(buffered))),
        // Reads every frame of the file, as `zstd -d` does.
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(buffered).map(|d| Decoder::Zstd(Box::new(d))),
        Compression::Xz => Ok(Decoder::Xz(liblzma::bufread::XzDecoder::new_multi_decoder(buffered))),
        Compression::Lz4 => Ok(Decoder::Lz4(Box::new(lz4_flex::frame::FrameDecoder::new(buffered)))),
    };
    match inner {
        Ok(inner) => Decompressed { format, inner, state: State::Reading },
        Err(e) => Decompressed { format, inner: Decoder::None, state: State::Failed(Some(e)) },
    }
}

/// One decoder per format (an enum rather than a box, so that `Send` follows the input's).
enum Decoder<R: Read> {
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<R>>>),
    Xz(liblzma::bufread::XzDecoder<BufReader<R>>),
    Lz4(Box<lz4_flex::frame::FrameDecoder<BufReader<R>>>),
    None,
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Lz4(d) => d.read(buf),
            Decoder::None => Ok(0),
        }
    }
}

enum State {
    Reading,
    /// The decoder could not even be made: the error is given at the first read.
    Failed(Option<io::Error>),
    /// An error was returned; every later read returns nothing.
    Done,
}

/// A decoder whose errors name the format and say what went wrong in words a user can act on.
pub struct Decompressed<R: Read> {
    format: Compression,
    inner: Decoder<R>,
    state: State,
}

impl<R: Read> Decompressed<R> {
    fn corrupt(&self, e: &io::Error) -> io::Error {
        let name = self.format.name();
        let message = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("the {name} data ends before its end marker: the compressed file is cut off or damaged")
        } else {
            format!("corrupt {name} data: {e}")
        };
        io::Error::new(io::ErrorKind::InvalidData, Corrupt { format: self.format, message })
    }
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.state {
            State::Reading => {}
            State::Done => return Ok(0),
            State::Failed(e) => {
                let e = e.take().unwrap_or_else(|| io::Error::other("decoder failed"));
                let err = self.corrupt(&e);
                self.state = State::Done;
                return Err(err);
            }
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.state = State::Done;
                    return Err(self.corrupt(&e));
                }
            }
        }
    }
}

/// The [`Corrupt`] inside `e`, if `e` came from a decoder.
pub fn corrupt_of(e: &io::Error) -> Option<&Corrupt> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Corrupt>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(format: Compression, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder(format, io::Cursor::new(bytes)).read_to_end(&mut out).map(|_| out)
    }

    /// A file's decoder can be moved to the read-ahead thread.
    #[test]
    fn decoders_of_send_inputs_are_send() {
        fn send<T: Send>(_: &T) {}
        send(&decoder(Compression::Zstd, io::Cursor::new(Vec::new())));
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Some(Compression::Zstd));
        assert_eq!(Compression::detect(&[0xfd, 0x37, 0x7a, 0x58]), Some(Compression::Xz));
        assert_eq!(Compression::detect(&[0x04, 0x22, 0x4d, 0x18]), Some(Compression::Lz4));
        // The capture formats themselves are not compression.
        assert_eq!(Compression::detect(&[0xd4, 0xc3, 0xb2, 0xa1]), None);
        assert_eq!(Compression::detect(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
        assert_eq!(Compression::detect(&[0x1f]), None);
    }

    /// Garbage after a magic number, and every truncation of a real stream, is an error that
    /// names the format (never a panic, never silently short data).
    #[test]
    fn garbage_and_truncation_are_errors_naming_the_format() {
        let payload: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            io::Write::write_all(&mut e, &payload).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decode_all(Compression::Gzip, gz.clone()).unwrap(), payload);
        for cut in [3, 10, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
            let err = decode_all(Compression::Gzip, gz[..cut].to_vec()).expect_err("cut gzip");
            assert!(corrupt_of(&err).is_some_and(|c| c.format == Compression::Gzip), "{cut}: {err}");
            assert!(err.to_string().contains("gzip"), "{err}");
        }
        for format in [Compression::Gzip, Compression::Zstd, Compression::Xz, Compression::Lz4] {
            let mut bad = match format {
                Compression::Gzip => vec![0x1f, 0x8b],
                Compression::Zstd => vec![0x28, 0xb5, 0x2f, 0xfd],
                Compression::Xz => vec![0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
                Compression::Lz4 => vec![0x04, 0x22, 0x4d, 0x18],
            };
            bad.extend((0..4000u32).map(|i| (i * 13 % 256) as u8));
            let err = decode_all(format, bad).expect_err("garbage");
            assert!(err.to_string().contains(format.name()), "{err}");
            assert!(corrupt_of(&err).is_some());
        }
    }
}
