//! The whole pipeline over a capture: read → decode → track → analysis.
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{decode, Decoded};
use crate::track::{Analysis, Analyzer};

/// Runs every packet of `reader` through `analyzer`. A capture error ends the loop and is
/// returned beside the analysis of everything before it.
pub fn run(reader: &mut CaptureReader, mut analyzer: Analyzer) -> (Analysis, Option<CaptureError>) {
    let mut digits = 0;
    let end = loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                digits = digits.max(p.ts_digits);
                match decode(p.linktype, p.data) {
                    Decoded::Tcp(seg) => analyzer.packet(p.frame, p.ts_ns, &seg),
                    Decoded::Error(e) => analyzer.non_tcp(p.frame, p.ts_ns, Some(&e)),
                    Decoded::Fragment | Decoded::Other => analyzer.non_tcp(p.frame, p.ts_ns, None),
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let mut analysis = analyzer.finish();
    analysis.stats.ts_digits = digits;
    (analysis, end)
}

/// How far apart (capture time) two copies of one packet seen at two capture points may be.
const DUPLICATE_WINDOW_NS: u64 = 1_000_000_000;

/// Runs the merged packets of several captures through `analyzer` (`--merge`): one analysis,
/// subflows joined to their connection by token across captures. A TCP segment seen at two
/// capture points (same addresses, ports, sequence, ack, flags, length and options, from another
/// capture, within a second) is counted once. Returns each capture's end beside the analysis.
pub fn run_merged(reader: &mut crate::capture::merge::MergedReader, mut analyzer: Analyzer) -> (Analysis, Vec<Option<CaptureError>>) {
    let state = ahash::RandomState::new();
    let mut digits = 0;
    // Recent segments: key -> (time, capture), oldest first in `order` for expiry.
    let mut seen: ahash::HashMap<u64, (u64, usize)> = ahash::HashMap::default();
    let mut order: std::collections::VecDeque<(u64, u64)> = std::collections::VecDeque::new();
    while let Some(m) = reader.next_packet() {
        let p = m.packet;
        digits = digits.max(p.ts_digits);
        analyzer.set_input(m.input);
        match decode(p.linktype, p.data) {
            Decoded::Tcp(seg) => {
                let key =
                    state.hash_one((seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.ack, seg.flags.0, seg.payload_len, seg.options));
                while order.front().is_some_and(|&(t, _)| t.saturating_add(DUPLICATE_WINDOW_NS) < p.ts_ns) {
                    if let Some((t, k)) = order.pop_front() {
                        if seen.get(&k).is_some_and(|&(t0, _)| t0 == t) {
                            seen.remove(&k);
                        }
                    }
                }
                match seen.get(&key) {
                    Some(&(_, input)) if input != m.input => analyzer.duplicate(),
                    _ => {
                        seen.insert(key, (p.ts_ns, m.input));
                        order.push_back((p.ts_ns, key));
                        analyzer.packet(p.frame, p.ts_ns, &seg);
                    }
                }
            }
            Decoded::Error(e) => analyzer.non_tcp(p.frame, p.ts_ns, Some(&e)),
            Decoded::Fragment | Decoded::Other => analyzer.non_tcp(p.frame, p.ts_ns, None),
        }
    }
    let ends = reader.ends().into_iter().map(|(e, _)| e).collect();
    let mut analysis = analyzer.finish();
    analysis.stats.ts_digits = digits;
    (analysis, ends)
}
