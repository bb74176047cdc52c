//! Several captures of the same traffic as one (`--merge`): packets of all inputs in timestamp
//! order by a k-way merge. Streaming: each input holds one packet ahead (copied into a buffer it
//! reuses), so memory is that of the inputs' readers plus one packet each. Inputs may differ in
//! link type and timestamp resolution (each packet keeps its own link type; timestamps are
//! nanoseconds already). Ties keep the order of the inputs as given.
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{CaptureError, CaptureReader, Packet};

/// One input's next packet, copied out of its reader.
struct Head {
    ts_ns: u64,
    linktype: u32,
    orig_len: u32,
    frame: u64,
    ts_digits: u8,
    data: Vec<u8>,
}

struct Input {
    reader: CaptureReader,
    head: Option<Head>,
    spare: Vec<u8>,
    end: Option<CaptureError>,
    packets: u64,
}

impl Input {
    /// Reads the next packet into `head` (reusing the buffer of the previous one).
    fn advance(&mut self) {
        let mut buf = std::mem::take(&mut self.spare);
        match self.reader.next_packet() {
            Ok(Some(p)) => {
                buf.clear();
                buf.extend_from_slice(p.data);
                self.head = Some(Head {
                    ts_ns: p.ts_ns,
                    linktype: p.linktype,
                    orig_len: p.orig_len,
                    frame: p.frame,
                    ts_digits: p.ts_digits,
                    data: buf,
                });
            }
            Ok(None) => {
                self.head = None;
                self.spare = buf;
            }
            Err(e) => {
                self.head = None;
                self.spare = buf;
                self.end = Some(e);
            }
        }
    }
}

/// A packet of the merged stream: `frame` numbers the merged stream (1-based); `input` says
/// which capture it came from and `input_frame` its frame there.
#[derive(Debug, Clone, Copy)]
pub struct MergedPacket<'a> {
    pub packet: Packet<'a>,
    pub input: usize,
    pub input_frame: u64,
}

/// The k-way merge of several captures by timestamp.
pub struct MergedReader {
    inputs: Vec<Input>,
    /// (timestamp, input) of every input that has a packet ahead.
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    cur: Option<(usize, Head)>,
    frame: u64,
    /// Packets still to hand out (`-c` over the merged stream); `None`: all.
    left: Option<u64>,
    first_ts_ns: Option<u64>,
    last_ts_ns: u64,
}

impl MergedReader {
    pub fn new(readers: Vec<CaptureReader>) -> Self {
        let mut inputs: Vec<Input> =
            readers.into_iter().map(|reader| Input { reader, head: None, spare: Vec::new(), end: None, packets: 0 }).collect();
        let mut heap = BinaryHeap::new();
        for (i, input) in inputs.iter_mut().enumerate() {
            input.advance();
            if let Some(h) = &input.head {
                heap.push(Reverse((h.ts_ns, i)));
            }
        }
        MergedReader { inputs, heap, cur: None, frame: 0, left: None, first_ts_ns: None, last_ts_ns: 0 }
    }

    /// Stops after `count` packets of the merged stream (`-c`).
    pub fn set_limit(&mut self, count: u64) {
        self.left = Some(count);
    }

    /// The next packet of all inputs, earliest first; `None` when every input has ended (an
    /// input that fails ends there: see [`MergedReader::ends`]).
    pub fn next_packet(&mut self) -> Option<MergedPacket<'_>> {
        // Give the previous packet's buffer back to its input.
        if let Some((i, h)) = self.cur.take() {
            if let Some(input) = self.inputs.get_mut(i) {
                input.spare = h.data;
            }
        }
        if self.left == Some(0) {
            return None;
        }
        let Reverse((_, i)) = self.heap.pop()?;
        let input = self.inputs.get_mut(i)?;
        let head = input.head.take()?;
        input.packets += 1;
        input.advance();
        if let Some(h) = &input.head {
            self.heap.push(Reverse((h.ts_ns, i)));
        }
        self.frame += 1;
        if let Some(left) = self.left.as_mut() {
            *left -= 1;
        }
        let first_ts_ns = *self.first_ts_ns.get_or_insert(head.ts_ns);
        let prev = std::mem::replace(&mut self.last_ts_ns, head.ts_ns);
        let prev_ts_ns = if self.frame == 1 { head.ts_ns } else { prev };
        let (_, h) = self.cur.insert((i, head));
        Some(MergedPacket {
            packet: Packet {
                frame: self.frame,
                ts_ns: h.ts_ns,
                linktype: h.linktype,
                data: &h.data,
                orig_len: h.orig_len,
                prev_ts_ns,
                first_ts_ns,
                ts_digits: h.ts_digits,
            },
            input: i,
            input_frame: h.frame,
        })
    }

    /// How each input ended (`None`: at its end), and how many packets it gave.
    pub fn ends(&mut self) -> Vec<(Option<CaptureError>, u64)> {
        self.inputs.iter_mut().map(|i| (i.end.take(), i.packets)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic pcap (Ethernet, microseconds) with one 1-byte packet per timestamp (µs).
    fn pcap(times_us: &[u64], byte: u8) -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
        for &t in times_us {
            for v in [(t / 1_000_000) as u32, (t % 1_000_000) as u32, 1, 1] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.push(byte);
        }
        f
    }

    fn reader(b: Vec<u8>) -> CaptureReader {
        CaptureReader::new(std::io::Cursor::new(b)).unwrap()
    }

    #[test]
    fn packets_come_out_in_time_order_ties_by_input_order() {
        let mut m = MergedReader::new(vec![reader(pcap(&[1, 5, 9], b'a')), reader(pcap(&[2, 5, 6, 20], b'b'))]);
        let mut got = Vec::new();
        while let Some(p) = m.next_packet() {
            got.push((p.packet.frame, p.packet.ts_ns / 1000, p.packet.data[0], p.input, p.input_frame));
        }
        let want = vec![
            (1, 1, b'a', 0, 1),
            (2, 2, b'b', 1, 1),
            (3, 5, b'a', 0, 2),
            (4, 5, b'b', 1, 2),
            (5, 6, b'b', 1, 3),
            (6, 9, b'a', 0, 3),
            (7, 20, b'b', 1, 4),
        ];
        assert_eq!(got, want);
        let ends = m.ends();
        assert_eq!(ends.iter().map(|e| (e.0.is_none(), e.1)).collect::<Vec<_>>(), vec![(true, 3), (true, 4)]);
    }

    #[test]
    fn a_cut_input_ends_and_the_others_go_on() {
        let mut cut = pcap(&[1, 3], b'a');
        cut.truncate(cut.len() - 1);
        let mut m = MergedReader::new(vec![reader(cut), reader(pcap(&[2, 4], b'b'))]);
        let mut n = 0;
        while m.next_packet().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        let ends = m.ends();
        assert!(ends[0].0.as_ref().is_some_and(CaptureError::is_truncation));
        assert!(ends[1].0.is_none());
    }
}
