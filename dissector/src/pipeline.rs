//! The whole pipeline over a capture: read → decode → track → analysis. One driver
//! ([`drive`]) runs it over any [`Source`]: one capture ([`CaptureReader`]) or several merged
//! by time ([`MergedReader`]).
use crate::capture::merge::MergedReader;
use crate::capture::{CaptureError, CaptureReader, Packet};
use crate::track::{Analysis, Analyzer};
use mptcp_wire::decode::{decode, Decoded, TcpSegment};

/// Where the driver's packets come from.
pub trait Source {
    /// The next packet, and the capture it comes from when several are merged (0-based);
    /// `Ok(None)` at the end. An error ends the reading.
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<usize>)>, CaptureError>;
}

impl Source for CaptureReader {
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<usize>)>, CaptureError> {
        Ok(self.next_packet()?.map(|p| (p, None)))
    }
}

impl Source for MergedReader {
    /// Each capture's own error ends that capture only ([`MergedReader::ends`]).
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<usize>)>, CaptureError> {
        Ok(self.next_packet().map(|m| (m.packet, Some(m.input))))
    }
}

/// Runs every packet of `source` through `analyzer`; returns the digits of a second the
/// timestamps held and the error that ended the reading, if any.
pub fn drive(source: &mut impl Source, analyzer: &mut Analyzer) -> (u8, Option<CaptureError>) {
    let mut digits = 0;
    let mut copies = MergedCopies::default();
    let end = loop {
        match source.next_input() {
            Ok(Some((p, input))) => {
                digits = digits.max(p.ts_digits);
                if let Some(i) = input {
                    analyzer.set_input(i);
                }
                match decode(p.linktype, p.data) {
                    Decoded::Tcp(seg) => match input {
                        Some(i) if copies.seen_elsewhere(&seg, p.ts_ns, i) => analyzer.duplicate(),
                        _ => analyzer.packet(p.frame, p.ts_ns, &seg),
                    },
                    Decoded::Error(e) => analyzer.non_tcp(p.frame, p.ts_ns, Some(&e)),
                    Decoded::Fragment | Decoded::Other => analyzer.non_tcp(p.frame, p.ts_ns, None),
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (digits, end)
}

/// Runs every packet of `reader` through `analyzer`. A capture error ends the loop and is
/// returned beside the analysis of everything before it.
pub fn run(reader: &mut CaptureReader, mut analyzer: Analyzer) -> (Analysis, Option<CaptureError>) {
    let (digits, end) = drive(reader, &mut analyzer);
    let mut analysis = analyzer.finish();
    analysis.stats.ts_digits = digits;
    (analysis, end)
}

/// Runs the merged packets of several captures through `analyzer` (`--merge`): one analysis,
/// subflows joined to their connection by token across captures. A TCP segment seen at two
/// capture points (same addresses, ports, sequence, ack, flags, length and options, from another
/// capture, within a second) is counted once. Returns each capture's end beside the analysis.
pub fn run_merged(reader: &mut MergedReader, mut analyzer: Analyzer) -> (Analysis, Vec<Option<CaptureError>>) {
    let (digits, _) = drive(reader, &mut analyzer);
    let ends = reader.ends().into_iter().map(|(e, _)| e).collect();
    let mut analysis = analyzer.finish();
    analysis.stats.ts_digits = digits;
    (analysis, ends)
}

/// How far apart (capture time) two copies of one packet seen at two capture points may be.
const DUPLICATE_WINDOW_NS: u64 = 1_000_000_000;

/// Recent segments of merged captures, to count a segment seen at two capture points once.
#[derive(Default)]
struct MergedCopies {
    state: ahash::RandomState,
    /// key -> (time, capture)
    seen: ahash::HashMap<u64, (u64, usize)>,
    /// (time, key), oldest first, for expiry.
    order: std::collections::VecDeque<(u64, u64)>,
}

impl MergedCopies {
    /// The segment came from another capture within the window (a copy); else it is noted.
    fn seen_elsewhere(&mut self, seg: &TcpSegment<'_>, ts_ns: u64, input: usize) -> bool {
        let key =
            self.state.hash_one((seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.ack, seg.flags.0, seg.payload_len, seg.options));
        while self.order.front().is_some_and(|&(t, _)| t.saturating_add(DUPLICATE_WINDOW_NS) < ts_ns) {
            if let Some((t, k)) = self.order.pop_front() {
                if self.seen.get(&k).is_some_and(|&(t0, _)| t0 == t) {
                    self.seen.remove(&k);
                }
            }
        }
        match self.seen.get(&key) {
            Some(&(_, other)) if other != input => true,
            _ => {
                self.seen.insert(key, (ts_ns, input));
                self.order.push_back((ts_ns, key));
                false
            }
        }
    }
}
