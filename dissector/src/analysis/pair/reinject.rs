//! Reinjection verdicts: which segments at a sender's capture carry data (a DSN range) sent
//! before, and whether the original or the reinjection reached the other capture.
use super::matcher::{DataRec, MAX_COVER_SPAN};
use super::model::{t_rel, Reinjection, ReinjectionSummary, CLIENT, SERVER};
use crate::track::{Dir, ReinjectionVerdict};

/// The reinjections at each sender's capture: a segment new in its subflow's sequence space
/// (beyond all that subflow sent before: not a TCP retransmission, however re-segmented) whose
/// DSN range overlaps data sent before, on another subflow or on the same one (as `analyze`
/// counts them); the original is the first such copy.
pub(super) fn reinjections(
    recs: &[Vec<DataRec>; 2],
    c2s: &[bool],
    names: &[String],
    first_ts: [Option<u64>; 2],
    max_listed: usize,
) -> (ReinjectionSummary, ReinjectionSummary, Vec<Reinjection>, bool) {
    let mut sums = [ReinjectionSummary::default(), ReinjectionSummary::default()];
    let mut list = Vec::new();
    let mut truncated = false;
    for side in [CLIENT, SERVER] {
        let (snd, rcv) = (side, 1 - side);
        // per flow: the end of the highest subflow sequence number sent so far
        let mut high: ahash::HashMap<u32, u32> = Default::default();
        // DSN start -> indices of the records starting there
        let mut by_dsn: std::collections::BTreeMap<(bool, u64), Vec<usize>> = Default::default();
        let mine = |r: &DataRec| c2s.get(r.flow as usize).is_some_and(|&c| c == (side == CLIENT));
        for (i, r) in recs[snd].iter().enumerate().filter(|(_, r)| mine(r)) {
            let end_seq = r.rel_seq.wrapping_add(r.len);
            let fresh = match high.get_mut(&r.flow) {
                Some(h) if (r.rel_seq.wrapping_sub(*h) as i32) < 0 => {
                    if (end_seq.wrapping_sub(*h) as i32) > 0 {
                        *h = end_seq;
                    }
                    false
                }
                Some(h) => {
                    *h = end_seq;
                    true
                }
                None => {
                    high.insert(r.flow, end_seq);
                    true
                }
            };
            let end = r.dsn.saturating_add(u64::from(r.len));
            let orig = by_dsn
                .range((r.short, r.dsn.saturating_sub(u64::from(MAX_COVER_SPAN)))..(r.short, end))
                .flat_map(|(_, v)| v.iter().copied())
                .filter_map(|j| recs[snd].get(j).map(|o| (j, o)))
                .filter(|(_, o)| o.dsn.saturating_add(u64::from(o.len)) > r.dsn)
                .min_by_key(|&(j, _)| j);
            by_dsn.entry((r.short, r.dsn)).or_default().push(i);
            let (true, false, Some((_, o))) = (fresh, r.probe, orig) else { continue };
            let verdict = match (o.peer_ts, r.peer_ts) {
                (None, None) => ReinjectionVerdict::Lost,
                (None, Some(_)) => ReinjectionVerdict::Useful,
                (Some(a), Some(b)) if b < a => ReinjectionVerdict::Useful,
                _ => ReinjectionVerdict::Redundant,
            };
            let sum = &mut sums[side];
            sum.count += 1;
            sum.bytes += u64::from(r.len);
            match verdict {
                ReinjectionVerdict::Useful => sum.useful += 1,
                ReinjectionVerdict::Redundant => sum.redundant += 1,
                ReinjectionVerdict::Lost => sum.lost += 1,
            }
            if sum.count as usize > max_listed {
                truncated = true;
                continue;
            }
            let name = |f: u32| names.get(f as usize).cloned().unwrap_or_default();
            list.push(Reinjection {
                direction: if side == CLIENT { Dir::C2s } else { Dir::S2c },
                subflow: name(r.flow),
                original_subflow: name(o.flow),
                dsn: r.dsn,
                len: r.len,
                frame: r.frame,
                t_rel: t_rel(r.ts, first_ts[snd]),
                original_frame: o.frame,
                original_t_rel: t_rel(o.ts, first_ts[snd]),
                original_arrived: o.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                reinjection_arrived: r.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                verdict,
            });
        }
    }
    let [a, b] = sums;
    (a, b, list, truncated)
}
