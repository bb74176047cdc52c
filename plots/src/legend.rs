//! The legend every plot draws: a box beneath the plotting area (never on the data), its
//! entries in as many columns as their widest label allows, the font made smaller (down to 8
//! px) while the box would take more than a third of the height, labels shortened with "…"
//! where one is wider than the image.
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::{draw_err, even, Sizes, FONT};
use crate::PlotError;

/// The sample drawn before a label.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    /// A line of that width.
    Line(RGBColor, u32),
    /// A dashed line of that width.
    Dashed(RGBColor, u32),
    /// A filled circle.
    Dot(RGBColor),
    /// A filled box (an area's fill).
    Fill(RGBColor),
    /// A thin filled bar (the timeline's handshake).
    Bar(RGBColor),
    Triangle(RGBColor),
    Cross(RGBColor),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    pub mark: Mark,
}

impl Entry {
    pub fn new(label: impl Into<String>, mark: Mark) -> Entry {
        Entry { label: label.into(), mark }
    }
}

/// Where the entries go, in pixels of the area the legend is placed under.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub font: f64,
    pub columns: usize,
    pub rows: usize,
    /// Where each column starts (from the box's left edge, after the padding): entries go
    /// down each column in turn, each column as wide as its widest label.
    pub column_x: Vec<u32>,
    pub row: u32,
    pub pad: u32,
    /// The box.
    pub width: u32,
    pub height: u32,
    /// The labels as drawn (shortened where one alone was wider than the box can be).
    pub labels: Vec<String>,
}

impl Layout {
    fn mark_w(font: f64) -> u32 {
        (font * 2.0) as u32
    }
}

/// Lays `labels` out in a box at most `w` wide, at the largest font from `font` down to 8 px
/// whose box is at most `max_h` tall (else at 8 px); `measure(text, font)` is a label's width.
pub fn layout(labels: &[String], w: u32, max_h: u32, font: f64, measure: &dyn Fn(&str, f64) -> u32) -> Layout {
    let mut f = even(font);
    loop {
        let l = layout_at(labels, w, f, measure);
        if l.height <= max_h || f <= 8.0 {
            return l;
        }
        f = even(f - 2.0);
    }
}

fn layout_at(labels: &[String], w: u32, font: f64, measure: &dyn Fn(&str, f64) -> u32) -> Layout {
    let pad = (font * 0.6) as u32;
    let mark = Layout::mark_w(font) + (font * 0.5) as u32;
    let col_gap = (font * 1.5) as u32;
    let room = w.saturating_sub(2 * pad + mark).max(1);
    let labels: Vec<String> = labels.iter().map(|l| shorten(l, room, font, measure)).collect();
    let widths: Vec<u32> = labels.iter().map(|l| mark + measure(l, font)).collect();
    let n = labels.len().max(1);
    let avail = w.saturating_sub(2 * pad);
    // The most columns whose widths (each its widest entry) fit.
    let grid = |columns: usize| -> (usize, Vec<u32>, u32) {
        let rows = n.div_ceil(columns);
        let col_w: Vec<u32> = widths.chunks(rows).map(|c| c.iter().copied().max().unwrap_or(0)).collect();
        let columns = col_w.len().max(1);
        let total = col_w.iter().sum::<u32>() + col_gap * (columns as u32 - 1);
        (rows, col_w, total)
    };
    let (rows, col_w, total) = (1..=n).rev().map(grid).find(|g| g.2 <= avail).unwrap_or_else(|| grid(1));
    let column_x: Vec<u32> = col_w
        .iter()
        .scan(0, |x, cw| {
            let at = *x;
            *x += cw + col_gap;
            Some(at)
        })
        .collect();
    let row = (font * 1.45) as u32;
    let height = if labels.is_empty() { 0 } else { rows as u32 * row + 2 * pad };
    Layout { font, columns: col_w.len(), rows, column_x, row, pad, width: (total + 2 * pad).min(w), height, labels }
}

/// `label`, cut to fit `room` pixels with "…" when it does not.
fn shorten(label: &str, room: u32, font: f64, measure: &dyn Fn(&str, f64) -> u32) -> String {
    if measure(label, font) <= room {
        return label.to_string();
    }
    let chars: Vec<char> = label.chars().collect();
    let mut n = chars.len();
    while n > 1 {
        n -= 1;
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if measure(&s, font) <= room {
            return s;
        }
    }
    "…".into()
}

/// Draws the legend of `entries` at the bottom of `area` and returns the area above it (all of
/// `area`, with nothing drawn, when there are no entries or the box would take more than half
/// of a tiny image).
pub fn beneath<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    sz: &Sizes,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let (w, h) = area.dim_in_pixel();
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let measure = |t: &str, f: f64| -> u32 {
        area.estimate_text_size(t, &(FONT, f).into_text_style(area)).map(|s| s.0).unwrap_or((t.chars().count() as f64 * f * 0.6) as u32)
    };
    let labels: Vec<String> = entries.iter().map(|e| e.label.clone()).collect();
    let l = layout(&labels, w.saturating_sub(8), h / 3, sz.legend, &measure);
    let gap = (l.font * 0.5) as u32;
    if l.height + gap > h / 2 {
        return Ok(area.clone());
    }
    let (above, below) = area.split_vertically(h - l.height - gap);
    let x0 = (w.saturating_sub(l.width) / 2) as i32;
    let y0 = gap as i32 / 2;
    below
        .draw(&Rectangle::new([(x0, y0), (x0 + l.width as i32 - 1, y0 + l.height as i32 - 1)], RGBColor(160, 160, 160).stroke_width(1)))
        .map_err(draw_err)?;
    let mw = Layout::mark_w(l.font) as i32;
    let r = (l.font / 3.0).max(2.0) as i32;
    for (i, (e, label)) in entries.iter().zip(&l.labels).enumerate() {
        let (row, col) = (i % l.rows.max(1), i / l.rows.max(1));
        let x = x0 + l.pad as i32 + l.column_x.get(col).copied().unwrap_or(0) as i32;
        let y = y0 + l.pad as i32 + row as i32 * l.row as i32 + l.row as i32 / 2;
        draw_mark(&below, e.mark, x, y, mw, r)?;
        below
            .draw(&Text::new(
                label.clone(),
                (x + mw + (l.font * 0.5) as i32, y),
                (FONT, l.font).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
    }
    Ok(above)
}

fn draw_mark<DB: DrawingBackend>(a: &DrawingArea<DB, Shift>, m: Mark, x: i32, y: i32, mw: i32, r: i32) -> Result<(), PlotError> {
    let mid = (x + mw / 2, y);
    match m {
        Mark::Line(c, width) => a.draw(&PathElement::new(vec![(x, y), (x + mw, y)], c.stroke_width(width))),
        Mark::Dashed(c, width) => {
            let d = (mw / 5).max(2);
            for k in [0, 2, 4] {
                a.draw(&PathElement::new(vec![(x + k * d, y), (x + (k + 1) * d, y)], c.stroke_width(width))).map_err(draw_err)?;
            }
            Ok(())
        }
        Mark::Dot(c) => a.draw(&Circle::new(mid, r, c.filled())),
        Mark::Fill(c) => a.draw(&Rectangle::new([(x, y - r - 1), (x + mw, y + r + 1)], c.filled())),
        Mark::Bar(c) => a.draw(&Rectangle::new([(x, y - 2), (x + mw, y + 2)], c.filled())),
        Mark::Triangle(c) => a.draw(&TriangleMarker::new(mid, r + 2, c.filled())),
        Mark::Cross(c) => a.draw(&Cross::new(mid, r + 1, c.stroke_width(3))),
    }
    .map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_long_labels_fit_in_a_box_inside_the_width() {
        // The owd legend of a 16-subflow pair: ~110 characters a label.
        let labels: Vec<String> = (0..16)
            .map(|i| {
                format!(
                    "198.51.100.{i}:4{i:04} → 203.0.113.2:5201  (c2s: 1234 segments, median 43.72 ms; s2c: 149 segments, median 125.96 ms)"
                )
            })
            .collect();
        let measure = |t: &str, f: f64| (t.chars().count() as f64 * f * 0.6) as u32;
        for (w, max_h) in [(1000, 200), (2000, 120), (600, 400)] {
            let l = layout(&labels, w, max_h, 14.0, &measure);
            assert!(l.height <= max_h && l.width <= w, "{w}: {l:?}");
            assert_eq!(l.labels.len(), 16);
            assert!(l.rows * l.columns >= 16 && l.rows * l.row as usize + 2 * l.pad as usize <= l.height as usize, "{l:?}");
            let mark = Layout::mark_w(l.font) + (l.font * 0.5) as u32;
            for (i, label) in l.labels.iter().enumerate() {
                let right = l.pad + l.column_x[i / l.rows] + mark + measure(label, l.font);
                assert!(right <= l.width, "{w}: entry {i} ends at {right}, the box at {}", l.width);
            }
        }
        // Too wide for the image: cut with "…", still inside.
        let l = layout(&labels, 300, 1000, 14.0, &measure);
        assert!(l.labels.iter().all(|s| s.ends_with('…')) && l.width <= 300, "{l:?}");
    }
}
