//! The time range a plot draws: fitted to the connection's activity, or the one asked for
//! (`plot --from/--to`), and the clipping of what is drawn to it.
use std::ops::Range;

use crate::{chart, Capture, PlotError, PlotOptions};

/// One end of the time range a plot draws (`plot --from/--to`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeBound {
    /// Seconds since the capture's first packet (tshark's `frame.time_relative`).
    Relative(f64),
    /// Seconds since the Unix epoch (tshark's `frame.time_epoch`).
    Epoch(f64),
}

impl TimeBound {
    /// Seconds since the first packet of a capture whose first packet is at `t0_ns`.
    pub fn relative(self, t0_ns: u64) -> f64 {
        match self {
            TimeBound::Relative(s) => s,
            TimeBound::Epoch(e) => e - t0_ns as f64 / 1e9,
        }
    }
}

impl std::fmt::Display for TimeBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeBound::Relative(s) => write!(f, "{} s", chart::num(*s)),
            TimeBound::Epoch(e) => write!(f, "epoch {e:.6}"),
        }
    }
}

/// The asked range in seconds since time zero; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Window {
    pub from: Option<f64>,
    pub to: Option<f64>,
}

impl Window {
    /// Checks the order of the two ends.
    pub fn new(from: Option<f64>, to: Option<f64>) -> Result<Window, PlotError> {
        if let (Some(a), Some(b)) = (from, to) {
            if a >= b || !a.is_finite() || !b.is_finite() {
                return Err(PlotError::Range(format!(
                    "--from ({} s) must be before --to ({} s), both in seconds since the capture's first packet",
                    chart::num(a),
                    chart::num(b)
                )));
            }
        }
        Ok(Window { from, to })
    }

    pub fn is_set(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    /// Whether `a..=b` (seconds) meets the window.
    pub fn meets(&self, a: f64, b: f64) -> bool {
        self.from.is_none_or(|f| b >= f) && self.to.is_none_or(|t| a <= t)
    }

    /// The x range drawn: the window's ends where given, the others from `fit` (the data's
    /// own range), never empty.
    pub fn axis(&self, fit: Range<f64>) -> Range<f64> {
        let start = self.from.unwrap_or(fit.start);
        let end = self.to.unwrap_or(fit.end);
        if end > start {
            start..end
        } else {
            start..start + (fit.end - fit.start).abs().max(1e-3)
        }
    }
}

impl Capture {
    /// The window `opts` asks for, in seconds since time zero: an error when `--from` is not
    /// before `--to`, or when the plotted connection has no packet in it.
    pub fn window(&self, opts: &PlotOptions) -> Result<Window, PlotError> {
        let w = Window::new(opts.from.map(|b| b.relative(self.t0_ns)), opts.to.map(|b| b.relative(self.t0_ns)))?;
        if !w.is_set() {
            return Ok(w);
        }
        if opts.kind == crate::PlotKind::Hol {
            return Err(PlotError::Range("--from/--to: the head-of-line delay plot has no time axis (its x axis is a delay)".into()));
        }
        let conn = self.connection(opts.connection, opts.direction)?;
        let (a, b) = (self.rel(conn.start_ts), self.rel(conn.end_ts));
        if !w.meets(a, b) {
            return Err(PlotError::Range(format!(
                "connection {} has no packet between {} and {} (its packets are from {} to {} s since the capture's first packet)",
                conn.id,
                w.from.map_or("its start".into(), |f| format!("{} s", chart::num(f))),
                w.to.map_or("its end".into(), |t| format!("{} s", chart::num(t))),
                chart::num(a),
                chart::num(b)
            )));
        }
        Ok(w)
    }
}

/// The time axis of a plot of data from `t_min` to `t_max` (seconds since time zero): the
/// window asked for, else fitted to the data ([`chart::time_range`]).
pub fn time_axis(w: &Window, t_min: f64, t_max: f64) -> Range<f64> {
    w.axis(chart::time_range(t_min, t_max))
}

/// The points of a line (in time order) inside `x`, with the line cut where it crosses x's ends.
pub fn clip_line(pts: &[(f64, f64)], x: &Range<f64>) -> Vec<(f64, f64)> {
    let inside = |t: f64| t >= x.start && t <= x.end;
    let mut out = Vec::with_capacity(pts.len());
    let cut = |a: (f64, f64), b: (f64, f64), at: f64| {
        let f = if b.0 != a.0 { (at - a.0) / (b.0 - a.0) } else { 0.0 };
        (at, a.1 + (b.1 - a.1) * f)
    };
    for (i, &p) in pts.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| pts.get(j)).copied();
        if let Some(q) = prev {
            // Entering (or crossing) from outside: the crossing points first.
            for edge in [x.start, x.end] {
                let (lo, hi) = if q.0 <= p.0 { (q.0, p.0) } else { (p.0, q.0) };
                if lo < edge && edge < hi && !(inside(q.0) && inside(p.0)) {
                    let c = cut(q, p, edge);
                    if out.last() != Some(&c) {
                        out.push(c);
                    }
                }
            }
        }
        if inside(p.0) {
            out.push(p);
        }
    }
    out
}

/// Whether `t` is drawn on the axis `x`.
pub fn shown(x: &Range<f64>, t: f64) -> bool {
    t >= x.start && t <= x.end
}
