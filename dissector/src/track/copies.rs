//! One packet seen twice by one capture. `tcpdump -i any` on a router records every forwarded
//! packet on its way in and again on its way out, its IP TTL (hop limit) one lower: the same
//! segment, not a retransmission. Such a copy is counted once (`Stats::forwarded_copies`) and
//! the capture point is `between` the ends.
//!
//! A copy has the same addresses, ports, sequence and acknowledgment numbers, flags, length and
//! TCP checksum as a segment captured shortly before, and a TTL exactly one lower; each segment
//! has at most one copy. A retransmission differs in its timestamp option (and so its checksum)
//! or, when it does not, in its TTL: the sender's TTL again, not one lower than the last copy.
//!
//! Cost: a flow direction compares each segment with the one before it (the copy usually comes
//! next). Only a flow whose TTL has changed within a direction — which happens at a router, not
//! at an end — also keeps its segments of the last seconds in a table, for copies that waited in
//! the router's queue while other segments were captured on their way in.
use std::collections::VecDeque;

use mptcp_wire::decode::TcpSegment;

/// How long a forwarded copy may wait in the router's queue (capture time).
const WINDOW_NS: u64 = 3_000_000_000;
/// Segments remembered at most in the table (the oldest go first).
const MAX_RECENT: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    seq: u32,
    ack: u32,
    len: u32,
    checksum: u16,
    flags: u8,
}

impl Shape {
    fn of(seg: &TcpSegment<'_>) -> Self {
        Shape { seq: seg.seq, ack: seg.ack, len: seg.payload_len, checksum: seg.checksum, flags: seg.flags.0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Last {
    shape: Shape,
    ttl: u8,
    ts_ns: u64,
    copied: bool,
}

/// Per flow: the last segment of each direction, and whether the TTL changed within one.
#[derive(Debug, Clone, Default)]
pub(super) struct FlowCopies {
    last: [Option<Last>; 2],
    first_ttl: [Option<u8>; 2],
    pub(super) ttl_varies: bool,
    /// Segments of this flow that were a forwarded copy of one before them.
    pub(super) count: u64,
}

/// The recent segments of flows whose TTL varies.
#[derive(Default)]
pub(super) struct Recent {
    seen: ahash::HashMap<(usize, Shape), (u64, u8, bool)>,
    order: VecDeque<(u64, (usize, Shape))>,
}

impl Recent {
    fn expire(&mut self, now_ns: u64) {
        while let Some(&(t, k)) = self.order.front() {
            if t.saturating_add(WINDOW_NS) >= now_ns && self.order.len() < MAX_RECENT {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&k).is_some_and(|&(t0, _, _)| t0 == t) {
                self.seen.remove(&k);
            }
        }
    }
}

/// Whether `seg` (direction `di` of `flow`) is a forwarded copy of a segment captured before;
/// remembers it otherwise.
pub(super) fn is_copy(fc: &mut FlowCopies, recent: &mut Recent, flow: usize, di: usize, ts_ns: u64, seg: &TcpSegment<'_>) -> bool {
    let ttl = seg.ttl;
    if ttl == 0 {
        return false; // no IP header decoded
    }
    let shape = Shape::of(seg);
    let copy_of = |t: u8, at: u64, used: bool| !used && t == ttl.wrapping_add(1) && ts_ns.saturating_sub(at) <= WINDOW_NS;
    match fc.first_ttl[di] {
        None => fc.first_ttl[di] = Some(ttl),
        Some(t) if t != ttl => fc.ttl_varies = true,
        Some(_) => {}
    }
    let mut copy = false;
    if let Some(last) = fc.last[di].as_mut() {
        if last.shape == shape && copy_of(last.ttl, last.ts_ns, last.copied) {
            last.copied = true;
            copy = true;
        }
    }
    if fc.ttl_varies {
        recent.expire(ts_ns);
        let key = (flow, shape);
        match recent.seen.get_mut(&key) {
            Some(e) if copy || copy_of(e.1, e.0, e.2) => {
                e.2 = true;
                copy = true;
            }
            _ if !copy => {
                recent.seen.insert(key, (ts_ns, ttl, false));
                recent.order.push_back((ts_ns, key));
            }
            _ => {}
        }
    }
    if copy {
        fc.count += 1;
    } else {
        fc.last[di] = Some(Last { shape, ttl, ts_ns, copied: false });
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use mptcp_wire::decode::TcpFlags;
    use std::net::{IpAddr, Ipv4Addr};

    fn seg(seq: u32, len: u32, checksum: u16, ttl: u8) -> TcpSegment<'static> {
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
        TcpSegment {
            src: a,
            dst: b,
            sport: 40000,
            dport: 5201,
            seq,
            ack: 1,
            flags: TcpFlags(0x10),
            window: 100,
            options: &[],
            options_truncated: false,
            payload: &[],
            payload_len: len,
            ttl,
            checksum,
            tunnel: None,
        }
    }

    #[test]
    fn the_outgoing_copy_with_ttl_one_lower_is_one_segment_and_a_retransmission_is_not() {
        let (mut fc, mut r) = (FlowCopies::default(), Recent::default());
        // In (64) then out (63): one segment.
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 0, &seg(1, 100, 7, 64)));
        assert!(is_copy(&mut fc, &mut r, 0, 0, 10, &seg(1, 100, 7, 63)));
        // The sender retransmits it unchanged (same checksum): in again at 64, not a copy ...
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 200_000_000, &seg(1, 100, 7, 64)));
        // ... and its own out copy is one.
        assert!(is_copy(&mut fc, &mut r, 0, 0, 200_000_010, &seg(1, 100, 7, 63)));
        // Two segments at the same TTL are never copies of each other.
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 300_000_000, &seg(2, 100, 8, 64)));
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 300_000_010, &seg(2, 100, 8, 64)));
        assert_eq!(fc.count, 2);
    }

    #[test]
    fn copies_that_waited_in_the_router_s_queue_are_found_once_the_ttl_varied() {
        let (mut fc, mut r) = (FlowCopies::default(), Recent::default());
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 0, &seg(1, 100, 1, 64)));
        assert!(is_copy(&mut fc, &mut r, 0, 0, 1, &seg(1, 100, 1, 63)));
        // Three in, then their copies out after a queue.
        for i in 0..3u32 {
            assert!(!is_copy(&mut fc, &mut r, 0, 0, 10 + u64::from(i), &seg(100 * i + 101, 100, 10 + i as u16, 64)));
        }
        for i in 0..3u32 {
            assert!(is_copy(&mut fc, &mut r, 0, 0, 50_000_000 + u64::from(i), &seg(100 * i + 101, 100, 10 + i as u16, 63)));
        }
        // Past the window a segment is not matched any more.
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 60_000_000, &seg(999, 100, 99, 64)));
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 60_000_000 + WINDOW_NS + 1, &seg(500, 1, 98, 64)));
        assert!(!is_copy(&mut fc, &mut r, 0, 0, 60_000_000 + WINDOW_NS + 2, &seg(999, 100, 99, 63)));
        assert_eq!(fc.count, 4);
    }

    #[test]
    fn an_end_host_capture_never_fills_the_table() {
        let (mut fc, mut r) = (FlowCopies::default(), Recent::default());
        for i in 0..1000u32 {
            assert!(!is_copy(&mut fc, &mut r, 0, (i % 2) as usize, u64::from(i), &seg(i, 10, i as u16, 64)));
        }
        assert!(!fc.ttl_varies);
        assert!(r.seen.is_empty());
    }
}
