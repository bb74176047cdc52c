//! `-w OUT.pcap` (issue 26): the packets of the selected connections, every subflow of each (its
//! joins included), written as they are read into a classic pcap file Wireshark opens.
//!
//! A packet is written when the analyzer attributed it to a kept connection: the connection's
//! first subflow from its SYN on, a join from its MP_JOIN SYN on (the SYN names the connection
//! by its token). Packets the analyzer did not attribute (plain TCP, orphan subflows, other
//! traffic) are not written. The file keeps the capture's link type and timestamp resolution;
//! a packet of another link type (a pcapng capture of several interfaces, merged captures) cannot
//! go into the same classic pcap file: it is counted in [`PcapOut::other_linktype`] and left out.
use std::collections::HashSet;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::analysis::select::Selection;
use crate::analysis::verify::{Outcome, Verifier};
use crate::pipeline::{Seen, Sink};

/// Which connections' packets are written.
#[derive(Debug, Clone)]
pub enum Keep {
    /// Every MPTCP connection's.
    All,
    /// Those the selection keeps (`--connection`, `--subflow`: known at each packet).
    Selection(Selection),
    /// These connection ids (found by a first pass: `--token`, `--failed`).
    Ids(HashSet<usize>),
}

/// Snap length written in the file header: above any record a capture holds.
const SNAPLEN: u32 = 262_144;

/// The `-w` sink: writes the kept packets to `out` (pcap header at the first packet seen).
pub struct PcapOut<W: Write> {
    out: Option<W>,
    writer: Option<PcapWriter<W>>,
    keep: Keep,
    linktype: Option<u32>,
    /// Packets written.
    pub written: u64,
    /// Kept packets of another link type than the file's (left out).
    pub other_linktype: u64,
    /// Kept packets whose timestamp a pcap record cannot hold (before 1970 or after 2106).
    pub bad_timestamp: u64,
    /// The first write error; nothing is written after it (the reading ends).
    pub error: Option<io::Error>,
}

impl<W: Write> PcapOut<W> {
    pub fn new(out: W, keep: Keep) -> Self {
        PcapOut { out: Some(out), writer: None, keep, linktype: None, written: 0, other_linktype: 0, bad_timestamp: 0, error: None }
    }

    /// The file's header, for link type `linktype` and `digits` of a second (nanoseconds past 6).
    fn start(&mut self, linktype: u32, digits: u8) {
        let Some(out) = self.out.take() else { return };
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::from(linktype),
            ts_resolution: if digits > 6 { TsResolution::NanoSecond } else { TsResolution::MicroSecond },
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        self.linktype = Some(linktype);
        match PcapWriter::with_header(out, header) {
            Ok(w) => self.writer = Some(w),
            Err(e) => self.error = Some(io_error(e)),
        }
    }

    /// Writes the header if no packet did (an empty capture gets an Ethernet header), flushes,
    /// and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        if self.writer.is_none() && self.error.is_none() {
            self.start(1, 6);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut out = self.writer.take().map(PcapWriter::into_writer).ok_or_else(|| io::Error::other("no pcap writer"))?;
        out.flush()?;
        Ok(out)
    }

    fn keeps(&self, seen: &Seen<'_>) -> bool {
        let Some(r) = seen.record else { return false };
        let Some(c) = r.connection else { return false };
        match &self.keep {
            Keep::All => true,
            Keep::Ids(ids) => ids.contains(&c),
            Keep::Selection(sel) => {
                let conn = seen.analyzer.and_then(|a| a.open_connection(c));
                let tokens = [conn.and_then(|c| c.client_token), conn.and_then(|c| c.server_token)];
                sel.keeps_packet(Some(c), Some(r.subflow), tokens)
            }
        }
    }
}

fn io_error(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl<W: Write> Sink for PcapOut<W> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        let p = seen.packet;
        if self.linktype.is_none() && self.error.is_none() {
            self.start(p.linktype, p.ts_digits);
        }
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        if !self.keeps(seen) {
            return ControlFlow::Continue(());
        }
        if self.linktype != Some(p.linktype) {
            self.other_linktype += 1;
            return ControlFlow::Continue(());
        }
        let Some(w) = self.writer.as_mut() else { return ControlFlow::Continue(()) };
        let ts = Duration::from_nanos(p.ts_ns);
        if u32::try_from(ts.as_secs()).is_err() {
            self.bad_timestamp += 1;
            return ControlFlow::Continue(());
        }
        // A record whose captured length is over its original length (a damaged header) keeps
        // its bytes: the original length is raised to them.
        let orig_len = p.orig_len.max(u32::try_from(p.data.len()).unwrap_or(u32::MAX));
        match w.write_packet(&PcapPacket::new(ts, orig_len, p.data)) {
            Ok(_) => {
                self.written += 1;
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.error = Some(io_error(e));
                ControlFlow::Break(())
            }
        }
    }
}

/// A first pass for `--failed`: the ids of the connections that failed a check of `verify`
/// (and that `selection` keeps).
pub struct FailedConnections {
    verifier: Verifier<'static>,
    selection: Selection,
    pub ids: HashSet<usize>,
}

impl FailedConnections {
    pub fn new(selection: Selection) -> Self {
        FailedConnections { verifier: Verifier::new(&[]), selection, ids: HashSet::new() }
    }
}

impl Sink for FailedConnections {
    fn event(&mut self, e: &crate::track::Event, _tokens: [Option<mptcp_wire::crypto::Token>; 2]) {
        self.verifier.event(e);
    }
    fn connection(&mut self, c: crate::track::Connection, subflows: Vec<crate::track::Subflow>) {
        let v = self.verifier.connection(&c, &subflows, true);
        if self.selection.keeps_connection(&c) && v.checks.iter().any(|k| k.outcome == Outcome::Fail) {
            self.ids.insert(c.id);
        }
    }
    fn flow(&mut self, f: crate::track::Subflow) {
        self.verifier.flow(&f);
    }
}

/// Two sinks given everything, in order (`-w` beside a command's own output). The reading ends
/// when either asks.
pub struct Tee<'a, A: ?Sized, B: ?Sized>(pub &'a mut A, pub &'a mut B);

impl<A: Sink + ?Sized, B: Sink + ?Sized> Sink for Tee<'_, A, B> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        let a = self.0.packet(seen);
        let b = self.1.packet(seen);
        if a.is_break() || b.is_break() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
    fn segment(&mut self, r: &crate::track::SegmentRecord) {
        self.0.segment(r);
        self.1.segment(r);
    }
    fn connection(&mut self, conn: crate::track::Connection, subflows: Vec<crate::track::Subflow>) {
        // The writer keeps nothing of finished connections: the command's sink takes them.
        self.0.connection(conn, subflows);
    }
    fn flow(&mut self, flow: crate::track::Subflow) {
        self.0.flow(flow);
    }
    fn event(&mut self, e: &crate::track::Event, tokens: [Option<mptcp_wire::crypto::Token>; 2]) {
        self.0.event(e, tokens);
        self.1.event(e, tokens);
    }
}
