//! Time series built from the analyzer's per-segment records: bytes per subflow and
//! data-level goodput per interval (the `throughput` command and the plots).
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use mptcp_dissector::series::{Throughput, SharedObserver};
//! use mptcp_dissector::track::{Analyzer, Limits};
//! let series = Rc::new(RefCell::new(Throughput::new(100_000_000, None)));
//! let analyzer = Analyzer::new(Limits::default()).with_observer(Box::new(SharedObserver(series.clone())));
//! let _analysis = analyzer.finish();
//! assert!(series.borrow().rows().is_empty());
//! ```
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

use crate::track::{Observer, SegmentRecord};

/// Wraps a shared observer so its results can be read after the analyzer is gone.
pub struct SharedObserver<T: Observer>(pub Rc<RefCell<T>>);

impl<T: Observer> Observer for SharedObserver<T> {
    fn segment(&mut self, record: &SegmentRecord) {
        self.0.borrow_mut().segment(record);
    }
}

/// Most interval buckets kept per series (bounded memory on long captures).
pub const MAX_BUCKETS: usize = 1 << 20;

/// Per-interval byte counts. Keys: (connection, subflow or `None` for the data level).
pub struct Throughput {
    interval_ns: u64,
    connection: Option<usize>,
    t0: Option<u64>,
    /// (connection, subflow) → per bucket [c2s, s2c] bytes; subflow None = data-level new bytes.
    cells: BTreeMap<(usize, Option<usize>), Vec<[u64; 2]>>,
    /// connection → per bucket [c2s, s2c] data-level bytes newly data-ACKed by the peer.
    acked: BTreeMap<usize, Vec<[u64; 2]>>,
    /// connection → per bucket [c2s, s2c] data-level bytes that became deliverable in order.
    delivered: BTreeMap<usize, Vec<[u64; 2]>>,
    /// connection → highest data ACK seen for [c2s, s2c] data.
    last_ack: BTreeMap<usize, [Option<u64>; 2]>,
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
            connection,
            t0: None,
            cells: BTreeMap::new(),
            acked: BTreeMap::new(),
            delivered: BTreeMap::new(),
            last_ack: BTreeMap::new(),
            dropped: 0,
        }
    }

    fn bucket(&mut self, ts_ns: u64) -> Option<usize> {
        let t0 = *self.t0.get_or_insert(ts_ns);
        let bucket = (ts_ns.saturating_sub(t0) / self.interval_ns) as usize;
        if bucket >= MAX_BUCKETS {
            self.dropped += 1;
            return None;
        }
        Some(bucket)
    }

    fn add(&mut self, key: (usize, Option<usize>), ts_ns: u64, c2s: bool, bytes: u64) {
        let Some(bucket) = self.bucket(ts_ns) else { return };
        bump(self.cells.entry(key).or_default(), bucket, c2s, bytes);
    }

    /// A data ACK for the `c2s` (or s2c) data of `conn`: counts the advance over the last one.
    fn ack(&mut self, conn: usize, ts_ns: u64, c2s: bool, ack: u64) {
        let last = &mut self.last_ack.entry(conn).or_default()[usize::from(!c2s)];
        let advance = match *last {
            // Wrapping distance; a backwards or absurd jump is not an advance.
            Some(prev) => ack.wrapping_sub(prev) as i64,
            None => 0,
        };
        if last.is_none() || advance > 0 {
            *last = Some(ack);
        }
        if advance <= 0 || advance >= 1 << 40 {
            return;
        }
        let Some(bucket) = self.bucket(ts_ns) else { return };
        bump(self.acked.entry(conn).or_default(), bucket, c2s, advance as u64);
    }

    /// Rows in (connection, subflow, time) order, data-level rows (subflow null) first, only the
    /// intervals where something happened (a row with every count zero is left out): a long
    /// capture with short connections does not print a row per idle interval.
    pub fn sparse_rows(&self) -> Vec<Row> {
        let mut rows = self.rows();
        rows.retain(|r| {
            r.c2s_bytes + r.s2c_bytes + r.c2s_acked_bytes + r.s2c_acked_bytes + r.c2s_delivered_bytes + r.s2c_delivered_bytes > 0
        });
        rows
    }

    /// Rows in (connection, subflow, time) order, data-level rows (subflow null) first; every
    /// interval from the series' first to last bucket is present (zeros included).
    pub fn rows(&self) -> Vec<Row> {
        let secs = self.interval_ns as f64 / 1e9;
        let mut out = Vec::new();
        for (&(connection, subflow), v) in &self.cells {
            let acked = if subflow.is_none() { self.acked.get(&connection) } else { None };
            let delivered = if subflow.is_none() { self.delivered.get(&connection) } else { None };
            for (i, cell) in v.iter().enumerate() {
                let a = acked.and_then(|a| a.get(i)).copied().unwrap_or([0, 0]);
                let d = delivered.and_then(|d| d.get(i)).copied().unwrap_or([0, 0]);
                out.push(Row {
                    t: i as f64 * secs,
                    connection,
                    subflow,
                    c2s_bytes: cell[0],
                    s2c_bytes: cell[1],
                    c2s_bps: cell[0] as f64 * 8.0 / secs,
                    s2c_bps: cell[1] as f64 * 8.0 / secs,
                    c2s_acked_bytes: a[0],
                    s2c_acked_bytes: a[1],
                    c2s_delivered_bytes: d[0],
                    s2c_delivered_bytes: d[1],
                });
            }
        }
        out
    }

    pub fn interval_secs(&self) -> f64 {
        self.interval_ns as f64 / 1e9
    }
}

impl Observer for Throughput {
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
            if let Some(bucket) = self.bucket(r.ts_ns) {
                bump(self.delivered.entry(conn).or_default(), bucket, r.c2s, r.delivered_bytes);
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

fn bump(v: &mut Vec<[u64; 2]>, bucket: usize, c2s: bool, bytes: u64) {
    if v.len() <= bucket {
        v.resize(bucket + 1, [0, 0]);
    }
    if let Some(cell) = v.get_mut(bucket) {
        cell[usize::from(!c2s)] += bytes;
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
        r.data_ack = Some(5000); // s2c segment acknowledging c2s data: the baseline
        t.segment(&r);
        r.ts_ns = 1_150_000_000;
        r.data_ack = Some(6400);
        t.segment(&r);
        r.ts_ns = 1_160_000_000;
        r.data_ack = Some(6000); // old ACK re-sent: no advance
        t.segment(&r);
        let rows = t.rows();
        let acked: Vec<_> = rows.iter().filter(|r| r.subflow.is_none()).map(|r| (r.c2s_acked_bytes, r.s2c_acked_bytes)).collect();
        assert_eq!(acked, vec![(0, 0), (1400, 0)]);
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
