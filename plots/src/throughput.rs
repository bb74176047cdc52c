//! Throughput: bytes per interval of each subflow (payload on the wire, retransmissions and
//! reinjections included) and of the data level (goodput: bytes new to the connection), in
//! Mbit/s over time. Built from `series::Throughput`, as the `throughput` command prints it.
use mptcp_dissector::track::{Connection, Dir};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{self, draw_err};
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
}

impl ThroughputSeries {
    /// Mbit/s of `bytes` over one interval.
    pub fn mbps(&self, bytes: u64) -> f64 {
        bytes as f64 * 8.0 / self.interval_s / 1e6
    }

    pub fn intervals(&self) -> usize {
        self.lines.first().map_or(0, |l| l.bytes.len())
    }
}

/// The throughput lines of `conn` in direction `dir`.
pub fn throughput_series(cap: &Capture, conn: &Connection, dir: Dir) -> ThroughputSeries {
    let rows = cap.throughput.rows();
    let mut lines: Vec<ThroughputLine> = conn
        .subflow_ids
        .iter()
        .map(|&id| ThroughputLine {
            subflow: Some(id),
            label: cap.analysis.subflows.get(id).map(chart::subflow_label).unwrap_or_else(|| format!("#{id}")),
            bytes: Vec::new(),
        })
        .collect();
    lines.push(ThroughputLine { subflow: None, label: "data-level goodput".into(), bytes: Vec::new() });
    let interval_s = cap.throughput.interval_secs();
    for r in rows.iter().filter(|r| r.connection == conn.id) {
        let Some(line) = lines.iter_mut().find(|l| l.subflow == r.subflow) else { continue };
        // Rows start at interval 0 and are contiguous per key.
        let i = (r.t / interval_s).round() as usize;
        if line.bytes.len() <= i {
            line.bytes.resize(i + 1, 0);
        }
        line.bytes[i] = if dir == Dir::C2s { r.c2s_bytes } else { r.s2c_bytes };
    }
    // A common length, without trailing all-zero intervals.
    let mut n = lines.iter().map(|l| l.bytes.iter().rposition(|&b| b > 0).map_or(0, |p| p + 1)).max().unwrap_or(0);
    n = n.max(1);
    for l in &mut lines {
        l.bytes.resize(n, 0);
    }
    ThroughputSeries { interval_s, offset_s: cap.throughput_offset_s, lines }
}

/// Steps: each interval drawn flat across its width.
fn steps(s: &ThroughputSeries, vals: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    for (i, v) in vals.enumerate() {
        let t = s.offset_s + i as f64 * s.interval_s;
        pts.push((t, v));
        pts.push((t + s.interval_s, v));
    }
    pts
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    opts: &PlotOptions,
    s: &ThroughputSeries,
) -> Result<(), PlotError> {
    let what = format!(
        "{}hroughput per subflow, {}, {} ms intervals",
        if opts.stacked { "Stacked t" } else { "T" },
        chart::dir_name(opts.direction),
        (s.interval_s * 1000.0).round()
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
            *c += b;
        }
        stacked.push(cum.clone());
    }
    let peak = if opts.stacked {
        cum.iter().copied().max().unwrap_or(0)
    } else {
        s.lines.iter().flat_map(|l| l.bytes.iter().copied()).max().unwrap_or(0)
    };
    // Head room so the legend (top right) does not sit on the lines.
    let y_max = chart::headroom(s.mbps(peak), 0.12 * s.lines.len() as f64);
    let x_max = chart::time_end(s.offset_s + n as f64 * s.interval_s);
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 5.0) as u32)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(draw_err)?;
    chart::time_mesh(&mut ch, "throughput (Mbit/s)", &sz)?;
    if opts.stacked {
        // Each subflow a band from the sum of the ones before it to the sum including it;
        // opaque fills, so bands do not tint each other.
        let zero = vec![0u64; n];
        for (i, l) in subflows.iter().enumerate() {
            let c = chart::color(i);
            let fill = chart::light(c, 0.45);
            let below = if i == 0 { &zero } else { &stacked[i - 1] };
            let upper = steps(s, stacked[i].iter().map(|&b| s.mbps(b)));
            let mut band = upper.clone();
            band.extend(steps(s, below.iter().map(|&b| s.mbps(b))).into_iter().rev());
            ch.draw_series(std::iter::once(Polygon::new(band, fill.filled()))).map_err(draw_err)?;
            ch.draw_series(LineSeries::new(upper, c.stroke_width(1)))
                .map_err(draw_err)?
                .label(l.label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill.filled()));
        }
    } else {
        for (i, l) in subflows.iter().enumerate() {
            let c = chart::color(i);
            ch.draw_series(LineSeries::new(steps(s, l.bytes.iter().map(|&b| s.mbps(b))), c.stroke_width(2)))
                .map_err(draw_err)?
                .label(l.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3)));
        }
    }
    for l in goodput {
        let style = BLACK.stroke_width(2);
        ch.draw_series(DashedLineSeries::new(steps(s, l.bytes.iter().map(|&b| s.mbps(b))), 6, 4, style))
            .map_err(draw_err)?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    chart::legend(&mut ch, SeriesLabelPosition::UpperRight, &sz)?;
    if peak == 0 {
        chart::note(&area, "no payload in this direction")?;
    }
    Ok(())
}
