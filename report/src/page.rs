//! Gathering the page as the capture is read: [`Page`], a pipeline sink that checks each
//! connection as it finishes and keeps only what the page shows ([`crate::Options`]).
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use mptcp_dissector::analysis::verify::{ConnectionVerdicts, Outcome, Verifier, VerifyReport};
use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Analyzer, Connection, Event, Limits, SegmentRecord, Subflow, SubflowKind};
use mptcp_plots::{Capture, Collector, Feed, MAX_SIDE};
use mptcp_wire::crypto::Token;

use crate::Options;

/// A connection the page lists, with its subflows and verdicts.
pub(crate) struct Listed {
    pub(crate) conn: Connection,
    pub(crate) subflows: Vec<Subflow>,
    pub(crate) verdicts: ConnectionVerdicts,
}

/// At most `max` items by id: every one offered while there is room; past that, those that
/// are a problem first (the first offered), then the busiest (the lower id first among equals).
struct Shortlist<T> {
    max: usize,
    kept: BTreeMap<usize, T>,
    /// The kept items that are no problem, least busy on top: the first to go when an item
    /// more worth showing comes.
    evictable: BinaryHeap<Reverse<(u64, Reverse<usize>)>>,
}

impl<T> Shortlist<T> {
    fn new(max: usize) -> Self {
        Shortlist { max, kept: BTreeMap::new(), evictable: BinaryHeap::new() }
    }

    fn offer(&mut self, id: usize, bytes: u64, problem: bool, item: T) {
        let key = (bytes, Reverse(id));
        if self.kept.len() >= self.max {
            match self.evictable.peek() {
                Some(&Reverse(least)) if problem || least < key => {
                    self.evictable.pop();
                    self.kept.remove(&(least.1).0);
                }
                _ => return,
            }
        }
        if !problem {
            self.evictable.push(Reverse(key));
        }
        self.kept.insert(id, item);
    }
}

/// A check's outcomes over every connection.
pub(crate) struct CheckTotal {
    pub(crate) id: &'static str,
    pub(crate) rfc: &'static str,
    pub(crate) counts: [u64; 3],
}

/// Counts of connections in buckets: bucket `i` holds values below `bounds[i].0` (and at or
/// above the bound before), named `bounds[i].1`; the last bucket, named `last`, the rest.
pub(crate) struct Distribution {
    pub(crate) title: &'static str,
    bounds: &'static [(u64, &'static str)],
    last: &'static str,
    pub(crate) counts: Vec<u64>,
}

impl Distribution {
    fn new(title: &'static str, bounds: &'static [(u64, &'static str)], last: &'static str) -> Self {
        Distribution { title, bounds, last, counts: vec![0; bounds.len() + 1] }
    }

    fn add(&mut self, v: u64) {
        let i = self.bounds.partition_point(|&(b, _)| b <= v);
        self.counts[i] += 1;
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.bounds.iter().map(|b| b.1).chain([self.last])
    }
}

const BYTES: &[(u64, &str)] = &[
    (1, "0"),
    (1_000, "1 B – 1 kB"),
    (10_000, "1 kB – 10 kB"),
    (100_000, "10 kB – 100 kB"),
    (1_000_000, "100 kB – 1 MB"),
    (10_000_000, "1 MB – 10 MB"),
    (100_000_000, "10 MB – 100 MB"),
    (1_000_000_000, "100 MB – 1 GB"),
];
const DURATION_US: &[(u64, &str)] = &[
    (1_000, "< 1 ms"),
    (10_000, "1 ms – 10 ms"),
    (100_000, "10 ms – 100 ms"),
    (1_000_000, "100 ms – 1 s"),
    (10_000_000, "1 s – 10 s"),
    (100_000_000, "10 s – 100 s"),
    (1_000_000_000, "100 s – 1000 s"),
];
const SUBFLOWS: &[(u64, &str)] = &[(1, "0"), (2, "1"), (3, "2"), (5, "3 – 4"), (9, "5 – 8")];

/// What the page shows of a capture, gathered as it is read (a pipeline [`Sink`]; the analyzer
/// hands finished connections and events over). [`Page::finish`] makes the [`Gathered`] page.
pub struct Page {
    feed: Feed,
    verifier: Verifier<'static>,
    max_events: usize,
    listed: Shortlist<Listed>,
    totals: Totals,
}

/// What the page counts over every connection, and the events it shows.
pub struct Totals {
    /// MPTCP connections handed over.
    pub connections: u64,
    pub(crate) subflows: u64,
    pub(crate) orphans: u64,
    pub(crate) problems: u64,
    pub(crate) events: Vec<Event>,
    pub(crate) events_seen: u64,
    pub(crate) checks: Vec<CheckTotal>,
    pub(crate) distributions: [Distribution; 3],
}

/// The analyzer a [`Page`] needs: finished connections and events handed over, events with
/// their connection's token (as `events` shows them).
pub fn analyzer(limits: Limits) -> Analyzer<'static> {
    Analyzer::new(limits).hand_over_finished().hand_over_events(true)
}

impl Page {
    /// Gathers for `opts`, with throughput in `interval_ns` intervals.
    pub fn new(interval_ns: u64, opts: &Options) -> Self {
        Page {
            feed: Feed::new(Collector::new(interval_ns, MAX_SIDE).keep_busiest(opts.plotted_connections)),
            verifier: Verifier::new(&[]),
            max_events: opts.max_events,
            listed: Shortlist::new(opts.max_connections),
            totals: Totals {
                connections: 0,
                subflows: 0,
                orphans: 0,
                problems: 0,
                events: Vec::new(),
                events_seen: 0,
                checks: Vec::new(),
                distributions: [
                    Distribution::new("data-level bytes (both ways; a range holds its lower end)", BYTES, "≥ 1 GB"),
                    Distribution::new("duration", DURATION_US, "≥ 1000 s"),
                    Distribution::new("subflows", SUBFLOWS, "≥ 9"),
                ],
            },
        }
    }

    fn tally(&mut self, v: &ConnectionVerdicts) {
        for k in &v.checks {
            let i = match self.totals.checks.iter().position(|t| t.id == k.id.id()) {
                Some(i) => i,
                None => {
                    self.totals.checks.push(CheckTotal { id: k.id.id(), rfc: k.rfc, counts: [0; 3] });
                    self.totals.checks.len() - 1
                }
            };
            self.totals.checks[i].counts[outcome_index(k.outcome)] += 1;
        }
    }

    /// The page: the capture (plot series of the busiest connections, `analysis` of the pass
    /// with those connections) and the verdicts' totals and capture-level checks.
    pub fn finish(self, name: &str, analysis: Analysis, end: Option<CaptureError>) -> Gathered {
        let mut verdicts = self.verifier.finish(name, &analysis);
        verdicts.require_connections(self.totals.connections, &analysis, false);
        let cap = self.feed.into_capture(name, analysis, end);
        Gathered { cap, verdicts, listed: self.listed.kept.into_values().collect(), totals: self.totals }
    }
}

fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Pass => 0,
        Outcome::Fail => 1,
        Outcome::Skip => 2,
    }
}

impl Sink for Page {
    fn segment(&mut self, r: &SegmentRecord) {
        self.feed.segment(r);
    }
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.verifier.event(e);
        self.totals.events_seen += 1;
        if self.totals.events.len() < self.max_events {
            self.totals.events.push(e.clone());
        }
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        let verdicts = self.verifier.connection(&conn, &subflows, true);
        self.totals.connections += 1;
        self.totals.subflows += subflows.len() as u64;
        self.tally(&verdicts);
        self.feed.offer(&conn, &subflows);
        let problem =
            verdicts.checks.iter().any(|k| k.outcome == Outcome::Fail) || !conn.anomalies.is_empty() || conn.anomalies_dropped > 0;
        self.totals.problems += u64::from(problem);
        let [bytes, duration, count] = &mut self.totals.distributions;
        bytes.add(conn.c2s.bytes + conn.s2c.bytes);
        duration.add(((conn.end_ts - conn.start_ts).max(0.0) * 1e6) as u64);
        count.add(subflows.len() as u64);
        let (id, bytes) = (conn.id, conn.c2s.bytes + conn.s2c.bytes);
        self.listed.offer(id, bytes, problem, Listed { conn, subflows, verdicts });
    }
    fn flow(&mut self, f: Subflow) {
        self.verifier.flow(&f);
        self.totals.orphans += u64::from(f.connection.is_none() && f.kind != SubflowKind::Tcp);
    }
}

/// What [`write_html`] writes: gathered by a [`Page`].
pub struct Gathered {
    /// The plot series of the busiest connections and the analysis of the pass (its counters;
    /// its connections are those plotted).
    pub cap: Capture,
    /// The capture-level checks and the totals (the connections' verdicts are in `listed`).
    pub verdicts: VerifyReport,
    pub(crate) listed: Vec<Listed>,
    pub totals: Totals,
}

impl Gathered {
    /// The connections listed on the page (ids, ascending).
    pub fn listed(&self) -> impl Iterator<Item = usize> + '_ {
        self.listed.iter().map(|l| l.conn.id)
    }
}

/// Reads the capture once into a [`Page`] for `opts` (throughput in `interval_ns` intervals).
pub fn gather(name: &str, reader: &mut CaptureReader, interval_ns: u64, limits: Limits, opts: &Options) -> Gathered {
    let mut page = Page::new(interval_ns, opts);
    let (analysis, end) = mptcp_dissector::pipeline::run_into(reader, analyzer(limits), &mut page);
    page.finish(name, analysis, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortlist_keeps_problems_first_then_the_busiest() {
        let ids = |l: &Shortlist<()>| l.kept.keys().copied().collect::<Vec<_>>();
        // (id, bytes, problem)
        let offers = [(0, 5, false), (1, 1, false), (2, 9, false), (3, 2, true), (4, 7, false), (5, 3, false), (6, 0, true)];
        let mut all = Shortlist::new(7);
        let mut three = Shortlist::new(3);
        for (id, bytes, problem) in offers {
            all.offer(id, bytes, problem, ());
            three.offer(id, bytes, problem, ());
        }
        assert_eq!(ids(&all), [0, 1, 2, 3, 4, 5, 6], "room for all: all kept");
        // problems 3 and 6, then the busiest other: 2 (9 bytes)
        assert_eq!(ids(&three), [2, 3, 6]);
        let mut two = Shortlist::new(2);
        for (id, problem) in [(0, true), (1, true), (2, true), (3, false)] {
            two.offer(id, 100, problem, ());
        }
        assert_eq!(ids(&two), [0, 1], "problems past the room: the first ones");
        let mut tie = Shortlist::new(2);
        for id in [4, 2, 9, 1] {
            tie.offer(id, 10, false, ());
        }
        assert_eq!(ids(&tie), [1, 2], "equal bytes: the lower ids");
    }

    #[test]
    fn distribution_buckets_hold_their_lower_bound() {
        let mut d = Distribution::new("bytes", BYTES, "≥ 1 GB");
        for v in [0, 1, 999, 1_000, 999_999_999, 1_000_000_000, u64::MAX] {
            d.add(v);
        }
        assert_eq!(d.counts, [1, 2, 1, 0, 0, 0, 0, 1, 2]);
        assert_eq!(d.names().count(), d.counts.len());
    }
}
