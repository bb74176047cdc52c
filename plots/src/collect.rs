//! The pass over a capture: each segment record the analyzer hands out becomes a point of the
//! series the plots draw, kept per connection in bounded [`Decimator`]s. Memory follows the
//! plot's width and the connections kept, not the length of the capture.
use std::collections::{BTreeMap, HashMap};

use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Connection, Dir, SegmentRecord};
use mptcp_wire::seq::DataSeq;

use crate::decimate::{Decimator, Keyed};
use crate::{PlotKind, PlotOptions};

/// Most points stored over all series at once: a guard against captures with very many
/// connections open together (each series is bounded on its own). Segments past it are not
/// plotted and are counted in `records_dropped`.
pub const MAX_POINTS: usize = 4 << 20;

/// Intervals of the throughput series kept open for segments whose timestamps go back a little.
const OPEN_INTERVALS: u64 = 4;

/// Subflow columns of a throughput row whose extremes (and those of their running sums) decide
/// what decimation keeps; columns past these only count in the total.
const KEY_SLOTS: usize = 16;

/// A mapped data segment (sequence plot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeqPt {
    /// Order of the segment in the capture.
    pub seq: u64,
    pub ts_ns: u64,
    /// DSN of its first byte minus the series' provisional base.
    pub d: i64,
    pub len: u32,
    pub subflow: usize,
    pub reinjected: bool,
}

impl Keyed for SeqPt {
    fn x(&self) -> u64 {
        self.ts_ns
    }
    fn key(&self, k: usize) -> Option<(i128, i128)> {
        (k == 0).then(|| (i128::from(self.d), i128::from(self.d) + i128::from(self.len)))
    }
}

/// A data ACK value (sequence plot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AckPt {
    pub ts_ns: u64,
    /// Minus the series' provisional base.
    pub d: i64,
}

impl Keyed for AckPt {
    fn x(&self) -> u64 {
        self.ts_ns
    }
    fn key(&self, k: usize) -> Option<(i128, i128)> {
        (k == 0).then_some((i128::from(self.d), i128::from(self.d)))
    }
}

/// An RTT sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RttPt {
    pub seq: u64,
    pub ts_ns: u64,
    pub ms: f64,
}

/// `f64` as an integer of the same order (`f64::total_cmp`).
fn ordered(v: f64) -> i128 {
    let b = v.to_bits() as i64;
    i128::from(b ^ (((b >> 63) as u64) >> 1) as i64)
}

impl Keyed for RttPt {
    fn x(&self) -> u64 {
        self.ts_ns
    }
    fn key(&self, k: usize) -> Option<(i128, i128)> {
        (k == 0).then(|| (ordered(self.ms), ordered(self.ms)))
    }
}

/// The data-level reordering buffer after a segment placed data (reorder plot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OccPt {
    pub ts_ns: u64,
    pub bytes: u64,
}

impl Keyed for OccPt {
    fn x(&self) -> u64 {
        self.ts_ns
    }
    fn key(&self, k: usize) -> Option<(i128, i128)> {
        (k == 0).then_some((i128::from(self.bytes), i128::from(self.bytes)))
    }
}

/// One throughput interval of a connection direction: `vals[0]` the data-level goodput bytes,
/// `vals[1 + s]` the payload bytes of subflow slot `s` (missing values are 0).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub idx: u64,
    pub vals: Vec<u64>,
}

impl Row {
    pub fn val(&self, col: usize) -> u64 {
        self.vals.get(col).copied().unwrap_or(0)
    }
}

impl Keyed for Row {
    fn x(&self) -> u64 {
        self.idx
    }
    /// Goodput, each of the first [`KEY_SLOTS`] subflows, the sums of the first 2..=KEY_SLOTS
    /// subflows (the edges of the stacked plot), and the sum of all.
    fn key(&self, k: usize) -> Option<(i128, i128)> {
        let sum = |n: usize| self.vals.iter().skip(1).take(n).fold(0i128, |a, &b| a + i128::from(b));
        let v = match k {
            0 => i128::from(self.val(0)),
            k if k <= KEY_SLOTS => i128::from(self.val(k)),
            k if k < 2 * KEY_SLOTS => sum(k - KEY_SLOTS + 1),
            k if k == 2 * KEY_SLOTS => sum(usize::MAX),
            _ => return None,
        };
        Some((v, v))
    }
}

/// The sequence plot's series of one connection direction.
pub(crate) struct SeqDir {
    /// First DSN seen: reference of the points' `d` (decimation orders DSNs relative to it).
    pub prov: Option<DataSeq>,
    /// The lowest DSN seen (wrapping order, in capture order): the base when the handshake is
    /// not in the capture.
    pub low: Option<DataSeq>,
    pub subflows: Vec<(usize, Decimator<SeqPt>)>,
    /// Reinjected segments of every subflow (drawn on top, so kept on their own).
    pub rein: Decimator<SeqPt>,
    pub reinjections: u64,
    /// First data ACK seen: reference of the acks' `d`.
    pub ack_prov: Option<DataSeq>,
    last_ack: Option<DataSeq>,
    /// The data ACKs seen (a value equal to the one before left out: it can never advance).
    pub acks: Decimator<AckPt>,
}

/// The RTT series of one connection direction, per subflow.
pub(crate) struct RttDir {
    pub subflows: Vec<(usize, Decimator<RttPt>)>,
}

/// The throughput series of one connection direction.
pub(crate) struct TputDir {
    /// Subflow id of each slot, in order of first payload.
    pub slots: Vec<usize>,
    /// Intervals not final yet.
    open: BTreeMap<u64, Vec<u64>>,
    /// First interval not given to `rows` yet.
    next: u64,
    /// Final intervals in order: those with bytes, and the first and last of each run of empty
    /// ones (from interval 0).
    pub rows: Decimator<Row>,
}

impl TputDir {
    fn add(&mut self, idx: u64, col: usize, bytes: u64) {
        let bump = |v: &mut Vec<u64>| {
            if v.len() <= col {
                v.resize(col + 1, 0);
            }
            v[col] = v[col].saturating_add(bytes);
        };
        if idx >= self.next {
            bump(self.open.entry(idx).or_default());
            let newest = self.open.keys().next_back().copied().unwrap_or(idx);
            while let Some(oldest) = self.open.keys().next().copied().filter(|&o| o.saturating_add(OPEN_INTERVALS) <= newest) {
                self.finalize(oldest);
            }
        } else if let Some(rows) = self.rows.raw_mut() {
            // An interval already final, every row still kept: counted where it belongs.
            match rows.binary_search_by_key(&idx, |r| r.idx) {
                Ok(i) => bump(&mut rows[i].vals),
                Err(i) => {
                    let mut vals = Vec::new();
                    bump(&mut vals);
                    rows.insert(i, Row { idx, vals });
                }
            }
            self.rows.settle();
        } else {
            // Decimated already: into the oldest interval still open.
            let k = self.open.keys().next().copied().unwrap_or(self.next);
            bump(self.open.entry(k).or_default());
        }
    }

    fn finalize(&mut self, idx: u64) {
        let vals = self.open.remove(&idx).unwrap_or_default();
        if idx > self.next {
            self.rows.push(Row { idx: self.next, vals: Vec::new() });
            if idx - 1 > self.next {
                self.rows.push(Row { idx: idx - 1, vals: Vec::new() });
            }
        }
        self.rows.push(Row { idx, vals });
        self.next = idx.saturating_add(1);
    }

    fn finish(&mut self) {
        while let Some(oldest) = self.open.keys().next().copied() {
            self.finalize(oldest);
        }
    }
}

/// Everything kept about one connection.
#[derive(Default)]
pub(crate) struct ConnSeries {
    // Boxed: a connection with little traffic costs a few pointers.
    pub seq: [Option<Box<SeqDir>>; 2],
    pub rtt: [Option<Box<RttDir>>; 2],
    pub tput: [Option<Box<TputDir>>; 2],
    pub occ: [Option<Box<Decimator<OccPt>>>; 2],
}

impl ConnSeries {
    fn len(&self) -> usize {
        let seq = self.seq.iter().flatten().map(|s| s.subflows.iter().map(|(_, d)| d.len()).sum::<usize>() + s.rein.len() + s.acks.len());
        let rtt = self.rtt.iter().flatten().map(|s| s.subflows.iter().map(|(_, d)| d.len()).sum::<usize>());
        let tput = self.tput.iter().flatten().map(|s| s.rows.len() + s.open.len());
        let occ = self.occ.iter().flatten().map(|s| s.len());
        seq.chain(rtt).chain(tput).chain(occ).sum()
    }

    fn largest(&self) -> usize {
        let seq = self.seq.iter().flatten().flat_map(|s| s.subflows.iter().map(|(_, d)| d.len()).chain([s.rein.len(), s.acks.len()]));
        let rtt = self.rtt.iter().flatten().flat_map(|s| s.subflows.iter().map(|(_, d)| d.len()));
        let tput = self.tput.iter().flatten().map(|s| s.rows.len());
        let occ = self.occ.iter().flatten().map(|s| s.len());
        seq.chain(rtt).chain(tput).chain(occ).max().unwrap_or(0)
    }
}

/// The series of every connection kept.
#[derive(Default)]
pub(crate) struct Store {
    conns: HashMap<usize, ConnSeries>,
}

impl Store {
    pub fn seq(&self, conn: usize, dir: Dir) -> Option<&SeqDir> {
        self.conns.get(&conn)?.seq[dir.index()].as_deref()
    }
    pub fn rtt(&self, conn: usize, dir: Dir) -> Option<&RttDir> {
        self.conns.get(&conn)?.rtt[dir.index()].as_deref()
    }
    pub fn tput(&self, conn: usize, dir: Dir) -> Option<&TputDir> {
        self.conns.get(&conn)?.tput[dir.index()].as_deref()
    }
    pub fn occ(&self, conn: usize, dir: Dir) -> Option<&Decimator<OccPt>> {
        self.conns.get(&conn)?.occ[dir.index()].as_deref()
    }
    pub fn points(&self) -> usize {
        self.conns.values().map(ConnSeries::len).sum()
    }
    pub fn connections(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.conns.iter().filter(|(_, c)| c.len() > 0).map(|(&id, _)| id).collect();
        ids.sort_unstable();
        ids
    }
    pub fn largest(&self) -> usize {
        self.conns.values().map(ConnSeries::largest).max().unwrap_or(0)
    }
}

/// Order of the default connection (`Capture::connection` with no id asked).
type PickKey = (u64, u64, std::cmp::Reverse<usize>);

/// Order of [`Collector::keep_busiest`]: data-level bytes both ways, then the lower id.
type BusyKey = (u64, std::cmp::Reverse<usize>);

fn pick_key(c: &Connection, dir: Dir) -> PickKey {
    (c.data(dir).bytes, c.data(dir.flip()).bytes, std::cmp::Reverse(c.id))
}

/// Builds the plots' series from the analyzer's segment records (a pipeline [`Sink`]); turned into
/// a [`crate::Capture`] with [`Collector::into_capture`]. Every series keeps at most about
/// `8 × width` points (docs/plot.md, "Long captures").
pub struct Collector {
    width: u32,
    interval_ns: u64,
    seq: bool,
    rtt: bool,
    tput: bool,
    occ: bool,
    dirs: [bool; 2],
    connection: Option<usize>,
    /// The event timeline is kept ([`Collector::wants_events`]).
    events: bool,
    /// Only the connection `Capture::connection` would pick for this direction is wanted:
    /// finished connections that cannot be it are freed ([`Collector::retired`]).
    pick: Option<Dir>,
    best: Option<(PickKey, usize)>,
    /// With [`Collector::keep_busiest`]: how many finished connections keep their series, and
    /// those kept so far, busiest first.
    busiest: Option<(usize, Vec<(BusyKey, usize)>)>,
    t0_ns: Option<u64>,
    seq_no: u64,
    store: Store,
    points: usize,
    dropped: u64,
}

impl Collector {
    /// Keeps every series of every connection, for plots up to `width` pixels wide.
    pub fn new(interval_ns: u64, width: u32) -> Self {
        Collector {
            width: width.max(1),
            interval_ns: interval_ns.max(1),
            seq: true,
            rtt: true,
            tput: true,
            occ: true,
            dirs: [true, true],
            connection: None,
            events: true,
            pick: None,
            best: None,
            busiest: None,
            t0_ns: None,
            seq_no: 0,
            store: Store::default(),
            points: 0,
            dropped: 0,
        }
    }

    /// Keeps only what the plot `opts` draws: its kind, its direction, its connection (or, with
    /// no id asked, the connections that may still turn out to be the default one).
    pub fn for_plot(interval_ns: u64, opts: &PlotOptions) -> Self {
        let mut c = Collector::new(interval_ns, opts.width);
        c.seq = opts.kind == PlotKind::Sequence;
        c.rtt = opts.kind == PlotKind::Rtt;
        // The reorder plot draws the subflows' sending shares beneath the buffer.
        c.tput = matches!(opts.kind, PlotKind::Throughput | PlotKind::Reorder);
        c.occ = opts.kind == PlotKind::Reorder;
        c.dirs = [opts.direction == Dir::C2s, opts.direction == Dir::S2c];
        c.connection = opts.connection;
        c.events = opts.kind == PlotKind::Subflows;
        if opts.connection.is_none() {
            c.pick = Some(opts.direction);
        }
        c
    }

    /// Keeps the series of the `k` busiest finished connections (by data-level bytes both ways,
    /// the lower id first among equals) and of those still open; a finished connection that
    /// falls out of the `k` busiest has its series freed. Memory follows the connections open at
    /// once, not the capture (`report`'s plots of the busiest connections).
    pub fn keep_busiest(mut self, k: usize) -> Self {
        self.busiest = Some((k, Vec::with_capacity(k + 1)));
        self
    }

    /// The connection asked for, if one was.
    pub fn asked(&self) -> Option<usize> {
        self.connection
    }

    /// Whether the plots drawn need the analysis' event timeline (the subflow timeline draws
    /// it; the other kinds do not, and it grows with the capture).
    pub fn wants_events(&self) -> bool {
        self.events
    }

    /// Whether [`Collector::retired`] frees anything (else finished connections need not be
    /// reported to it).
    pub fn prunes(&self) -> bool {
        self.pick.is_some() || self.connection.is_some() || self.busiest.is_some()
    }

    /// Whether finished connection `id` may be the one plotted: the one asked, or with none
    /// asked (and [`Collector::for_plot`]) the pick so far among those finished.
    pub fn may_plot(&self, id: usize) -> bool {
        if let Some((_, kept)) = &self.busiest {
            return kept.iter().any(|&(_, k)| k == id);
        }
        match (self.connection, self.pick, self.best) {
            (Some(c), _, _) => c == id,
            (None, Some(_), Some((_, best))) => best == id,
            (None, Some(_), None) => false,
            (None, None, _) => true,
        }
    }

    /// Connection `conn` finished (its results are final): with [`Collector::for_plot`] and no
    /// connection asked, the series of a finished connection that cannot be the one plotted
    /// are freed.
    pub fn retired(&mut self, conn: &Connection) {
        if let Some((k, kept)) = &mut self.busiest {
            let key = (conn.c2s.bytes + conn.s2c.bytes, std::cmp::Reverse(conn.id));
            let at = kept.partition_point(|&(other, _)| other > key);
            kept.insert(at, (key, conn.id));
            if kept.len() > *k {
                if let Some((_, loser)) = kept.pop() {
                    self.free(loser);
                }
            }
            return;
        }
        let Some(dir) = self.pick else { return };
        let key = pick_key(conn, dir);
        let loser = match self.best {
            Some((best, _)) if best > key => conn.id,
            Some((_, old)) => {
                self.best = Some((key, conn.id));
                old
            }
            None => {
                self.best = Some((key, conn.id));
                return;
            }
        };
        self.free(loser);
    }

    fn free(&mut self, conn: usize) {
        if let Some(s) = self.store.conns.remove(&conn) {
            self.points = self.points.saturating_sub(s.len());
        }
    }

    /// Points stored now over all series.
    pub fn stored_points(&self) -> usize {
        self.points
    }

    /// Points stored in the largest series.
    pub fn largest_series(&self) -> usize {
        self.store.largest()
    }

    /// Segments not plotted because [`MAX_POINTS`] were stored.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn add(&mut self, r: &SegmentRecord, conn: usize) {
        let w = self.width;
        let seq_no = self.seq_no;
        let (t0, interval) = (self.t0_ns.unwrap_or(r.ts_ns), self.interval_ns);
        let (want_seq, want_rtt, want_tput, want_occ, dirs) = (self.seq, self.rtt, self.tput, self.occ, self.dirs);
        let rdir = if r.c2s { Dir::C2s } else { Dir::S2c };
        let seq_point = want_seq && dirs[rdir.index()] && r.payload_len > 0 && r.dsn.is_some();
        let ack = r.data_ack.filter(|_| want_seq && dirs[rdir.flip().index()]);
        let rtt = r.rtt.filter(|&(d, _)| want_rtt && dirs[d.index()]);
        let tput = want_tput && dirs[rdir.index()] && (r.payload_len > 0 || r.new_bytes > 0);
        let occ = r.reorder_bytes.filter(|_| want_occ && dirs[rdir.index()]);
        if !(seq_point || ack.is_some() || rtt.is_some() || tput || occ.is_some()) {
            // Nothing to keep (a SYN, a bare ACK): no entry for the connection.
            return;
        }
        let cs = self.store.conns.entry(conn).or_default();
        let before = cs.len();
        let new_seq = || {
            Box::new(SeqDir {
                prov: None,
                low: None,
                subflows: Vec::new(),
                rein: Decimator::new(w),
                reinjections: 0,
                ack_prov: None,
                last_ack: None,
                acks: Decimator::new(w),
            })
        };
        if seq_point {
            if let Some(dsn) = r.dsn {
                let s = cs.seq[rdir.index()].get_or_insert_with(new_seq);
                s.low = Some(match s.low {
                    Some(m) if dsn - m >= 0 => m,
                    _ => dsn,
                });
                let prov = *s.prov.get_or_insert(dsn);
                let p = SeqPt {
                    seq: seq_no,
                    ts_ns: r.ts_ns,
                    d: dsn - prov,
                    len: r.payload_len,
                    subflow: r.subflow,
                    reinjected: r.reinjected_bytes > 0,
                };
                if p.reinjected {
                    s.reinjections += 1;
                    s.rein.push(p);
                }
                match s.subflows.iter_mut().find(|(id, _)| *id == r.subflow) {
                    Some((_, d)) => d.push(p),
                    None => {
                        let mut d = Decimator::new(w);
                        d.push(p);
                        s.subflows.push((r.subflow, d));
                    }
                }
            }
        }
        // A data ACK acknowledges the other direction's data.
        if let Some(ack) = ack {
            let s = cs.seq[rdir.flip().index()].get_or_insert_with(new_seq);
            if s.last_ack != Some(ack) {
                s.last_ack = Some(ack);
                let prov = *s.ack_prov.get_or_insert(ack);
                s.acks.push(AckPt { ts_ns: r.ts_ns, d: ack - prov });
            }
        }
        if let Some((d, ms)) = rtt {
            let s = cs.rtt[d.index()].get_or_insert_with(|| Box::new(RttDir { subflows: Vec::new() }));
            let p = RttPt { seq: seq_no, ts_ns: r.ts_ns, ms };
            match s.subflows.iter_mut().find(|(id, _)| *id == r.subflow) {
                Some((_, dec)) => dec.push(p),
                None => {
                    let mut dec = Decimator::new(w);
                    dec.push(p);
                    s.subflows.push((r.subflow, dec));
                }
            }
        }
        if tput {
            let s = cs.tput[rdir.index()]
                .get_or_insert_with(|| Box::new(TputDir { slots: Vec::new(), open: BTreeMap::new(), next: 0, rows: Decimator::new(w) }));
            // As series::Throughput buckets them: from the first segment of the capture.
            let idx = r.ts_ns.saturating_sub(t0) / interval;
            if r.payload_len > 0 {
                let slot = match s.slots.iter().position(|&id| id == r.subflow) {
                    Some(p) => p,
                    None => {
                        s.slots.push(r.subflow);
                        s.slots.len() - 1
                    }
                };
                s.add(idx, 1 + slot, u64::from(r.payload_len));
            }
            if r.new_bytes > 0 {
                s.add(idx, 0, r.new_bytes);
            }
        }
        if let Some(bytes) = occ {
            cs.occ[rdir.index()].get_or_insert_with(|| Box::new(Decimator::new(w))).push(OccPt { ts_ns: r.ts_ns, bytes });
        }
        let after = cs.len();
        self.points = (self.points + after).saturating_sub(before);
    }

    /// The capture made from this collector's series and the analysis of the same pass.
    pub fn into_capture(
        mut self,
        name: &str,
        analysis: mptcp_dissector::track::Analysis,
        end: Option<mptcp_dissector::capture::CaptureError>,
    ) -> crate::Capture {
        for cs in self.store.conns.values_mut() {
            for t in cs.tput.iter_mut().flatten() {
                t.finish();
            }
        }
        let first_ns = (analysis.stats.first_ts * 1e9).round() as u64;
        let tcp0 = self.t0_ns.unwrap_or(first_ns);
        let t0_ns = first_ns.min(tcp0);
        crate::Capture {
            name: name.to_string(),
            connections: analysis.connections.len(),
            analysis,
            end,
            records_dropped: self.dropped,
            t0_ns,
            throughput_offset_s: tcp0.saturating_sub(t0_ns) as f64 / 1e9,
            interval_ns: self.interval_ns,
            width: self.width,
            series: self.store,
        }
    }
}

impl Sink for Collector {
    fn segment(&mut self, r: &SegmentRecord) {
        // Time zero of the throughput intervals: the first TCP segment, whatever its connection.
        self.t0_ns.get_or_insert(r.ts_ns);
        let Some(conn) = r.connection else { return };
        if self.connection.is_some_and(|c| c != conn) || !(self.seq || self.rtt || self.tput || self.occ) {
            return;
        }
        self.seq_no += 1;
        if self.points >= MAX_POINTS {
            self.dropped += 1;
            return;
        }
        self.add(r, conn);
    }
}
