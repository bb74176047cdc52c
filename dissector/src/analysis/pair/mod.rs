//! The same traffic seen at two capture points (`mptcp-trace pair CLIENT SERVER`): TCP segments
//! matched across the two captures, loss between the points and one-way delay per subflow and
//! direction.
//!
//! Both captures are read streaming, merged in time order ([`MergedReader`]). A segment (a TCP
//! packet with payload, SYN or FIN) is identified by its directed 4-tuple, raw sequence number
//! and payload length. When the same key is seen several times (retransmissions), a copy is
//! matched to the unmatched copy of the other capture with the same TCP timestamp value and ack,
//! else to the first unmatched copy in order of appearance. A segment left unmatched for
//! [`PairOptions::window_ns`] of capture time (or pushed out by the [`PairOptions::max_pending`]
//! cap) is final: at the sender's capture it was lost between the points, at the receiver's it
//! was seen only there. Memory: the unmatched segments within the window, the segments with a
//! mapping until their matching is final, the DSN ranges first sent within the window, one delay
//! sample (8 bytes) per matched segment up to [`PairOptions::max_samples`] (then thinned), and
//! the flows, each bounded by a [`PairOptions`] cap that the report names when reached.
//!
//! A copy made final unmatched still counts as matched when unmatched copies at the other
//! capture with the same TSval cover its byte range (segmentation offload: TSO/GRO).
//!
//! Reinjections (MPTCP data sent again on another subflow) get a verdict from the matching:
//! useful when the original was lost between the points or the reinjection arrived first.
//!
//! A subflow is recognised at both points by its SYN (and SYN/ACK), so that a NAT between the
//! points does not break the matching: first by what MPTCP puts in it (MP_JOIN: the receiver's
//! token, the sender's address id and nonce; SYN/ACK: address id, nonce and truncated HMAC;
//! MP_CAPABLE: the sender's key where the option carries it), then by its ISN (SYN/ACK: with the
//! acknowledged ISN), and last, for subflows whose SYN was not captured, by equal 4-tuples. When a
//! middlebox rewrote the ISN, sequence numbers of the second point are translated into the first
//! point's space (and retransmissions are told apart by TSval alone).
//!
//! `model.rs` holds what the report says, `ident.rs` how a subflow is recognised at both points,
//! `matcher.rs` the matching, `reinject.rs` the reinjection verdicts, `finish.rs` the report
//! built from the matching, `text.rs` its text form.
mod finish;
mod ident;
mod matcher;
mod model;
mod reinject;
#[cfg(test)]
mod tests;
mod text;

pub use matcher::Pairer;
pub use model::{
    DirectionPair, LinkedBy, OwdSeries, OwdStats, PairOptions, PairReport, Reinjection, ReinjectionSummary, SubflowPair, SynKind, Unmatched,
};
pub use text::{render_text, write_text};

use std::ops::ControlFlow;

use crate::capture::merge::MergedReader;
use crate::capture::{CaptureError, CaptureReader};
use crate::pipeline::{drive, Seen, Sink};
use mptcp_wire::decode::Decoded;

/// How the two captures ended (`None`: at their end).
pub struct PairEnds {
    pub client: Option<CaptureError>,
    pub server: Option<CaptureError>,
}

/// The matcher takes the TCP segments of the merged captures.
impl Sink for Pairer {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        if let (Decoded::Tcp(seg), Some(o)) = (seen.decoded, seen.input) {
            self.packet(o.input, o.frame, seen.packet.ts_ns, seg);
        }
        ControlFlow::Continue(())
    }
}

/// Reads both captures (streaming, merged in time order) and matches their segments.
pub fn pair(client: CaptureReader, server: CaptureReader, opts: PairOptions) -> (PairReport, PairEnds) {
    let mut reader = MergedReader::new(vec![client, server]);
    let mut p = Pairer::new(opts);
    drive(&mut reader, None, &mut p);
    let mut ends = reader.ends().into_iter().map(|(e, _)| e);
    let client = ends.next().flatten();
    let server = ends.next().flatten();
    (p.finish(), PairEnds { client, server })
}
