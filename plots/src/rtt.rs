//! Per-subflow RTT over time: each sample the analyzer took (send → cumulative ACK of a
//! segment's end, no sample across a retransmission: Karn's rule), for data in one direction.
use mptcp_dissector::track::{Connection, Dir};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err};
use crate::collect::RttPt;
use crate::legend::{self, Entry, Mark};
use crate::window::{self, Window};
use crate::{Capture, PlotError, PlotOptions};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttPoint {
    /// Seconds since the first packet (when the ACK completing the sample was seen).
    pub t: f64,
    pub subflow: usize,
    pub ms: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RttSeries {
    pub points: Vec<RttPoint>,
    pub subflows: Vec<usize>,
}

/// RTT samples of `conn`'s subflows for data flowing in `dir`, in capture order (every one, or
/// past `8 × width` per subflow the extremes of each time bucket: docs/plot.md).
pub fn rtt_series(cap: &Capture, conn: &Connection, dir: Dir) -> RttSeries {
    let mut pts: Vec<(usize, &RttPt)> = cap
        .series
        .rtt(conn.id, dir)
        .map(|s| s.subflows.iter().flat_map(|(id, d)| d.points().map(move |p| (*id, p))).collect())
        .unwrap_or_default();
    pts.sort_by_key(|(_, p)| p.seq);
    let points = pts.into_iter().map(|(subflow, p)| RttPoint { t: cap.rel_ns(p.ts_ns), subflow, ms: p.ms }).collect();
    RttSeries { points, subflows: conn.subflow_ids.clone() }
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    win: &Window,
    s: &RttSeries,
) -> Result<(), PlotError> {
    let what = format!("RTT per subflow, data {}", chart::dir_name(opts.direction));
    let area = chart::titled(root, cap, conn, &what)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let t_max = s.points.iter().map(|p| p.t).fold(0f64, f64::max);
    let t_min = s.points.iter().map(|p| p.t).fold(f64::INFINITY, f64::min);
    let x = window::time_axis(win, t_min, t_max);
    let shown: Vec<&RttPoint> = s.points.iter().filter(|p| window::shown(&x, p.t)).collect();
    let ms_max = shown.iter().map(|p| p.ms).fold(0f64, f64::max);
    let entries: Vec<Entry> = s
        .subflows
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let sf = cap.subflow(id);
            let mut label = sf.map(chart::subflow_label).unwrap_or_else(|| format!("#{id}"));
            if let Some(st) = sf.map(|f| f.dir(opts.direction).rtt) {
                match (st.min_ms, st.avg_ms, st.max_ms) {
                    (Some(a), Some(m), Some(b)) => {
                        label.push_str(&format!("  ({} samples, {a:.2}/{m:.2}/{b:.2} ms min/avg/max)", st.samples))
                    }
                    _ => label.push_str("  (no samples)"),
                }
            }
            Entry::new(label, Mark::Dot(chart::color(i)))
        })
        .collect();
    let area = legend::beneath(&area, &entries, &sz)?;
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), 0f64..chart::headroom(ms_max, 0.05))
        .map_err(draw_err)?;
    chart::time_mesh(&mut ch, "RTT (ms)", &sz)?;
    let r = (sz.label / 5.0).max(2.0) as i32;
    for (i, &id) in s.subflows.iter().enumerate() {
        let c = chart::color(i);
        let pts: Vec<(f64, f64)> = s.points.iter().filter(|p| p.subflow == id).map(|p| (p.t, p.ms)).collect();
        ch.draw_series(LineSeries::new(window::clip_line(&pts, &x), c.mix(0.45).stroke_width(1))).map_err(draw_err)?;
        ch.draw_series(pts.iter().filter(|p| window::shown(&x, p.0)).map(|&p| Circle::new(p, r, c.filled()))).map_err(draw_err)?;
    }
    if shown.is_empty() {
        chart::note(&area, "no RTT samples in this direction")?;
    }
    Ok(())
}
