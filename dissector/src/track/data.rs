//! The data level: one reassembler per connection direction, fed with mapped payload, and the
//! measures that come out of it (distinct bytes, gaps, reinjections, per-subflow shares).

use super::hashing::{Hashing, StreamHash};
use super::model::{Connection, Dir};
use super::receiver::{Carry, Copies, ReceiverView};
use crate::reassembly::{Chunk, HoleKind, Reassembler, ReassemblyLimits};
use crate::track::kinds::FoundBy;
use mptcp_wire::seq::DataSeq;

/// Receives a connection direction's data-level byte stream, in order.
pub trait DataSink {
    /// Bytes at `dsn`, contiguous with what came before (or with the last hole).
    fn data(&mut self, dsn: u64, bytes: &[u8]);
    /// `len` bytes at `dsn` that the capture does not have (never seen, or cut by snaplen).
    /// Only called when the analyzer was asked to deliver past holes.
    fn hole(&mut self, _dsn: u64, _len: u64, _never_seen: bool) {}
}

/// Shortest data-level duration a goodput is given for: below it (one packet, or a burst within
/// a millisecond) the quotient says more about timestamp resolution than about the path.
pub const MIN_RATE_DURATION_S: f64 = 0.001;

/// A sink lent by `&mut`: the caller owns it again when the analyzer is gone.
impl<T: DataSink + ?Sized> DataSink for &mut T {
    fn data(&mut self, dsn: u64, bytes: &[u8]) {
        (**self).data(dsn, bytes)
    }
    fn hole(&mut self, dsn: u64, len: u64, never_seen: bool) {
        (**self).hole(dsn, len, never_seen)
    }
}

/// A sink that drops everything.
pub struct NullSink;
impl DataSink for NullSink {
    fn data(&mut self, _dsn: u64, _bytes: &[u8]) {}
}

/// Hands a chunk to the hasher and the sink.
fn deliver(chunk: Chunk<'_>, hasher: &mut Option<StreamHash>, hashing: &mut Hashing, sink: &mut Option<&mut Box<dyn DataSink + '_>>) {
    match chunk {
        Chunk::Data { dsn, bytes } => {
            if let Some(h) = hasher.as_mut() {
                hashing.update(h, bytes);
            }
            if let Some(s) = sink.as_mut() {
                s.data(dsn, bytes);
            }
        }
        Chunk::Hole { dsn, len, kind } => {
            // A stream with a hole has no meaningful hash.
            if let Some(h) = hasher.as_mut() {
                h.kill();
            }
            if let Some(s) = sink.as_mut() {
                s.hole(dsn, len, kind == HoleKind::NeverSeen);
            }
        }
    }
}

/// A piece of mapped payload as one subflow carried it.
#[derive(Debug, Clone, Copy)]
pub struct Carried<'a> {
    /// The subflow that carried it.
    pub flow: usize,
    /// Data sequence number of its first byte.
    pub dsn: DataSeq,
    /// The captured bytes (fewer than `wire_len` when the capture cut them).
    pub captured: &'a [u8],
    pub wire_len: u32,
    pub kind: Carry,
    pub frame: u64,
    pub ts_ns: u64,
}

/// Where reinjected bytes had first been carried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Origin {
    /// The subflow that carried them first; `None` when it fell out of the bounded history.
    pub subflow: Option<usize>,
    pub bytes: u64,
    /// From that first transmission to this one, milliseconds.
    pub delay_ms: Option<f64>,
    /// Frame where the first carrier's run of these bytes began (0 when unknown).
    pub first_frame: u64,
}

/// What the data level found in a piece of payload: for the tracker to attribute to the
/// subflow that carried it and to its connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placed {
    /// Payload bytes on the wire that a mapping covered.
    pub mapped_bytes: u64,
    /// Data-level bytes new to the connection.
    pub new_bytes: u64,
    /// Data-level bytes already carried, sent again in new subflow sequence space.
    pub reinjected_bytes: u64,
    /// Part of `reinjected_bytes` that this same subflow had carried first.
    pub reinjected_same_subflow_bytes: u64,
    /// Already-carried bytes re-sent in a 1-byte mapping: a window probe.
    pub probe_bytes: u64,
    /// Where the reinjected bytes had first been carried.
    pub origins: Vec<Origin>,
    /// Data-level bytes this piece made deliverable in order (it filled a hole, or was next).
    pub delivered_bytes: u64,
    /// Bytes seen above the next expected DSN after this piece (the reordering buffer).
    pub reorder_bytes: u64,
}

/// Under memory pressure a direction still buffers this much out-of-order data.
const MIN_REORDER: usize = 8 << 10;
/// A recent window smaller than this is none.
const MIN_RECENT: usize = 4 << 10;

struct Slot {
    reasm: Reassembler,
    hasher: Option<StreamHash>,
    copies: Copies,
}

/// All reassemblers, by connection id and direction.
pub struct DataLevel<'s> {
    limits: ReassemblyLimits,
    /// Open connections' reassemblers (finished ones are taken out).
    /// Boxed: the table's buckets stay small (a table is up to half empty).
    slots: ahash::HashMap<usize, Box<[Option<Slot>; 2]>>,
    /// Bytes the open reassemblers hold (kept up to date on each insert).
    held: usize,
    /// Memory the reassemblers may take together (set by the tracker from what the open flows
    /// and connections leave of the state budget); shared fairly among the open directions.
    room: usize,
    /// Open directions (reassemblers).
    open_dirs: usize,
    /// The smallest recent window given to a direction (memory pressure), if ever lowered.
    pub(super) min_recent: Option<usize>,
    sink: Option<(usize, Dir, Box<dyn DataSink + 's>)>,
    hash: bool,
    hashing: Hashing,
}

impl<'s> DataLevel<'s> {
    pub fn new(limits: ReassemblyLimits) -> Self {
        DataLevel {
            limits,
            slots: Default::default(),
            held: 0,
            room: usize::MAX,
            open_dirs: 0,
            min_recent: None,
            sink: None,
            hash: false,
            hashing: Hashing::new(false),
        }
    }

    pub fn set_sink(&mut self, conn: usize, dir: Dir, sink: Box<dyn DataSink + 's>) {
        self.sink = Some((conn, dir, sink));
    }

    /// Compute the sha256 of every rebuilt stream; large streams on a helper thread when the
    /// machine has more than one core (track/hashing.rs).
    pub fn set_hash(&mut self, on: bool) {
        self.hash = on;
        self.hashing.set_offload(on && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));
    }

    /// Whether large streams are hashed on a helper thread (default: with more than one core).
    pub fn set_hash_offload(&mut self, on: bool) {
        self.hashing.set_offload(on);
    }

    fn slot(&mut self, conn: usize, dir: Dir, start: DataSeq) -> Option<&mut Slot> {
        let hash = self.hash;
        let limits = self.limits;
        let s = self.slots.entry(conn).or_insert_with(|| Box::new([None, None])).get_mut(dir.index())?;
        if s.is_none() {
            *s = Some(Slot { reasm: Reassembler::new(start.0, limits), hasher: hash.then(StreamHash::new), copies: Copies::default() });
            self.open_dirs += 1;
        }
        s.as_mut()
    }

    /// Starts a direction at `start` (IDSN + 1), before any data arrives.
    pub fn start(&mut self, conn: usize, dir: Dir, start: DataSeq) {
        let _ = self.slot(conn, dir, start);
    }

    /// Places mapped payload of connection `conn`, direction `dir`, whose data begins at `start`
    /// (IDSN + 1, or where the capture's data began), and returns what it found: new bytes,
    /// reinjected bytes and where they had first been carried, window-probe bytes. `None` when
    /// there is no reassembler for the direction.
    pub fn insert(&mut self, conn: usize, dir: Dir, start: DataSeq, p: &Carried<'_>) -> Option<Placed> {
        self.slot(conn, dir, start)?;
        let (recent, buffered) = self.share();
        if recent < self.limits.recent_bytes {
            self.min_recent = Some(self.min_recent.map_or(recent, |m| m.min(recent)));
        }
        let mut sink = self.sink.as_mut().filter(|(sc, sd, _)| *sc == conn && *sd == dir).map(|(_, _, s)| s);
        let slot = self.slots.get_mut(&conn)?.get_mut(dir.index())?.as_mut()?;
        let held_before = slot.reasm.memory_bytes();
        slot.reasm.set_bounds(recent, buffered);
        let hasher = &mut slot.hasher;
        let hashing = &mut self.hashing;
        // A window probe's byte is not compared: Linux fills it from the next unsent byte, not
        // from the DSN its 1-byte mapping names (the receiver drops it as a duplicate).
        slot.reasm.set_compare(p.kind != Carry::OneByte);
        let out = slot
            .reasm
            .insert(p.dsn.0, p.captured, p.wire_len, p.flow as u32, p.frame, p.ts_ns, &mut |c| deliver(c, hasher, hashing, &mut sink));
        slot.reasm.set_compare(true);
        slot.copies.count(p.kind, out.duplicate_bytes.saturating_sub(out.late_bytes));
        self.held = (self.held + slot.reasm.memory_bytes()).saturating_sub(held_before);
        let mut placed = Placed {
            mapped_bytes: u64::from(p.wire_len),
            delivered_bytes: out.delivered_bytes,
            reorder_bytes: out.reorder_bytes,
            ..Placed::default()
        };
        // A TCP retransmission re-sends this subflow's own sequence space: whatever it carries,
        // it is counted as retransmitted (at the TCP level), neither new nor reinjected.
        if p.kind == Carry::Retransmission {
            return Some(placed);
        }
        placed.new_bytes = out.new_bytes;
        if p.kind == Carry::OneByte {
            placed.probe_bytes = out.duplicate_bytes.saturating_sub(out.late_bytes);
            return Some(placed);
        }
        // New subflow sequence space carrying data-level bytes already carried, by another
        // subflow or by this one under an earlier mapping: an MPTCP reinjection.
        placed.reinjected_bytes = out.duplicate_bytes;
        for dup in out.duplicates() {
            if dup.subflow == p.flow as u32 {
                placed.reinjected_same_subflow_bytes += dup.bytes;
            }
            let delay_ms = Some(p.ts_ns.saturating_sub(dup.first_ts_ns) as f64 / 1e6);
            placed.origins.push(Origin { subflow: Some(dup.subflow as usize), bytes: dup.bytes, delay_ms, first_frame: dup.first_frame });
        }
        // Bytes whose first carrier fell out of the bounded history: reinjected, origin unknown.
        if out.unattributed_bytes > 0 {
            placed.origins.push(Origin { subflow: None, bytes: out.unattributed_bytes, delay_ms: None, first_frame: 0 });
        }
        Some(placed)
    }

    /// Hands bytes that are not in the reassembler's space to the hasher and the sink of a
    /// direction before anything else (see `DataLevel::lead`): the `bytes` captured at `dsn`,
    /// then the rest of `wire_len` that the capture cut, as a hole.
    pub(super) fn deliver_outside(&mut self, conn: usize, dir: Dir, dsn: u64, bytes: &[u8], wire_len: u32) {
        let mut sink = self.sink.as_mut().filter(|(sc, sd, _)| *sc == conn && *sd == dir).map(|(_, _, s)| s);
        let hashing = &mut self.hashing;
        let slot = match self.slots.get_mut(&conn).and_then(|p| p.get_mut(dir.index())) {
            Some(Some(s)) => s,
            _ => return,
        };
        deliver(Chunk::Data { dsn, bytes }, &mut slot.hasher, hashing, &mut sink);
        let cut = u64::from(wire_len).saturating_sub(bytes.len() as u64);
        if cut > 0 {
            let at = dsn.wrapping_add(bytes.len() as u64);
            deliver(Chunk::Hole { dsn: at, len: cut, kind: HoleKind::Uncaptured }, &mut slot.hasher, hashing, &mut sink);
        }
    }

    /// The content of bytes already placed as seen on the wire without it (a checksummed
    /// mapping's, once its checksum passed): fills them in, counting nothing again.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(&mut self, conn: usize, dir: Dir, start: DataSeq, dsn: DataSeq, bytes: &[u8], flow: usize, frame: u64, ts_ns: u64) {
        if bytes.is_empty() || self.slot(conn, dir, start).is_none() {
            return;
        }
        let mut sink = self.sink.as_mut().filter(|(sc, sd, _)| *sc == conn && *sd == dir).map(|(_, _, s)| s);
        let Some(slot) = self.slots.get_mut(&conn).and_then(|p| p.get_mut(dir.index())).and_then(|s| s.as_mut()) else { return };
        let held_before = slot.reasm.memory_bytes();
        let hasher = &mut slot.hasher;
        let hashing = &mut self.hashing;
        slot.reasm.set_compare(false);
        slot.reasm.insert(dsn.0, bytes, bytes.len() as u32, flow as u32, frame, ts_ns, &mut |c| deliver(c, hasher, hashing, &mut sink));
        slot.reasm.set_compare(true);
        self.held = (self.held + slot.reasm.memory_bytes()).saturating_sub(held_before);
    }

    /// A DATA_FIN at `dsn` in direction `dir`.
    /// `start` is where the direction's data begins (IDSN + 1) when known: a DATA_FIN on a
    /// direction that carried no data (a pure upload's other direction) sits there.
    pub fn data_fin(&mut self, conn: usize, dir: Dir, dsn: DataSeq, start: Option<DataSeq>, frame: u64) {
        if let Some(slot) = self.slot(conn, dir, start.unwrap_or(dsn)) {
            slot.reasm.data_fin(dsn.0, frame);
        }
    }

    /// Bytes the open reassemblers hold.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Sets the memory the reassemblers may take together.
    pub fn set_room(&mut self, room: usize) {
        self.room = room;
    }

    /// One direction's fair share of the room: (recent window, reordering window), never above
    /// the configured limits. Under pressure the recent window goes to 0 (no comparison of
    /// re-sent bytes) before the reordering window goes below [`MIN_REORDER`].
    fn share(&self) -> (usize, usize) {
        // Halved: a ring's allocation runs up to twice what it holds.
        let share = self.room / (2 * self.open_dirs.max(1));
        // A window of a few bytes is not worth its allocation.
        let recent = if share < MIN_RECENT { 0 } else { share.min(self.limits.recent_bytes) };
        (recent, share.clamp(MIN_REORDER, self.limits.max_buffered_bytes.max(MIN_REORDER)))
    }

    /// Applies the fair share to every open direction (once in a while, under pressure: the
    /// directions that get no data keep what they held otherwise).
    pub fn rebalance(&mut self) {
        if self.held <= self.room {
            return;
        }
        let (recent, buffered) = self.share();
        let mut held = 0;
        for slot in self.slots.values_mut().flat_map(|p| p.iter_mut().flatten()) {
            slot.reasm.set_bounds(recent, buffered);
            held += slot.reasm.memory_bytes();
        }
        self.held = held;
    }

    /// Flushes the reassemblers of a finished connection, writes the measures into it and frees
    /// them.
    pub fn finish_connection(&mut self, c: &mut Connection) {
        let Some(mut pair) = self.slots.remove(&c.id) else { return };
        let sink = &mut self.sink;
        let hashing = &mut self.hashing;
        for dir in [Dir::C2s, Dir::S2c] {
            let Some(slot) = pair.get_mut(dir.index()).and_then(|s| s.take()) else { continue };
            self.held = self.held.saturating_sub(slot.reasm.memory_bytes());
            self.open_dirs = self.open_dirs.saturating_sub(1);
            let mut sk = sink.as_mut().filter(|(sc, sd, _)| *sc == c.id && *sd == dir).map(|(_, _, s)| s);
            let mut hasher = slot.hasher;
            let sum = slot.reasm.finish(&mut |ch| deliver(ch, &mut hasher, hashing, &mut sk));
            let start_unknown = c.found_by == FoundBy::DataLevel && !c.has_key(dir);
            let dd = c.data_mut(dir);
            dd.bytes = sum.bytes;
            dd.captured_bytes = sum.captured_bytes;
            dd.delivered_bytes = sum.delivered_bytes;
            // Without the handshake the stream's start is unknown: whole from its first
            // captured DSN at best, never complete.
            dd.start_unknown = start_unknown;
            dd.complete = sum.complete && !dd.start_unknown;
            dd.complete_from = (sum.complete && dd.start_unknown).then_some(dd.first_dsn).flatten();
            dd.gap_bytes = sum.gaps.bytes;
            dd.gap_count = sum.gaps.count;
            dd.gaps = sum.gaps.ranges;
            dd.uncaptured_bytes = sum.uncaptured.bytes;
            dd.uncaptured = sum.uncaptured.ranges;
            dd.data_fin_dsn = sum.data_fin.map(DataSeq);
            dd.caps_hit = sum.caps_hit;
            dd.capped_bytes = sum.capped_bytes;
            dd.mismatched_bytes = sum.mismatched_bytes;
            dd.receiver = ReceiverView::new(&sum.order, slot.copies);
            if let (Some(a), Some(b)) = (dd.start_ts, dd.end_ts) {
                dd.duration_s = (b - a).max(0.0);
                if dd.duration_s >= MIN_RATE_DURATION_S {
                    dd.goodput_bps = dd.bytes as f64 * 8.0 / dd.duration_s;
                }
            }
            if let Some(h) = hasher.take() {
                if dd.complete {
                    dd.sha256 = hashing.finish(h);
                } else {
                    hashing.forget(h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carried(flow: usize, dsn: u64, bytes: &[u8], kind: Carry, ts_ms: u64) -> Carried<'_> {
        Carried { flow, dsn: DataSeq(dsn), captured: bytes, wire_len: bytes.len() as u32, kind, frame: 1, ts_ns: ts_ms * 1_000_000 }
    }

    #[test]
    fn insert_returns_new_reinjected_and_probe_bytes_with_their_origin() {
        let mut dl = DataLevel::new(ReassemblyLimits::default());
        let start = DataSeq(100);
        let first = dl.insert(0, Dir::C2s, start, &carried(0, 100, &[1; 10], Carry::Normal, 0)).unwrap();
        assert_eq!((first.mapped_bytes, first.new_bytes, first.reinjected_bytes), (10, 10, 0));
        // The same data on subflow 1, 30 ms later: a reinjection whose origin is subflow 0.
        let again = dl.insert(0, Dir::C2s, start, &carried(1, 100, &[1; 10], Carry::Normal, 30)).unwrap();
        assert_eq!((again.new_bytes, again.reinjected_bytes, again.reinjected_same_subflow_bytes), (0, 10, 0));
        assert_eq!(again.origins, vec![Origin { subflow: Some(0), bytes: 10, delay_ms: Some(30.0), first_frame: 1 }]);
        // A TCP retransmission is neither new nor reinjected.
        let retx = dl.insert(0, Dir::C2s, start, &carried(0, 100, &[1; 10], Carry::Retransmission, 40)).unwrap();
        assert_eq!((retx.mapped_bytes, retx.new_bytes, retx.reinjected_bytes), (10, 0, 0));
        // A 1-byte mapping of an already-carried byte is a window probe.
        let probe = dl.insert(0, Dir::C2s, start, &carried(0, 109, &[9], Carry::OneByte, 50)).unwrap();
        assert_eq!((probe.probe_bytes, probe.reinjected_bytes), (1, 0));
    }
}
