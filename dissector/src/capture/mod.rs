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
use std::sync::mpsc;

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::PcapError;

/// One captured packet, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based index in the file, as tshark numbers frames.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// LINKTYPE_* value of the interface the packet was captured on.
    pub linktype: u32,
    /// The captured bytes (may be shorter than `orig_len` when snaplen cut the packet).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Capture time of the frame before this one in the file, filtered out or not (this one's
    /// own time for the first frame): what tshark's `frame.time_delta` counts from.
    pub prev_ts_ns: u64,
    /// Capture time of the file's first frame: what tshark's `frame.time_relative` counts from.
    pub first_ts_ns: u64,
    /// Digits of a second the file's timestamps hold: 6 (microseconds) or 9 (nanoseconds).
    pub ts_digits: u8,
}

/// Decides which packets a [`CaptureReader`] hands out (a capture filter).
pub trait PacketFilter {
    /// Whether the packet passes; `Err` (with a message) when it cannot be decided at all, e.g.
    /// a filter that means nothing on this link type. The error ends the reading.
    fn matches(&mut self, linktype: u32, data: &[u8], orig_len: u32) -> Result<bool, String>;
}

impl Packet<'_> {
    /// Capture time in seconds since the epoch.
    pub fn ts_secs(&self) -> f64 {
        self.ts_ns as f64 / 1e9
    }
}

/// The capture format, detected from the magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

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
    fn classify(self) -> CaptureError {
        match self {
            CaptureError::Io { after_frame, source } => match decompress::corrupt_of(&source) {
                Some(c) => CaptureError::Compressed { after_frame, format: c.format, message: c.message.clone() },
                None => CaptureError::Io { after_frame, source },
            },
            other => other,
        }
    }
}

/// Per-interface facts of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second (if_tsresol; default 10^6).
    units_per_sec: u64,
    /// if_tsoffset in seconds.
    offset_secs: u64,
}

type Head = io::Chain<io::Cursor<Vec<u8>>, EofWatch>;

/// Remembers whether the input has reached its end. pcap-file reports both "the file ends inside
/// a record" and "a record is longer than its 8 MB read buffer" as an unexpected EOF; only the
/// first is a truncation, the second is a bad length field in a file that goes on.
struct EofWatch {
    inner: Box<dyn Read>,
    eof: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Read for EofWatch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

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

/// A packet's place in the reader's buffer and its record fields.
#[derive(Clone, Copy)]
struct Raw {
    ts_ns: u64,
    linktype: u32,
    orig_len: u32,
    start: usize,
    end: usize,
    ts_digits: u8,
}

/// Most interfaces a pcapng file may declare before we stop tracking them (bounded state).
const MAX_INTERFACES: usize = 4096;

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

/// Largest record (16-byte header plus captured bytes) read; a longer one is a corrupt length
/// field. The same bound as pcap-file's read buffer, which read these captures before.
const MAX_RECORD: usize = 8_000_000;
/// Bytes asked of the input per `read`: large enough that system calls are few, small enough
/// that the buffer stays in the L2 cache while its packets are parsed (an 8 MB buffer, as
/// pcap-file's, is written by the kernel to L3/memory and then read back from there).
const READ_CHUNK: usize = 256 << 10;

/// Classic pcap: a 24-byte file header, then records of a 16-byte header and the captured bytes,
/// in the byte order of the magic number. Records are parsed in place in `buf`: the packet handed
/// out borrows it, so nothing is copied per packet.
struct PcapStream {
    source: Source,
    buf: Vec<u8>,
    /// `buf[pos..len]` is read and not yet parsed.
    pos: usize,
    len: usize,
    big_endian: bool,
    nanos: bool,
    linktype: u32,
    /// Byte offset in the file of the next record (for messages).
    offset: u64,
}

impl PcapStream {
    /// `start` holds the first bytes of the input when `source` does not (the magic number
    /// read ahead by [`CaptureReader::new`]).
    fn new(source: Source, start: Vec<u8>) -> Result<Self, CaptureError> {
        let (buf, len) = match source {
            Source::Direct(_) => (vec![0; READ_CHUNK], 0),
            Source::Ahead(_) => {
                let len = start.len();
                (start, len)
            }
        };
        let mut s = PcapStream { source, buf, pos: 0, len, big_endian: false, nanos: false, linktype: 0, offset: 24 };
        if !s.fill(24, 0)? {
            return Err(CaptureError::HeaderTruncated { format: "pcap" });
        }
        let at = s.pos;
        let magic = s.buf.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).unwrap_or([0; 4]);
        (s.big_endian, s.nanos) = match u32::from_be_bytes(magic) {
            0xa1b2c3d4 => (true, false),
            0xa1b23c4d => (true, true),
            0xd4c3b2a1 => (false, false),
            0x4d3cb2a1 => (false, true),
            _ => return Err(CaptureError::NotACapture { magic: magic.to_vec() }),
        };
        s.linktype = s.u32_at(at + 20);
        s.pos = at + 24;
        Ok(s)
    }

    /// The u32 at `buf[at..at + 4]` in the file's byte order (0 if out of bounds; callers check).
    fn u32_at(&self, at: usize) -> u32 {
        let b = self.buf.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).unwrap_or([0; 4]);
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Reads until `buf[pos..]` holds `need` bytes (moving the unparsed rest to the front first
    /// when the buffer end is near). Returns false if the input ended before.
    fn fill(&mut self, need: usize, after_frame: u64) -> Result<bool, CaptureError> {
        if self.len - self.pos >= need {
            return Ok(true);
        }
        if let Source::Ahead(ahead) = &mut self.source {
            while self.len - self.pos < need {
                let Some((chunk, n)) = ahead.next(after_frame)? else { return Ok(false) };
                let tail = self.len - self.pos;
                match (chunk.get(AHEAD_HEAD..AHEAD_HEAD + n), self.buf.get(self.pos..self.len)) {
                    // The usual case: the unparsed rest (part of one record) goes into the
                    // room left in front of the new chunk, which becomes the buffer.
                    (Some(_), Some(rest)) if tail <= AHEAD_HEAD => {
                        let mut chunk = chunk;
                        if let Some(room) = chunk.get_mut(AHEAD_HEAD - tail..AHEAD_HEAD) {
                            room.copy_from_slice(rest);
                        }
                        ahead.give_back(std::mem::replace(&mut self.buf, chunk));
                        self.pos = AHEAD_HEAD - tail;
                        self.len = AHEAD_HEAD + n;
                    }
                    // A record longer than that room: gathered in the current buffer.
                    (Some(data), _) => {
                        self.buf.copy_within(self.pos..self.len, 0);
                        self.buf.truncate(tail);
                        self.buf.extend_from_slice(data);
                        self.pos = 0;
                        self.len = self.buf.len();
                        ahead.give_back(chunk);
                    }
                    (None, _) => return Ok(false),
                }
            }
            return Ok(true);
        }
        let Source::Direct(input) = &mut self.source else { return Ok(false) };
        if self.pos + need > self.buf.len() {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
            if need > self.buf.len() {
                self.buf.resize(need, 0);
            }
        }
        while self.len - self.pos < need {
            // Read at least READ_CHUNK when there is room, never past the buffer.
            let to = self.buf.len().min(self.len + READ_CHUNK.max(need - (self.len - self.pos)));
            let Some(dst) = self.buf.get_mut(self.len..to) else { return Ok(false) };
            match input.read(dst) {
                Ok(0) => return Ok(false),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(source) => return Err(CaptureError::Io { after_frame, source }),
            }
        }
        Ok(true)
    }

    fn next(&mut self, after_frame: u64) -> Result<Option<Raw>, CaptureError> {
        if self.pos == self.len && !self.fill(1, after_frame)? {
            return Ok(None); // clean end between records
        }
        if !self.fill(16, after_frame)? {
            return Err(CaptureError::Truncated { after_frame });
        }
        let at = self.pos;
        let ts_sec = self.u32_at(at);
        let ts_frac = self.u32_at(at + 4);
        let incl_len = self.u32_at(at + 8);
        let orig_len = self.u32_at(at + 12);
        let need = usize::try_from(incl_len).ok().and_then(|n| n.checked_add(16)).unwrap_or(usize::MAX);
        if need > MAX_RECORD {
            // No capture writes a record this long (snaplens stop at 256 KiB): the length field
            // is corrupt, whether or not the file goes on for that long. A file cut within a
            // record of a plausible length is a truncation (below). The next 8 MB are read
            // first: in a compressed capture, a damaged stream is the cause, and its decoder
            // says so (a read error here, named as the compression's) once it reads that far.
            let _ = self.fill(MAX_RECORD, after_frame)?;
            return Err(CaptureError::Format {
                after_frame,
                message: format!(
                    "frame {} at byte offset {}: captured length {incl_len} is over the {} MB cap (a corrupt length field); the rest of the file is not read",
                    after_frame + 1,
                    self.offset,
                    MAX_RECORD / 1_000_000
                ),
            });
        }
        if !self.fill(need, after_frame)? {
            return Err(CaptureError::Truncated { after_frame });
        }
        let start = self.pos + 16;
        self.pos += need;
        self.offset += need as u64;
        // No validation of the header fields: a snaplen-cut capture has orig_len > snaplen.
        let frac = if self.nanos { u64::from(ts_frac) } else { u64::from(ts_frac) * 1000 };
        let ts_ns = u64::from(ts_sec).saturating_mul(1_000_000_000).saturating_add(frac);
        let ts_digits = if self.nanos { 9 } else { 6 };
        Ok(Some(Raw { ts_ns, linktype: self.linktype, orig_len, start, end: self.pos, ts_digits }))
    }
}

/// Where a pcap stream's bytes come from.
enum Source {
    /// Read on the caller's thread (standard input, any `io::Read`).
    Direct(Head),
    /// A file read ahead by a helper thread.
    Ahead(ReadAhead),
}

/// Bytes of a read-ahead chunk: about the size `READ_CHUNK` was chosen for.
const AHEAD_CHUNK: usize = 256 << 10;
/// Room left in front of each chunk for the end of the previous one (a record cut by the chunk
/// boundary); a longer record is gathered by copying.
const AHEAD_HEAD: usize = 64 << 10;
/// Chunks in flight: read ahead, being parsed, handed back.
const AHEAD_CHUNKS: usize = 16;
/// Chunks handed back to the thread at once: waking it costs (much more in a VM than the read
/// itself), so it is woken once per batch and then reads the batch in a row.
const AHEAD_BATCH: usize = 8;
// The parser holds at most one chunk and AHEAD_BATCH - 1 spent ones: the thread always has
// chunks to read into while the parser waits.
const _: () = assert!(AHEAD_BATCH < AHEAD_CHUNKS);

/// A file read in chunks by a helper thread, a few chunks ahead of the parser. The chunks go
/// round between the two threads (`full`, `empty`), so the reading allocates nothing after
/// the first round. The thread ends at the end of the file, at a read error, or when this side
/// is dropped (its channel ends close).
struct ReadAhead {
    full: mpsc::Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: mpsc::SyncSender<Vec<Vec<u8>>>,
    /// Chunks parsed, not yet handed back (see `AHEAD_BATCH`).
    spent: Vec<Vec<u8>>,
    /// Set at the end of the file, as [`EofWatch`] does for the direct path.
    eof: std::rc::Rc<std::cell::Cell<bool>>,
    ended: bool,
}

impl ReadAhead {
    /// Starts the thread on a clone of `file` (same open file, same offset); `None` if the
    /// clone or the thread cannot be made (the caller then reads the file itself).
    fn spawn(file: &File, eof: std::rc::Rc<std::cell::Cell<bool>>) -> Option<ReadAhead> {
        let file = file.try_clone().ok()?;
        Self::spawn_reader(file, eof)
    }

    /// Starts the thread on `source` (a file, or a compressed file's decoder); `None` if it
    /// cannot be started.
    fn spawn_reader<R: Read + Send + 'static>(mut source: R, eof: std::rc::Rc<std::cell::Cell<bool>>) -> Option<ReadAhead> {
        // Room for every chunk and the end: sending never blocks the thread.
        let (full_tx, full) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(AHEAD_CHUNKS + 2);
        let (empty, empty_rx) = mpsc::sync_channel::<Vec<Vec<u8>>>(AHEAD_CHUNKS + 2);
        empty.send(vec![Vec::new(); AHEAD_CHUNKS]).ok()?;
        let reader = move || {
            let mut free: Vec<Vec<u8>> = Vec::new();
            loop {
                let Some(mut buf) = free.pop() else {
                    match empty_rx.recv() {
                        Ok(batch) => {
                            free = batch;
                            continue;
                        }
                        Err(_) => return,
                    }
                };
                buf.resize(AHEAD_HEAD + AHEAD_CHUNK, 0);
                let mut n = 0;
                let end = loop {
                    let Some(dst) = buf.get_mut(AHEAD_HEAD + n..).filter(|d| !d.is_empty()) else { break None };
                    match source.read(dst) {
                        Ok(0) => break Some(Ok(())),
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Some(Err(e)),
                    }
                };
                if n > 0 && full_tx.send(Ok((buf, n))).is_err() {
                    return;
                }
                match end {
                    None => {}
                    Some(Ok(())) => {
                        let _ = full_tx.send(Ok((Vec::new(), 0)));
                        return;
                    }
                    Some(Err(e)) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        };
        std::thread::Builder::new().name("capture-read".into()).spawn(reader).ok()?;
        Some(ReadAhead { full, empty, spent: Vec::new(), eof, ended: false })
    }

    /// The next chunk and how many bytes it holds (after `AHEAD_HEAD`); `None` at the end.
    fn next(&mut self, after_frame: u64) -> Result<Option<(Vec<u8>, usize)>, CaptureError> {
        if self.ended {
            return Ok(None);
        }
        match self.full.recv() {
            Ok(Ok((chunk, n))) if n > 0 => Ok(Some((chunk, n))),
            Ok(Ok(_)) => {
                self.ended = true;
                self.eof.set(true);
                Ok(None)
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.ended = true;
                Ok(None)
            }
            Ok(Err(source)) => {
                self.ended = true;
                Err(CaptureError::Io { after_frame, source })
            }
            Err(_) => {
                self.ended = true;
                Err(CaptureError::Io { after_frame, source: io::Error::other("the capture's reading thread stopped") })
            }
        }
    }

    /// Hands a chunk back to the thread for reuse, in batches (dropped if the thread has ended).
    fn give_back(&mut self, chunk: Vec<u8>) {
        self.spent.push(chunk);
        if self.spent.len() >= AHEAD_BATCH {
            let _ = self.empty.try_send(std::mem::take(&mut self.spent));
        }
    }
}

/// Reads pcapng blocks up to the next packet, copying its bytes into `buf`; returns its
/// timestamp (ns), interface and original length.
fn next_pcapng(
    reader: &mut PcapNgReader<BlockScan<Head>>,
    interfaces: &mut Vec<Interface>,
    buf: &mut Vec<u8>,
    after_frame: u64,
) -> Result<Option<(u64, Interface, u32)>, CaptureError> {
    loop {
        match reader.next_block() {
            None => return Ok(None),
            Some(Err(e)) => return Err(map_err(e, after_frame)),
            Some(Ok(Block::SectionHeader(_))) => interfaces.clear(),
            Some(Ok(Block::InterfaceDescription(idb))) => {
                if interfaces.len() < MAX_INTERFACES {
                    interfaces.push(interface_of(&idb));
                }
            }
            Some(Ok(Block::EnhancedPacket(epb))) => {
                let Some(iface) = interfaces.get(epb.interface_id as usize).copied() else {
                    let message = if epb.interface_id as usize >= MAX_INTERFACES && interfaces.len() >= MAX_INTERFACES {
                        format!(
                            "packet block names interface {}: the section describes more than {MAX_INTERFACES} interfaces, the most kept; the rest of the file is not read",
                            epb.interface_id
                        )
                    } else {
                        format!("packet block names interface {} which was not described", epb.interface_id)
                    };
                    return Err(CaptureError::Format { after_frame, message });
                };
                // pcap-file hands the raw 64-bit timestamp over as nanoseconds; rescale by the
                // interface's if_tsresol.
                let raw = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let ts_ns = scale_ts(raw, iface.units_per_sec).saturating_add(iface.offset_secs.saturating_mul(1_000_000_000));
                buf.clear();
                buf.extend_from_slice(&epb.data);
                return Ok(Some((ts_ns, iface, epb.original_len)));
            }
            Some(Ok(Block::SimplePacket(spb))) => {
                let iface = interfaces.first().copied().unwrap_or(Interface {
                    linktype: LINKTYPE_ETHERNET,
                    units_per_sec: 1_000_000,
                    offset_secs: 0,
                });
                buf.clear();
                buf.extend_from_slice(&spb.data);
                return Ok(Some((0, iface, spb.original_len)));
            }
            Some(Ok(_)) => {} // statistics, name resolution, custom blocks: not packets
        }
    }
}

const LINKTYPE_ETHERNET: u32 = 1;

fn interface_of(idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>) -> Interface {
    let mut iface = Interface { linktype: u32::from(idb.linktype), units_per_sec: 1_000_000, offset_secs: 0 };
    for opt in &idb.options {
        match opt {
            InterfaceDescriptionOption::IfTsResol(r) => {
                // High bit set: negative power of two; otherwise negative power of ten.
                let exp = u32::from(r & 0x7f);
                iface.units_per_sec =
                    if r & 0x80 != 0 { 1u64.checked_shl(exp).unwrap_or(u64::MAX) } else { 10u64.checked_pow(exp).unwrap_or(u64::MAX) };
            }
            InterfaceDescriptionOption::IfTsOffset(o) => iface.offset_secs = *o,
            _ => {}
        }
    }
    iface
}

fn scale_ts(raw: u64, units_per_sec: u64) -> u64 {
    if units_per_sec == 1_000_000_000 {
        return raw;
    }
    let units = units_per_sec.max(1) as u128;
    ((raw as u128 * 1_000_000_000) / units).min(u64::MAX as u128) as u64
}

fn map_err(e: PcapError, after_frame: u64) -> CaptureError {
    match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated { after_frame },
        PcapError::IoError(source) if source.kind() == io::ErrorKind::UnexpectedEof => CaptureError::Truncated { after_frame },
        PcapError::IoError(source) => CaptureError::Io { after_frame, source },
        other => CaptureError::Format { after_frame, message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_bytes(magic: [u8; 4], big_endian: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = magic.to_vec();
        out.extend(u16b(2));
        out.extend(u16b(4));
        out.extend(u32b(0));
        out.extend(u32b(0));
        out.extend(u32b(96)); // snaplen smaller than orig_len below, as with tcpdump -s 96
        out.extend(u32b(101)); // raw IP
        for (sec, frac, data) in records {
            out.extend(u32b(*sec));
            out.extend(u32b(*frac));
            out.extend(u32b(data.len() as u32));
            out.extend(u32b(1500));
            out.extend_from_slice(data);
        }
        out
    }

    /// (frame, ts_ns, linktype, captured length) of each packet read.
    type Read = (u64, u64, u32, usize);

    fn read_all(bytes: Vec<u8>) -> (Vec<Read>, Option<CaptureError>) {
        let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
        let mut out = Vec::new();
        loop {
            match r.next_packet() {
                Ok(Some(p)) => out.push((p.frame, p.ts_ns, p.linktype, p.data.len())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn pcap_microseconds_little_endian() {
        let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(10, 500_000, &[1, 2, 3]), (11, 1, &[4; 96])]);
        let (pkts, err) = read_all(bytes);
        assert!(err.is_none());
        assert_eq!(pkts, vec![(1, 10_500_000_000, 101, 3), (2, 11_000_001_000, 101, 96)]);
    }

    #[test]
    fn pcap_nanoseconds_big_endian() {
        let bytes = pcap_bytes([0xa1, 0xb2, 0x3c, 0x4d], true, &[(10, 500, &[1, 2, 3])]);
        let (pkts, err) = read_all(bytes);
        assert!(err.is_none());
        assert_eq!(pkts, vec![(1, 10_000_000_500, 101, 3)]);
    }

    #[test]
    fn truncated_mid_record_keeps_earlier_packets() {
        let mut bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[9; 40]), (2, 0, &[9; 40])]);
        bytes.truncate(bytes.len() - 10);
        let (pkts, err) = read_all(bytes);
        assert_eq!(pkts.len(), 1);
        let err = err.expect("truncation reported");
        assert!(err.is_truncation(), "{err}");
        assert!(err.to_string().contains("after frame 1"), "{err}");
    }

    #[test]
    fn not_a_capture_is_an_error() {
        for bytes in [b"hello world".to_vec(), vec![], vec![0xa1]] {
            let err = CaptureReader::new(io::Cursor::new(bytes)).err().expect("error");
            assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
        }
    }

    #[test]
    fn header_only_truncated() {
        let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[]);
        let err = CaptureReader::new(io::Cursor::new(bytes[..10].to_vec())).err().expect("error");
        assert!(matches!(err, CaptureError::HeaderTruncated { format: "pcap" }), "{err}");
        assert_eq!(err.to_string(), "pcap file header incomplete: the file ends within it (no packet in the file)");
    }

    /// pcapng with two interfaces of different link types (Ethernet and raw IP) and the second
    /// with nanosecond timestamps (if_tsresol 9).
    #[test]
    fn pcapng_interfaces_with_their_own_link_types_and_resolutions() {
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
        use pcap_file::pcapng::PcapNgWriter;
        use pcap_file::DataLink;
        use std::borrow::Cow;
        use std::time::Duration;
        let mut w = PcapNgWriter::new(Vec::new()).expect("writer");
        let eth = InterfaceDescriptionBlock { linktype: DataLink::ETHERNET, snaplen: 0, options: vec![] };
        let raw =
            InterfaceDescriptionBlock { linktype: DataLink::RAW, snaplen: 0, options: vec![InterfaceDescriptionOption::IfTsResol(9)] };
        w.write_pcapng_block(eth).expect("idb");
        w.write_pcapng_block(raw).expect("idb");
        for (iface, raw_ts, len) in [(0u32, 1_500_000u64, 60usize), (1, 2_000_000_123, 40)] {
            let epb = EnhancedPacketBlock {
                interface_id: iface,
                // pcap-file writes the Duration's nanoseconds as the raw timestamp units.
                timestamp: Duration::from_nanos(raw_ts),
                original_len: len as u32,
                data: Cow::Owned(vec![0x45; len]),
                options: vec![],
            };
            w.write_pcapng_block(epb).expect("epb");
        }
        let (pkts, err) = read_all(w.into_inner());
        assert!(err.is_none(), "{err:?}");
        // Interface 0: microseconds (default); interface 1: nanoseconds.
        assert_eq!(pkts, vec![(1, 1_500_000_000, 1, 60), (2, 2_000_000_123, 101, 40)]);
    }

    /// Every packet (frame, timestamp, link type, bytes) and the error at the end, reading
    /// `bytes` through `R`.
    type Full = (Vec<(u64, u64, u32, Vec<u8>)>, Option<String>);
    fn read_full<R: io::Read + 'static>(input: R) -> Full {
        let mut r = match CaptureReader::new(input) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e.to_string())),
        };
        let mut out = Vec::new();
        loop {
            match r.next_packet() {
                Ok(Some(p)) => out.push((p.frame, p.ts_ns, p.linktype, p.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    /// The same bytes read from a file (read ahead on a thread, in chunks) and from memory.
    fn file_and_memory_agree(name: &str, bytes: Vec<u8>) -> Full {
        let path = std::env::temp_dir().join(format!("mptcp-capture-{}-{name}.pcap", std::process::id()));
        std::fs::write(&path, &bytes).expect("write temp capture");
        let from_file = read_full(File::open(&path).expect("open temp capture"));
        let _ = std::fs::remove_file(&path);
        let from_memory = read_full(io::Cursor::new(bytes));
        assert_eq!(from_file, from_memory, "{name}");
        from_file
    }

    /// Records of every size around the read-ahead chunk and its head room, so that records
    /// are cut by chunk boundaries anywhere, including ones longer than the room.
    #[test]
    fn read_ahead_file_matches_memory_across_chunk_boundaries() {
        let sizes = [0usize, 1, 60, 1514, 40_000, AHEAD_HEAD - 16, AHEAD_HEAD, AHEAD_HEAD + 1, 100_000, AHEAD_CHUNK + 7, 3 * AHEAD_CHUNK];
        let datas: Vec<Vec<u8>> =
            (0..60).map(|i| (0..sizes[i % sizes.len()] + i).map(|k| (k * 31 + i) as u8).collect::<Vec<u8>>()).collect();
        let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (i as u32, 7, d.as_slice())).collect();
        for (magic, be) in [([0xd4, 0xc3, 0xb2, 0xa1], false), ([0xa1, 0xb2, 0x3c, 0x4d], true)] {
            let bytes = pcap_bytes(magic, be, &records);
            let (pkts, err) = file_and_memory_agree("chunks", bytes.clone());
            assert!(err.is_none(), "{err:?}");
            assert_eq!(pkts.len(), 60);
            assert!(pkts.iter().zip(&datas).all(|(p, d)| &p.3 == d));
            // Cut anywhere: the same packets and the same truncation either way.
            for cut in [10, 23, 30, 5000, AHEAD_CHUNK - 3, AHEAD_CHUNK + AHEAD_HEAD, bytes.len() / 2, bytes.len() - 1] {
                let (_, err) = file_and_memory_agree("cut", bytes[..cut].to_vec());
                // Within the 24-byte file header there is no record to be cut (issue 17).
                let want = if cut < 24 { "file header incomplete" } else { "cut off" };
                assert!(err.is_some_and(|e| e.contains(want)), "cut {cut}");
            }
        }
    }

    /// A compressed file is decompressed on the read-ahead thread: the same packets, and the
    /// same error at the same frame when the compressed data is cut, as from memory.
    #[test]
    #[cfg(all(feature = "gzip", feature = "zstd"))]
    fn read_ahead_compressed_file_matches_memory() {
        let datas: Vec<Vec<u8>> = (0..300).map(|i| (0..(i * 997) % 70_000).map(|k| (k * 7 + i) as u8).collect()).collect();
        let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (i as u32, 9, d.as_slice())).collect();
        let plain = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &records);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &plain).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let zst = zstd::encode_all(io::Cursor::new(&plain), 1).expect("zstd");
        let (want, err) = read_full(io::Cursor::new(plain));
        assert!(err.is_none());
        for (name, bytes) in [("gz", gz), ("zst", zst)] {
            let (pkts, err) = file_and_memory_agree(name, bytes.clone());
            assert!(err.is_none(), "{name}: {err:?}");
            assert_eq!(pkts, want, "{name}");
            for cut in [bytes.len() / 3, bytes.len() - 1] {
                let (pkts, err) = file_and_memory_agree(name, bytes.get(..cut).expect("cut").to_vec());
                // Cut in the trailer: every packet, then the error.
                assert!(pkts.len() <= want.len() && pkts.iter().zip(&want).all(|(a, b)| a == b), "{name} cut {cut}");
                assert!(err.as_ref().is_some_and(|e| e.contains(if name == "gz" { "gzip" } else { "zstd" })), "{name} cut {cut}: {err:?}");
            }
        }
    }

    /// A record longer than 8 MB is a corrupt length field (issue 23), whether the file ends
    /// within 8 MB or goes on, read from a file or from memory: the message names the frame and
    /// its byte offset.
    #[test]
    fn read_ahead_file_absurd_record_length() {
        let mut head = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[9; 40])]);
        head.extend(1u32.to_le_bytes());
        head.extend(0u32.to_le_bytes());
        head.extend(9_000_000u32.to_le_bytes());
        head.extend(9_000_000u32.to_le_bytes());
        let mut short = head.clone();
        short.resize(head.len() + 1_000_000, 0);
        let want = "frame 2 at byte offset 80: captured length 9000000 is over the 8 MB cap";
        let (pkts, err) = file_and_memory_agree("absurd-short", short);
        assert_eq!(pkts.len(), 1);
        assert!(err.as_ref().is_some_and(|e| e.contains(want)), "{err:?}");
        let mut long = head;
        long.resize(long.len() + 8_500_000, 0);
        let (pkts, err) = file_and_memory_agree("absurd-long", long);
        assert_eq!(pkts.len(), 1);
        assert!(err.as_ref().is_some_and(|e| e.contains(want)), "{err:?}");
    }

    /// Passes frames whose first byte is even; counts what it was shown.
    struct EvenFirstByte(std::rc::Rc<std::cell::Cell<u32>>);
    impl PacketFilter for EvenFirstByte {
        fn matches(&mut self, linktype: u32, data: &[u8], orig_len: u32) -> Result<bool, String> {
            assert_eq!((linktype, orig_len), (101, 1500));
            self.0.set(self.0.get() + 1);
            Ok(data.first().is_some_and(|b| b % 2 == 0))
        }
    }

    #[test]
    fn filter_and_count_keep_the_file_frame_numbers_and_times() {
        let datas: Vec<[u8; 3]> = (0..10u8).map(|i| [i, 0, 0]).collect();
        let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (100 + i as u32, 0, &d[..])).collect();
        let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &records);
        let seen = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
        r.set_filter(Box::new(EvenFirstByte(seen.clone())));
        r.set_limit(3);
        let mut got = Vec::new();
        while let Ok(Some(p)) = r.next_packet() {
            got.push((p.frame, p.ts_ns / 1_000_000_000, p.prev_ts_ns / 1_000_000_000, p.first_ts_ns / 1_000_000_000, p.ts_digits));
        }
        // Frames 1, 3, 5 (first bytes 0, 2, 4); the previous frame is the one before in the
        // file, filtered out or not; the count stops the reading after the third.
        assert_eq!(got, vec![(1, 100, 100, 100, 6), (3, 102, 101, 100, 6), (5, 104, 103, 100, 6)]);
        assert_eq!(seen.get(), 5);
    }

    struct Refuses;
    impl PacketFilter for Refuses {
        fn matches(&mut self, _: u32, _: &[u8], _: u32) -> Result<bool, String> {
            Err("no program for this link type".into())
        }
    }

    #[test]
    fn a_filter_that_cannot_decide_ends_the_reading_with_an_error() {
        let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[1]), (2, 0, &[2])]);
        let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
        r.set_filter(Box::new(Refuses));
        let err = r.next_packet().expect_err("error");
        assert!(matches!(err, CaptureError::Filter { frame: 1, .. }), "{err}");
        assert!(matches!(r.next_packet(), Ok(None)));
    }

    #[test]
    #[cfg(feature = "gzip")]
    fn compressed_capture_reads_as_the_plain_one() {
        let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 5, &[1, 2, 3]), (2, 6, &[4; 96])]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, &bytes).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let mut r = CaptureReader::new(io::Cursor::new(gz.clone())).expect("header");
        assert_eq!(r.compression(), Some(decompress::Compression::Gzip));
        assert!(r.next_packet().is_ok());
        let ((plain, e1), (unzipped, e2)) = (read_all(bytes), read_all(gz.clone()));
        assert!(e1.is_none() && e2.is_none());
        assert_eq!(plain, unzipped);
        // Cut inside the compressed data: an error naming gzip, not a cut-off capture.
        let (pkts, err) = read_full(io::Cursor::new(gz.get(..gz.len() - 6).expect("cut").to_vec()));
        assert!(pkts.len() <= 2);
        let err = err.expect("error");
        assert!(err.contains("gzip") && !err.contains("cut off after"), "{err}");
    }

    #[test]
    fn pcapng_tsresol_scaling() {
        assert_eq!(scale_ts(1_500_000, 1_000_000), 1_500_000_000);
        assert_eq!(scale_ts(1_500, 1_000_000_000), 1_500);
        assert_eq!(scale_ts(u64::MAX, 1), u64::MAX);
    }
}

mod blockscan;
pub mod decompress;
pub mod merge;

use blockscan::BlockScan;
