//! One-way delay over time per subflow (`plot --kind owd CLIENT --server SERVER`): every segment
//! `pair` matched between a client-side and a server-side capture, at the time it was seen at
//! the sender's capture, with its delay to the other capture (corrected by the clock offset
//! estimate when there is one). Client → server on top, server → client below.
use std::path::Path;

use mptcp_dissector::analysis::pair::{OwdSeries, PairReport};
use mptcp_dissector::track::Dir;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::{self, draw_err, FONT};
use crate::legend::{self, Entry, Mark};
use crate::window::{self, Window};
use crate::{font, PlotError, MAX_SIDE};

/// The points drawn for one series on the time axis `x`: all of them up to `4 × width`, else
/// per pixel column of time the lowest and the highest delay (so spikes and floors stay visible).
pub fn thin(points: &[(f64, f64)], x: &std::ops::Range<f64>, width: u32) -> Vec<(f64, f64)> {
    let cols = width.max(1) as usize;
    let span = x.end - x.start;
    if points.len() <= 4 * cols || span.is_nan() || span <= 0.0 {
        return points.to_vec();
    }
    let mut lo: Vec<Option<(f64, f64)>> = vec![None; cols];
    let mut hi: Vec<Option<(f64, f64)>> = vec![None; cols];
    for &(t, d) in points {
        let c = (((t - x.start) / span * cols as f64).max(0.0) as usize).min(cols - 1);
        if lo[c].is_none_or(|p| d < p.1) {
            lo[c] = Some((t, d));
        }
        if hi[c].is_none_or(|p| d > p.1) {
            hi[c] = Some((t, d));
        }
    }
    let mut out: Vec<(f64, f64)> = lo.into_iter().zip(hi).flat_map(|(a, b)| [a, b]).flatten().collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.dedup();
    out
}

/// Renders the one-way delay plot of `report` (made with `PairOptions::series`) to `path`, PNG
/// or SVG by its extension. `title` names the two captures; `win`: the time range drawn (seconds
/// since each sender's capture's first packet), fitted to the matched segments where open.
pub fn render_file(report: &PairReport, title: &str, width: u32, height: u32, win: &Window, path: &Path) -> Result<(), PlotError> {
    if !(16..=MAX_SIDE).contains(&width) || !(16..=MAX_SIDE).contains(&height) {
        return Err(PlotError::Size(width, height));
    }
    crate::write_image(path, (width, height), |area| draw(area, report, title, win), |area| draw(area, report, title, win))
}

/// Draws the plot on `root`.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &PairReport, title: &str, win: &Window) -> Result<(), PlotError> {
    font::register();
    let times = || report.owd_series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (t_min, t_max) = (times().fold(f64::INFINITY, f64::min), times().fold(0f64, f64::max));
    if win.is_set() && !times().any(|t| win.meets(t, t)) {
        return Err(PlotError::Range(format!(
            "no segment matched between the captures from {} to {} (they are from {} to {} s since their sender's first packet)",
            win.from.map_or("the start".into(), |f| format!("{} s", chart::num(f))),
            win.to.map_or("the end".into(), |t| format!("{} s", chart::num(t))),
            chart::num(if t_min.is_finite() { t_min } else { 0.0 }),
            chart::num(t_max)
        )));
    }
    root.fill(&WHITE).map_err(draw_err)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let offset = match report.clock_offset_us {
        Some(o) => format!("delays corrected by the clock offset estimate (server − client {o:.1} µs)"),
        None => "raw capture clocks (no clock offset estimate: delays in one direction only)".to_string(),
    };
    let center = Pos::new(HPos::Center, VPos::Top);
    let top = (sz.title * 0.4) as i32;
    root.draw(&Text::new(
        format!("One-way delay per subflow — {title}"),
        ((w / 2) as i32, top),
        (FONT, sz.title).into_font().style(FontStyle::Bold).color(&BLACK).pos(center),
    ))
    .map_err(draw_err)?;
    let y2 = top + (sz.title * 1.25) as i32;
    root.draw(&Text::new(offset, ((w / 2) as i32, y2), (FONT, sz.label).into_font().color(&RGBColor(60, 60, 60)).pos(center)))
        .map_err(draw_err)?;
    let body = root.split_vertically((f64::from(y2) + sz.label * 1.4) as u32).1;
    // One colour per subflow, the same in both panels; one legend for both, beneath them.
    let mut names: Vec<&str> = Vec::new();
    for s in &report.owd_series {
        if !names.contains(&s.subflow.as_str()) {
            names.push(&s.subflow);
        }
    }
    let entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let stats: Vec<String> = report
                .owd_series
                .iter()
                .filter(|s| s.subflow == *n)
                .map(|s| format!("{}: {} segments, median {:.2} ms", s.direction.name(), s.points.len(), median(&s.points)))
                .collect();
            Entry::new(format!("{}  ({})", n.replace("->", " → "), stats.join("; ")), Mark::Dot(chart::color(i)))
        })
        .collect();
    let body = legend::beneath(&body, &entries, &sz)?;
    let (upper, lower) = body.split_vertically(body.dim_in_pixel().1 / 2);
    let x = window::time_axis(win, t_min, t_max);
    for (area, dir, what) in [(&upper, Dir::C2s, "client → server"), (&lower, Dir::S2c, "server → client")] {
        let series: Vec<&OwdSeries> = report.owd_series.iter().filter(|s| s.direction == dir).collect();
        panel(area, &series, &names, what, &x, &sz)?;
    }
    root.present().map_err(draw_err)
}

/// The median delay of a series' points (ms).
fn median(points: &[(f64, f64)]) -> f64 {
    let mut sorted: Vec<f64> = points.iter().map(|p| p.1).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[&OwdSeries],
    names: &[&str],
    what: &str,
    x: &std::ops::Range<f64>,
    sz: &chart::Sizes,
) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let shown = || series.iter().flat_map(|s| s.points.iter().filter(|p| window::shown(x, p.0)).map(|p| p.1));
    let lo = shown().fold(0f64, f64::min);
    let hi = shown().fold(0f64, f64::max);
    let mut ch = ChartBuilder::on(area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), lo.min(0.0)..chart::headroom(hi, 0.05))
        .map_err(draw_err)?;
    chart::mesh(&mut ch, "time at the sender's capture, since its first packet (s)", &format!("one-way delay {what} (ms)"), false, sz)?;
    let r = (sz.label / 6.0).max(1.5) as i32;
    for s in series {
        let i = names.iter().position(|n| *n == s.subflow).unwrap_or(0);
        let c = chart::color(i);
        let inside: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| window::shown(x, p.0)).collect();
        let pts = thin(&inside, x, w);
        ch.draw_series(pts.iter().map(|&p| Circle::new(p, r, c.filled()))).map_err(draw_err)?;
    }
    if series.is_empty() {
        chart::note(area, &format!("no segment {what} matched between the captures"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_each_columns_extremes() {
        let pts: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i) / 1000.0, f64::from(i % 7))).collect();
        let kept = thin(&pts, &(0.0..10.0), 100);
        assert!(kept.len() <= 200, "{}", kept.len());
        assert_eq!(kept.iter().map(|p| p.1).fold(f64::MAX, f64::min), 0.0);
        assert_eq!(kept.iter().map(|p| p.1).fold(0f64, f64::max), 6.0);
        assert_eq!(thin(&pts[..300], &(0.0..10.0), 100).len(), 300);
    }
}
