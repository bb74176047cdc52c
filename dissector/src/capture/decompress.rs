//! Compressed captures: gzip, zstd, xz and lz4 (frame format) are recognised by their magic
//! bytes, whatever the file is called, and decompressed as a stream in front of the capture
//! reader: nothing is loaded whole, and standard input works the same way.
//!
//! A decoder's failure (corrupt data, or compressed data that ends before its stream does) is
//! turned into a [`Corrupt`] error, told apart by [`super::CaptureReader`] from a cut-off
//! capture: a compressed file that ends early is damaged, not merely cut short.
//!
//! Each backend is a cargo feature of this crate, all on by default: `gzip` (flate2, pure Rust),
//! `zstd` (the reference C library), `xz` (liblzma, C) and `lz4` (lz4_flex, pure Rust). Without
//! `zstd` and `xz` nothing in the crate compiles C code. A format whose feature is off is still
//! recognised, and reading it is an error that names the feature
//! ([`Compression::is_supported`]).
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

    /// The format's usual name, which is also the name of the cargo feature that reads it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Lz4 => "lz4",
        }
    }

    /// Whether this build reads the format (its cargo feature is on).
    pub fn is_supported(self) -> bool {
        match self {
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Zstd => cfg!(feature = "zstd"),
            Compression::Xz => cfg!(feature = "xz"),
            Compression::Lz4 => cfg!(feature = "lz4"),
        }
    }
}

/// A capture compressed in a format whose cargo feature was off when this crate was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}-compressed capture: this build has no {} support (feature `{}`)", .0.name(), .0.name(), .0.name())]
pub struct NoSupport(pub Compression);

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

/// Largest zstd window accepted, as a power of two: 2^25 = 32 MiB, every level up to
/// `--ultra -20` (`zstd -19` uses 2^23). A frame asking for more (`--long=27`: 128 MiB, or a
/// crafted one) is refused with a [`Corrupt`] error that says so, not decoded with its memory.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// Most memory liblzma may take to decode an xz stream: 96 MiB, what `xz -9` (64 MiB
/// dictionary) needs and some room; a stream declaring more (up to 4 GiB, crafted) is refused
/// with a [`Corrupt`] error that says so.
pub const XZ_MEMLIMIT: u64 = 96 << 20;

/// The decompressed bytes of `input` (which still holds the magic number). The decoder is
/// `Send` when `input` is, so that a file's can run on the read-ahead thread.
pub fn decoder<R: Read>(format: Compression, input: R) -> Decompressed<R> {
    // Every decoder reads a buffered source; 64 KiB keeps the system calls few.
    let buffered = BufReader::with_capacity(64 << 10, input);
    let inner = match format {
        // Several gzip members one after another (`cat a.gz b.gz`) are one stream, as for gunzip.
        #[cfg(feature = "gzip")]
        Compression::Gzip => Ok(Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(buffered))),
        // Reads every frame of the file, as `zstd -d` does.
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(buffered).and_then(|mut d| {
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Ok(Decoder::Zstd(Box::new(d)))
        }),
        #[cfg(feature = "xz")]
        Compression::Xz => liblzma::stream::Stream::new_auto_decoder(XZ_MEMLIMIT, liblzma::stream::CONCATENATED)
            .map(|s| Decoder::Xz(liblzma::bufread::XzDecoder::new_stream(buffered, s)))
            .map_err(io::Error::from),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => Ok(Decoder::Lz4(Box::new(lz4_flex::frame::FrameDecoder::new(buffered)))),
        // A format whose feature is off (the pattern is unreachable when all are on).
        #[allow(unreachable_patterns)]
        _ => {
            drop(buffered);
            Err(io::Error::new(io::ErrorKind::Unsupported, NoSupport(format)))
        }
    };
    match inner {
        Ok(inner) => Decompressed { format, inner, state: State::Reading },
        Err(e) => Decompressed { format, inner: Decoder::None(std::marker::PhantomData), state: State::Failed(Some(e)) },
    }
}

/// One decoder per format (an enum rather than a box, so that `Send` follows the input's).
enum Decoder<R: Read> {
    #[cfg(feature = "gzip")]
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<R>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<R>>>),
    #[cfg(feature = "xz")]
    Xz(liblzma::bufread::XzDecoder<BufReader<R>>),
    #[cfg(feature = "lz4")]
    Lz4(Box<lz4_flex::frame::FrameDecoder<BufReader<R>>>),
    None(std::marker::PhantomData<R>),
}

impl<R: Read> Read for Decoder<R> {
    // With every backend off, only `None` is left and `buf` goes unused.
    #[cfg_attr(not(any(feature = "gzip", feature = "zstd", feature = "xz", feature = "lz4")), allow(unused_variables))]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(feature = "gzip")]
            Decoder::Gzip(d) => d.read(buf),
            #[cfg(feature = "zstd")]
            Decoder::Zstd(d) => d.read(buf),
            #[cfg(feature = "xz")]
            Decoder::Xz(d) => d.read(buf),
            #[cfg(feature = "lz4")]
            Decoder::Lz4(d) => d.read(buf),
            Decoder::None(_) => Ok(0),
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
    /// The limit `e` says the data is over ([`ZSTD_WINDOW_LOG_MAX`], [`XZ_MEMLIMIT`]).
    fn over_memory(&self, e: &io::Error) -> Option<&'static str> {
        let text = e.to_string();
        match self.format {
            Compression::Zstd if text.contains("too much memory") || text.contains("window") => Some("32 MiB window"),
            Compression::Xz if text.contains("memory limit") => Some("96 MiB of memory"),
            _ => None,
        }
    }

    fn corrupt(&self, e: &io::Error) -> io::Error {
        let name = self.format.name();
        let message = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("the {name} data ends before its end marker: the compressed file is cut off or damaged")
        } else if let Some(limit) = self.over_memory(e) {
            format!(
                "the {name} data needs more memory to decompress than the {limit} this reader allows (a window or dictionary over it, as `zstd --long=27` or a crafted file makes): decompress it apart, or recompress it with a smaller one"
            )
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
                // No decoder in this build: said as such, not as corrupt data.
                let err = if e.get_ref().is_some_and(|i| i.is::<NoSupport>()) { e } else { self.corrupt(&e) };
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

    /// A format whose feature is off is still recognised, and refused with a message naming the
    /// feature, by the decoder and by the capture reader (`--no-default-features` runs it).
    #[test]
    fn formats_without_their_feature_are_refused_by_name() {
        assert_eq!(NoSupport(Compression::Zstd).to_string(), "zstd-compressed capture: this build has no zstd support (feature `zstd`)");
        for (format, magic) in [
            (Compression::Gzip, [0x1f, 0x8b, 8, 0]),
            (Compression::Zstd, [0x28, 0xb5, 0x2f, 0xfd]),
            (Compression::Xz, [0xfd, 0x37, 0x7a, 0x58]),
            (Compression::Lz4, [0x04, 0x22, 0x4d, 0x18]),
        ] {
            assert_eq!(Compression::detect(&magic), Some(format));
            if format.is_supported() {
                continue;
            }
            let want = NoSupport(format).to_string();
            let err = decode_all(format, magic.to_vec()).expect_err("no decoder");
            assert_eq!(err.to_string(), want);
            let err = super::super::CaptureReader::new(io::Cursor::new(magic.to_vec())).err().expect("refused");
            assert!(matches!(err, super::super::CaptureError::NoSupport(NoSupport(f)) if f == format));
            assert_eq!(err.to_string(), want);
        }
    }

    /// A zstd frame with a 128 MiB window (`zstd --long=27`) and an xz stream declaring a 4 GiB
    /// dictionary are refused before their memory is taken, with a message that says why; a
    /// window within the limit still decodes.
    #[test]
    #[cfg(all(feature = "zstd", feature = "xz"))]
    fn windows_and_dictionaries_over_the_limits_are_refused() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let zst = |log: u32| {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            e.set_parameter(zstd::zstd_safe::CParameter::WindowLog(log)).unwrap();
            e.long_distance_matching(true).unwrap();
            io::Write::write_all(&mut e, &payload).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decode_all(Compression::Zstd, zst(ZSTD_WINDOW_LOG_MAX)).unwrap(), payload);
        let err = decode_all(Compression::Zstd, zst(27)).expect_err("a 128 MiB window");
        assert!(corrupt_of(&err).is_some(), "{err}");
        assert!(err.to_string().contains("more memory to decompress than the 32 MiB window"), "{err}");

        let mut xz = Vec::new();
        liblzma::read::XzEncoder::new(&payload[..], 0).read_to_end(&mut xz).unwrap();
        assert_eq!(decode_all(Compression::Xz, xz.clone()).unwrap(), payload);
        // The block header after the 12-byte stream header: size, flags, filter LZMA2 (0x21),
        // 1 property byte (the dictionary size), padding, CRC32 of what comes before.
        let h = 12;
        let len = (usize::from(xz[h]) + 1) * 4;
        let at = (h + 2..h + len - 4).find(|&k| xz[k] == 0x21 && xz[k + 1] == 0x01).expect("LZMA2 filter flags") + 2;
        xz[at] = 40; // 4 GiB - 1
        let crc = crc32(&xz[h..h + len - 4]);
        xz[h + len - 4..h + len].copy_from_slice(&crc.to_le_bytes());
        let err = decode_all(Compression::Xz, xz).expect_err("a 4 GiB dictionary");
        assert!(corrupt_of(&err).is_some(), "{err}");
        assert!(err.to_string().contains("more memory to decompress than the 96 MiB of memory"), "{err}");
    }

    /// CRC-32 (IEEE), as the xz format checks its headers with.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// Garbage after a magic number, and every truncation of a real stream, is an error that
    /// names the format (never a panic, never silently short data).
    #[test]
    #[cfg(all(feature = "gzip", feature = "zstd", feature = "xz", feature = "lz4"))]
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
