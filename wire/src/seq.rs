//! Sequence numbers with wrapping arithmetic and comparison (RFC 793 §3.3 for subflows, RFC 8684
//! §3.3 for the data level).
//!
//! Raw integers must not be compared with `<`: a subflow sequence number wraps after 2^32 bytes.
//! `a < b` here means "b is less than half the number space ahead of a". Exactly half-way apart
//! is ambiguous and compares as neither less nor greater (`partial_cmp` gives `None`), which is
//! why these types implement `PartialOrd` but not `Ord`.
//!
//! ```
//! use mptcp_wire::seq::{DataSeq, SubflowSeq};
//! assert!(SubflowSeq(0xffff_fff0) < SubflowSeq(0x10));
//! assert_eq!(SubflowSeq(0x10) - SubflowSeq(0xffff_fff0), 0x20);
//! // A 4-byte DSN is the low half of a 64-bit one; expand it against what the connection expects.
//! assert_eq!(DataSeq::expand32(0x0000_0005, DataSeq(0x1_ffff_fff0)), DataSeq(0x2_0000_0005));
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

/// A TCP sequence number on one subflow (absolute, or relative to the subflow's ISN — the type
/// does not say which; the tracker does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct SubflowSeq(pub u32);

/// A 64-bit MPTCP data sequence number (DSN) or data ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct DataSeq(pub u64);

impl SubflowSeq {
    /// Signed distance from `rhs` to `self`: positive when `self` is ahead.
    pub fn wrapping_sub(self, rhs: SubflowSeq) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }

    /// The later of the two (`self` when they are incomparable).
    pub fn max(self, other: SubflowSeq) -> SubflowSeq {
        if other > self {
            other
        } else {
            self
        }
    }

    /// The earlier of the two (`self` when they are incomparable).
    pub fn min(self, other: SubflowSeq) -> SubflowSeq {
        if other < self {
            other
        } else {
            self
        }
    }
}

impl DataSeq {
    /// Signed distance from `rhs` to `self`: positive when `self` is ahead.
    pub fn wrapping_sub(self, rhs: DataSeq) -> i64 {
        self.0.wrapping_sub(rhs.0) as i64
    }

    /// The low 32 bits: what a 4-byte DSN or data ACK carries (RFC 8684 §3.3).
    pub fn low32(self) -> u32 {
        self.0 as u32
    }

    /// The 64-bit value whose low 32 bits are `low` and which is nearest `reference` (typically
    /// the connection's current data ACK or next expected DSN), wrapping across a 2^32 boundary
    /// in either direction. When `low` is exactly 2^31 from `reference`'s low half, the result is
    /// the one below `reference` (the kernel's `mptcp_expand_seq` breaks that tie differently;
    /// it is ambiguous either way and does not happen in a sane capture).
    pub fn expand32(low: u32, reference: DataSeq) -> DataSeq {
        let delta = low.wrapping_sub(reference.low32()) as i32;
        DataSeq(reference.0.wrapping_add(i64::from(delta) as u64))
    }

    /// The later of the two (`self` when they are incomparable).
    pub fn max(self, other: DataSeq) -> DataSeq {
        if other > self {
            other
        } else {
            self
        }
    }

    /// The earlier of the two (`self` when they are incomparable).
    pub fn min(self, other: DataSeq) -> DataSeq {
        if other < self {
            other
        } else {
            self
        }
    }
}

// Offsets are taken modulo the number space (2^32 for subflows): sequence arithmetic wraps, and
// a byte count larger than the space has no other meaning.
impl Add<usize> for SubflowSeq {
    type Output = SubflowSeq;
    fn add(self, rhs: usize) -> SubflowSeq {
        SubflowSeq(self.0.wrapping_add(rhs as u32))
    }
}

impl Sub<usize> for SubflowSeq {
    type Output = SubflowSeq;
    fn sub(self, rhs: usize) -> SubflowSeq {
        SubflowSeq(self.0.wrapping_sub(rhs as u32))
    }
}

impl AddAssign<usize> for SubflowSeq {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl SubAssign<usize> for SubflowSeq {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

/// Signed distance, as [`SubflowSeq::wrapping_sub`].
impl Sub for SubflowSeq {
    type Output = i32;
    fn sub(self, rhs: SubflowSeq) -> i32 {
        self.wrapping_sub(rhs)
    }
}

impl PartialOrd for SubflowSeq {
    fn partial_cmp(&self, other: &SubflowSeq) -> Option<Ordering> {
        match self.wrapping_sub(*other) {
            i32::MIN => None,
            d => Some(d.cmp(&0)),
        }
    }
}

impl fmt::Display for SubflowSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Add<usize> for DataSeq {
    type Output = DataSeq;
    fn add(self, rhs: usize) -> DataSeq {
        DataSeq(self.0.wrapping_add(rhs as u64))
    }
}

impl Sub<usize> for DataSeq {
    type Output = DataSeq;
    fn sub(self, rhs: usize) -> DataSeq {
        DataSeq(self.0.wrapping_sub(rhs as u64))
    }
}

impl AddAssign<usize> for DataSeq {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl SubAssign<usize> for DataSeq {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

/// Signed distance, as [`DataSeq::wrapping_sub`].
impl Sub for DataSeq {
    type Output = i64;
    fn sub(self, rhs: DataSeq) -> i64 {
        self.wrapping_sub(rhs)
    }
}

impl PartialOrd for DataSeq {
    fn partial_cmp(&self, other: &DataSeq) -> Option<Ordering> {
        match self.wrapping_sub(*other) {
            i64::MIN => None,
            d => Some(d.cmp(&0)),
        }
    }
}

/// The number itself (for JSON, see [`crate::json::opt_dec`]).
impl From<DataSeq> for u64 {
    fn from(v: DataSeq) -> u64 {
        v.0
    }
}

impl fmt::Display for DataSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subflow_order_across_wrap() {
        let before = SubflowSeq(0xffff_fff0);
        let after = before + 0x20;
        assert_eq!(after, SubflowSeq(0x10));
        assert!(before < after);
        assert!(after > before);
        assert_eq!(after - before, 0x20);
        assert_eq!(before - after, -0x20);
        assert_eq!(after - 0x20, before);
        assert_eq!(before.max(after), after);
        assert_eq!(after.min(before), before);
        assert_eq!(SubflowSeq(7).partial_cmp(&SubflowSeq(7)), Some(Ordering::Equal));
    }

    #[test]
    fn half_space_apart_is_incomparable() {
        let a = SubflowSeq(0);
        let b = SubflowSeq(0x8000_0000);
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(b.partial_cmp(&a), None);
        let (lt, gt) = (a < b, a > b);
        assert!(!lt && !gt && a != b);
        let c = DataSeq(5);
        let d = DataSeq(5 + (1 << 63));
        assert_eq!(c.partial_cmp(&d), None);
    }

    #[test]
    fn data_order_across_wrap() {
        let before = DataSeq(u64::MAX - 2);
        let after = before + 5;
        assert_eq!(after, DataSeq(2));
        assert!(before < after);
        assert_eq!(after - before, 5);
        assert_eq!(before - after, -5);
    }

    #[test]
    fn expand32_examples() {
        // Same 2^32 epoch.
        assert_eq!(DataSeq::expand32(0x10, DataSeq(0x5_0000_0000)), DataSeq(0x5_0000_0010));
        // Wrap up: reference near the top of an epoch, low value just past the boundary.
        assert_eq!(DataSeq::expand32(0x10, DataSeq(0x5_ffff_fff0)), DataSeq(0x6_0000_0010));
        // Wrap down: a retransmission from just before the boundary.
        assert_eq!(DataSeq::expand32(0xffff_fff0, DataSeq(0x6_0000_0010)), DataSeq(0x5_ffff_fff0));
        // Wrap of the whole 64-bit space.
        assert_eq!(DataSeq::expand32(0x10, DataSeq(u64::MAX - 0x10)), DataSeq(0x10));
        assert_eq!(DataSeq::expand32(0xffff_fff0, DataSeq(0x10)), DataSeq(u64::MAX - 0xf));
        // Tie: 2^31 away resolves below.
        assert_eq!(DataSeq::expand32(0x8000_0000, DataSeq(0x1_0000_0000)), DataSeq(0x8000_0000));
    }

    #[test]
    fn serializes_as_plain_integers() {
        assert_eq!(serde_json::to_string(&SubflowSeq(4_000_000_000)).unwrap(), "4000000000");
        assert_eq!(serde_json::to_string(&DataSeq(u64::MAX)).unwrap(), "18446744073709551615");
        assert_eq!(SubflowSeq(42).to_string(), "42");
        assert_eq!(DataSeq(42).to_string(), "42");
    }

    proptest! {
        #[test]
        fn expand32_recovers_nearby_values(x: u64, d in -(i64::from(i32::MAX))..=i64::from(i32::MAX)) {
            let reference = DataSeq(x.wrapping_add(d as u64));
            prop_assert_eq!(DataSeq::expand32(x as u32, reference), DataSeq(x));
        }

        #[test]
        fn expand32_keeps_low_bits_and_stays_near(low: u32, r: u64) {
            let e = DataSeq::expand32(low, DataSeq(r));
            prop_assert_eq!(e.low32(), low);
            let dist = e - DataSeq(r);
            prop_assert!((-(1i64 << 31)..(1i64 << 31)).contains(&dist));
        }

        #[test]
        fn subflow_add_then_compare(a: u32, n in 1usize..(1 << 31)) {
            let s = SubflowSeq(a);
            prop_assert!(s < s + n);
            prop_assert!(s + n > s);
            prop_assert_eq!((s + n) - s, n as i32);
            prop_assert_eq!((s + n) - n, s);
        }

        #[test]
        fn data_add_then_compare(a: u64, n in 1usize..(1 << 31)) {
            let s = DataSeq(a);
            prop_assert!(s < s + n);
            prop_assert_eq!((s + n) - s, n as i64);
        }
    }
}
