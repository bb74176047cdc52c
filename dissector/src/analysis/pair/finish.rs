//! The report: flows oriented and named client → server, each direction's counts, lost list and
//! one-way delay statistics, the clock offset estimate and the delay series.
use std::net::SocketAddr;

use super::ident::Flow4;
use super::matcher::{FlowState, Pairer};
use super::model::{t_rel, DirectionPair, LinkedBy, OwdSeries, OwdStats, PairReport, SubflowPair, SynKind, Unmatched, CLIENT, SERVER};
use super::reinject::reinjections;
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

impl Pairer {
    /// Ends matching: every pending copy is final; builds the report.
    pub fn finish(mut self) -> PairReport {
        while self.pop_oldest() {}
        // Orientation: a flow whose SYN (without ACK) was seen is c2s; its reverse s2c; without
        // a SYN, the capture that saw the flow's first segment first is its sender.
        let c2s: Vec<bool> = self
            .states
            .iter()
            .map(|st| {
                if st.syn.is_some() {
                    return true;
                }
                let Some((side, (s, sp, d, dp))) = st.key.iter().enumerate().find_map(|(i, k)| Some((i as u8, (*k)?))) else { return true };
                let rev = self.flows.get(&(side, (d, dp, s, sp))).and_then(|&r| self.states.get(r as usize));
                if rev.is_some_and(|r| r.syn.is_some()) {
                    return false;
                }
                st.first_seen != Some(SERVER)
            })
            .collect();
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
        let (reinjections_c2s, reinjections_s2c, reinjections, reinjections_truncated) =
            reinjections(&self.recs, &c2s, &names, first_ts, self.opts.max_listed);
        let mut all = [Vec::new(), Vec::new()];
        // a direction's report, its delay samples (sorted) and, with `series`, (sender time, delay)
        type Built = (DirectionPair, Vec<i64>, Vec<(f64, i64)>);
        let build = |st: Option<&mut FlowState>, c2s: bool| -> Built {
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
                d.matched = st.diffs.len() as u64;
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
            }
            (d, owd, series)
        };
        let mut out = Vec::new();
        let mut matched = 0;
        let mut raw_series = Vec::new();
        for (name, kind, fwd, rev, at_server, linked_by) in subs {
            let (a, oa, sa) = build(fwd.and_then(|i| self.states.get_mut(i)), true);
            let (b, ob, sb) = build(rev.and_then(|i| self.states.get_mut(i)), false);
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
        let (owd_c2s_us, owd_s2c_us) = (stats(&mut fw), stats(&mut bw));
        let offset_ns = match (fw.first(), bw.first()) {
            (Some(&a), Some(&b)) => Some((a as f64 - b as f64) / 2.0),
            _ => None,
        };
        if let Some(off) = offset_ns {
            for (sp, (oa, ob)) in out.iter_mut().zip(all[0].iter().zip(all[1].iter())) {
                let mut a: Vec<i64> = oa.iter().map(|&x| x - off.round() as i64).collect();
                let mut b: Vec<i64> = ob.iter().map(|&x| x + off.round() as i64).collect();
                sp.c2s.owd_corrected_us = stats(&mut a);
                sp.s2c.owd_corrected_us = stats(&mut b);
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
        PairReport {
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
