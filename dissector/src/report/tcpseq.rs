//! tcpdump's TCP sequence and acknowledgement numbers for `dissect`'s text lines: relative to
//! the connection's first numbers (unless absolute numbers are asked for, as tcpdump's `-S`),
//! and printed only where tcpdump prints them.
//!
//! tcpdump's rule (print-tcp.c), followed here to the letter so the two can be compared line by
//! line: a segment with ACK set looks its four-tuple up (both directions share one entry); a
//! SYN, or a four-tuple not seen yet, sets the entry's bases (this side's sequence number and
//! the acknowledgement number minus one for the other side) and is printed with absolute
//! numbers; later segments print `seq - base`, `ack - base of the other side`. Segments without
//! ACK (the first SYN) always show absolute numbers. `seq` is printed when the segment carries
//! data or SYN, FIN or RST (`seq A:B` with data, B = A + length); `ack` when ACK is set.
//!
//! tcpdump keeps every four-tuple it has seen; this table forgets them all once it holds
//! [`MAX_FLOWS`] (memory follows a bound, not the capture): a flow seen again after that starts
//! over with absolute numbers at its next ACK, as a flow tcpdump sees for the first time.
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::IpAddr;

use mptcp_wire::decode::{TcpFlags, TcpSegment};

/// Four-tuples remembered before the table is emptied.
pub const MAX_FLOWS: usize = 65_536;

/// One end of a four-tuple.
type End = (IpAddr, u16);

/// The bases of the four-tuples seen, keyed by the four-tuple in one fixed order.
#[derive(Debug, Default)]
pub struct RelativeSeq {
    /// (lower end, higher end) → (base of the lower end's numbers, base of the higher end's).
    flows: HashMap<(End, End), (u32, u32)>,
    absolute: bool,
}

impl RelativeSeq {
    /// `absolute`: print the numbers as they are on the wire (tcpdump `-S`).
    pub fn new(absolute: bool) -> Self {
        RelativeSeq { flows: HashMap::new(), absolute }
    }

    /// The sequence and acknowledgement numbers to print for `seg`: every TCP segment the
    /// printer is shown goes through here, printed or not (tcpdump sees every one it prints).
    pub fn numbers(&mut self, seg: &TcpSegment<'_>) -> (u32, u32) {
        if self.absolute || !seg.flags.has(TcpFlags::ACK) {
            return (seg.seq, seg.ack);
        }
        let (me, peer) = ((seg.src, seg.sport), (seg.dst, seg.dport));
        let forward = me <= peer;
        let key = if forward { (me, peer) } else { (peer, me) };
        match self.flows.get(&key) {
            Some(&(low, high)) if !seg.flags.has(TcpFlags::SYN) => {
                let (mine, theirs) = if forward { (low, high) } else { (high, low) };
                (seg.seq.wrapping_sub(mine), seg.ack.wrapping_sub(theirs))
            }
            _ => {
                if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&key) {
                    self.flows.clear();
                }
                let (mine, theirs) = (seg.seq, seg.ack.wrapping_sub(1));
                self.flows.insert(key, if forward { (mine, theirs) } else { (theirs, mine) });
                (seg.seq, seg.ack)
            }
        }
    }
}

/// Writes `, seq …`, `, ack …` for `seg` as tcpdump prints them (either may be absent), with
/// the numbers [`RelativeSeq::numbers`] gave.
pub fn write_numbers(out: &mut Vec<u8>, seg: &TcpSegment<'_>, (seq, ack): (u32, u32)) -> io::Result<()> {
    let flags = seg.flags;
    if seg.payload_len > 0 || flags.has(TcpFlags::SYN) || flags.has(TcpFlags::FIN) || flags.has(TcpFlags::RST) {
        write!(out, ", seq {seq}")?;
        if seg.payload_len > 0 {
            write!(out, ":{}", seq.wrapping_add(seg.payload_len))?;
        }
    }
    if flags.has(TcpFlags::ACK) {
        write!(out, ", ack {ack}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(src: u8, dst: u8, flags: u8, seq: u32, ack: u32, len: u32) -> TcpSegment<'static> {
        TcpSegment {
            src: IpAddr::from([192, 0, 2, src]),
            dst: IpAddr::from([192, 0, 2, dst]),
            sport: u16::from(src) * 1000,
            dport: u16::from(dst) * 1000,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 0,
            options: &[],
            options_truncated: false,
            payload: &[],
            payload_len: len,
            ttl: 64,
            checksum: 0,
            tunnel: None,
        }
    }

    fn line(r: &mut RelativeSeq, s: &TcpSegment<'_>) -> String {
        let mut out = Vec::new();
        let n = r.numbers(s);
        write_numbers(&mut out, s, n).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The handshake and first data of tcpdump's own output for testdata/two-subflows.pcap
    /// (frames 5 to 8, 13): absolute on the SYN and SYN/ACK, then relative.
    #[test]
    fn handshake_then_relative() {
        let mut r = RelativeSeq::new(false);
        let (syn, ack, psh) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::PSH);
        assert_eq!(line(&mut r, &seg(1, 2, syn, 3328962296, 0, 0)), ", seq 3328962296");
        assert_eq!(line(&mut r, &seg(2, 1, syn | ack, 2400188833, 3328962297, 0)), ", seq 2400188833, ack 3328962297");
        assert_eq!(line(&mut r, &seg(1, 2, ack, 3328962297, 2400188834, 0)), ", ack 1");
        assert_eq!(line(&mut r, &seg(1, 2, ack | psh, 3328962297, 2400188834, 1424)), ", seq 1:1425, ack 1");
        assert_eq!(line(&mut r, &seg(2, 1, ack, 2400188834, 3328963721, 0)), ", ack 1425");
        let mut abs = RelativeSeq::new(true);
        assert_eq!(line(&mut abs, &seg(1, 2, ack, 3328962297, 2400188834, 0)), ", ack 2400188834");
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut r = RelativeSeq::new(false);
        for i in 0..(MAX_FLOWS as u32 + 10) {
            let mut s = seg(1, 2, TcpFlags::ACK, i, i, 0);
            s.sport = (i % 60_000) as u16;
            s.src = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
            r.numbers(&s);
        }
        assert!(r.flows.len() <= MAX_FLOWS);
    }
}
