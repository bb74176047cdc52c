//! Which of `pair`'s two captures was taken at the client side, from the TCP handshakes at the
//! start of each (docs/pair.md, "Which capture is the client's").
//!
//! The client sends the SYN; what tells the two capture points apart is when each saw the
//! handshake. A handshake seen in both captures (the same SYN and SYN/ACK: equal ISNs, which a
//! NAT keeps) gives two measurements that need no common clock, only each capture's own:
//!
//! * SYN → SYN/ACK: at the client's point this gap holds the round trip between the points
//!   (the SYN still has to reach the server's point, the SYN/ACK to come back); at the server's
//!   point it is the server's reply time alone. The client's capture has the longer gap.
//! * SYN/ACK → ACK: the other way round; the server's capture has the longer gap.
//!
//! Both differences are a round trip between the points, so both must say the same and be at
//! least [`MIN_ROUND_TRIP_NS`]; a handshake that does not is no evidence (two captures at the
//! same point, or timestamps too coarse). Only handshakes with exactly one SYN and one SYN/ACK
//! in each capture count (a retransmitted SYN or SYN/ACK makes the gaps ambiguous).
//!
//! Without such a handshake, each capture's own handshakes are read as `analyze` reads its
//! capture point: the TTL (a packet captured on the host that sent it still has its initial
//! 64, 128 or 255; one that crossed a router has less), else the gaps within the capture (one
//! at least 4 times the other). A capture's handshakes must all agree, and the two captures
//! must not contradict each other. Anything weaker leaves the order as given.
use std::net::IpAddr;

use serde::Serialize;

use crate::capture::CaptureReader;
use crate::pipeline::{drive, Seen, Sink};
use mptcp_wire::decode::{Decoded, TcpSegment};
use std::ops::ControlFlow;

/// Both gap differences of a handshake must be at least this (a round trip between the capture
/// points; timestamps of two captures at the same point differ by a few microseconds).
pub const MIN_ROUND_TRIP_NS: i64 = 5_000;

/// Handshakes kept per capture (the first ones; later ones are not needed).
const MAX_HANDSHAKES: usize = 4096;

/// A capture's scan stops after this many complete handshakes.
const ENOUGH: usize = 32;

type Flow4 = (IpAddr, u16, IpAddr, u16);

/// One handshake at one capture.
#[derive(Debug, Clone, Default)]
struct Hs {
    syn_isn: u32,
    syns: u32,
    syn_ts: u64,
    syn_ttl: u8,
    synack: Option<(u32, u64, u8)>,
    synacks: u32,
    ack_ts: Option<u64>,
}

/// The handshakes at the start of one capture.
#[derive(Debug, Default)]
pub struct Handshakes {
    /// The client → server 4-tuple of each handshake (its SYN's).
    flows: ahash::HashMap<Flow4, usize>,
    hs: Vec<Hs>,
    complete: usize,
}

impl Handshakes {
    pub fn new() -> Self {
        Self::default()
    }

    /// One TCP packet of the capture, in capture order.
    pub fn packet(&mut self, ts: u64, seg: &TcpSegment<'_>) {
        let f = (seg.src, seg.sport, seg.dst, seg.dport);
        let (syn, ack) = (seg.flags.syn(), seg.flags.ack());
        if syn && !ack {
            if let Some(h) = self.flows.get(&f).and_then(|&i| self.hs.get_mut(i)) {
                if h.syn_isn == seg.seq && h.synack.is_none() {
                    h.syns += 1;
                }
                return;
            }
            if self.hs.len() < MAX_HANDSHAKES {
                self.flows.insert(f, self.hs.len());
                self.hs.push(Hs { syn_isn: seg.seq, syns: 1, syn_ts: ts, syn_ttl: seg.ttl, ..Default::default() });
            }
            return;
        }
        if syn {
            let rev = (seg.dst, seg.dport, seg.src, seg.sport);
            let Some(h) = self.flows.get(&rev).and_then(|&i| self.hs.get_mut(i)) else { return };
            if seg.ack != h.syn_isn.wrapping_add(1) {
                return;
            }
            h.synacks += 1;
            h.synack.get_or_insert((seg.seq, ts, seg.ttl));
            return;
        }
        if !ack {
            return;
        }
        let Some(h) = self.flows.get(&f).and_then(|&i| self.hs.get_mut(i)) else { return };
        if let (Some((isn, _, _)), None) = (h.synack, h.ack_ts) {
            if seg.ack == isn.wrapping_add(1) && seg.seq == h.syn_isn.wrapping_add(1) {
                h.ack_ts = Some(ts);
                self.complete += 1;
            }
        }
    }

    /// Enough handshakes were seen: the rest of the capture need not be scanned.
    pub fn enough(&self) -> bool {
        self.complete >= ENOUGH
    }

    /// The handshakes with one SYN and one SYN/ACK, by (SYN ISN, SYN/ACK ISN).
    fn clean(&self) -> ahash::HashMap<(u32, u32), &Hs> {
        let mut m: ahash::HashMap<(u32, u32), &Hs> = Default::default();
        let mut dup = Vec::new();
        for h in &self.hs {
            let Some((isn, _, _)) = h.synack else { continue };
            if h.syns != 1 || h.synacks != 1 {
                continue;
            }
            if m.insert((h.syn_isn, isn), h).is_some() {
                dup.push((h.syn_isn, isn));
            }
        }
        for k in dup {
            m.remove(&k);
        }
        m
    }
}

/// Reads a capture's start into [`Handshakes`]: until enough handshakes, the end, a read
/// error (the real pass reports it), `max_packets` packets, or `go_on` says stop.
pub fn scan(reader: &mut CaptureReader, max_packets: u64, go_on: &mut dyn FnMut() -> bool) -> Handshakes {
    let mut scan = Scan { h: Handshakes::new(), left: max_packets, go_on };
    if scan.left > 0 && !scan.h.enough() && (scan.go_on)() {
        drive(reader, None, &mut scan);
    }
    scan.h
}

/// [`scan`]'s sink.
struct Scan<'a> {
    h: Handshakes,
    left: u64,
    go_on: &'a mut dyn FnMut() -> bool,
}

impl Sink for Scan<'_> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        self.left -= 1;
        if let Decoded::Tcp(seg) = seen.decoded {
            self.h.packet(seen.packet.ts_ns, seg);
        }
        if self.left == 0 || self.h.enough() || !(self.go_on)() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

crate::track::kinds::kinds! {
    /// What decided which capture is the client's.
    EndsRule {
        /// Handshakes seen in both captures.
        HandshakeTiming = "handshake timing",
        /// Each capture's own handshakes: which end's TTLs are still initial ones.
        Ttl = "ttl",
        /// Each capture's own handshakes: their gaps.
        HandshakeGaps = "handshake gaps",
        /// No clear evidence: the order as given.
        Unclear = "none",
    }
}

/// Which capture was taken as the client's, and why (`ends` in `pair`'s JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ends {
    /// The captures were given server side first and were swapped.
    pub swapped: bool,
    /// What decided: `handshake timing` (handshakes seen in both captures), `ttl` or
    /// `handshake gaps` (each capture's own handshakes), or `none` (no clear evidence: the
    /// order as given).
    pub rule: EndsRule,
    /// Handshakes that say the client's capture is the one taken as such, and that say the
    /// other (with `handshake timing`: handshakes seen in both captures; otherwise: handshakes
    /// in either capture).
    pub handshakes_for: usize,
    pub handshakes_against: usize,
}

fn initial_ttl(t: u8) -> bool {
    matches!(t, 64 | 128 | 255)
}

/// Where one handshake says its capture was taken: `Some(true)` client side, `Some(false)`
/// server side, with the rule.
fn near_client(h: &Hs) -> Option<(bool, EndsRule)> {
    let (_, synack_ts, synack_ttl) = h.synack?;
    if h.syn_ttl > 0 && synack_ttl > 0 {
        match (initial_ttl(h.syn_ttl), initial_ttl(synack_ttl)) {
            (true, false) => return Some((true, EndsRule::Ttl)),
            (false, true) => return Some((false, EndsRule::Ttl)),
            _ => {}
        }
    }
    let a = synack_ts.checked_sub(h.syn_ts)?;
    let b = h.ack_ts?.checked_sub(synack_ts)?;
    if a >= b.saturating_mul(4) && a > 0 {
        Some((true, EndsRule::HandshakeGaps))
    } else if b >= a.saturating_mul(4) && b > 0 {
        Some((false, EndsRule::HandshakeGaps))
    } else {
        None
    }
}

/// Whether a handshake seen at both captures says the first is the client's (`Some(true)`) or
/// the second (`Some(false)`).
fn first_is_client(a: &Hs, b: &Hs) -> Option<bool> {
    // signed differences of capture times (any u64 values: no overflow)
    let diff = |later: u64, earlier: u64| i128::from(later) - i128::from(earlier);
    let gap = |h: &Hs| -> Option<(i128, Option<i128>)> {
        let (_, t, _) = h.synack?;
        Some((diff(t, h.syn_ts), h.ack_ts.map(|x| diff(x, t))))
    };
    let ((a1, a2), (b1, b2)) = (gap(a)?, gap(b)?);
    // longer SYN -> SYN/ACK gap at the client's point; longer SYN/ACK -> ACK at the server's
    let d1 = a1 - b1;
    let d2 = a2.zip(b2).map(|(a2, b2)| b2 - a2);
    let min = i128::from(MIN_ROUND_TRIP_NS);
    let agrees = |sign: i128| sign * d1 >= min && d2.is_none_or(|d| sign * d >= min);
    if agrees(1) {
        Some(true)
    } else if agrees(-1) {
        Some(false)
    } else {
        None
    }
}

/// Which capture is the client's: `first` and `second` in the order given.
pub fn decide(first: &Handshakes, second: &Handshakes) -> Ends {
    let (ca, cb) = (first.clean(), second.clean());
    let (mut yes, mut no) = (0, 0);
    for (k, a) in &ca {
        let Some(b) = cb.get(k) else { continue };
        match first_is_client(a, b) {
            Some(true) => yes += 1,
            Some(false) => no += 1,
            None => {}
        }
    }
    let keep = Ends { swapped: false, rule: EndsRule::Unclear, handshakes_for: yes, handshakes_against: no };
    if yes + no > 0 {
        return match (yes, no) {
            (_, 0) => Ends { rule: EndsRule::HandshakeTiming, ..keep },
            (0, _) => Ends { swapped: true, rule: EndsRule::HandshakeTiming, handshakes_for: no, handshakes_against: yes },
            _ => keep,
        };
    }
    // each capture on its own: votes for "the first capture is the client's"
    let (mut yes, mut no, mut rules) = (0, 0, Vec::new());
    for (hs, is_first) in [(&ca, true), (&cb, false)] {
        for h in hs.values() {
            let Some((client, rule)) = near_client(h) else { continue };
            rules.push(rule);
            if client == is_first {
                yes += 1;
            } else {
                no += 1;
            }
        }
    }
    let rule = match rules.iter().all(|&r| r == EndsRule::Ttl) {
        true => EndsRule::Ttl,
        false => EndsRule::HandshakeGaps,
    };
    match (yes, no) {
        (0, 0) => keep,
        (_, 0) => Ends { swapped: false, rule, handshakes_for: yes, handshakes_against: 0 },
        (0, _) => Ends { swapped: true, rule, handshakes_for: no, handshakes_against: 0 },
        _ => Ends { handshakes_for: yes, handshakes_against: no, ..keep },
    }
}

/// Why the captures were swapped, for the warning on standard error.
pub fn reason(e: &Ends) -> String {
    let n = e.handshakes_for + e.handshakes_against;
    let k = e.handshakes_for;
    match e.rule {
        EndsRule::HandshakeTiming => format!(
            "in {k} of {n} handshakes seen in both captures, SYN -> SYN/ACK takes longer at the client's and SYN/ACK -> ACK at the server's, by a round trip between the points"
        ),
        EndsRule::Ttl => format!(
            "in {k} of {n} handshakes, the TTLs say so: the SYN's still an initial one (64, 128, 255) at the client's capture, the SYN/ACK's at the server's"
        ),
        _ => format!(
            "in {k} of {n} handshakes, the gaps say so: SYN -> SYN/ACK at least 4 times SYN/ACK -> ACK at the client's capture, the other way round at the server's"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(syn: u64, synack: u64, ack: Option<u64>, ttl: (u8, u8)) -> Hs {
        Hs { syn_isn: 1, syns: 1, syn_ts: syn, syn_ttl: ttl.0, synack: Some((2, synack, ttl.1)), synacks: 1, ack_ts: ack }
    }

    fn of(h: Hs) -> Handshakes {
        Handshakes { flows: Default::default(), hs: vec![h], complete: 1 }
    }

    #[test]
    fn timing_across_the_captures() {
        // client point: SYN 0, SYN/ACK 94 µs, ACK 127 µs; server point: 64, 87, 133 µs
        let c = hs(0, 94_000, Some(127_000), (64, 63));
        let s = hs(64_000, 87_000, Some(133_000), (63, 64));
        let e = decide(&of(c.clone()), &of(s.clone()));
        assert_eq!((e.swapped, e.rule, e.handshakes_for), (false, EndsRule::HandshakeTiming, 1));
        let e = decide(&of(s), &of(c));
        assert_eq!((e.swapped, e.rule, e.handshakes_for), (true, EndsRule::HandshakeTiming, 1));
    }

    #[test]
    fn the_same_point_twice_is_no_evidence() {
        let a = hs(0, 94_000, Some(127_000), (64, 64));
        let b = hs(1_000, 96_000, Some(128_000), (64, 64));
        let e = decide(&of(a), &of(b));
        assert_eq!((e.swapped, e.rule), (false, EndsRule::Unclear));
    }

    #[test]
    fn contradicting_gaps_are_no_evidence() {
        // SYN -> SYN/ACK says the first is the client's, SYN/ACK -> ACK the second
        let a = hs(0, 94_000, Some(100_000), (0, 0));
        let b = hs(50_000, 60_000, Some(60_000), (0, 0));
        assert_eq!(decide(&of(a), &of(b)).rule, EndsRule::Unclear);
    }

    #[test]
    fn any_timestamps_without_a_panic() {
        for (x, y) in [(0, u64::MAX), (u64::MAX, 0), (u64::MAX, u64::MAX)] {
            let a = hs(x, y, Some(x), (0, 0));
            let b = hs(y, x, Some(y), (0, 0));
            let _ = decide(&of(a.clone()), &of(b.clone()));
            let _ = decide(&of(b), &of(a));
        }
    }

    #[test]
    fn ttl_when_no_handshake_is_in_both() {
        let mut s = hs(0, 20_000, Some(60_000), (63, 64));
        s.syn_isn = 7;
        let e = decide(&of(s), &Handshakes::new());
        assert_eq!((e.swapped, e.rule), (true, EndsRule::Ttl));
    }
}
