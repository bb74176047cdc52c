//! The report: flows oriented and named client → server, each direction's counts, lost list and
//! one-way delay statistics, the clock offset estimate and the delay series.
use std::net::SocketAddr;

use super::ident::Flow4;
use super::matcher::{FlowState, Pairer};
use super::model::{
    t_rel, DirectionPair, LinkedBy, OwdSeries, OwdStats, PairReport, Reinjection, SubflowPair, SynKind, Unmatched, CLIENT, SERVER,
};
use crate::track::{Dir, Side};

/// tcpdump's letters for the flags a listed segment can carry, in this report's order (not
/// `report::dissect`'s: that one puts FIN first, adds URG/ECE/CWR and writes `none`).
fn flag_names(f: u8) -> String {
    [(0x02, 'S'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P'), (0x10, '.')].iter().filter(|(b, _)| f & b != 0).map(|&(_, c)| c).collect()
}

fn epoch(ts: u64) -> String {
    format!("{}.{:09}", ts / 1_000_000_000, ts % 1_000_000_000)
}

fn us(ns: f64) -> f64 {
    (ns / 1000.0 * 1000.0).round() / 1000.0
}

/// min / median (mean of the two middle values for an even count) / p99 (nearest rank) / max.
fn stats(samples: &mut [i64]) -> Option<OwdStats> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let median = if n % 2 == 1 { samples[n / 2] as f64 } else { (samples[n / 2 - 1] as f64 + samples[n / 2] as f64) / 2.0 };
    let rank = (n * 99).div_ceil(100).max(1) - 1;
    Some(OwdStats { n, min: us(samples[0] as f64), median: us(median), p99: us(samples[rank] as f64), max: us(samples[n - 1] as f64) })
}

/// Statistics of thinned samples made exact where they can be: the count, the smallest and the
/// largest delay (ns, shifted by `shift`); the median and p99 stay those of the samples.
fn exact(o: &mut Option<OwdStats>, n: u64, lo: i64, hi: i64, shift: i64) {
    if let Some(o) = o {
        o.n = usize::try_from(n).unwrap_or(usize::MAX);
        o.min = us(lo.saturating_add(shift) as f64);
        o.max = us(hi.saturating_add(shift) as f64);
    }
}

impl Pairer {
    /// Ends matching: every pending copy is final; builds the report.
    pub fn finish(mut self) -> PairReport {
        while self.pop_oldest() {}
        // Orientation: a flow whose SYN (without ACK) was seen is c2s; its reverse s2c; without
        // a SYN, the capture that saw the flow's first segment first is its sender.
        let c2s: Vec<bool> = (0..self.states.len()).map(|i| self.is_c2s(i)).collect();
        let first_ts = self.first_ts;
        // (name, kind, c2s flow, s2c flow, name at the server, linked by)
        type Sub = (String, Option<SynKind>, Option<usize>, Option<usize>, Option<String>, Option<LinkedBy>);
        let mut subs: Vec<Sub> = Vec::new();
        let mut index: ahash::HashMap<String, usize> = Default::default();
        let mut names = vec![String::new(); self.states.len()];
        let named = |k: Flow4, is_c2s: bool| {
            let (s, d) = (SocketAddr::new(k.0, k.1), SocketAddr::new(k.2, k.3));
            if is_c2s {
                format!("{s}->{d}")
            } else {
                format!("{d}->{s}")
            }
        };
        for (i, (st, &is_c2s)) in self.states.iter().zip(c2s.iter()).enumerate() {
            let Some(k) = st.key[CLIENT].or(st.key[SERVER]) else { continue };
            let name = named(k, is_c2s);
            let at_server = match st.key {
                [Some(a), Some(b)] if a != b => Some(named(b, is_c2s)),
                _ => None,
            };
            names[i].clone_from(&name);
            let at = *index.entry(name.clone()).or_insert_with(|| {
                subs.push((name, None, None, None, at_server, None));
                subs.len() - 1
            });
            let e = &mut subs[at];
            e.5 = e.5.or(st.linked_by);
            if is_c2s {
                e.2 = Some(i);
                if let Some(m) = st.syn {
                    e.1 = Some(match m {
                        Some(0) => SynKind::MpCapable,
                        Some(1) => SynKind::MpJoin,
                        _ => SynKind::Tcp,
                    });
                }
            } else {
                e.3 = Some(i);
            }
        }
        subs.sort_by(|a, b| a.0.cmp(&b.0));
        let name = |f: u32| names.get(f as usize).cloned().unwrap_or_default();
        let [reinjections_c2s, reinjections_s2c] = std::mem::take(&mut self.reinj.sums);
        let reinjections = std::mem::take(&mut self.reinj.found)
            .into_iter()
            .flatten()
            .map(|f| Reinjection { subflow: name(f.flow), original_subflow: name(f.orig_flow), ..f.r })
            .collect();
        let reinjections_truncated = self.reinj.truncated;
        let mut all = [Vec::new(), Vec::new()];
        // a direction's report, its delay samples (sorted), with `series` (sender time, delay),
        // and its delays' count, smallest and largest (exact: the samples may be thinned)
        type Built = (DirectionPair, Vec<i64>, Vec<(f64, i64)>, Option<(u64, i64, i64)>);
        let thinned = self.stride > 1;
        let build = |st: Option<&mut FlowState>, c2s: bool| -> Built {
            let mut ext = None;
            let (snd, rcv) = if c2s { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
            let mut owd: Vec<i64> = Vec::new();
            let mut series = Vec::new();
            let mut d = DirectionPair {
                direction: if c2s { Dir::C2s } else { Dir::S2c },
                sender_capture: if c2s { Side::Client } else { Side::Server },
                sent_segments: 0,
                received_segments: 0,
                matched: 0,
                lost_count: 0,
                lost_bytes: 0,
                lost: Vec::new(),
                lost_list_truncated: false,
                seen_only_at_receiver: 0,
                owd_us: None,
                owd_corrected_us: None,
            };
            if let Some(st) = st {
                d.sent_segments = st.segments[snd];
                d.received_segments = st.segments[rcv];
                d.matched = st.nmatched;
                d.lost_count = st.unmatched[snd];
                d.lost_bytes = st.unmatched_bytes[snd];
                d.lost_list_truncated = st.unmatched[snd] > st.listed[snd].len() as u64;
                d.seen_only_at_receiver = st.unmatched[rcv];
                let mut listed = std::mem::take(&mut st.listed[snd]);
                listed.sort_by_key(|x| x.2.frame);
                let (isn, shift) = (st.isn[snd], st.shift[snd]);
                d.lost = listed
                    .into_iter()
                    .map(|(seq, len, c)| Unmatched {
                        seq: isn.map_or(seq.wrapping_add(shift), |i| seq.wrapping_add(shift).wrapping_sub(i)),
                        relative: isn.is_some(),
                        raw_seq: seq.wrapping_add(shift),
                        len,
                        flags: flag_names(c.flags),
                        time: epoch(c.ts),
                        t_rel: ((c.ts.saturating_sub(first_ts[snd].unwrap_or(0))) as f64 / 1e3).round() / 1e6,
                        frame: c.frame,
                    })
                    .collect();
                owd = std::mem::take(&mut st.diffs);
                let times = std::mem::take(&mut st.times);
                if !c2s {
                    owd.iter_mut().for_each(|x| *x = -*x);
                }
                // the sender's time: the client's for c2s, the client's arrival − delay for s2c
                series = times
                    .iter()
                    .zip(&owd)
                    .map(|(&tc, &o)| {
                        let sent = if c2s { tc } else { tc.saturating_add_signed(-o) };
                        (t_rel(sent, first_ts[snd]), o)
                    })
                    .collect();
                d.owd_us = stats(&mut owd);
                if st.nmatched > 0 {
                    let (lo, hi) =
                        if c2s { (st.diff_min, st.diff_max) } else { (st.diff_max.saturating_neg(), st.diff_min.saturating_neg()) };
                    ext = Some((st.nmatched, lo, hi));
                    if thinned {
                        exact(&mut d.owd_us, st.nmatched, lo, hi, 0);
                    }
                }
            }
            (d, owd, series, ext)
        };
        let mut out = Vec::new();
        let mut matched = 0;
        let mut raw_series = Vec::new();
        let mut exts = [Vec::new(), Vec::new()];
        for (name, kind, fwd, rev, at_server, linked_by) in subs {
            let (a, oa, sa, ea) = build(fwd.and_then(|i| self.states.get_mut(i)), true);
            let (b, ob, sb, eb) = build(rev.and_then(|i| self.states.get_mut(i)), false);
            exts[0].push(ea);
            exts[1].push(eb);
            for (dir, pts) in [(Dir::C2s, sa), (Dir::S2c, sb)] {
                if !pts.is_empty() {
                    raw_series.push((name.clone(), dir, pts));
                }
            }
            matched += a.matched + b.matched;
            all[0].push(oa);
            all[1].push(ob);
            out.push(SubflowPair { subflow: name, at_server, linked_by, kind, c2s: a, s2c: b });
        }
        let mut fw: Vec<i64> = all[0].iter().flatten().copied().collect();
        let mut bw: Vec<i64> = all[1].iter().flatten().copied().collect();
        let (mut owd_c2s_us, mut owd_s2c_us) = (stats(&mut fw), stats(&mut bw));
        // each direction's delays in all: count, smallest, largest (exact)
        let whole =
            |e: &[Option<(u64, i64, i64)>]| e.iter().flatten().copied().reduce(|(n, lo, hi), (m, l, h)| (n + m, lo.min(l), hi.max(h)));
        let (wf, wb) = (whole(&exts[0]), whole(&exts[1]));
        if thinned {
            for (o, w) in [(&mut owd_c2s_us, wf), (&mut owd_s2c_us, wb)] {
                if let Some((n, lo, hi)) = w {
                    exact(o, n, lo, hi, 0);
                }
            }
        }
        let offset_ns = match (wf, wb) {
            (Some((_, a, _)), Some((_, b, _))) => Some((a as f64 - b as f64) / 2.0),
            _ => None,
        };
        if let Some(off) = offset_ns {
            let shift = off.round() as i64;
            for (i, (sp, (oa, ob))) in out.iter_mut().zip(all[0].iter().zip(all[1].iter())).enumerate() {
                let mut a: Vec<i64> = oa.iter().map(|&x| x - shift).collect();
                let mut b: Vec<i64> = ob.iter().map(|&x| x + shift).collect();
                sp.c2s.owd_corrected_us = stats(&mut a);
                sp.s2c.owd_corrected_us = stats(&mut b);
                if thinned {
                    if let Some(Some((n, lo, hi))) = exts[0].get(i) {
                        exact(&mut sp.c2s.owd_corrected_us, *n, *lo, *hi, -shift);
                    }
                    if let Some(Some((n, lo, hi))) = exts[1].get(i) {
                        exact(&mut sp.s2c.owd_corrected_us, *n, *lo, *hi, shift);
                    }
                }
            }
        }
        let off = offset_ns.unwrap_or(0.0);
        let owd_series = raw_series
            .into_iter()
            .map(|(subflow, direction, pts)| {
                let corr = match direction {
                    Dir::C2s => -off,
                    Dir::S2c => off,
                };
                let points = pts.into_iter().map(|(t, o)| (t, (o as f64 + corr) / 1e6)).collect();
                OwdSeries { subflow, direction, points }
            })
            .collect();
        let o = &self.opts;
        let mut limits = Vec::new();
        if self.over_flows > 0 {
            limits.push(format!(
                "{} segments of flows past the first {} (directed 4-tuples) were not matched (the bound on flows followed)",
                self.over_flows, o.max_flows
            ));
        }
        if self.pushed_out > 0 {
            limits.push(format!(
                "{} unmatched segments were made final before the {} s window was over (the bound of {} pending segments, {} awaiting a reinjection verdict per capture): some may be counted lost that arrived later",
                self.pushed_out,
                o.window_ns as f64 / 1e9,
                o.max_pending,
                o.max_records
            ));
        }
        if self.reinj.forgotten > 0 {
            limits.push(format!(
                "{} DSN ranges sent within the window were forgotten before it was over (the bound of {} per capture): reinjections of them are not found",
                self.reinj.forgotten, o.max_pieces
            ));
        }
        if thinned {
            limits.push(format!(
                "one-way delay medians and p99s are those of one matched segment in {} (the bound of {} delay samples held); counts, minima and maxima are exact",
                self.stride, o.max_samples
            ));
        }
        if self.listed_total >= o.max_listed_total {
            limits.push(format!("lost segments are listed up to {} in all (all are counted)", o.max_listed_total));
        }
        PairReport {
            limits,
            owd_series,
            client_tcp_packets: self.tcp_packets[CLIENT],
            server_tcp_packets: self.tcp_packets[SERVER],
            subflows: out,
            owd_c2s_us,
            owd_s2c_us,
            clock_offset_us: offset_ns.map(us),
            matched,
            reinjections_c2s,
            reinjections_s2c,
            reinjections,
            reinjections_truncated,
        }
    }
}
