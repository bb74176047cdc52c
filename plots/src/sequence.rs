//! The data-sequence graph (mptcptrace style): the data sequence number of every mapped segment
//! over time, one colour per subflow, reinjections (RFC 8684 §3.3.6: data another subflow had
//! already carried) marked, and the data ACK seen in the other direction as a line. Scheduling
//! shows as interleaved colours, a path cut as one colour stopping and another taking over,
//! with reinjections where the lost window is resent.
use mptcp_dissector::track::{Connection, Dir};
use mptcp_wire::seq::DataSeq;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err};
use crate::collect::SeqPt;
use crate::legend::{self, Entry, Mark};
use crate::window::{self, Window};
use crate::{Capture, PlotError, PlotOptions};

/// One segment carrying mapped data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqPoint {
    /// Seconds since the first packet.
    pub t: f64,
    /// DSN of the first byte, relative to the direction's first DSN.
    pub dsn_rel: i64,
    pub len: u32,
    pub subflow: usize,
    /// Some of its bytes had been carried before (by this or another subflow).
    pub reinjected: bool,
}

/// A data ACK value, as seen on a segment of the other direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AckPoint {
    pub t: f64,
    pub ack_rel: i64,
}

/// Where a subflow's segments were too many to draw one by one at the plot's width: the
/// points kept for a time bucket are its extremes, and this line joins its lowest DSN to its
/// highest byte, as the bars of the segments left out would have covered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqSpan {
    pub subflow: usize,
    pub t0: f64,
    pub lo: i64,
    pub t1: f64,
    pub hi: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SequenceSeries {
    /// The segments, in capture order (every one, or past `8 × width` per subflow the extremes
    /// of each time bucket: docs/plot.md).
    pub points: Vec<SeqPoint>,
    /// Every advance of the data ACK (the highest so far; repeated and stale values dropped).
    pub acks: Vec<AckPoint>,
    /// The connection's subflow ids, for colours and the legend.
    pub subflows: Vec<usize>,
    /// Reinjected segments (all of them, drawn or not).
    pub reinjections: u64,
    /// Empty unless segments were left out.
    pub spans: Vec<SeqSpan>,
}

/// The sequence graph of `conn`'s data in direction `dir`.
pub fn sequence_series(cap: &Capture, conn: &Connection, dir: Dir) -> SequenceSeries {
    let mut s = SequenceSeries { subflows: conn.subflow_ids.clone(), ..Default::default() };
    let Some(sd) = cap.series.seq(conn.id, dir) else { return s };
    // Relative to the first data byte (IDSN + 1), or the lowest DSN seen when the handshake is
    // not in the capture. Wrapping: DSNs are 64-bit sequence space (RFC 8684 §3.3).
    let Some(base) = conn.data(dir).first_dsn.or(sd.low) else { return s };
    let prov = sd.prov.unwrap_or(base);
    let rel = |d: i64| DataSeq(prov.0.wrapping_add(d as u64)) - base;
    let mut pts: Vec<&SeqPt> = sd.subflows.iter().flat_map(|(_, d)| d.points()).chain(sd.rein.points()).collect();
    pts.sort_by_key(|p| p.seq);
    pts.dedup_by_key(|p| p.seq);
    s.points = pts
        .into_iter()
        .map(|p| SeqPoint { t: cap.rel_ns(p.ts_ns), dsn_rel: rel(p.d), len: p.len, subflow: p.subflow, reinjected: p.reinjected })
        .collect();
    s.reinjections = sd.reinjections;
    for (id, d) in &sd.subflows {
        for b in d.buckets().filter(|b| b.n > b.pts.len() as u64) {
            let lo = b.pts.iter().min_by_key(|p| p.d);
            let hi = b.pts.iter().max_by_key(|p| i128::from(p.d) + i128::from(p.len));
            if let (Some(lo), Some(hi)) = (lo, hi) {
                let (t0, t1) = (cap.rel_ns(lo.ts_ns), cap.rel_ns(hi.ts_ns));
                s.spans.push(SeqSpan { subflow: *id, t0, lo: rel(lo.d), t1, hi: rel(hi.d).saturating_add(i64::from(hi.len)) });
            }
        }
    }
    let ack_prov = sd.ack_prov.unwrap_or(base);
    for a in sd.acks.points() {
        let ack_rel = DataSeq(ack_prov.0.wrapping_add(a.d as u64)) - base;
        // Only advances: a retransmitted segment on a stale subflow repeats an old data ACK,
        // which acknowledges nothing new.
        if s.acks.last().is_none_or(|l| ack_rel > l.ack_rel) {
            s.acks.push(AckPoint { t: cap.rel_ns(a.ts_ns), ack_rel });
        }
    }
    s
}

/// Bytes per axis unit and its name, for a top value of `max` bytes.
fn unit(max: i64) -> (f64, &'static str) {
    match max {
        m if m >= 2_000_000 => (1e6, "MB"),
        m if m >= 2_000 => (1e3, "kB"),
        _ => (1.0, "bytes"),
    }
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    win: &Window,
    s: &SequenceSeries,
) -> Result<(), PlotError> {
    let what = format!("Data sequence, {}", chart::dir_name(opts.direction));
    let area = chart::titled(root, cap, conn, &what)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let t_max = s.points.iter().map(|p| p.t).chain(s.acks.iter().map(|a| a.t)).fold(0f64, f64::max);
    let t_min = s.points.iter().map(|p| p.t).chain(s.acks.iter().map(|a| a.t)).fold(f64::INFINITY, f64::min);
    let x = window::time_axis(win, t_min, t_max);
    // The y axis: the data drawn on the x axis.
    let pts_in = s.points.iter().filter(|p| window::shown(&x, p.t));
    let acks_in = s.acks.iter().filter(|a| window::shown(&x, a.t));
    let top = pts_in.clone().map(|p| p.dsn_rel.saturating_add(i64::from(p.len))).chain(acks_in.clone().map(|a| a.ack_rel)).max();
    let bottom = pts_in.map(|p| p.dsn_rel).chain(acks_in.map(|a| a.ack_rel)).min();
    let (bottom, top) =
        if win.is_set() { (bottom.unwrap_or(0), top.unwrap_or(0)) } else { (bottom.unwrap_or(0).min(0), top.unwrap_or(0).max(0)) };
    let (scale, uname) = unit(top);
    let ack_style = RGBColor(90, 90, 90).stroke_width(1);
    let rr = ((sz.label / 7.0).max(1.5) as i32) * 3;
    let mut entries =
        vec![Entry::new(format!("data ACK (seen {})", chart::dir_name(opts.direction.flip())), Mark::Line(RGBColor(90, 90, 90), 1))];
    for (i, &id) in s.subflows.iter().enumerate() {
        let label = cap.subflow(id).map(chart::subflow_label).unwrap_or_else(|| format!("#{id}"));
        entries.push(Entry::new(label, Mark::Dot(chart::color(i))));
    }
    entries.push(Entry::new(format!("reinjected segment ({})", s.reinjections), Mark::Cross(BLACK)));
    let area = legend::beneath(&area, &entries, &sz)?;
    let (y0, y1) = (bottom as f64 / scale, top as f64 / scale);
    let y_range = if y1 > y0 { y0..y1 + (y1 - y0) * 0.03 } else { y0..chart::headroom(y1, 0.05).max(y0 + 1.0) };
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), y_range)
        .map_err(draw_err)?;
    chart::time_mesh(&mut ch, &format!("data sequence ({uname} from the first DSN)"), &sz)?;
    // The data ACK first, under the segments.
    let mut ack_line = Vec::new();
    for a in &s.acks {
        if let Some(&(_, prev)) = ack_line.last() {
            ack_line.push((a.t, prev));
        }
        ack_line.push((a.t, a.ack_rel as f64 / scale));
    }
    ch.draw_series(LineSeries::new(window::clip_line(&ack_line, &x), ack_style)).map_err(draw_err)?;
    // Each segment: a short vertical bar over the DSN range it carried, in its subflow's colour.
    let r = (sz.label / 7.0).max(1.5) as i32;
    for (i, &id) in s.subflows.iter().enumerate() {
        let c = chart::color(i);
        let pts: Vec<&SeqPoint> = s.points.iter().filter(|p| p.subflow == id && window::shown(&x, p.t)).collect();
        ch.draw_series(pts.iter().map(|p| {
            let y0 = p.dsn_rel as f64 / scale;
            let y1 = p.dsn_rel.saturating_add(i64::from(p.len)) as f64 / scale;
            PathElement::new(vec![(p.t, y0), (p.t, y1)], c.stroke_width(2))
        }))
        .map_err(draw_err)?;
        if !s.spans.is_empty() {
            let spans = s.spans.iter().filter(|sp| sp.subflow == id && window::shown(&x, sp.t0) && window::shown(&x, sp.t1));
            ch.draw_series(
                spans.map(|sp| PathElement::new(vec![(sp.t0, sp.lo as f64 / scale), (sp.t1, sp.hi as f64 / scale)], c.stroke_width(2))),
            )
            .map_err(draw_err)?;
        }
        ch.draw_series(pts.iter().map(|p| Circle::new((p.t, p.dsn_rel as f64 / scale), r, c.filled()))).map_err(draw_err)?;
    }
    // Reinjections on top, as black-ringed crosses, so they stand out whatever the colour.
    let rein: Vec<&SeqPoint> = s.points.iter().filter(|p| p.reinjected && window::shown(&x, p.t)).collect();
    ch.draw_series(rein.iter().map(|p| Cross::new((p.t, p.dsn_rel as f64 / scale), rr, BLACK.stroke_width(2)))).map_err(draw_err)?;
    if s.points.is_empty() {
        chart::note(&area, "no mapped data in this direction")?;
    }
    Ok(())
}
