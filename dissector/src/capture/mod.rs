//! Streaming capture reader: pcap (µs or ns timestamps, either byte order) and pcapng (several
//! interfaces, each with its own link type and timestamp resolution), either of them compressed
//! with gzip, zstd, xz or lz4 (see [`decompress`]).
//!
//! A [`PacketFilter`] (the CLI's BPF capture filter) and a packet count (`-c`) can be set on the
//! reader: packets that do not pass are skipped here, before any decoding, and keep their frame
//! numbers in the file.
//!
//! Packets are handed out one at a time, borrowed from the reader's buffer; the file is never
//! loaded whole. The reader detects the format from the first four bytes, so it also works on
//! standard input. When it is given a [`std::fs::File`] holding classic pcap (compressed or not:
//! the decompression then runs on that thread too), a helper thread reads the file a few 256 KiB
//! chunks ahead (the copy from the page cache is then done beside
//! the parsing, not before it); any other input is read on the caller's thread.
//!
//! ```no_run
//! use mptcp_dissector::capture::CaptureReader;
//! let file = std::fs::File::open("capture.pcap").unwrap();
//! let mut reader = CaptureReader::new(file).unwrap();
//! while let Some(packet) = reader.next_packet().transpose() {
//!     match packet {
//!         Ok(p) => println!("frame {} linktype {} {} bytes", p.frame, p.linktype, p.data.len()),
//!         Err(e) => { eprintln!("warning: {e}"); break; }
//!     }
//! }
//! ```
use std::fs::File;
use std::io::{self, Read};

use pcap_file::pcapng::PcapNgReader;

mod blockscan;
pub mod decompress;
mod error;
mod input;
pub mod merge;
mod packet;
mod pcap;
mod pcapng;
#[cfg(test)]
mod tests;

use blockscan::BlockScan;
pub use error::CaptureError;
use input::{EofWatch, Head, ReadAhead, Source};
pub use packet::{Format, Packet, PacketFilter};
use pcap::{PcapStream, Raw, MAX_RECORD};
use pcapng::{map_err, next_pcapng, Interface};

enum Inner {
    /// Classic pcap is read by [`PcapStream`] (not pcap-file): records are parsed in place in a
    /// buffer that stays in the CPU cache, see there.
    Pcap(PcapStream),
    /// pcapng packets are copied into `buf` (reused, so no per-packet allocation): a packet
    /// borrowed from the block reader cannot be returned from the loop that skips other blocks.
    /// `oversized`: a block whose length field is over the cap, seen by the [`BlockScan`]
    /// under the reader.
    PcapNg { reader: PcapNgReader<BlockScan<Head>>, interfaces: Vec<Interface>, buf: Vec<u8>, oversized: OversizedSlot },
}

type OversizedSlot = std::rc::Rc<std::cell::Cell<Option<blockscan::Oversized>>>;

/// Streaming reader over a pcap or pcapng byte stream.
pub struct CaptureReader {
    inner: Inner,
    frame: u64,
    done: bool,
    eof: std::rc::Rc<std::cell::Cell<bool>>,
    compression: Option<decompress::Compression>,
    filter: Option<Box<dyn PacketFilter>>,
    /// Packets still to hand out (`-c`); `None`: all.
    left: Option<u64>,
    first_ts_ns: Option<u64>,
    last_ts_ns: u64,
}

impl CaptureReader {
    /// Opens a capture, detecting pcap or pcapng, compressed or not, from its first bytes.
    pub fn new<R: Read + 'static>(mut reader: R) -> Result<Self, CaptureError> {
        let mut magic = Vec::with_capacity(4);
        (&mut reader).take(4).read_to_end(&mut magic).map_err(|source| CaptureError::Io { after_frame: 0, source })?;
        if let Some(format) = decompress::Compression::detect(&magic) {
            if !format.is_supported() {
                return Err(decompress::NoSupport(format).into());
            }
            // A compressed file: decompressed on the read-ahead thread when it holds classic
            // pcap (the decompression then runs beside the analysis).
            let mut slot = Some(reader);
            if let Some(file) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<File>>().and_then(Option::take) {
                let mut decoded = decompress::decoder(format, io::Cursor::new(magic).chain(file));
                let mut magic = Vec::with_capacity(4);
                (&mut decoded).take(4).read_to_end(&mut magic).map_err(|source| CaptureError::Io { after_frame: 0, source }.classify())?;
                let mut r = match magic.as_slice() {
                    [0xa1, 0xb2, 0xc3, 0xd4] | [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] | [0x4d, 0x3c, 0xb2, 0xa1] => {
                        let eof = std::rc::Rc::new(std::cell::Cell::new(false));
                        let Some(ahead) = ReadAhead::spawn_reader(decoded, eof.clone()) else {
                            let source = io::Error::other("could not start the capture's reading thread");
                            return Err(CaptureError::Io { after_frame: 0, source });
                        };
                        let stream = PcapStream::new(Source::Ahead(ahead), magic).map_err(CaptureError::classify)?;
                        CaptureReader::with_inner(Inner::Pcap(stream), eof)
                    }
                    _ => Self::open(decoded, magic).map_err(CaptureError::classify)?,
                };
                r.compression = Some(format);
                return Ok(r);
            }
            let Some(reader) = slot else { return Err(CaptureError::NotACapture { magic }) };
            let input: Box<dyn Read> = Box::new(io::Cursor::new(magic).chain(reader));
            let mut decoded = decompress::decoder(format, input);
            let mut magic = Vec::with_capacity(4);
            (&mut decoded).take(4).read_to_end(&mut magic).map_err(|source| CaptureError::Io { after_frame: 0, source }.classify())?;
            // One layer only: a capture compressed twice is not a capture.
            let mut r = Self::open(decoded, magic).map_err(CaptureError::classify)?;
            r.compression = Some(format);
            return Ok(r);
        }
        Self::open(reader, magic)
    }

    fn open<R: Read + 'static>(reader: R, magic: Vec<u8>) -> Result<Self, CaptureError> {
        let format = match magic.as_slice() {
            [0xa1, 0xb2, 0xc3, 0xd4] | [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] | [0x4d, 0x3c, 0xb2, 0xa1] => Format::Pcap,
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::PcapNg,
            _ => return Err(CaptureError::NotACapture { magic }),
        };
        let eof = std::rc::Rc::new(std::cell::Cell::new(false));
        // A file (what the CLI opens for a named capture) is read ahead on a helper thread
        // when it is classic pcap: the kernel's copy from the page cache then runs beside the
        // analysis instead of before it. Anything else is read on this thread.
        let mut slot = Some(reader);
        let mut file = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<File>>().and_then(Option::take);
        if format == Format::Pcap {
            if let Some(ahead) = file.as_ref().and_then(|f| ReadAhead::spawn(f, eof.clone())) {
                let stream = PcapStream::new(Source::Ahead(ahead), magic)?;
                return Ok(CaptureReader::with_inner(Inner::Pcap(stream), eof));
            }
        }
        let input: Box<dyn Read> = match (file.take(), slot) {
            (Some(f), _) => Box::new(f),
            (None, Some(r)) => Box::new(r),
            (None, None) => Box::new(io::empty()),
        };
        let watch = EofWatch { inner: input, eof: eof.clone() };
        let head: Head = io::Cursor::new(magic).chain(watch);
        let inner = match format {
            Format::Pcap => Inner::Pcap(PcapStream::new(Source::Direct(head), Vec::new())?),
            Format::PcapNg => {
                let oversized = OversizedSlot::default();
                let scan = BlockScan::new(head, MAX_RECORD as u32, oversized.clone());
                let reader = PcapNgReader::new(scan).map_err(|e| match map_err(e, 0) {
                    CaptureError::Truncated { .. } => CaptureError::HeaderTruncated { format: "pcapng" },
                    other => other,
                })?;
                Inner::PcapNg { reader, interfaces: Vec::new(), buf: Vec::new(), oversized }
            }
        };
        Ok(CaptureReader::with_inner(inner, eof))
    }

    fn with_inner(inner: Inner, eof: std::rc::Rc<std::cell::Cell<bool>>) -> Self {
        CaptureReader { inner, frame: 0, done: false, eof, compression: None, filter: None, left: None, first_ts_ns: None, last_ts_ns: 0 }
    }

    /// Hands out only the packets `filter` passes (the others are read and skipped).
    pub fn set_filter(&mut self, filter: Box<dyn PacketFilter>) {
        self.filter = Some(filter);
    }

    /// Stops after `count` packets have been handed out (after the filter), like `tcpdump -c`.
    pub fn set_limit(&mut self, count: u64) {
        self.left = Some(count);
    }

    /// The compression the capture was read through, if any.
    pub fn compression(&self) -> Option<decompress::Compression> {
        self.compression
    }

    /// Which format the capture is in.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Pcap { .. } => Format::Pcap,
            Inner::PcapNg { .. } => Format::PcapNg,
        }
    }

    /// The next packet (that passes the filter), `Ok(None)` at the end or once the count set
    /// by [`CaptureReader::set_limit`] is reached. After an error the reader returns `Ok(None)`.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            if self.done || self.left == Some(0) {
                return Ok(None);
            }
            let raw = match self.next_raw() {
                Ok(Some(raw)) => raw,
                Ok(None) => return Ok(None),
                Err(e) => return Err(e),
            };
            let prev_ts_ns = std::mem::replace(&mut self.last_ts_ns, raw.ts_ns);
            let first_ts_ns = *self.first_ts_ns.get_or_insert(raw.ts_ns);
            let prev_ts_ns = if self.frame == 1 { raw.ts_ns } else { prev_ts_ns };
            if let Some(filter) = self.filter.as_mut() {
                let data = match &self.inner {
                    Inner::Pcap(stream) => stream.buf.get(raw.start..raw.end).unwrap_or(&[]),
                    Inner::PcapNg { buf, .. } => buf.as_slice(),
                };
                match filter.matches(raw.linktype, data, raw.orig_len) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(message) => {
                        self.done = true;
                        return Err(CaptureError::Filter { frame: self.frame, message });
                    }
                }
            }
            if let Some(left) = self.left.as_mut() {
                *left -= 1;
            }
            let data = match &self.inner {
                Inner::Pcap(stream) => stream.buf.get(raw.start..raw.end).unwrap_or(&[]),
                Inner::PcapNg { buf, .. } => buf.as_slice(),
            };
            return Ok(Some(Packet {
                frame: self.frame,
                ts_ns: raw.ts_ns,
                linktype: raw.linktype,
                data,
                orig_len: raw.orig_len,
                prev_ts_ns,
                first_ts_ns,
                ts_digits: raw.ts_digits,
            }));
        }
    }

    /// The next record of the file, whatever the filter says.
    fn next_raw(&mut self) -> Result<Option<Raw>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let after_frame = self.frame;
        let result = match &mut self.inner {
            Inner::Pcap(stream) => stream.next(after_frame),
            Inner::PcapNg { reader, interfaces, buf, oversized } => match next_pcapng(reader, interfaces, buf, after_frame) {
                Ok(Some((ts_ns, iface, orig_len))) => Ok(Some(Raw {
                    ts_ns,
                    linktype: iface.linktype,
                    orig_len,
                    start: 0,
                    end: buf.len(),
                    ts_digits: if iface.units_per_sec > 1_000_000 { 9 } else { 6 },
                })),
                Ok(None) => Ok(None),
                // A block length over the cap is corruption, whether or not the file goes on
                // for that long (pcap-file calls both an unexpected end of file).
                Err(CaptureError::Truncated { after_frame }) => match oversized.get() {
                    Some(o) => Err(CaptureError::Format {
                        after_frame,
                        message: format!(
                            "the block at byte offset {}: block length {} is over the {} MB cap (a corrupt length field); the rest of the file is not read",
                            o.offset,
                            o.length,
                            MAX_RECORD / 1_000_000
                        ),
                    }),
                    None => Err(CaptureError::Truncated { after_frame }),
                },
                Err(e) => Err(e),
            },
        };
        match &result {
            Ok(Some(_)) => self.frame += 1,
            Ok(None) | Err(_) => self.done = true,
        }
        match result {
            Err(CaptureError::Truncated { after_frame }) if !self.eof.get() => Err(CaptureError::Format {
                after_frame,
                message: "record length larger than 8 MB (corrupt length field); the rest of the file is not read".into(),
            }),
            Err(e) => Err(e.classify()),
            other => other,
        }
    }
}
