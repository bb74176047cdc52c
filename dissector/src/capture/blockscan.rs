//! Watches the pcapng block headers as the bytes stream past, so that a block whose length field
//! is over the record cap is named as the corruption it is, with its byte offset.
//!
//! pcap-file reads pcapng through an 8 MB buffer and reports a block longer than that buffer
//! as an unexpected end of file: when the file then really ends before the declared length
//! (less left than the corrupt length claims), that would pass for a capture cut mid-record, a
//! warning, and every packet after the bad block would be dropped in silence. This reader sees
//! every byte on its way to pcap-file and follows the chain of block lengths (each Section
//! Header Block sets the byte order of its section), without copying anything but the
//! 12 bytes of a block's head.
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// A block whose length field is over the cap: where it starts and what it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Oversized {
    pub offset: u64,
    pub length: u32,
}

/// Passes bytes through, following pcapng block boundaries.
pub(super) struct BlockScan<R> {
    inner: R,
    /// Stream offset of the next byte read.
    pos: u64,
    /// Stream offset of the next block-head byte wanted.
    want: u64,
    head: [u8; 12],
    filled: usize,
    big_endian: bool,
    /// The scan stops at the first block it cannot follow (pcap-file names bad short lengths).
    stopped: bool,
    cap: u32,
    found: Rc<Cell<Option<Oversized>>>,
}

impl<R: Read> BlockScan<R> {
    /// Scans `inner`, a pcapng stream from its first byte; an oversized block (length over
    /// `cap`) is reported in `found`.
    pub(super) fn new(inner: R, cap: u32, found: Rc<Cell<Option<Oversized>>>) -> Self {
        BlockScan { inner, pos: 0, want: 0, head: [0; 12], filled: 0, big_endian: false, stopped: false, cap, found }
    }

    fn scan(&mut self, mut bytes: &[u8]) {
        let mut pos = self.pos;
        self.pos += bytes.len() as u64;
        while !self.stopped && !bytes.is_empty() {
            let skip = usize::try_from(self.want.saturating_sub(pos)).unwrap_or(usize::MAX).min(bytes.len());
            bytes = &bytes[skip..];
            pos += skip as u64;
            if bytes.is_empty() {
                return;
            }
            let take = (self.head.len() - self.filled).min(bytes.len());
            self.head[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            pos += take as u64;
            self.want += take as u64;
            if self.filled == self.head.len() {
                self.block();
            }
        }
    }

    /// A whole block head is in: its length moves the scan to the next block.
    fn block(&mut self) {
        let start = self.want - self.head.len() as u64;
        self.filled = 0;
        if self.head[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            match self.head[8..12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => self.big_endian = true,
                [0x4d, 0x3c, 0x2b, 0x1a] => self.big_endian = false,
                _ => {
                    self.stopped = true;
                    return;
                }
            }
        }
        let field = [self.head[4], self.head[5], self.head[6], self.head[7]];
        let length = if self.big_endian { u32::from_be_bytes(field) } else { u32::from_le_bytes(field) };
        if length > self.cap {
            self.found.set(Some(Oversized { offset: start, length }));
            self.stopped = true;
        } else if length < 12 || length % 4 != 0 {
            self.stopped = true;
        } else {
            self.want = start + u64::from(length);
        }
    }
}

impl<R: Read> Read for BlockScan<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u32, body: usize, big: bool) -> Vec<u8> {
        let len = (12 + body) as u32;
        let enc = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = enc(kind).to_vec();
        b.extend_from_slice(&enc(len));
        b.extend(std::iter::repeat_n(0u8, body));
        b.extend_from_slice(&enc(len));
        b
    }

    fn shb(big: bool) -> Vec<u8> {
        let mut b = block(0x0a0d0d0a, 16, big);
        b[8..12].copy_from_slice(&if big { 0x1a2b3c4du32.to_be_bytes() } else { 0x1a2b3c4du32.to_le_bytes() });
        b
    }

    /// Reads `data` through the scan in chunks of `chunk` bytes.
    fn run(data: &[u8], chunk: usize) -> Option<Oversized> {
        let found = Rc::new(Cell::new(None));
        let mut scan = BlockScan::new(io::Cursor::new(data.to_vec()), 1000, found.clone());
        let mut buf = vec![0u8; chunk];
        while scan.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
        found.get()
    }

    #[test]
    fn finds_the_oversized_block_at_any_chunking() {
        for big in [false, true] {
            let mut data = shb(big);
            data.extend(block(6, 40, big));
            data.extend(block(6, 100, big));
            let at = data.len() as u64;
            let mut bad = block(6, 8, big);
            bad[4..8].copy_from_slice(&if big { 5000u32.to_be_bytes() } else { 5000u32.to_le_bytes() });
            data.extend(bad);
            data.extend(block(6, 40, big));
            for chunk in [1, 3, 7, 12, 64, 4096] {
                assert_eq!(run(&data, chunk), Some(Oversized { offset: at, length: 5000 }), "chunk {chunk} big {big}");
            }
        }
    }

    #[test]
    fn a_sound_file_and_a_cut_one_find_nothing() {
        let mut data = shb(false);
        data.extend(block(1, 8, false));
        data.extend(block(6, 900, false));
        assert_eq!(run(&data, 5), None);
        data.truncate(data.len() - 300);
        assert_eq!(run(&data, 5), None);
    }
}
