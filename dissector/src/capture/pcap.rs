//! Classic pcap records, parsed in place in the reader's buffer ([`PcapStream`]).
use std::io::{self, Read};

use super::error::CaptureError;
use super::input::{Source, AHEAD_HEAD};

/// A packet's place in the reader's buffer and its record fields.
#[derive(Clone, Copy)]
pub(super) struct Raw {
    pub(super) ts_ns: u64,
    pub(super) linktype: u32,
    pub(super) orig_len: u32,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) ts_digits: u8,
}

/// Largest record (16-byte header plus captured bytes) read; a longer one is a corrupt length
/// field. The same bound as pcap-file's read buffer, which read these captures before.
pub(super) const MAX_RECORD: usize = 8_000_000;
/// Bytes asked of the input per `read`: large enough that system calls are few, small enough
/// that the buffer stays in the L2 cache while its packets are parsed (an 8 MB buffer, as
/// pcap-file's, is written by the kernel to L3/memory and then read back from there).
const READ_CHUNK: usize = 256 << 10;

/// Classic pcap: a 24-byte file header, then records of a 16-byte header and the captured bytes,
/// in the byte order of the magic number. Records are parsed in place in `buf`: the packet handed
/// out borrows it, so nothing is copied per packet.
pub(super) struct PcapStream {
    source: Source,
    pub(super) buf: Vec<u8>,
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
    pub(super) fn new(source: Source, start: Vec<u8>) -> Result<Self, CaptureError> {
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

    pub(super) fn next(&mut self, after_frame: u64) -> Result<Option<Raw>, CaptureError> {
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
