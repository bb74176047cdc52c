//! The range set: which DSNs above the delivery point have been seen, and whether their bytes
//! were captured. Sorted, disjoint ranges of relative offsets; adjacent ranges of one kind are
//! merged, so a stream arriving in order keeps at most one range.

/// Whether the bytes of a seen range are held. Ordered: a range only ever upgrades from
/// `Uncaptured` to `Captured` (a retransmission carrying bytes a snaplen cut).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Uncaptured,
    Captured,
}

/// A range `[start, end)` of relative offsets above the delivery point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Iv {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) kind: Kind,
}

/// Sorted, disjoint ranges, adjacent same-kind ranges merged.
#[derive(Debug, Default)]
pub(super) struct Ranges {
    ivs: Vec<Iv>,
    scratch: Vec<Iv>,
    /// Offsets the ranges cover together (kept up to date: read on every insert).
    total: u64,
}

impl Ranges {
    pub(super) fn len(&self) -> usize {
        self.ivs.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ivs.is_empty()
    }

    /// Offsets the ranges cover together.
    pub(super) fn total(&self) -> u64 {
        #[cfg(test)]
        assert_eq!(self.total, self.ivs.iter().map(|iv| iv.end - iv.start).sum::<u64>());
        self.total
    }

    /// Moves the lowest range's start up to `start` (within it).
    pub(super) fn raise_first_start(&mut self, start: u64) {
        if let Some(iv) = self.ivs.first_mut() {
            let to = start.clamp(iv.start, iv.end);
            self.total = self.total.saturating_sub(to - iv.start);
            iv.start = to;
        }
    }

    /// Where the run of ranges covering `from` onwards ends (`from` itself when no range covers
    /// it): a binary search, then one step per range of the run.
    pub(super) fn run_end(&self, from: u64) -> u64 {
        let mut cur = from;
        let mut i = self.ivs.partition_point(|iv| iv.end <= cur);
        while let Some(iv) = self.ivs.get(i).filter(|iv| iv.start <= cur) {
            cur = iv.end;
            i += 1;
        }
        cur
    }

    /// The lowest range.
    pub(super) fn first(&self) -> Option<&Iv> {
        self.ivs.first()
    }

    /// Removes the lowest range.
    pub(super) fn pop_first(&mut self) {
        if !self.ivs.is_empty() {
            let iv = self.ivs.remove(0);
            self.total = self.total.saturating_sub(iv.end - iv.start);
        }
    }

    /// Removes and returns every range, lowest first.
    pub(super) fn take_all(&mut self) -> Vec<Iv> {
        self.total = 0;
        std::mem::take(&mut self.ivs)
    }

    /// Cuts every range at `x`, dropping what lies at or past it. Returns how many offsets
    /// were dropped, and how many of those were captured.
    pub(super) fn cut_at(&mut self, x: u64) -> (u64, u64) {
        let mut removed = 0u64;
        let mut removed_captured = 0u64;
        self.ivs.retain_mut(|iv| {
            if iv.end <= x {
                return true;
            }
            let from = iv.start.max(x);
            removed += iv.end - from;
            if iv.kind == Kind::Captured {
                removed_captured += iv.end - from;
            }
            iv.end = from;
            iv.start < iv.end
        });
        self.total = self.total.saturating_sub(removed);
        (removed, removed_captured)
    }

    /// Marks `[a, b)` as seen with `kind` (kinds only upgrade). Tells `seen` about each piece
    /// of `[a, b)`, lowest first: `seen(x, y, None)` for offsets never seen before,
    /// `seen(x, y, Some(old))` for offsets already seen as `old`.
    pub(super) fn paint(&mut self, a: u64, b: u64, kind: Kind, mut seen: impl FnMut(u64, u64, Option<Kind>)) {
        let i = self.ivs.partition_point(|iv| iv.end < a);
        let j = self.ivs.partition_point(|iv| iv.start <= b);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut cur = a;
        let mut added = 0;
        let mut seen = |x: u64, y: u64, old: Option<Kind>| {
            if old.is_none() {
                added += y - x;
            }
            seen(x, y, old)
        };
        for k in i..j {
            let Some(&iv) = self.ivs.get(k) else { break };
            if iv.start < a {
                push_iv(&mut scratch, iv.start, iv.end.min(a), iv.kind);
            }
            let os = iv.start.max(a);
            let oe = iv.end.min(b);
            if cur < os {
                seen(cur, os.min(b), None);
                push_iv(&mut scratch, cur, os.min(b), kind);
                cur = os.min(b);
            }
            if os < oe {
                seen(os, oe, Some(iv.kind));
                push_iv(&mut scratch, os, oe, iv.kind.max(kind));
                cur = oe;
            }
            if iv.end > b {
                push_iv(&mut scratch, b.max(iv.start), iv.end, iv.kind);
            }
        }
        if cur < b {
            seen(cur, b, None);
            push_iv(&mut scratch, cur, b, kind);
        }
        if i <= j && j <= self.ivs.len() {
            self.replace(i, j, &scratch);
            self.total += added;
        }
        self.scratch = scratch;
    }
}

impl Ranges {
    /// Replaces `ivs[i..j]` with `with`, overwriting in place what it can (`Vec::splice` was
    /// a tenth of `analyze`: most paints replace one range with one).
    fn replace(&mut self, i: usize, j: usize, with: &[Iv]) {
        let m = j - i;
        let n = with.len().min(m);
        if let (Some(dst), Some(src)) = (self.ivs.get_mut(i..i + n), with.get(..n)) {
            dst.copy_from_slice(src);
        }
        if with.len() < m {
            self.ivs.drain(i + n..j);
        } else if let Some(rest) = with.get(m..).filter(|r| !r.is_empty()) {
            self.ivs.splice(j..j, rest.iter().copied());
        }
    }
}

fn push_iv(v: &mut Vec<Iv>, start: u64, end: u64, kind: Kind) {
    if start >= end {
        return;
    }
    if let Some(last) = v.last_mut() {
        if last.end == start && last.kind == kind {
            last.end = end;
            return;
        }
    }
    v.push(Iv { start, end, kind });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn painted(r: &mut Ranges, a: u64, b: u64, kind: Kind) -> Vec<(u64, u64, Option<Kind>)> {
        let mut v = Vec::new();
        r.paint(a, b, kind, |x, y, old| v.push((x, y, old)));
        v
    }

    fn ivs(r: &Ranges) -> Vec<(u64, u64, Kind)> {
        r.ivs.iter().map(|iv| (iv.start, iv.end, iv.kind)).collect()
    }

    #[test]
    fn paint_splits_new_and_seen_and_merges() {
        use Kind::*;
        let mut r = Ranges::default();
        assert_eq!(painted(&mut r, 10, 20, Captured), vec![(10, 20, None)]);
        assert_eq!(painted(&mut r, 30, 40, Uncaptured), vec![(30, 40, None)]);
        // Spans both and the hole between: new, seen, new, seen (upgraded), new.
        assert_eq!(
            painted(&mut r, 5, 45, Captured),
            vec![(5, 10, None), (10, 20, Some(Captured)), (20, 30, None), (30, 40, Some(Uncaptured)), (40, 45, None)]
        );
        assert_eq!(ivs(&r), vec![(5, 45, Captured)]);
        // Kinds never downgrade; touching ranges of another kind stay apart.
        assert_eq!(painted(&mut r, 40, 50, Uncaptured), vec![(40, 45, Some(Captured)), (45, 50, None)]);
        assert_eq!(ivs(&r), vec![(5, 45, Captured), (45, 50, Uncaptured)]);
    }

    #[test]
    fn cut_at_drops_the_tail() {
        let mut r = Ranges::default();
        painted(&mut r, 0, 10, Kind::Captured);
        painted(&mut r, 20, 30, Kind::Uncaptured);
        painted(&mut r, 40, 50, Kind::Captured);
        assert_eq!(r.cut_at(25), (15, 10));
        assert_eq!(ivs(&r), vec![(0, 10, Kind::Captured), (20, 25, Kind::Uncaptured)]);
    }
}
