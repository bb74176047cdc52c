//! The bytes of the stream the reassembler holds: one ring (a `VecDeque`) covering the recently
//! delivered bytes (kept to compare re-sent bytes with, RFC 8684 §3.3.1) and the out-of-order
//! bytes buffered above the delivery point. Offsets are relative to the start DSN.

use std::collections::VecDeque;

/// Bytes of `[start, start + buf.len())`; `start` never passes the delivery point.
#[derive(Debug, Default)]
pub(super) struct Ring {
    buf: VecDeque<u8>,
    start: u64,
    /// `[max(start, valid_from), frontier)` is delivered data, safe to compare against (below
    /// `valid_from` lies a hole given up on).
    valid_from: u64,
}

impl Ring {
    /// Bytes held.
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the ring.
    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back memory far above what is held.
    pub(super) fn shrink(&mut self) {
        let (cap, len) = (self.buf.capacity(), self.buf.len());
        if cap > 2 * len + 4096 || len == 0 && cap > 0 {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 2);
        }
    }

    /// Lowest offset whose held byte is delivered data, safe to compare against.
    pub(super) fn comparable_from(&self) -> u64 {
        self.start.max(self.valid_from)
    }

    /// Nothing below `x` is delivered data any more (a hole was given up up to `x`).
    pub(super) fn invalidate_below(&mut self, x: u64) {
        self.valid_from = x;
    }

    /// Writes captured bytes at relative offset `x` (>= frontier, within the window).
    pub(super) fn write(&mut self, x: u64, bytes: &[u8]) {
        let (Some(off), Some(end)) =
            (to_usize(x.saturating_sub(self.start)), to_usize((x + bytes.len() as u64).saturating_sub(self.start)))
        else {
            return;
        };
        if x < self.start {
            return;
        }
        if off == self.buf.len() {
            // Appending (in-order data): one copy, no zero-fill first.
            self.buf.extend(bytes);
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let (s1, s2) = self.buf.as_mut_slices();
        let (d1, d2) = split_range_mut(s1, s2, off, bytes.len());
        let (b1, b2) = bytes.split_at(d1.len().min(bytes.len()));
        // Two memcpys (one per half of the ring): a zipped byte loop does not vectorise and
        // was the hottest line of `analyze`.
        let n1 = d1.len().min(b1.len());
        if let (Some(d), Some(b)) = (d1.get_mut(..n1), b1.get(..n1)) {
            d.copy_from_slice(b);
        }
        let n2 = d2.len().min(b2.len());
        if let (Some(d), Some(b)) = (d2.get_mut(..n2), b2.get(..n2)) {
            d.copy_from_slice(b);
        }
    }

    /// Counts bytes of `bytes` that differ from the held bytes at relative offset `x`.
    pub(super) fn compare(&self, x: u64, bytes: &[u8]) -> u64 {
        let Some(off) = x.checked_sub(self.start).and_then(to_usize) else {
            return 0;
        };
        let (s1, s2) = self.buf.as_slices();
        let (h1, h2) = split_range(s1, s2, off, bytes.len());
        h1.iter().chain(h2).zip(bytes).filter(|(a, b)| a != b).count() as u64
    }

    /// The held bytes of `[x, x + len)`, clipped, as two slices (one per half of the ring);
    /// `None` if the offset does not fit a `usize`. `x` must not lie below the ring's start.
    pub(super) fn get(&self, x: u64, len: usize) -> Option<(&[u8], &[u8])> {
        let off = to_usize(x - self.start)?;
        let (s1, s2) = self.buf.as_slices();
        Some(split_range(s1, s2, off, len))
    }

    /// Drops held bytes no longer needed: keep at most `recent` bytes of valid delivered data
    /// below `frontier`.
    pub(super) fn trim(&mut self, frontier: u64, recent: usize) {
        let recent = u64::try_from(recent).unwrap_or(u64::MAX);
        let keep_from = frontier.saturating_sub(recent).max(self.valid_from).max(self.start);
        let buf_end = self.start + self.buf.len() as u64;
        if keep_from >= buf_end {
            self.buf.clear();
            self.start = keep_from;
        } else if keep_from > self.start {
            let n = to_usize(keep_from - self.start).unwrap_or(0);
            self.buf.drain(..n.min(self.buf.len()));
            self.start = keep_from;
        }
    }
}

/// `[off, off + len)` of the concatenation `s1 ++ s2`, clipped, as two slices.
fn split_range<'a>(s1: &'a [u8], s2: &'a [u8], off: usize, len: usize) -> (&'a [u8], &'a [u8]) {
    let end = off.saturating_add(len);
    let a = s1.get(off.min(s1.len())..end.min(s1.len())).unwrap_or(&[]);
    let off2 = off.saturating_sub(s1.len());
    let end2 = end.saturating_sub(s1.len());
    let b = s2.get(off2.min(s2.len())..end2.min(s2.len())).unwrap_or(&[]);
    (a, b)
}

fn split_range_mut<'a>(s1: &'a mut [u8], s2: &'a mut [u8], off: usize, len: usize) -> (&'a mut [u8], &'a mut [u8]) {
    let end = off.saturating_add(len);
    let (l1, l2) = (s1.len(), s2.len());
    let a = s1.get_mut(off.min(l1)..end.min(l1)).unwrap_or(&mut []);
    let b = s2.get_mut(off.saturating_sub(l1).min(l2)..end.saturating_sub(l1).min(l2)).unwrap_or(&mut []);
    (a, b)
}

/// A relative offset as a buffer index, `None` when it does not fit.
pub(super) fn to_usize(x: u64) -> Option<usize> {
    usize::try_from(x).ok()
}
