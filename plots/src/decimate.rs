//! Streaming min/max decimation: a series keeps a bounded number of points whatever the length
//! of the capture, and what it keeps draws like the whole series at the plot's width.
//!
//! A [`Decimator`] keeps every point it is given until it holds `8 × width` of them (so a series
//! with fewer points than that, which includes every series with fewer points than the plot has
//! pixel columns, is drawn from every point). Past that it switches to buckets: the time axis is
//! cut into buckets of `2^shift` units aligned on multiples of their length, and each bucket
//! keeps the points that matter for drawing it (M4: the first and the last in time, and for
//! every key the point reaching lowest and the one reaching highest). When a point falls
//! outside a range of `2 × width` buckets, neighbouring buckets are merged in pairs (the bucket
//! length doubles, the extremes of a pair are the extremes of its two halves), so the bucket
//! count stays between `width` and `2 × width` for any time span, and a bucket is never wider
//! than about one pixel column of a plot `width` pixels wide spanning the series.
use std::collections::VecDeque;

/// A point of a decimated series.
pub(crate) trait Keyed {
    /// Position on the time axis (nanoseconds, or an interval number).
    fn x(&self) -> u64;
    /// The `k`-th vertical extent of the point, `(low, high)`; `None` past its last key.
    /// Decimation keeps, per bucket and key, the point with the lowest `low` and the one with
    /// the highest `high`.
    fn key(&self, k: usize) -> Option<(i128, i128)>;
}

/// One time bucket: the points kept and how many fell in it.
#[derive(Debug, Clone)]
pub(crate) struct Bucket<P> {
    pub pts: Vec<P>,
    /// Points that fell in the bucket; more than `pts.len()` when some were left out.
    pub n: u64,
}

impl<P: Keyed> Bucket<P> {
    fn add(&mut self, p: P) {
        self.n += 1;
        if self.pts.capacity() == 0 {
            // Room for the four extremes of one key and the newcomer, allocated once.
            self.pts.reserve_exact(5);
        }
        self.pts.push(p);
        if self.pts.len() > 2 {
            select(&mut self.pts);
        }
    }
}

/// Keeps in `pts` (in their order) the first and last in time, and per key the lowest-reaching
/// and the highest-reaching point: the extremes of the bucket, which are all a drawing at a
/// bucket's width shows. Ties go to the earliest point, the last in time to the latest.
fn select<P: Keyed>(pts: &mut Vec<P>) {
    let n = pts.len();
    let mut keep = vec![false; n];
    let (mut first, mut last) = (0, 0);
    for (i, p) in pts.iter().enumerate() {
        if p.x() < pts[first].x() {
            first = i;
        }
        if p.x() >= pts[last].x() {
            last = i;
        }
    }
    keep[first] = true;
    keep[last] = true;
    let mut k = 0;
    loop {
        let mut any = false;
        // (index, value) of the lowest low and the highest high.
        let mut lo: Option<(usize, i128)> = None;
        let mut hi: Option<(usize, i128)> = None;
        for (i, p) in pts.iter().enumerate() {
            let Some((l, h)) = p.key(k) else { continue };
            any = true;
            if lo.is_none_or(|(_, v)| l < v) {
                lo = Some((i, l));
            }
            if hi.is_none_or(|(_, v)| h > v) {
                hi = Some((i, h));
            }
        }
        if !any {
            break;
        }
        if let Some((i, _)) = lo {
            keep[i] = true;
        }
        if let Some((i, _)) = hi {
            keep[i] = true;
        }
        k += 1;
    }
    let mut i = 0;
    pts.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// A series that keeps every point up to `8 × width`, then min/max per bucket (module docs).
#[derive(Debug, Clone)]
pub(crate) struct Decimator<P> {
    max_buckets: usize,
    raw_cap: usize,
    /// Every point, in arrival order, while `shift` is `None`.
    raw: Vec<P>,
    shift: Option<u32>,
    /// Bucket number (x >> shift) of `buckets[0]`.
    first: u64,
    buckets: VecDeque<Bucket<P>>,
    /// Points stored.
    len: usize,
    /// Points given.
    seen: u64,
}

impl<P: Keyed> Decimator<P> {
    /// A series drawn at most `width` pixels wide.
    pub fn new(width: u32) -> Self {
        let w = width.max(1) as usize;
        Decimator { max_buckets: 2 * w, raw_cap: 8 * w, raw: Vec::new(), shift: None, first: 0, buckets: VecDeque::new(), len: 0, seen: 0 }
    }

    /// Points stored now (at most `8 × width` for points of one key).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Some points were left out.
    pub fn decimated(&self) -> bool {
        self.seen > self.len as u64
    }

    pub fn push(&mut self, p: P) {
        self.seen += 1;
        if self.shift.is_none() {
            self.raw.push(p);
            self.len += 1;
            self.settle();
        } else {
            self.place(p);
        }
    }

    /// Every point, for edits in place, while none was left out (points may be added or
    /// changed; call [`Self::settle`] after).
    pub fn raw_mut(&mut self) -> Option<&mut Vec<P>> {
        if self.shift.is_none() {
            Some(&mut self.raw)
        } else {
            None
        }
    }

    /// After edits through [`Self::raw_mut`]: switches to buckets past the cap.
    pub fn settle(&mut self) {
        if self.shift.is_some() {
            return;
        }
        self.seen = self.seen.max(self.raw.len() as u64);
        self.len = self.raw.len();
        if self.raw.len() <= self.raw_cap {
            return;
        }
        let (lo, hi) = self.raw.iter().fold((u64::MAX, 0), |(lo, hi), p| (lo.min(p.x()), hi.max(p.x())));
        let mut shift = 0;
        while (hi >> shift) - (lo >> shift) >= self.max_buckets as u64 {
            shift += 1;
        }
        self.shift = Some(shift);
        self.len = 0;
        for p in std::mem::take(&mut self.raw) {
            self.place(p);
        }
    }

    fn place(&mut self, p: P) {
        let Some(mut shift) = self.shift else { return };
        let x = p.x();
        if self.buckets.is_empty() {
            self.first = x >> shift;
            self.buckets.push_back(Bucket { pts: Vec::new(), n: 0 });
        } else {
            // Widen the buckets until x's falls within a range of max_buckets.
            loop {
                let i = x >> shift;
                let last = self.first + (self.buckets.len() as u64 - 1);
                if i.max(last) - i.min(self.first) < self.max_buckets as u64 {
                    break;
                }
                self.merge_pairs();
                shift += 1;
            }
            let i = x >> shift;
            while i < self.first {
                self.buckets.push_front(Bucket { pts: Vec::new(), n: 0 });
                self.first -= 1;
            }
            while i > self.first + (self.buckets.len() as u64 - 1) {
                self.buckets.push_back(Bucket { pts: Vec::new(), n: 0 });
            }
        }
        let i = ((x >> shift) - self.first) as usize;
        let Some(b) = self.buckets.get_mut(i) else { return };
        let before = b.pts.len();
        b.add(p);
        self.len = self.len + b.pts.len() - before;
    }

    /// Doubles the bucket length: buckets 2k and 2k+1 become bucket k.
    fn merge_pairs(&mut self) {
        let Some(shift) = self.shift else { return };
        let old = std::mem::take(&mut self.buckets);
        let mut cur: Option<(u64, Bucket<P>)> = None;
        for (k, b) in old.into_iter().enumerate() {
            let target = (self.first + k as u64) >> 1;
            match &mut cur {
                Some((t, into)) if *t == target => {
                    into.n += b.n;
                    into.pts.extend(b.pts);
                    if into.pts.len() > 2 {
                        select(&mut into.pts);
                    }
                    into.pts.shrink_to(5);
                }
                _ => {
                    if let Some((_, done)) = cur.take() {
                        self.buckets.push_back(done);
                    }
                    cur = Some((target, b));
                }
            }
        }
        if let Some((_, done)) = cur {
            self.buckets.push_back(done);
        }
        self.first >>= 1;
        self.shift = Some(shift + 1);
        self.len = self.buckets.iter().map(|b| b.pts.len()).sum();
    }

    /// The points kept: in arrival order while none was left out, else bucket by bucket.
    pub fn points(&self) -> impl Iterator<Item = &P> {
        self.raw.iter().chain(self.buckets.iter().flat_map(|b| b.pts.iter()))
    }

    /// The buckets, empty while none was left out.
    pub fn buckets(&self) -> impl Iterator<Item = &Bucket<P>> {
        self.buckets.iter()
    }

    /// Current number of buckets (0 while every point is kept).
    #[cfg(test)]
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct P(u64, i64);

    impl Keyed for P {
        fn x(&self) -> u64 {
            self.0
        }
        fn key(&self, k: usize) -> Option<(i128, i128)> {
            (k == 0).then_some((i128::from(self.1), i128::from(self.1)))
        }
    }

    #[test]
    fn short_series_are_kept_whole() {
        let mut d = Decimator::new(100);
        for i in 0..800 {
            d.push(P(i * 7, (i as i64 * 31) % 17));
        }
        assert!(!d.decimated());
        assert_eq!(d.points().copied().collect::<Vec<_>>(), (0..800).map(|i| P(i * 7, (i as i64 * 31) % 17)).collect::<Vec<_>>());
    }

    /// Whatever the span and the density, the buckets stay between width and 2 × width, the
    /// points within 8 × width, and each bucket's extremes are those of the points it got.
    #[test]
    fn long_series_stay_bounded_and_keep_every_buckets_extremes() {
        for (n, step) in [(10_000u64, 1u64), (100_000, 3), (1_000_000, 1000), (200_000, 1 << 30)] {
            let w = 100;
            let mut d = Decimator::new(w);
            let y = |i: u64| ((i.wrapping_mul(2_654_435_761) >> 7) % 10_000) as i64 - 5000;
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for i in 0..n {
                d.push(P(1_000 + i * step, y(i)));
                lo = lo.min(y(i));
                hi = hi.max(y(i));
                assert!(d.len() <= 8 * w as usize);
            }
            assert!(d.decimated());
            let bc = d.bucket_count();
            assert!((w as usize..=2 * w as usize).contains(&bc), "{bc} buckets");
            // The series' first, last, min and max points are all kept.
            let pts: Vec<P> = d.points().copied().collect();
            assert_eq!(pts.first(), Some(&P(1_000, y(0))));
            assert_eq!(pts.last(), Some(&P(1_000 + (n - 1) * step, y(n - 1))));
            assert_eq!(pts.iter().map(|p| p.1).min(), Some(lo));
            assert_eq!(pts.iter().map(|p| p.1).max(), Some(hi));
            assert_eq!(d.buckets().map(|b| b.n).sum::<u64>(), n);
            // Per bucket: recompute from scratch.
            let shift = d.shift.unwrap();
            for (k, b) in d.buckets().enumerate() {
                let idx = d.first + k as u64;
                let mine: Vec<i64> = (0..n).filter(|&i| (1_000 + i * step) >> shift == idx).map(y).collect();
                assert_eq!(mine.len() as u64, b.n);
                if let (Some(a), Some(z)) = (mine.iter().min(), mine.iter().max()) {
                    assert_eq!(b.pts.iter().map(|p| p.1).min(), Some(*a));
                    assert_eq!(b.pts.iter().map(|p| p.1).max(), Some(*z));
                }
            }
        }
    }

    #[test]
    fn points_out_of_time_order_and_far_apart_do_not_blow_up() {
        let mut d = Decimator::new(16);
        for i in 0..10_000u64 {
            let x = if i % 3 == 0 { u64::MAX - i } else { i * 5 };
            d.push(P(x, i as i64));
        }
        assert!(d.bucket_count() <= 32);
        assert!(d.len() <= 128);
        assert_eq!(d.points().map(|p| p.1).max(), Some(9_999));
        assert_eq!(d.points().map(|p| p.1).min(), Some(0));
    }
}
