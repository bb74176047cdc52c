//! A fixed-size log-linear histogram: the percentiles of head-of-line delays, reordering
//! distances and buffer occupancy in bounded memory, whatever the capture's length.
//!
//! Values below 32 have a bucket each (exact); above, each power of two is split into 32
//! buckets, so a bucket spans at most 1/32 of its lower bound and a reported percentile
//! (the bucket's midpoint, clamped to the exact minimum and maximum) is within 1.6% of the
//! value it stands for. Values at or above 2^40 share the top buckets (2^40 ns is 18 minutes,
//! 2^40 bytes 1 TiB). The buckets are allocated on the first non-zero value (1152 × 8 bytes);
//! zeros are only counted.
//!
//! ```
//! use mptcp_dissector::reassembly::Hist;
//! let mut h = Hist::default();
//! for v in [0, 0, 1000, 2000, 4000] {
//!     h.add(v, 1);
//! }
//! assert_eq!(h.quantile(0.5), Some(1000)); // bucket [992, 1008)
//! assert_eq!((h.min(), h.max()), (Some(0), Some(4000)));
//! ```

/// Sub-buckets per power of two (and the exact range below it).
const SUB: u64 = 32;
const SUB_BITS: u32 = 5;
/// Largest exponent kept apart; above, values share the top buckets.
const TOP_EXP: u32 = 40;
const BUCKETS: usize = (SUB + (TOP_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

/// Weighted counts of `u64` values in log-linear buckets (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hist {
    zero: u64,
    buckets: Option<Box<[u64]>>,
    total: u64,
    min: Option<u64>,
    max: u64,
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = (63 - v.leading_zeros()).min(TOP_EXP);
    let v = v.min((1u64 << (TOP_EXP + 1)) - 1);
    let m = (v >> (e - SUB_BITS)) & (SUB - 1);
    (SUB + u64::from(e - SUB_BITS) * SUB + m) as usize
}

/// Lower bound and width of bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, 1);
    }
    let e = (i - SUB) / SUB + u64::from(SUB_BITS);
    let m = (i - SUB) % SUB;
    let width = 1u64 << (e - u64::from(SUB_BITS));
    ((SUB + m) * width, width)
}

impl Hist {
    /// Adds `weight` observations of `v`.
    #[inline]
    pub fn add(&mut self, v: u64, weight: u64) {
        if weight == 0 {
            return;
        }
        self.total += weight;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = self.max.max(v);
        if v == 0 {
            self.zero += weight;
            return;
        }
        let b = self.buckets.get_or_insert_with(|| vec![0u64; BUCKETS].into_boxed_slice());
        if let Some(c) = b.get_mut(index(v)) {
            *c += weight;
        }
    }

    /// Total weight added.
    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn min(&self) -> Option<u64> {
        self.min
    }

    pub fn max(&self) -> Option<u64> {
        self.min.map(|_| self.max)
    }

    /// The value below which a fraction `p` (0..=1) of the weight lies: the smallest value
    /// whose cumulative weight reaches `ceil(p × total)`, as its bucket's midpoint clamped to
    /// the exact minimum and maximum.
    pub fn quantile(&self, p: f64) -> Option<u64> {
        let min = self.min?;
        let rank = ((p.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank <= self.zero {
            return Some(0);
        }
        let mut seen = self.zero;
        if let Some(b) = &self.buckets {
            for (i, &c) in b.iter().enumerate() {
                seen += c;
                if c > 0 && seen >= rank {
                    let (lo, w) = bounds(i);
                    return Some((lo + w / 2).clamp(min, self.max));
                }
            }
        }
        Some(self.max)
    }

    /// The cumulative distribution: for zero and each non-empty bucket, in increasing order,
    /// (the bucket's upper end clamped to the exact maximum, fraction of the weight at or below
    /// it). Empty when nothing was added.
    pub fn cdf(&self) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        if self.total == 0 {
            return out;
        }
        let total = self.total as f64;
        let mut seen = self.zero;
        if self.zero > 0 {
            out.push((0, seen as f64 / total));
        }
        if let Some(b) = &self.buckets {
            for (i, &c) in b.iter().enumerate().filter(|(_, &c)| c > 0) {
                seen += c;
                let (lo, w) = bounds(i);
                out.push(((lo + w - 1).min(self.max), seen as f64 / total));
            }
        }
        out
    }

    /// Memory held, bytes.
    pub fn memory_bytes(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| b.len() * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values_and_stay_within_relative_precision() {
        for v in [1u64, 31, 32, 33, 63, 64, 1000, 123_456, 1 << 39, (1 << 41) - 1] {
            let (lo, w) = bounds(index(v));
            if v < 1 << (TOP_EXP + 1) {
                assert!(lo <= v && v < lo + w, "{v}: [{lo}, {})", lo + w);
            }
            assert!(w <= lo.max(1) / 32 + 1, "{v}: width {w}");
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = Hist::default();
        for v in 1..=1000u64 {
            h.add(v * 1000, 1);
        }
        for (p, want) in [(0.5, 500_000f64), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(p).unwrap() as f64;
            assert!((got - want).abs() / want < 0.02, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), Some(1_000_000));
        assert_eq!(h.quantile(0.0), Some(1000));
        assert_eq!(Hist::default().quantile(0.5), None);
    }
}
