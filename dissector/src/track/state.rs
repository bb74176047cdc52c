//! The tracker's working state beside each output value: what only the tracker needs while a
//! flow or connection is open (sequence spaces, mapping tables, held payload, handshake
//! nonces, keys as numbers). The output model ([`super::model`]) holds none of it: a finished
//! flow or connection leaves its working state here and is handed on as plain values.
use std::net::{IpAddr, SocketAddr};
use std::ops::{Deref, DerefMut};

use super::checksum::{CsumInProgress, Unchecked};
use super::copies::FlowCopies;
use super::fastopen::SynData;
use super::mappings::{MappingTable, SeqSpace};
use super::model::{Connection, Dir, Subflow};
use mptcp_wire::crypto::{self, Key};
use mptcp_wire::seq::{DataSeq, SubflowSeq};

/// Estimated memory of one open flow: its record, the flow-table entry and a typical heap
/// (sequence-space holes, a few mappings). Checked with heaptrack on the generator of bench/
/// (docs/performance.md).
pub(super) const FLOW_COST: usize = std::mem::size_of::<Flow>() + 384;
/// Estimated memory of one open connection, beside its flows and the bytes its reassemblers
/// hold: the record, two reassemblers, check tallies, histories, range lists, keys and tokens,
/// table entries (heaptrack on the generator's `open` capture: ~3.3 KB).
pub(super) const CONN_COST: usize = std::mem::size_of::<Conn>() + 2 * std::mem::size_of::<crate::reassembly::Reassembler>() + 1024;

/// A flow's addresses and ports, the same both ways (the flow table's key).
pub(super) type FlowKey = (IpAddr, u16, IpAddr, u16);

#[inline]
pub(super) fn key_of(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if (a.ip(), a.port()) <= (b.ip(), b.port()) {
        (a.ip(), a.port(), b.ip(), b.port())
    } else {
        (b.ip(), b.port(), a.ip(), a.port())
    }
}

/// An open flow or connection: its output record `out` and the tracker's state for it, `work`.
/// Reads and writes of the record go through `Deref`.
#[derive(Debug)]
pub(super) struct Open<O, W> {
    pub(super) out: O,
    pub(super) work: W,
}

impl<O, W: Default> Open<O, W> {
    pub(super) fn new(out: O) -> Self {
        Open { out, work: W::default() }
    }
}

impl<O, W> Deref for Open<O, W> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.out
    }
}

impl<O, W> DerefMut for Open<O, W> {
    fn deref_mut(&mut self) -> &mut O {
        &mut self.out
    }
}

/// An open flow.
pub(super) type Flow = Open<Subflow, FlowWork>;

impl Flow {
    /// Direction `d`'s record and working state together.
    pub(super) fn dirs_mut(&mut self, d: Dir) -> (&mut super::model::SubflowDir, &mut DirWork) {
        (self.out.dir_mut(d), self.work.dir_mut(d))
    }
    pub(super) fn closed(&self) -> bool {
        self.work.rst || (self.work.c2s.fin && self.work.s2c.fin)
    }
    /// Nothing more is due: both FINs acknowledged. (After a RST the peer's segments in flight
    /// still arrive: a reset flow waits for the close delay.)
    pub(super) fn quiet(&self) -> bool {
        !self.work.rst && self.work.c2s.fin_acked && self.work.s2c.fin_acked
    }
    /// Its SYN is in the capture, no SYN/ACK answered it, and it carried nothing.
    pub(super) fn unanswered(&self) -> bool {
        self.work.syn_seen && !self.work.synack_seen && self.out.c2s.bytes == 0 && self.out.s2c.bytes == 0
    }
}

/// What the tracker keeps of an open flow beside its record.
#[derive(Debug, Default)]
pub(super) struct FlowWork {
    pub(super) mptcp_syn: bool,
    pub(super) synack_seen: bool,
    pub(super) rst: bool,
    /// The SYN (not SYN/ACK) of this flow is in the capture.
    pub(super) syn_seen: bool,
    /// The latest SYN carried MP_CAPABLE (false: retried without it, Linux's blackhole
    /// fallback after unanswered MP_CAPABLE SYNs).
    pub(super) last_syn_capable: bool,
    pub(super) join_state: JoinState,
    /// A connection could not be tracked for this flow (the open state was full).
    pub(super) refused: bool,
    /// Segments captured twice (in and out of a router, TTL one lower): counted once.
    pub(super) copies: FlowCopies,
    pub(super) c2s: DirWork,
    pub(super) s2c: DirWork,
}

impl FlowWork {
    pub(super) fn dir(&self, d: Dir) -> &DirWork {
        match d {
            Dir::C2s => &self.c2s,
            Dir::S2c => &self.s2c,
        }
    }
    pub(super) fn dir_mut(&mut self, d: Dir) -> &mut DirWork {
        match d {
            Dir::C2s => &mut self.c2s,
            Dir::S2c => &mut self.s2c,
        }
    }
}

/// The MP_JOIN handshake of a flow, as far as seen.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct JoinState {
    pub(super) token: Option<u32>,
    pub(super) client_nonce: Option<u32>,
    pub(super) server_nonce: Option<u32>,
    pub(super) server_hmac: Option<u64>,
    pub(super) synack_frame: u64,
    /// The third ACK (MP_JOIN with its HMAC) was seen.
    pub(super) ack_seen: bool,
}

/// What the tracker keeps of one direction of an open flow.
#[derive(Debug, Default)]
pub(super) struct DirWork {
    pub(super) isn: Option<u32>,
    /// Without the handshake: the ISNs the mappings seen so far allow, `(highest, width)`
    /// (the ISN lies in `[highest - width, highest]`); the ISN is known when width is 0.
    pub(super) isn_guess: Option<(u32, u32)>,
    pub(super) rtt_probe: Option<(SubflowSeq, u64)>,
    pub(super) fin: bool,
    /// Sequence number just past the FIN; set once the other end acknowledged it.
    pub(super) fin_end: Option<u32>,
    pub(super) fin_acked: bool,
    pub(super) mappings: MappingTable,
    pub(super) seen: SeqSpace,
    /// Payload no mapping covered yet: a later segment may bring its mapping (a retransmission
    /// of the segment that carried it). Resolved when a mapping arrives; unmapped at the end.
    pub(super) pending: Vec<Pending>,
    pub(super) csum: Option<CsumInProgress>,
    /// Payload of the checksummed mapping being verified (track/checksum.rs).
    pub(super) unchecked: Unchecked,
}

/// Payload waiting for its mapping (see `DirWork::pending`).
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    /// Subflow sequence number (absolute) of the first byte.
    pub(super) seq: u32,
    pub(super) len: u32,
    /// The captured bytes (a prefix of `len`).
    pub(super) bytes: Vec<u8>,
    pub(super) frame: u64,
    pub(super) ts_ns: u64,
}

/// An open connection.
pub(super) type Conn = Open<Connection, ConnWork>;

/// What the tracker keeps of an open connection beside its record.
#[derive(Debug, Default)]
pub(super) struct ConnWork {
    pub(super) synack_key: Option<Key>,
    /// Last DSN seen per direction, reference for expanding 4-byte DSNs.
    pub(super) last_dsn: [Option<DataSeq>; 2],
    pub(super) last_ack: [Option<DataSeq>; 2],
    /// Found without a handshake: the lowest DSN or data ACK seen per direction, where its
    /// rebuilt stream starts.
    pub(super) lowest_seen: [Option<DataSeq>; 2],
    /// Index of this connection's first event in the timeline.
    pub(super) first_event: Option<usize>,
    /// TCP Fast Open: the SYN's payload per direction, until its stream starts.
    pub(super) syn_data: [Option<Box<SynData>>; 2],
    /// Idle longer than the idle timeout since this frame (the sweep that found it) and its
    /// last packet's time: kept, and finished as timed out only when the open state needs the
    /// room or the capture ends; a packet continues it.
    pub(super) idle: Option<(u64, f64)>,
}

impl Conn {
    /// DSN of the direction's first data byte: where its data began, or IDSN + 1.
    pub(super) fn data_start(&self, d: Dir) -> Option<DataSeq> {
        self.data(d)
            .first_dsn
            .or_else(|| self.key(d).zip(self.crypto_version()).map(|(k, v)| crypto::key_material(v, k).idsn.first_dsn()))
            .or(self.work.lowest_seen[d.index()])
    }
    /// Found without a handshake: the rebuilt stream of `d` starts at the lowest DSN mapped
    /// before its first byte is placed (a data ACK is no start: the bytes below it that were
    /// in flight when the capture began are not in it).
    pub(super) fn note_seen(&mut self, d: Dir, v: DataSeq) {
        if self.data(d).first_dsn.is_none() && self.found_by == super::kinds::FoundBy::DataLevel {
            let slot = &mut self.work.lowest_seen[d.index()];
            *slot = Some(slot.map_or(v, |o| o.min(v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::kinds::FoundBy;
    use crate::track::testkit::{connection, subflow};
    use sha2::{Digest, Sha256};

    #[test]
    fn a_subflow_closes_on_rst_or_on_fins_both_ways() {
        // RFC 9293 §3.6: a FIN closes one direction only; a RST ends the connection.
        let mut f = Flow::new(subflow());
        f.work.c2s.fin = true;
        assert!(!f.closed());
        f.work.s2c.fin = true;
        assert!(f.closed());
        let mut f = Flow::new(subflow());
        f.work.rst = true;
        assert!(f.closed());
    }

    #[test]
    fn an_unanswered_syn_is_one_without_syn_ack_or_payload() {
        let mut f = Flow::new(subflow());
        assert!(!f.unanswered(), "no SYN seen");
        f.work.syn_seen = true;
        assert!(f.unanswered());
        f.work.synack_seen = true;
        assert!(!f.unanswered());
        let mut f = Flow::new(subflow());
        f.work.syn_seen = true;
        f.c2s.bytes = 1;
        assert!(!f.unanswered(), "it carried data");
    }

    #[test]
    fn data_starts_at_idsn_plus_one_from_the_key() {
        // RFC 8684 §3.1: the IDSN is the least significant 64 bits of SHA-256(key) (v1); the
        // first data byte has DSN IDSN + 1 (the SYN takes one).
        let key = 0x0123_4567_89ab_cdefu64;
        let digest = Sha256::digest(key.to_be_bytes());
        let idsn = u64::from_be_bytes(digest[24..32].try_into().unwrap());
        let mut c = Conn::new(connection());
        assert_eq!(c.data_start(Dir::C2s), None, "no key, no data");
        c.client_key = Some(Key(key));
        assert_eq!(c.data_start(Dir::C2s), None, "version unknown");
        c.version = Some(1);
        assert_eq!(c.data_start(Dir::C2s), Some(DataSeq(idsn.wrapping_add(1))));
        assert_eq!(c.data_start(Dir::S2c), None);
        // Where data was placed first wins.
        c.c2s.first_dsn = Some(DataSeq(5));
        assert_eq!(c.data_start(Dir::C2s), Some(DataSeq(5)));
    }

    #[test]
    fn without_handshake_the_stream_starts_at_the_lowest_mapped_dsn() {
        let mut c = Conn::new(connection());
        c.note_seen(Dir::S2c, DataSeq(100));
        assert_eq!(c.data_start(Dir::S2c), None, "only for connections found from the data level");
        c.found_by = FoundBy::DataLevel;
        c.note_seen(Dir::S2c, DataSeq(100));
        c.note_seen(Dir::S2c, DataSeq(40));
        c.note_seen(Dir::S2c, DataSeq(70));
        assert_eq!(c.data_start(Dir::S2c), Some(DataSeq(40)));
    }
}
