//! The whole pipeline over a capture: read → decode → track → analysis. One driver
//! ([`drive`]) runs it over any [`Source`] (one capture, [`CaptureReader`], or several merged by
//! time, [`MergedReader`]) and hands what it finds to a [`Sink`] the caller lends it by `&mut`
//! and owns again when the run is over.
//!
//! ```
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::pipeline::{run_into, Sink};
//! use mptcp_dissector::track::{Analyzer, Connection, Limits, Subflow};
//!
//! /// Counts the subflows of each finished connection, keeping nothing else.
//! #[derive(Default)]
//! struct Count(Vec<usize>);
//! impl Sink for Count {
//!     fn connection(&mut self, _conn: Connection, subflows: Vec<Subflow>) {
//!         self.0.push(subflows.len());
//!     }
//! }
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let mut count = Count::default();
//! let analyzer = Analyzer::new(Limits::default()).hand_over_finished();
//! let (analysis, end) = run_into(&mut reader, analyzer, &mut count);
//! assert!(end.is_none());
//! assert!(analysis.connections.is_empty(), "handed over, not kept");
//! assert_eq!(count.0, [2]);
//! ```
use std::ops::ControlFlow;

use crate::capture::merge::MergedReader;
use crate::capture::{CaptureError, CaptureReader, Packet};
use crate::track::{Analysis, Analyzer, Connection, Event, Finished, SegmentRecord, Subflow};
use mptcp_wire::crypto::Token;
use mptcp_wire::decode::{decode, Decoded, TcpSegment};

/// Where the driver's packets come from.
pub trait Source {
    /// The next packet, and where it comes from when several captures are merged; `Ok(None)`
    /// at the end. An error ends the reading.
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<Origin>)>, CaptureError>;
}

/// Where a packet of merged captures comes from.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The capture (0-based, in the order given).
    pub input: usize,
    /// The packet's frame number in that capture (the packet's own `frame` numbers the merged
    /// stream).
    pub frame: u64,
}

impl Source for CaptureReader {
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<Origin>)>, CaptureError> {
        Ok(self.next_packet()?.map(|p| (p, None)))
    }
}

impl Source for MergedReader {
    /// Each capture's own error ends that capture only ([`MergedReader::ends`]).
    fn next_input(&mut self) -> Result<Option<(Packet<'_>, Option<Origin>)>, CaptureError> {
        Ok(self.next_packet().map(|m| (m.packet, Some(Origin { input: m.input, frame: m.input_frame }))))
    }
}

/// One packet as the driver saw it, after the analyzer (when there is one) took it.
pub struct Seen<'a> {
    pub packet: &'a Packet<'a>,
    /// Where it comes from when several captures are merged.
    pub input: Option<Origin>,
    pub decoded: &'a Decoded<'a>,
    /// The analyzer's record of the segment, when it tracked it.
    pub record: Option<&'a SegmentRecord>,
    /// The analyzer, to look up the connection the record names.
    pub analyzer: Option<&'a Analyzer<'a>>,
}

/// What a run hands out, in capture order. Every method has a default that ignores it.
pub trait Sink {
    /// Every packet read ([`drive`] with or without an analyzer); `Break` ends the reading
    /// (e.g. the output failed).
    fn packet(&mut self, _seen: &Seen<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// The analyzer's record of each TCP segment it tracked.
    fn segment(&mut self, _record: &SegmentRecord) {}
    /// A connection finished (with [`Analyzer::hand_over_finished`]); `subflows` are its own,
    /// in id order. Its results are final.
    fn connection(&mut self, _conn: Connection, _subflows: Vec<Subflow>) {}
    /// A flow outside every connection finished (plain TCP, or MPTCP options without a
    /// connection in the capture: an orphan), with [`Analyzer::hand_over_finished`].
    fn flow(&mut self, _flow: Subflow) {}
    /// An event (with [`Analyzer::hand_over_events`]), in capture order, with its connection's
    /// client and server tokens as known when it is handed: after the packet that showed it
    /// ([`Sink::packet`]), before its connection is handed over (without waiting for tokens).
    fn event(&mut self, _event: &Event, _tokens: [Option<Token>; 2]) {}
}

/// No sink: the analysis keeps what it finds.
impl Sink for () {}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        (**self).packet(seen)
    }
    fn segment(&mut self, record: &SegmentRecord) {
        (**self).segment(record)
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        (**self).connection(conn, subflows)
    }
    fn flow(&mut self, flow: Subflow) {
        (**self).flow(flow)
    }
    fn event(&mut self, event: &Event, tokens: [Option<Token>; 2]) {
        (**self).event(event, tokens)
    }
}

fn hand<S: Sink + ?Sized>(sink: &mut S, done: Finished) {
    match done {
        Finished::Connection(conn, subflows) => sink.connection(conn, subflows),
        Finished::Flow(flow) => sink.flow(flow),
        Finished::Event(event, tokens) => sink.event(&event, tokens),
    }
}

/// Runs every packet of `source` through `analyzer` (when there is one) and hands what it
/// finds to `sink`; returns the digits of a second the timestamps held and the error that ended
/// the reading, if any. A TCP segment seen at two capture points of merged captures (same
/// addresses, ports, sequence, ack, flags, length and options, from another capture, within a
/// second) is given to the analyzer once.
pub fn drive<S: Sink + ?Sized>(source: &mut impl Source, mut analyzer: Option<&mut Analyzer>, sink: &mut S) -> (u8, Option<CaptureError>) {
    let mut digits = 0;
    let mut copies = MergedCopies::default();
    let end = loop {
        match source.next_input() {
            Ok(Some((p, input))) => {
                digits = digits.max(p.ts_digits);
                let decoded = decode(p.linktype, p.data);
                let mut recorded = false;
                if let Some(an) = analyzer.as_deref_mut() {
                    if let Some(o) = input {
                        an.set_input(o.input);
                    }
                    match &decoded {
                        Decoded::Tcp(seg) => match input {
                            Some(o) if copies.seen_elsewhere(seg, p.ts_ns, o.input) => an.duplicate(),
                            _ => recorded = an.packet(p.frame, p.ts_ns, seg).is_some(),
                        },
                        Decoded::Error(e) => an.non_tcp(p.frame, p.ts_ns, Some(e)),
                        Decoded::Fragment | Decoded::Other => an.non_tcp(p.frame, p.ts_ns, None),
                    }
                    while let Some(done) = an.take_finished() {
                        hand(sink, done);
                    }
                }
                let an = analyzer.as_deref();
                let record = an.filter(|_| recorded).map(Analyzer::record);
                if let Some(r) = record {
                    sink.segment(r);
                }
                let seen = Seen { packet: &p, input, decoded: &decoded, record, analyzer: an };
                if sink.packet(&seen).is_break() {
                    break None;
                }
                // The packet's events after the packet (a sink that prints them knows its time).
                if let Some(an) = analyzer.as_deref_mut() {
                    while let Some((e, tokens)) = an.take_event() {
                        sink.event(&e, tokens);
                    }
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (digits, end)
}

/// Ends `analyzer`'s run: what is still open is finished and handed to `sink`.
pub fn finish<S: Sink + ?Sized>(analyzer: Analyzer, digits: u8, sink: &mut S) -> Analysis {
    let mut analysis = analyzer.finish_handing(|done| hand(sink, done));
    analysis.stats.ts_digits = digits;
    analysis
}

/// Runs every packet of `source` through `analyzer`, handing what it finds to `sink`, to the
/// end. A capture error ends the loop and is returned beside the analysis of everything before
/// it.
pub fn run_into<S: Sink + ?Sized>(source: &mut impl Source, mut analyzer: Analyzer, sink: &mut S) -> (Analysis, Option<CaptureError>) {
    let (digits, end) = drive(source, Some(&mut analyzer), sink);
    (finish(analyzer, digits, sink), end)
}

/// Runs every packet of `reader` through `analyzer`: the whole analysis. A capture error ends the
/// loop and is returned beside the analysis of everything before it.
pub fn run(reader: &mut CaptureReader, analyzer: Analyzer) -> (Analysis, Option<CaptureError>) {
    run_into(reader, analyzer, &mut ())
}

/// Runs the merged packets of several captures through `analyzer` (`--merge`): one analysis,
/// subflows joined to their connection by token across captures, a segment seen at two capture
/// points counted once. Returns each capture's end beside the analysis.
pub fn run_merged<S: Sink + ?Sized>(reader: &mut MergedReader, analyzer: Analyzer, sink: &mut S) -> (Analysis, Vec<Option<CaptureError>>) {
    let (analysis, _) = run_into(reader, analyzer, sink);
    let ends = reader.ends().into_iter().map(|(e, _)| e).collect();
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
