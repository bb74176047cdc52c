//! What the plots share: colours, titles, text sizes, error mapping.
use mptcp_dissector::track::{Connection, Dir, Subflow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Capture, PlotError};

/// Subflow colours: Tableau 10, then ten more, readable on white and pairwise at least 24 apart
/// in CIELAB (ΔE*76), none near the black of the aggregate lines; in subflow order, so 20
/// subflows of a connection get 20 different colours (past 20 they repeat).
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
    RGBColor(0, 100, 0),
    RGBColor(255, 0, 255),
    RGBColor(0, 128, 128),
    RGBColor(128, 128, 0),
    RGBColor(100, 40, 140),
    RGBColor(250, 200, 0),
    RGBColor(255, 150, 150),
    RGBColor(0, 220, 110),
];

/// Colour of the `i`-th subflow of a connection (every plot kind takes its colours here).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` blended with white: `keep` of the colour (opaque, unlike `mix`).
pub fn light(c: RGBColor, keep: f64) -> RGBColor {
    let f = |v: u8| (f64::from(v) * keep + 255.0 * (1.0 - keep)).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

pub const FONT: &str = "sans-serif";

pub fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

pub fn dir_name(d: Dir) -> &'static str {
    match d {
        Dir::C2s => "client → server",
        Dir::S2c => "server → client",
    }
}

/// "#1 10.0.0.1:40000 → 10.0.1.1:5201": a subflow as its legend names it.
pub fn subflow_label(sf: &Subflow) -> String {
    format!("#{} {} → {}", sf.id, sf.client, sf.server)
}

/// Text sizes scaled to the image, so small and large images both read.
pub struct Sizes {
    pub title: f64,
    pub label: f64,
    pub desc: f64,
    pub legend: f64,
    /// Marker labels.
    pub small: f64,
}

/// A font size in whole even pixels. plotters' ab_glyph renderer places each glyph at
/// `(size / 2 + top) as i32`: with a fractional half size, short glyphs round differently from
/// tall ones and a "." sits a pixel high (reads as "·"). Even sizes round alike.
pub fn even(size: f64) -> f64 {
    ((size / 2.0).floor() * 2.0).max(8.0)
}

pub fn sizes(w: u32, h: u32) -> Sizes {
    let s = (f64::from(w.min(h * 16 / 10)) / 1000.0).clamp(0.75, 3.0);
    Sizes { title: even(21.0 * s), label: even(15.0 * s), desc: even(15.0 * s), legend: even(14.0 * s), small: even(12.0 * s) }
}

/// Draws the title (shrunk to fit the width) and returns the area below it.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    what: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let (w, h) = root.dim_in_pixel();
    let sz = sizes(w, h);
    let name = std::path::Path::new(&cap.name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| cap.name.clone());
    let line1 = format!("{what} — {name}");
    let line2 = format!("connection {}: {} → {}", conn.id, conn.client, conn.server);
    let fit = |text: &str, size: f64| -> f64 {
        // DejaVu Sans averages about 0.6 em per character.
        let need = text.chars().count() as f64 * size * 0.6;
        even(if need > f64::from(w) * 0.95 { size * f64::from(w) * 0.95 / need } else { size })
    };
    let t1 = fit(&line1, sz.title);
    let t2 = fit(&line2, sz.label);
    let center = Pos::new(HPos::Center, VPos::Top);
    let top = (t1 * 0.4) as i32;
    root.draw(&Text::new(line1, ((w / 2) as i32, top), (FONT, t1).into_font().style(FontStyle::Bold).color(&BLACK).pos(center)))
        .map_err(draw_err)?;
    let y2 = top + (t1 * 1.25) as i32;
    root.draw(&Text::new(line2, ((w / 2) as i32, y2), (FONT, t2).into_font().color(&RGBColor(60, 60, 60)).pos(center)))
        .map_err(draw_err)?;
    let used = (y2 as f64 + t2 * 1.4) as u32;
    Ok(root.split_vertically(used).1)
}

/// Upper end of an axis with `frac` head room for the legend, never 0.
pub fn headroom(max: f64, frac: f64) -> f64 {
    if max > 0.0 && max.is_finite() {
        max * (1.0 + frac)
    } else {
        1.0
    }
}

/// End of the time axis: the last time plotted, at least a little after the first.
pub fn time_end(t_max: f64) -> f64 {
    if t_max.is_finite() && t_max > 0.0 {
        t_max * 1.02
    } else {
        1.0
    }
}

/// The time axis of a connection's plot: from its first to its last point plotted. A
/// connection that starts late in the capture (one of many in turn) gets the axis of its own
/// activity, not the capture's (where it would be a sliver at the right); one that starts early
/// (the lead is under a quarter of its span) keeps the capture's time zero.
pub fn time_range(t_min: f64, t_max: f64) -> std::ops::Range<f64> {
    let end = time_end(t_max);
    if !(t_min.is_finite() && t_max.is_finite()) || t_max <= t_min {
        return 0.0..end;
    }
    let span = t_max - t_min;
    if t_min <= span / 4.0 {
        return 0.0..end;
    }
    (t_min - span * 0.02).max(0.0)..t_max + span * 0.02
}

/// A "no data" note in the middle of an empty plot, so an empty plot says why it is empty.
pub fn note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let sz = sizes(w, h);
    area.draw(&Text::new(
        text.to_string(),
        ((w / 2) as i32, (h / 2) as i32),
        (FONT, sz.desc).into_font().color(&RGBColor(120, 120, 120)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(draw_err)
}

/// An axis number without trailing zeros: 350, 0.5, 1.25.
pub fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The grid and axes of a time-vs-value plot (time since the first packet on x).
pub fn time_mesh<'a, DB: DrawingBackend + 'a>(
    ch: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    y_desc: &str,
    sz: &Sizes,
) -> Result<(), PlotError> {
    mesh(ch, "time since the first packet (s)", y_desc, false, sz)
}

/// The grid and axes every x-vs-value plot draws; `fraction`: a 0..1 y axis whose head room
/// (for the legend) carries no labels.
pub fn mesh<'a, DB: DrawingBackend + 'a>(
    ch: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    x_desc: &str,
    y_desc: &str,
    fraction: bool,
    sz: &Sizes,
) -> Result<(), PlotError> {
    // As many y labels as fit the height, at most 10.
    let rows = (f64::from(ch.plotting_area().dim_in_pixel().1) / (sz.label * 2.2)) as usize;
    ch.configure_mesh()
        .y_labels(rows.clamp(2, 10))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| if fraction && *v > 1.0 { String::new() } else { num(*v) })
        .label_style((FONT, sz.label))
        .axis_desc_style((FONT, sz.desc))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)
}
