//! Throughput: bytes per interval of each subflow (payload on the wire, retransmissions and
//! reinjections included) and of the data level (goodput: bytes new to the connection), in
//! Mbit/s over time. Built from `series::Throughput`, as the `throughput` command prints it.
use mptcp_dissector::track::{Connection, Dir};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err};
use crate::collect::Row;
use crate::legend::{self, Entry, Mark};
use crate::window::{self, Window};
use crate::{Capture, PlotError, PlotOptions};

/// One line of the plot: bytes per interval, from time zero.
#[derive(Debug, Clone, PartialEq)]
pub struct ThroughputLine {
    /// Subflow id; `None` for the data-level goodput.
    pub subflow: Option<usize>,
    pub label: String,
    /// Bytes in interval `i` (which starts at `i * interval_s`); every line has the same length.
    pub bytes: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThroughputSeries {
    pub interval_s: f64,
    /// Start of interval 0, seconds since the first packet (the first TCP segment's time).
    pub offset_s: f64,
    /// The connection's subflows in id order, then the goodput line.
    pub lines: Vec<ThroughputLine>,
    /// Interval number of each entry of the lines' `bytes`: 0, 1, 2, … (every interval from 0
    /// to the last with bytes), or past `8 × width` intervals only those holding the extremes
    /// of each time bucket (docs/plot.md).
    pub index: Vec<u64>,
}

impl ThroughputSeries {
    /// Mbit/s of `bytes` over one interval.
    pub fn mbps(&self, bytes: u64) -> f64 {
        bytes as f64 * 8.0 / self.interval_s / 1e6
    }

    pub fn intervals(&self) -> usize {
        self.lines.first().map_or(0, |l| l.bytes.len())
    }

    /// Start of entry `i`, seconds since the first packet.
    pub(crate) fn start(&self, i: usize) -> f64 {
        self.offset_s + self.index.get(i).copied().unwrap_or(i as u64) as f64 * self.interval_s
    }

    /// End of the last interval, seconds since the first packet.
    pub fn end(&self) -> f64 {
        let n = self.index.last().map_or(self.intervals() as u64, |&i| i.saturating_add(1));
        self.offset_s + n as f64 * self.interval_s
    }
}

/// The throughput lines of `conn` in direction `dir`.
pub fn throughput_series(cap: &Capture, conn: &Connection, dir: Dir) -> ThroughputSeries {
    let mut lines: Vec<ThroughputLine> = conn
        .subflow_ids
        .iter()
        .map(|&id| ThroughputLine {
            subflow: Some(id),
            label: cap.subflow(id).map(chart::subflow_label).unwrap_or_else(|| format!("#{id}")),
            bytes: Vec::new(),
        })
        .collect();
    lines.push(ThroughputLine { subflow: None, label: "data-level goodput".into(), bytes: Vec::new() });
    let interval_s = cap.interval_ns as f64 / 1e9;
    let mut index = Vec::new();
    if let Some(td) = cap.series.tput(conn.id, dir) {
        // Column of each line in the rows: 0 the goodput, 1 + slot a subflow.
        let cols: Vec<Option<usize>> =
            lines.iter().map(|l| l.subflow.map_or(Some(0), |id| td.slots.iter().position(|&s| s == id).map(|p| p + 1))).collect();
        let mut rows: Vec<&Row> = td.rows.points().collect();
        rows.sort_by_key(|r| r.idx);
        // Up to the last interval with bytes, at least one.
        let n =
            rows.iter().filter(|r| cols.iter().flatten().any(|&c| r.val(c) > 0)).map(|r| r.idx.saturating_add(1)).max().unwrap_or(0).max(1);
        // Dense when every row is kept and that is not many more intervals than the width
        // (a capture with hours between two bursts would otherwise get millions of zeros).
        let dense = usize::try_from(n).ok().filter(|&len| !td.rows.decimated() && len <= 8 * cap.width as usize);
        if let Some(len) = dense {
            // Every interval from 0, zeros included.
            index = (0..n).collect();
            for (l, col) in lines.iter_mut().zip(&cols) {
                l.bytes = vec![0; len];
                for r in rows.iter().filter(|r| r.idx < n) {
                    l.bytes[r.idx as usize] = col.map_or(0, |c| r.val(c));
                }
            }
        } else {
            // The rows kept: intervals with bytes and both ends of each empty run, so the steps
            // drawn through them are those of every interval.
            rows.retain(|r| r.idx < n);
            index = rows.iter().map(|r| r.idx).collect();
            for (l, col) in lines.iter_mut().zip(&cols) {
                l.bytes = rows.iter().map(|r| col.map_or(0, |c| r.val(c))).collect();
            }
        }
    }
    if index.is_empty() {
        index.push(0);
        for l in &mut lines {
            l.bytes = vec![0];
        }
    }
    ThroughputSeries { interval_s, offset_s: cap.throughput_offset_s, lines, index }
}

/// Steps: each interval drawn flat across its width. Across intervals left out (decimated
/// series), the line holds the value before and rises or falls at the next interval kept: only
/// level and upright segments, as when every interval is drawn (a thick line through steep
/// zigzags would be drawn with spikes).
fn steps(s: &ThroughputSeries, vals: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut prev: Option<(u64, f64)> = None;
    for (i, v) in vals.enumerate() {
        let t = s.start(i);
        let idx = s.index.get(i).copied().unwrap_or(i as u64);
        if let Some((p, pv)) = prev {
            if idx > p.saturating_add(1) && pv != v {
                pts.push((t, pv));
            }
        }
        pts.push((t, v));
        pts.push((t + s.interval_s, v));
        prev = Some((idx, v));
    }
    pts
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    win: &Window,
    s: &ThroughputSeries,
) -> Result<(), PlotError> {
    let what = format!(
        "{}hroughput per subflow, {}, {} ms intervals",
        if opts.stacked { "Stacked t" } else { "T" },
        chart::dir_name(opts.direction),
        chart::num(s.interval_s * 1000.0)
    );
    let area = chart::titled(root, cap, conn, &what)?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let n = s.intervals();
    let (subflows, goodput) = s.lines.split_at(s.lines.len().saturating_sub(1));
    // Stacked: each subflow's area sits on the sum of the ones before it.
    let mut cum = vec![0u64; n];
    let mut stacked: Vec<Vec<u64>> = Vec::new();
    for l in subflows {
        for (c, b) in cum.iter_mut().zip(&l.bytes) {
            *c = c.saturating_add(*b);
        }
        stacked.push(cum.clone());
    }
    // From the first interval with bytes (the series may count from the capture's first segment).
    let first = (0..s.intervals()).find(|&i| s.lines.iter().any(|l| l.bytes.get(i).is_some_and(|&b| b > 0)));
    let x = window::time_axis(win, first.map_or(0.0, |i| s.start(i)), s.end());
    // The y axis: the intervals drawn on the x axis.
    let drawn = |i: usize| s.start(i) + s.interval_s >= x.start && s.start(i) <= x.end;
    let peak = if opts.stacked {
        cum.iter().enumerate().filter(|(i, _)| drawn(*i)).map(|(_, &b)| b).max().unwrap_or(0)
    } else {
        s.lines.iter().flat_map(|l| l.bytes.iter().enumerate().filter(|(i, _)| drawn(*i)).map(|(_, &b)| b)).max().unwrap_or(0)
    };
    let mut entries: Vec<Entry> = subflows
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let c = chart::color(i);
            Entry::new(l.label.clone(), if opts.stacked { Mark::Fill(chart::light(c, 0.45)) } else { Mark::Line(c, 3) })
        })
        .collect();
    entries.extend(goodput.iter().map(|l| Entry::new(l.label.clone(), Mark::Dashed(BLACK, 2))));
    let area = legend::beneath(&area, &entries, &sz)?;
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(x.clone(), 0f64..chart::headroom(s.mbps(peak), 0.05))
        .map_err(draw_err)?;
    chart::time_mesh(&mut ch, "throughput (Mbit/s)", &sz)?;
    if opts.stacked {
        // Each subflow a band from the sum of the ones before it to the sum including it;
        // opaque fills, so bands do not tint each other.
        let zero = vec![0u64; n];
        for (i, _) in subflows.iter().enumerate() {
            let c = chart::color(i);
            let fill = chart::light(c, 0.45);
            let below = if i == 0 { &zero } else { &stacked[i - 1] };
            let upper = window::clip_line(&steps(s, stacked[i].iter().map(|&b| s.mbps(b))), &x);
            let mut band = upper.clone();
            band.extend(window::clip_line(&steps(s, below.iter().map(|&b| s.mbps(b))), &x).into_iter().rev());
            ch.draw_series(std::iter::once(Polygon::new(band, fill.filled()))).map_err(draw_err)?;
            ch.draw_series(LineSeries::new(upper, c.stroke_width(1))).map_err(draw_err)?;
        }
    } else {
        for (i, l) in subflows.iter().enumerate() {
            let line = window::clip_line(&steps(s, l.bytes.iter().map(|&b| s.mbps(b))), &x);
            ch.draw_series(LineSeries::new(line, chart::color(i).stroke_width(2))).map_err(draw_err)?;
        }
    }
    for l in goodput {
        let line = window::clip_line(&steps(s, l.bytes.iter().map(|&b| s.mbps(b))), &x);
        ch.draw_series(DashedLineSeries::new(line, 6, 4, BLACK.stroke_width(2))).map_err(draw_err)?;
    }
    if peak == 0 {
        chart::note(&area, "no payload in this direction")?;
    }
    Ok(())
}
