//! Head-of-line delay distribution (issue 14): for data in one direction, the cumulative
//! distribution of the delay from each piece's arrival to the moment it became deliverable in
//! order, one line per subflow the bytes arrived on, and one for all together. Drawn from the
//! analysis' histograms (`ReceiverView`, docs/analyze.md): a step at each bucket's upper end,
//! within 1.6% of the exact delays.
use mptcp_dissector::track::{Connection, Dir};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err};
use crate::legend::{self, Entry, Mark};
use crate::{Capture, PlotError, PlotOptions};

/// One line: (delay ms, fraction of the pieces with at most that delay), increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct HolLine {
    /// Subflow id; `None` for all subflows together.
    pub subflow: Option<usize>,
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// The lines of `conn`'s data in `dir`: per subflow (in the order the analysis lists them),
/// then all together.
pub fn hol_series(cap: &Capture, conn: &Connection, dir: Dir) -> Vec<HolLine> {
    let r = &conn.data(dir).receiver;
    let line = |h: &mptcp_dissector::track::receiver::HolDelay, subflow: Option<usize>, name: String| HolLine {
        subflow,
        label: format!(
            "{name}  ({} pieces, {} waited; median {} / p99 {} / max {} ms)",
            h.segments,
            h.waited_segments,
            h.median_ms.map_or("-".into(), chart::num),
            h.p99_ms.map_or("-".into(), chart::num),
            h.max_ms.map_or("-".into(), chart::num)
        ),
        points: h.cdf.clone(),
    };
    let mut out: Vec<HolLine> = r
        .hol_by_subflow
        .iter()
        .map(|h| {
            let id = h.subflow.flatten();
            let name = id.and_then(|s| cap.subflow(s)).map(chart::subflow_label).unwrap_or_else(|| "other subflows".into());
            line(h, id, name)
        })
        .collect();
    out.push(line(&r.hol, None, "all subflows".into()));
    out
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    lines: &[HolLine],
) -> Result<(), PlotError> {
    let what = format!("Head-of-line delay, data {}", chart::dir_name(opts.direction));
    let area = chart::titled(root, cap, conn, &what)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let x_max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(0f64, f64::max);
    let x_top = if x_max > 0.0 { x_max * 1.05 } else { 1.0 };
    let y_top = 1.05;
    let all_color = RGBColor(40, 40, 40);
    let is_all = |i: usize, l: &HolLine| l.subflow.is_none() && i + 1 == lines.len();
    let entries: Vec<Entry> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Entry::new(l.label.clone(), if is_all(i, l) { Mark::Dashed(all_color, 2) } else { Mark::Line(chart::color(i), 3) }))
        .collect();
    let area = legend::beneath(&area, &entries, &sz)?;
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(0f64..x_top, 0f64..y_top)
        .map_err(draw_err)?;
    chart::mesh(&mut ch, "delay from arrival to in-order delivery (ms)", "fraction of pieces with delay at most x", true, &sz)?;
    for (i, l) in lines.iter().enumerate() {
        let all = is_all(i, l);
        let c = if all { all_color } else { chart::color(i) };
        // Steps: the fraction holds until the next bucket's end.
        let mut pts = vec![(0.0, 0.0)];
        for &(x, f) in &l.points {
            let last = pts.last().map_or(0.0, |p: &(f64, f64)| p.1);
            pts.push((x, last));
            pts.push((x, f));
        }
        if let Some(&(_, f)) = pts.last() {
            pts.push((x_top, f));
        }
        let style = if all { c.stroke_width(2) } else { c.stroke_width(3) };
        if all {
            ch.draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 5, style)).map_err(draw_err)?;
        } else {
            ch.draw_series(LineSeries::new(pts.iter().copied(), style)).map_err(draw_err)?;
        }
    }
    if lines.iter().all(|l| l.points.is_empty()) {
        chart::note(&area, "no data in this direction")?;
    }
    Ok(())
}
