//! Time series built from the analyzer's per-segment records: bytes per subflow and
//! data-level goodput per interval (the `throughput` command and the plots).
//!
//! ```
//! use mptcp_dissector::analysis::series::Throughput;
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::pipeline::run_into;
//! use mptcp_dissector::track::{Analyzer, Limits};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let mut series = Throughput::new(100_000_000, None);
//! let _ = run_into(&mut reader, Analyzer::new(Limits::default()), &mut series);
//! assert!(!series.rows().is_empty());
//! ```
use std::collections::BTreeMap;

use serde::Serialize;

use crate::pipeline::Sink;
use crate::track::SegmentRecord;
use mptcp_wire::seq::DataSeq;

/// Most interval buckets kept per series (bounded memory on long captures).
pub const MAX_BUCKETS: usize = 1 << 20;

/// An interval picked from the duration ([`auto_interval`]) aims at about this many points.
pub const AUTO_POINTS: u64 = 300;

/// The finest interval [`auto_interval`] picks: 1 µs, the resolution of most captures.
pub const AUTO_MIN_NS: u64 = 1_000;

/// While the interval is not picked yet, a series is counted at a fine base interval (a power of
/// ten nanoseconds); past this many buckets in one series, every series is re-counted ten times
/// coarser. A base at most a tenth of the final interval keeps the final intervals exact sums.
const AUTO_BASE_BUCKETS: usize = 4 * AUTO_POINTS as usize * 10;

/// The interval for a series lasting `span_ns`: a round value (1, 2 or 5 × 10^k ns, at least
/// [`AUTO_MIN_NS`]) nearest, on a log scale, to `span_ns / AUTO_POINTS`: a few hundred points
/// whether the transfer lasts 0.1 s or an hour.
///
/// ```
/// use mptcp_dissector::analysis::series::auto_interval;
/// assert_eq!(auto_interval(100_000_000), 500_000); // 0.1 s: 500 µs, 200 points
/// assert_eq!(auto_interval(3_600_000_000_000), 10_000_000_000); // 1 h: 10 s, 360 points
/// ```
pub fn auto_interval(span_ns: u64) -> u64 {
    let want = (span_ns / AUTO_POINTS).max(1) as f64;
    let mut best = AUTO_MIN_NS;
    let mut decade = 1u64;
    while decade <= 1_000_000_000_000_000 {
        for m in [1, 2, 5] {
            let v = m * decade;
            if v >= AUTO_MIN_NS && (v as f64 / want).ln().abs() < (best as f64 / want).ln().abs() {
                best = v;
            }
        }
        decade *= 10;
    }
    best
}

/// The buckets of one series: `v[i]` is bucket `start + i`, [c2s, s2c] bytes.
#[derive(Debug, Default, Clone)]
struct Buckets {
    start: usize,
    v: Vec<[u64; 2]>,
}

impl Buckets {
    fn end(&self) -> usize {
        self.start + self.v.len()
    }

    /// First and one-past-last bucket, when the series has any.
    fn extent(&self) -> Option<(usize, usize)> {
        (!self.v.is_empty()).then(|| (self.start, self.end()))
    }

    fn bump(&mut self, bucket: usize, c2s: bool, bytes: u64) {
        if self.v.is_empty() {
            self.start = bucket;
        } else if bucket < self.start {
            // An earlier timestamp (captures are not always in time order).
            self.v.splice(0..0, std::iter::repeat_n([0, 0], self.start - bucket));
            self.start = bucket;
        }
        let i = bucket - self.start;
        if self.v.len() <= i {
            self.v.resize(i + 1, [0, 0]);
        }
        if let Some(cell) = self.v.get_mut(i) {
            cell[usize::from(!c2s)] += bytes;
        }
    }

    /// The same series in buckets `factor` times longer.
    fn coarsen(&mut self, factor: usize) {
        let start = self.start / factor;
        let mut v: Vec<[u64; 2]> = Vec::with_capacity(self.v.len() / factor + 2);
        for (i, cell) in self.v.iter().enumerate() {
            let j = (self.start + i) / factor - start;
            if v.len() <= j {
                v.resize(j + 1, [0, 0]);
            }
            if let Some(c) = v.get_mut(j) {
                c[0] += cell[0];
                c[1] += cell[1];
            }
        }
        *self = Buckets { start, v };
    }
}

/// Per-interval byte counts. Keys: (connection, subflow or `None` for the data level).
pub struct Throughput {
    /// The bucket length: the interval, or while it is picked from the duration ([`Self::auto`])
    /// the fine base the series are counted at.
    interval_ns: u64,
    /// The interval is picked from the duration when the rows are read.
    auto: bool,
    connection: Option<usize>,
    t0: Option<u64>,
    /// (connection, subflow) → per bucket [c2s, s2c] bytes; subflow None = data-level new bytes.
    cells: BTreeMap<(usize, Option<usize>), Buckets>,
    /// connection → per bucket [c2s, s2c] data-level bytes newly data-ACKed by the peer.
    acked: BTreeMap<usize, Buckets>,
    /// connection → per bucket [c2s, s2c] data-level bytes that became deliverable in order.
    delivered: BTreeMap<usize, Buckets>,
    /// connection → highest data ACK seen for [c2s, s2c] data.
    last_ack: BTreeMap<usize, [Option<DataSeq>; 2]>,
    /// First and last time counted in any series.
    span: Option<(u64, u64)>,
    /// Buckets past MAX_BUCKETS that were not counted.
    pub dropped: u64,
}

/// One row of the series: one interval of one subflow (or of the data level) of a connection.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    /// Start of the interval, seconds from the first packet of the capture.
    pub t: f64,
    pub connection: usize,
    /// Subflow id; null for the data-level goodput row.
    pub subflow: Option<usize>,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    pub c2s_bps: f64,
    pub s2c_bps: f64,
    /// Data-level rows only: bytes the peer newly data-ACKed in the interval (goodput as the
    /// receiver saw it, whatever the capture point); 0 on subflow rows.
    pub c2s_acked_bytes: u64,
    pub s2c_acked_bytes: u64,
    /// Data-level rows only: bytes that became deliverable in order in the interval (what the
    /// application could have read, as the capture saw arrivals); 0 on subflow rows.
    pub c2s_delivered_bytes: u64,
    pub s2c_delivered_bytes: u64,
}

impl Throughput {
    /// `interval_ns` > 0; `connection` limits the series to one connection.
    pub fn new(interval_ns: u64, connection: Option<usize>) -> Self {
        Throughput {
            interval_ns: interval_ns.max(1),
            auto: false,
            connection,
            t0: None,
            cells: BTreeMap::new(),
            acked: BTreeMap::new(),
            delivered: BTreeMap::new(),
            last_ack: BTreeMap::new(),
            span: None,
            dropped: 0,
        }
    }

    /// When the series' buckets start: the first TCP segment seen (the first packet of the
    /// capture may be ARP, ICMPv6, ...; callers shift `Row::t` by the difference).
    pub fn t0_ns(&self) -> Option<u64> {
        self.t0
    }

    /// The interval is picked from the duration of what is counted ([`auto_interval`] of the
    /// first to the last segment of the series), when the rows are read. Memory stays bounded:
    /// the series are counted at a fine base that grows tenfold when a series gets long.
    pub fn auto(connection: Option<usize>) -> Self {
        Throughput { auto: true, ..Throughput::new(AUTO_MIN_NS, connection) }
    }

    /// The bucket of `ts_ns` in a series of `extent`; in auto mode, coarsens every series first
    /// when this one would get too long.
    fn bucket(&mut self, ts_ns: u64, extent: Option<(usize, usize)>) -> Option<usize> {
        let t0 = *self.t0.get_or_insert(ts_ns);
        let mut bucket = (ts_ns.saturating_sub(t0) / self.interval_ns) as usize;
        let span = span_at(extent, bucket, 1);
        if self.auto && span > AUTO_BASE_BUCKETS {
            // Coarser base for every series (they share one interval), until this one fits.
            let mut factor = 1usize;
            while span_at(extent, bucket, factor) > AUTO_BASE_BUCKETS {
                factor *= 10;
            }
            self.interval_ns = self.interval_ns.saturating_mul(factor as u64);
            for b in self.cells.values_mut().chain(self.acked.values_mut()).chain(self.delivered.values_mut()) {
                b.coarsen(factor);
            }
            bucket /= factor;
        } else if !self.auto && span > MAX_BUCKETS {
            self.dropped += 1;
            return None;
        }
        let (a, b) = self.span.get_or_insert((ts_ns, ts_ns));
        *a = (*a).min(ts_ns);
        *b = (*b).max(ts_ns);
        Some(bucket)
    }

    fn add(&mut self, key: (usize, Option<usize>), ts_ns: u64, c2s: bool, bytes: u64) {
        let extent = self.cells.get(&key).and_then(Buckets::extent);
        let Some(bucket) = self.bucket(ts_ns, extent) else { return };
        self.cells.entry(key).or_default().bump(bucket, c2s, bytes);
    }

    /// A data ACK for the `c2s` (or s2c) data of `conn`: counts the advance over the last one.
    fn ack(&mut self, conn: usize, ts_ns: u64, c2s: bool, ack: DataSeq) {
        let last = &mut self.last_ack.entry(conn).or_default()[usize::from(!c2s)];
        let advance = match *last {
            // Wrapping distance; a backwards or absurd jump is not an advance.
            Some(prev) => ack - prev,
            None => 0,
        };
        if last.is_none() || advance > 0 {
            *last = Some(ack);
        }
        if advance <= 0 || advance >= 1 << 40 {
            return;
        }
        let extent = self.acked.get(&conn).and_then(Buckets::extent);
        let Some(bucket) = self.bucket(ts_ns, extent) else { return };
        self.acked.entry(conn).or_default().bump(bucket, c2s, advance as u64);
    }

    /// Rows in (connection, subflow, time) order, data-level rows (subflow null) first, only the
    /// intervals where something happened (a row with every count zero is left out): a long
    /// capture with short connections does not print a row per idle interval.
    pub fn sparse_rows(&self) -> Vec<Row> {
        self.rows_of(false)
    }

    /// Rows in (connection, subflow, time) order, data-level rows (subflow null) first; every
    /// interval from the series' first to last is present (zeros included).
    pub fn rows(&self) -> Vec<Row> {
        self.rows_of(true)
    }

    fn rows_of(&self, dense: bool) -> Vec<Row> {
        let interval = self.interval_ns();
        let mut conns: Vec<usize> =
            self.cells.keys().map(|k| k.0).chain(self.acked.keys().copied()).chain(self.delivered.keys().copied()).collect();
        conns.sort_unstable();
        conns.dedup();
        let mut out = Vec::new();
        for c in conns {
            let series = self.snapshot(c);
            out.extend(connection_rows(std::slice::from_ref(&series), interval, dense));
        }
        out
    }

    /// Connection `conn`'s series as they are now (they stay counted).
    fn snapshot(&self, conn: usize) -> ConnSeries {
        let mut series = Vec::new();
        for (&(_, sf), b) in self.cells.range((conn, None)..=(conn, Some(usize::MAX))) {
            series.push(Sparse::of(Kind::Bytes(sf), b));
        }
        if let Some(b) = self.acked.get(&conn) {
            series.push(Sparse::of(Kind::Acked, b));
        }
        if let Some(b) = self.delivered.get(&conn) {
            series.push(Sparse::of(Kind::Delivered, b));
        }
        ConnSeries { connection: conn, base_ns: self.interval_ns, series }
    }

    /// Takes connection `conn`'s series out (it finished: nothing more is counted for it), to
    /// be turned into rows ([`connection_rows`]) once the interval is known. `None`: nothing was
    /// counted for it. Memory then follows the connections open.
    pub fn take_connection(&mut self, conn: usize) -> Option<ConnSeries> {
        let series = self.snapshot(conn);
        let keys: Vec<(usize, Option<usize>)> = self.cells.range((conn, None)..=(conn, Some(usize::MAX))).map(|(k, _)| *k).collect();
        for k in keys {
            self.cells.remove(&k);
        }
        self.acked.remove(&conn);
        self.delivered.remove(&conn);
        self.last_ack.remove(&conn);
        (!series.series.is_empty()).then_some(series)
    }

    /// Takes every connection's series still held, in connection order (the end of a run).
    pub fn take_all(&mut self) -> Vec<ConnSeries> {
        let mut conns: Vec<usize> =
            self.cells.keys().map(|k| k.0).chain(self.acked.keys().copied()).chain(self.delivered.keys().copied()).collect();
        conns.sort_unstable();
        conns.dedup();
        conns.into_iter().filter_map(|c| self.take_connection(c)).collect()
    }

    /// The interval of the rows: the one given, or the one picked from the duration.
    pub fn interval_ns(&self) -> u64 {
        if !self.auto {
            return self.interval_ns;
        }
        let span = self.span.map_or(0, |(a, b)| b - a);
        // A round value at least the base, and so a multiple of it (the base is 10^k ns).
        let mut v = auto_interval(span);
        if v < self.interval_ns {
            v = self.interval_ns;
        }
        v
    }

    pub fn interval_secs(&self) -> f64 {
        self.interval_ns() as f64 / 1e9
    }
}

/// What a series of a connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Payload bytes of a subflow, or new data-level bytes (`None`).
    Bytes(Option<usize>),
    /// Data-level bytes newly data-ACKed.
    Acked,
    /// Data-level bytes that became deliverable in order.
    Delivered,
}

/// One series of a connection: its extent in buckets and the buckets that are not zero.
#[derive(Debug, Clone, PartialEq)]
struct Sparse {
    kind: Kind,
    /// First and one-past-last bucket (zero buckets included: they make the dense rows).
    start: u64,
    end: u64,
    /// (bucket, [c2s, s2c]) in bucket order, zeros left out.
    cells: Vec<(u64, [u64; 2])>,
}

impl Sparse {
    fn of(kind: Kind, b: &Buckets) -> Sparse {
        let cells = b.v.iter().enumerate().filter(|(_, c)| c[0] != 0 || c[1] != 0).map(|(i, c)| ((b.start + i) as u64, *c)).collect();
        Sparse { kind, start: b.start as u64, end: b.end() as u64, cells }
    }
}

/// One connection's series, taken out of a [`Throughput`] when it finished
/// ([`Throughput::take_connection`]), at the bucket length counted then; [`connection_rows`] turns
/// it into rows once the interval is known. [`ConnSeries::encode`] writes it as bytes (a
/// command can keep finished connections out of memory until the end of the run).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnSeries {
    pub connection: usize,
    /// Length of a bucket (ns): the interval, or the base it was counted at.
    pub base_ns: u64,
    series: Vec<Sparse>,
}

impl ConnSeries {
    /// Appends the series to `out` ([`ConnSeries::decode`] reads them back).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut put = |v: u64| out.extend_from_slice(&v.to_le_bytes());
        put(self.connection as u64);
        put(self.base_ns);
        put(self.series.len() as u64);
        for s in &self.series {
            let (tag, sf) = match s.kind {
                Kind::Bytes(None) => (0, 0),
                Kind::Bytes(Some(sf)) => (1, sf as u64),
                Kind::Acked => (2, 0),
                Kind::Delivered => (3, 0),
            };
            put(tag);
            put(sf);
            put(s.start);
            put(s.end);
            put(s.cells.len() as u64);
            for &(b, [c, d]) in &s.cells {
                put(b);
                put(c);
                put(d);
            }
        }
    }

    /// The series [`ConnSeries::encode`] wrote at the start of `bytes`, and the bytes after
    /// them; `None` if they are not such series.
    pub fn decode(bytes: &[u8]) -> Option<(ConnSeries, &[u8])> {
        let mut rest = bytes;
        let mut get = || -> Option<u64> {
            let (head, tail) = rest.split_first_chunk::<8>()?;
            rest = tail;
            Some(u64::from_le_bytes(*head))
        };
        let connection = usize::try_from(get()?).ok()?;
        let base_ns = get()?;
        let n = get()?;
        let mut series = Vec::new();
        for _ in 0..n {
            let (tag, sf) = (get()?, get()?);
            let kind = match tag {
                0 => Kind::Bytes(None),
                1 => Kind::Bytes(Some(usize::try_from(sf).ok()?)),
                2 => Kind::Acked,
                3 => Kind::Delivered,
                _ => return None,
            };
            let (start, end, k) = (get()?, get()?, get()?);
            let mut cells = Vec::new();
            for _ in 0..k {
                cells.push((get()?, [get()?, get()?]));
            }
            series.push(Sparse { kind, start, end, cells });
        }
        Some((ConnSeries { connection, base_ns, series }, rest))
    }

    /// Subflows with a series of their own, in id order.
    pub fn subflows(&self) -> impl Iterator<Item = usize> + '_ {
        self.series.iter().filter_map(|s| match s.kind {
            Kind::Bytes(sf) => sf,
            _ => None,
        })
    }
}

/// The rows of one connection (`parts`: its series, taken once or, when counting went on after
/// it was taken, several times) in intervals of `interval_ns`, a multiple of every part's
/// bucket length: data-level rows first, then each subflow's, each in time order; `dense`:
/// every interval from a series' first to its last, else only those where something happened.
/// A connection's own rows are those [`Throughput::rows`] gives it.
pub fn connection_rows(parts: &[ConnSeries], interval_ns: u64, dense: bool) -> Vec<Row> {
    type Cells = BTreeMap<u64, [u64; 2]>;
    let interval = u128::from(interval_ns.max(1));
    let Some(connection) = parts.first().map(|p| p.connection) else { return Vec::new() };
    // Per series: (first, last interval, bytes per interval); acked and delivered per interval.
    let mut bytes: BTreeMap<Option<usize>, (u64, u64, Cells)> = BTreeMap::new();
    let (mut acked, mut delivered) = (Cells::new(), Cells::new());
    for p in parts {
        let at = |b: u64| (u128::from(b) * u128::from(p.base_ns) / interval) as u64;
        for s in &p.series {
            if s.end <= s.start {
                continue;
            }
            let (lo, hi) = (at(s.start), at(s.end - 1));
            let cells = match s.kind {
                Kind::Bytes(sf) => {
                    let e = bytes.entry(sf).or_insert((lo, hi, Cells::new()));
                    e.0 = e.0.min(lo);
                    e.1 = e.1.max(hi);
                    &mut e.2
                }
                Kind::Acked => &mut acked,
                Kind::Delivered => &mut delivered,
            };
            for &(b, [c, d]) in &s.cells {
                let cell = cells.entry(at(b)).or_insert([0, 0]);
                cell[0] = cell[0].saturating_add(c);
                cell[1] = cell[1].saturating_add(d);
            }
        }
    }
    let secs = interval_ns as f64 / 1e9;
    let mut out = Vec::new();
    for (subflow, (lo, hi, cells)) in &bytes {
        let data = subflow.is_none();
        let row = |i: u64| {
            let get = |m: &Cells| m.get(&i).copied().unwrap_or([0, 0]);
            let cell = get(cells);
            let (a, d) = if data { (get(&acked), get(&delivered)) } else { ([0, 0], [0, 0]) };
            Row {
                t: i as f64 * secs,
                connection,
                subflow: *subflow,
                c2s_bytes: cell[0],
                s2c_bytes: cell[1],
                c2s_bps: cell[0] as f64 * 8.0 / secs,
                s2c_bps: cell[1] as f64 * 8.0 / secs,
                c2s_acked_bytes: a[0],
                s2c_acked_bytes: a[1],
                c2s_delivered_bytes: d[0],
                s2c_delivered_bytes: d[1],
            }
        };
        if dense {
            out.extend((*lo..=*hi).map(row));
        } else {
            // The intervals with a count, in order.
            let mut at: Vec<u64> = cells.keys().copied().collect();
            if data {
                at.extend(acked.keys().chain(delivered.keys()).copied().filter(|i| (*lo..=*hi).contains(i)));
                at.sort_unstable();
                at.dedup();
            }
            out.extend(at.into_iter().map(row).filter(|r| {
                r.c2s_bytes + r.s2c_bytes + r.c2s_acked_bytes + r.s2c_acked_bytes + r.c2s_delivered_bytes + r.s2c_delivered_bytes > 0
            }));
        }
    }
    out
}

/// Buckets a series of `extent` would span with `bucket` in it, counted `factor` times coarser.
fn span_at(extent: Option<(usize, usize)>, bucket: usize, factor: usize) -> usize {
    match extent {
        None => 1,
        Some((start, end)) => (end - 1).max(bucket) / factor - start.min(bucket) / factor + 1,
    }
}

impl Sink for Throughput {
    fn segment(&mut self, r: &SegmentRecord) {
        // The clock starts at the first packet of the capture, whatever its connection.
        if self.t0.is_none() {
            self.t0 = Some(r.ts_ns);
        }
        let Some(conn) = r.connection else { return };
        if self.connection.is_some_and(|c| c != conn) {
            return;
        }
        if r.payload_len > 0 {
            self.add((conn, Some(r.subflow)), r.ts_ns, r.c2s, u64::from(r.payload_len));
        }
        if r.new_bytes > 0 || (r.data_ack.is_some() && !self.cells.contains_key(&(conn, None))) {
            self.add((conn, None), r.ts_ns, r.c2s, r.new_bytes);
        }
        if r.delivered_bytes > 0 {
            let extent = self.delivered.get(&conn).and_then(Buckets::extent);
            if let Some(bucket) = self.bucket(r.ts_ns, extent) {
                self.delivered.entry(conn).or_default().bump(bucket, r.c2s, r.delivered_bytes);
                // Keep the data-level series long enough to hold the interval.
                self.add((conn, None), r.ts_ns, r.c2s, 0);
            }
        }
        if let Some(ack) = r.data_ack {
            // A data ACK on a c2s segment acknowledges the s2c data, and the other way round.
            self.ack(conn, r.ts_ns, !r.c2s, ack);
            // Keep the data-level series long enough to hold the ACK's interval.
            self.add((conn, None), r.ts_ns, r.c2s, 0);
        }
    }
}

/// Parses an interval such as `100ms`, `1s`, `250us`, `0.5s`.
pub fn parse_interval(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad interval {s:?}: expected e.g. 100ms, 1s"))?;
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return Err(format!("bad interval unit in {s:?}: use ns, us, ms or s")),
    };
    let ns = v * scale;
    if !(1.0..1e15).contains(&ns) {
        return Err(format!("interval {s:?} out of range"));
    }
    Ok(ns as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts_ns: u64, subflow: usize, c2s: bool, len: u32, new: u64) -> SegmentRecord {
        SegmentRecord { ts_ns, subflow, connection: Some(0), c2s, payload_len: len, new_bytes: new, ..Default::default() }
    }

    #[test]
    fn buckets_bytes_per_subflow_and_data_level() {
        let mut t = Throughput::new(100_000_000, None);
        t.segment(&rec(1_000_000_000, 0, true, 1000, 1000));
        t.segment(&rec(1_050_000_000, 1, true, 500, 0)); // a reinjection: no new bytes
        t.segment(&rec(1_250_000_000, 0, false, 300, 300));
        let rows = t.rows();
        let data: Vec<_> = rows.iter().filter(|r| r.subflow.is_none()).map(|r| (r.c2s_bytes, r.s2c_bytes)).collect();
        assert_eq!(data, vec![(1000, 0), (0, 0), (0, 300)]);
        let sf1: Vec<_> = rows.iter().filter(|r| r.subflow == Some(1)).map(|r| r.c2s_bytes).collect();
        assert_eq!(sf1, vec![500]);
        assert!((rows[0].c2s_bps - 80_000.0).abs() < 1e-6);
    }

    #[test]
    fn data_acks_count_as_acked_goodput_of_the_other_direction() {
        let mut t = Throughput::new(100_000_000, None);
        let mut r = rec(1_000_000_000, 0, false, 0, 0);
        r.data_ack = Some(DataSeq(5000)); // s2c segment acknowledging c2s data: the baseline
        t.segment(&r);
        r.ts_ns = 1_150_000_000;
        r.data_ack = Some(DataSeq(6400));
        t.segment(&r);
        r.ts_ns = 1_160_000_000;
        r.data_ack = Some(DataSeq(6000)); // old ACK re-sent: no advance
        t.segment(&r);
        let rows = t.rows();
        let acked: Vec<_> = rows.iter().filter(|r| r.subflow.is_none()).map(|r| (r.c2s_acked_bytes, r.s2c_acked_bytes)).collect();
        assert_eq!(acked, vec![(0, 0), (1400, 0)]);
    }

    #[test]
    fn auto_intervals_are_round_and_give_a_few_hundred_points() {
        for (span_ns, want) in [
            (0, AUTO_MIN_NS),
            (1_000_000, 5_000),                    // 1 ms: 5 µs
            (100_000_000, 500_000),                // 0.1 s: 500 µs
            (1_500_000_000, 5_000_000),            // 1.5 s: 5 ms
            (60_000_000_000, 200_000_000),         // 1 min: 200 ms
            (3_600_000_000_000, 10_000_000_000),   // 1 h: 10 s
            (86_400_000_000_000, 200_000_000_000), // 1 day: 200 s
        ] {
            let v = auto_interval(span_ns);
            assert_eq!(v, want, "span {span_ns} ns");
            let points = span_ns / v;
            assert!(span_ns < 300_000 || (100..=750).contains(&points), "{span_ns}: {points} points");
        }
    }

    /// Picked from the duration, the rows are the rows of that interval given outright: the fine
    /// base and its coarsening only change memory.
    #[test]
    fn auto_rows_equal_the_rows_of_the_interval_it_picks() {
        for (span_ns, n) in [(100_000_000u64, 5_000u64), (3_600_000_000_000, 20_000), (40_000, 50)] {
            let recs: Vec<SegmentRecord> = (0..n)
                .map(|i| {
                    // Spread unevenly: squares of i over the span, two subflows, both ways.
                    let t = 1_000 + span_ns / (n * n) * i * i;
                    let mut r = rec(t, (i % 2) as usize, i % 3 != 0, 100 + (i % 7) as u32, (i % 5) * 10);
                    r.data_ack = (i % 4 == 0).then_some(DataSeq(1_000_000 + i * 50));
                    r
                })
                .collect();
            let mut auto = Throughput::auto(None);
            for r in &recs {
                auto.segment(r);
            }
            let picked = auto.interval_ns();
            assert_eq!(picked, auto_interval(recs.last().unwrap().ts_ns - recs[0].ts_ns).max(AUTO_MIN_NS));
            let mut fixed = Throughput::new(picked, None);
            for r in &recs {
                fixed.segment(r);
            }
            assert_eq!(auto.rows(), fixed.rows(), "span {span_ns}");
            let n_rows = auto.rows().iter().filter(|r| r.subflow.is_none()).count();
            assert!(n_rows <= 800, "span {span_ns}: {n_rows} rows");
        }
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("100ms"), Ok(100_000_000));
        assert_eq!(parse_interval("1s"), Ok(1_000_000_000));
        assert_eq!(parse_interval("0.5s"), Ok(500_000_000));
        assert_eq!(parse_interval("2"), Ok(2_000_000_000));
        assert!(parse_interval("0ms").is_err());
        assert!(parse_interval("1h").is_err());
        assert!(parse_interval("fast").is_err());
    }
}
