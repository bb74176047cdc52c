//! Data-level reordering buffer over time (issue 14): above, the bytes seen above the next
//! expected DSN after each segment that placed data in one direction (what a receiver holds out
//! of order); beneath, each subflow's share of the payload sent per throughput interval, so a
//! buffer that fills can be read against which path carried the data.
use mptcp_dissector::track::{Connection, Dir};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err, FONT};
use crate::legend::{self, Entry, Mark};
use crate::throughput::{throughput_series, ThroughputSeries};
use crate::window::{self, Window};
use crate::{Capture, PlotError, PlotOptions};

#[derive(Debug, Clone, PartialEq)]
pub struct ReorderSeries {
    /// (seconds since the first packet, bytes in the buffer), in capture order (every one, or
    /// past `8 × width` the extremes of each time bucket: docs/plot.md).
    pub buffer: Vec<(f64, u64)>,
    /// The throughput lines the shares come from (subflows, then the goodput line).
    pub sending: ThroughputSeries,
}

pub fn reorder_series(cap: &Capture, conn: &Connection, dir: Dir) -> ReorderSeries {
    let buffer = cap.series.occ(conn.id, dir).map(|d| d.points().map(|p| (cap.rel_ns(p.ts_ns), p.bytes)).collect()).unwrap_or_default();
    ReorderSeries { buffer, sending: throughput_series(cap, conn, dir) }
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    win: &Window,
    s: &ReorderSeries,
) -> Result<(), PlotError> {
    let r = &conn.data(opts.direction).receiver;
    let what = format!("Data-level reordering buffer, data {}", chart::dir_name(opts.direction));
    let area = chart::titled(root, cap, conn, &what)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    // The time axis: from the first data placed or sent to the last.
    let first_sent = (0..s.sending.intervals()).find(|&i| s.sending.lines.iter().any(|l| l.bytes.get(i).is_some_and(|&b| b > 0)));
    let t_min = s.buffer.iter().map(|p| p.0).chain(first_sent.map(|i| s.sending.start(i))).fold(f64::INFINITY, f64::min);
    // Up to the connection's last packet: the last interval may reach past it.
    let t_max = s.buffer.iter().map(|p| p.0).fold(cap.rel(conn.end_ts), f64::max);
    let x = window::time_axis(win, t_min, t_max);
    let subs: Vec<_> = s.sending.lines.iter().filter(|l| l.subflow.is_some()).collect();
    let c = RGBColor(180, 40, 40);
    let label = format!(
        "bytes above the next expected DSN (p50 {} / p99 {} / max {} B; {} out-of-order pieces)",
        r.reorder_buffer_bytes.p50.map_or("-".into(), chart::num),
        r.reorder_buffer_bytes.p99.map_or("-".into(), chart::num),
        r.reorder_buffer_bytes.max.map_or("-".into(), chart::num),
        r.out_of_order_segments
    );
    let mut entries = vec![Entry::new(label, Mark::Fill(chart::light(c, 0.5)))];
    entries.extend(subs.iter().enumerate().map(|(k, l)| Entry::new(l.label.clone(), Mark::Fill(chart::light(chart::color(k), 0.55)))));
    let area = legend::beneath(&area, &entries, &sz)?;
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 * 62 / 100);
    let kib = |b: u64| b as f64 / 1024.0;
    let b_max = s.buffer.iter().filter(|p| window::shown(&x, p.0)).map(|p| kib(p.1)).fold(0f64, f64::max);
    let mut ch = ChartBuilder::on(&upper)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 1.5) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), 0f64..chart::headroom(b_max, 0.05))
        .map_err(draw_err)?;
    ch.configure_mesh()
        .y_desc("out of order (KiB)")
        .x_label_formatter(&|v| chart::num(*v))
        .y_label_formatter(&|v| chart::num(*v))
        .label_style((FONT, sz.label))
        .axis_desc_style((FONT, sz.desc))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)?;
    // The buffer holds its value until the next segment changes it.
    let mut steps = Vec::with_capacity(2 * s.buffer.len());
    for &(t, b) in &s.buffer {
        if let Some(&(_, prev)) = steps.last() {
            steps.push((t, prev));
        }
        steps.push((t, kib(b)));
    }
    let steps = window::clip_line(&steps, &x);
    ch.draw_series(AreaSeries::new(steps.iter().copied(), 0.0, c.mix(0.25)).border_style(c.stroke_width(2))).map_err(draw_err)?;
    if steps.is_empty() {
        chart::note(&upper, "no data placed in this direction")?;
    }

    // Beneath: each subflow's share of the payload per interval, stacked to 1.
    let mut ch = ChartBuilder::on(&lower)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), 0f64..1.0)
        .map_err(draw_err)?;
    chart::mesh(&mut ch, "time since the first packet (s)", "share sent", true, &sz)?;
    let n = s.sending.intervals();
    let total: Vec<u64> = (0..n).map(|i| subs.iter().map(|l| l.bytes.get(i).copied().unwrap_or(0)).sum()).collect();
    let mut below = vec![0f64; n];
    for (k, l) in subs.iter().enumerate() {
        let mut top = below.clone();
        for (i, t) in top.iter_mut().enumerate() {
            if let Some(&tot) = total.get(i).filter(|&&t| t > 0) {
                *t += l.bytes.get(i).copied().unwrap_or(0) as f64 / tot as f64;
            }
        }
        let edge = |v: &[f64]| -> Vec<(f64, f64)> {
            let pts: Vec<(f64, f64)> = v
                .iter()
                .enumerate()
                .flat_map(|(i, &y)| [(s.sending.start(i), y), (s.sending.start(i) + s.sending.interval_s, y)])
                .collect();
            window::clip_line(&pts, &x)
        };
        let mut band = edge(&top);
        band.extend(edge(&below).into_iter().rev());
        ch.draw_series(std::iter::once(Polygon::new(band, chart::light(chart::color(k), 0.55).filled()))).map_err(draw_err)?;
        below = top;
    }
    Ok(())
}
