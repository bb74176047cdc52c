//! Plots of an MPTCP capture: per-subflow throughput, the data-sequence graph with
//! reinjections and data ACKs, per-subflow RTT, the subflow timeline, the head-of-line delay
//! distribution and the data-level reordering buffer (docs/plot.md).
//!
//! One pass over the capture ([`collect`], or [`collect_for`] for one plot) runs the analyzer
//! and turns each segment record into points of per-connection series. Each series is bounded
//! by the plot's width, not by the capture: it keeps every point up to `8 × width`, then the
//! extremes (first, last, lowest, highest) of each time bucket, `width` to `2 × width` buckets
//! over its span (docs/plot.md, "Long captures"). Each kind has a *series function* (the kept
//! points → the numbers that are plotted, tested against the analysis) and a render function
//! generic over the plotters backend. [`render_file`] picks PNG or SVG from the output's
//! extension. Text is drawn with an embedded font ([`font`]), so no system font or font
//! library is needed.
//!
//! ```
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::track::Dir;
//! use mptcp_plots::{collect_for, draw, PlotKind, PlotOptions};
//! use plotters::prelude::{IntoDrawingArea, SVGBackend};
//!
//! // testdata/two-subflows.pcap: one MPTCP connection, two subflows (`mptcp-trace analyze`).
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/two-subflows.pcap");
//! let mut reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
//! let opts = PlotOptions { kind: PlotKind::Sequence, direction: Dir::C2s, width: 800, height: 400, ..PlotOptions::default() };
//! let capture = collect_for("two-subflows.pcap", &mut reader, 100_000_000, &opts);
//! assert_eq!(capture.analysis.connections.len(), 1);
//! let mut svg = String::new();
//! let plotted = draw(&SVGBackend::with_string(&mut svg, (800, 400)).into_drawing_area(), &capture, &opts).unwrap();
//! assert_eq!(plotted, 0); // the connection's id
//! assert!(svg.starts_with("<svg") && svg.contains("two-subflows.pcap"));
//! // `render_file(&capture, &opts, Path::new("seq.png"))` writes it as a PNG (or SVG) file.
//! ```
//!
//! Directions: like the analyzer, a segment's direction within its subflow (from the subflow's
//! SYN sender) is taken as its direction at the data level.
#![forbid(unsafe_code)]

use std::path::Path;

use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Analyzer, Connection, Dir, Event, Limits, SegmentRecord, Subflow};
use mptcp_wire::crypto::Token;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::HashMap;

mod chart;
mod collect;
mod decimate;
pub mod font;
pub mod hol;
mod legend;
pub mod owd;
pub mod reorder;
pub mod rtt;
pub mod sequence;
pub mod subflows;
pub mod throughput;
mod window;

/// Largest image side accepted (pixels); [`collect`] keeps series fine enough for it.
pub const MAX_SIDE: u32 = 10_000;

pub use collect::{Collector, MAX_POINTS};
pub use window::{TimeBound, Window};

/// Colour of a connection's `i`-th subflow in every plot kind (distinct for the first 20).
pub fn subflow_color(i: usize) -> (u8, u8, u8) {
    let c = chart::color(i);
    (c.0, c.1, c.2)
}

/// What to plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    Throughput,
    Sequence,
    Rtt,
    Subflows,
    /// Head-of-line delay distribution per subflow (issue 14).
    Hol,
    /// Data-level reordering buffer over time, with the subflows' sending shares (issue 14).
    Reorder,
}

/// How to plot it.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub kind: PlotKind,
    /// Connection id as `analyze` numbers them; `None`: the one that carried the most data-level
    /// bytes in `direction`.
    pub connection: Option<usize>,
    /// Data direction plotted (throughput, sequence, RTT); the subflow timeline shows both.
    pub direction: Dir,
    pub width: u32,
    pub height: u32,
    /// Throughput: stack the subflows' areas instead of one line each.
    pub stacked: bool,
    /// Draw from this time on (`plot --from`); `None`: from the connection's first packet.
    /// Not for the head-of-line delay plot, whose x axis is a delay.
    pub from: Option<TimeBound>,
    /// Draw up to this time (`plot --to`); `None`: to the connection's last packet.
    pub to: Option<TimeBound>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            kind: PlotKind::Throughput,
            connection: None,
            direction: Dir::C2s,
            width: 1000,
            height: 600,
            stacked: false,
            from: None,
            to: None,
        }
    }
}

/// Why a plot could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("no connection {asked} (the capture has {have})")]
    NoConnection { asked: usize, have: usize },
    #[error("the capture has no MPTCP connection to plot")]
    NoConnections,
    #[error("{0}: unknown image format (use a .png or .svg file name)")]
    Format(String),
    #[error("size {0}x{1} out of range (16..=10000 pixels each way)")]
    Size(u32, u32),
    /// `--from`/`--to` out of order, or no packet of the connection between them.
    #[error("{0}")]
    Range(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The image could not be written (its file's I/O error).
    #[error("{0}")]
    Write(std::io::Error),
}

/// Everything the plots need from one pass over a capture.
pub struct Capture {
    /// Name shown in titles (the capture file's name).
    pub name: String,
    /// The analysis of the pass. Collected for one plot ([`collect_for`]), it holds only the
    /// connection plotted (with no id asked, the one picked) and its subflows: memory follows the
    /// connections open, not the capture ([`Capture::connections`] counts them all).
    pub analysis: Analysis,
    /// Connections in the capture (ids count from 0), kept in `analysis` or not.
    pub connections: usize,
    /// How the capture ended early, if it did.
    pub end: Option<CaptureError>,
    /// Segments not plotted: [`MAX_POINTS`] points were stored over all series at once (only
    /// with very many connections open together; each series is bounded by the width).
    pub records_dropped: u64,
    /// Time zero of every plot: the capture's first packet, as `analyze` counts times.
    pub t0_ns: u64,
    /// Seconds from time zero to the first TCP segment, where the throughput intervals start.
    pub throughput_offset_s: f64,
    /// Length of a throughput interval.
    pub interval_ns: u64,
    /// Widest plot (pixels) the series were kept for: past about `8 × width` points a series
    /// keeps the extremes of each `1/width` to `1/(2 × width)` of its time span.
    pub width: u32,
    series: collect::Store,
}

impl Capture {
    /// Seconds since time zero of an analysis timestamp (seconds since the epoch).
    pub fn rel(&self, ts: f64) -> f64 {
        ts - self.t0_ns as f64 / 1e9
    }

    /// Seconds since time zero of a record timestamp.
    pub fn rel_ns(&self, ts_ns: u64) -> f64 {
        ts_ns.saturating_sub(self.t0_ns) as f64 / 1e9
    }

    /// The connection a plot is about: the asked one, or the busiest in `dir`.
    pub fn connection(&self, asked: Option<usize>, dir: Dir) -> Result<&Connection, PlotError> {
        let conns = &self.analysis.connections;
        match asked {
            Some(c) => conns
                .get(c)
                .filter(|x| x.id == c)
                .or_else(|| conns.iter().find(|x| x.id == c))
                .ok_or(PlotError::NoConnection { asked: c, have: self.connections }),
            None => conns
                .iter()
                .max_by_key(|c| (c.data(dir).bytes, c.data(dir.flip()).bytes, std::cmp::Reverse(c.id)))
                .ok_or(PlotError::NoConnections),
        }
    }

    /// Subflow `id` (kept in `analysis`: those of the connections kept).
    pub fn subflow(&self, id: usize) -> Option<&Subflow> {
        let flows = &self.analysis.subflows;
        flows.get(id).filter(|f| f.id == id).or_else(|| flows.iter().find(|f| f.id == id))
    }

    /// Points stored over all series.
    pub fn stored_points(&self) -> usize {
        self.series.points()
    }

    /// Ids of the connections whose series are kept, in order.
    pub fn kept_connections(&self) -> Vec<usize> {
        self.series.connections()
    }

    /// Points stored in the largest series (one subflow's sequence or RTT points, the data
    /// ACKs or reinjections of a direction, or a direction's throughput intervals).
    pub fn largest_series(&self) -> usize {
        self.series.largest()
    }
}

/// Runs the analyzer over `reader` and keeps the series of every plot kind, direction and
/// connection (`interval_ns` throughput intervals), each bounded for plots up to [`MAX_SIDE`]
/// pixels wide. [`collect_for`] keeps only what one plot needs.
pub fn collect(name: &str, reader: &mut CaptureReader, interval_ns: u64) -> Capture {
    collect_with(name, reader, Collector::new(interval_ns, MAX_SIDE))
}

/// Runs the analyzer over `reader` and keeps what the plot `opts` draws, for its width: its
/// kind and direction, and its connection, or with no id asked, the open connections and the
/// finished one that `Capture::connection` would pick so far (memory follows the connections
/// open at once, not the capture). The analysis keeps only that connection and its subflows. Draws the same image as [`collect`] for `opts` while no
/// series has more than `8 × opts.width` points (both keep every point); past that, both keep
/// the extremes of buckets narrower than a pixel column, this one of wider buckets.
pub fn collect_for(name: &str, reader: &mut CaptureReader, interval_ns: u64, opts: &PlotOptions) -> Capture {
    collect_with(name, reader, Collector::for_plot(interval_ns, opts))
}

/// Runs the analyzer over `reader` feeding `collector` (made with [`Collector::new`] or
/// [`Collector::for_plot`]).
pub fn collect_with(name: &str, reader: &mut CaptureReader, collector: Collector) -> Capture {
    collect_limited(name, reader, collector, Limits::default())
}

/// [`collect_with`] with the analyzer's bounds `limits` (the idle timeout, …), as the command
/// line's global flags set them: a plot shows the connections `analyze` reports.
pub fn collect_limited(name: &str, reader: &mut CaptureReader, collector: Collector, limits: Limits) -> Capture {
    let analyzer = Analyzer::new(limits).with_events(collector.wants_events());
    let mut feed = Feed::new(collector);
    let analyzer = match (feed.collector.prunes(), feed.collector.wants_events()) {
        (true, true) => analyzer.hand_over_finished().hand_over_events(false),
        (true, false) => analyzer.hand_over_finished(),
        (false, _) => analyzer,
    };
    let (analysis, end) = mptcp_dissector::pipeline::run_into(reader, analyzer, &mut feed);
    feed.into_capture(name, analysis, end)
}

/// A pipeline sink feeding a [`Collector`] that keeps, of the finished connections handed over
/// (with the analyzer's `hand_over_finished`, when the collector [prunes](Collector::prunes)),
/// those it may plot and their subflows: [`Feed::into_capture`] puts them in the capture's
/// analysis. Another sink may hold it and pass on what it is handed ([`Feed::offer`]).
pub struct Feed {
    pub collector: Collector,
    conns: Vec<Connection>,
    flows: Vec<Subflow>,
    /// Connections handed over (ids count from 0).
    seen: usize,
    /// When the collector wants events and they are handed over: those of each open connection
    /// (numbered in capture order), and those of the connections kept.
    open_events: HashMap<usize, Vec<(u64, Event)>>,
    events: Vec<(u64, Event)>,
    event_no: u64,
}

impl Feed {
    pub fn new(collector: Collector) -> Self {
        Feed { collector, conns: Vec::new(), flows: Vec::new(), seen: 0, open_events: HashMap::new(), events: Vec::new(), event_no: 0 }
    }

    /// A finished connection and its subflows: kept (a copy) while the collector may plot it.
    pub fn offer(&mut self, conn: &Connection, subflows: &[Subflow]) {
        self.seen = self.seen.max(conn.id + 1);
        self.collector.retired(conn);
        let events = self.open_events.remove(&conn.id);
        if self.collector.may_plot(conn.id) {
            let c = &self.collector;
            self.conns.retain(|k| c.may_plot(k.id));
            self.flows.retain(|f| f.connection.is_some_and(|k| c.may_plot(k)));
            self.events.retain(|(_, e)| e.connection.is_some_and(|k| c.may_plot(k)));
            self.conns.push(conn.clone());
            self.flows.extend_from_slice(subflows);
            self.events.extend(events.into_iter().flatten());
        }
    }

    /// The capture made of the series and `analysis` (the pass's); when connections were
    /// handed over, its connections and subflows are those kept.
    pub fn into_capture(self, name: &str, mut analysis: Analysis, end: Option<mptcp_dissector::capture::CaptureError>) -> Capture {
        let Feed { collector, mut conns, mut flows, seen, mut events, .. } = self;
        let prunes = collector.prunes();
        if prunes && collector.wants_events() {
            events.sort_by_key(|(no, _)| *no);
            analysis.events = events.into_iter().map(|(_, e)| e).collect();
        }
        if prunes {
            // What the analyzer keeps when it does not hand them over (track::retire::Collect), of
            // the connections plotted.
            conns.sort_by_key(|c| c.id);
            flows.sort_by_key(|f| f.id);
            analysis.connections = conns;
            analysis.subflows = flows;
        }
        let mut cap = collector.into_capture(name, analysis, end);
        if prunes {
            cap.connections = seen;
        }
        cap
    }
}

impl Sink for Feed {
    fn segment(&mut self, r: &SegmentRecord) {
        self.collector.segment(r);
    }
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.offer(&conn, &subflows);
    }
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.event_no += 1;
        let Some(c) = e.connection.filter(|&c| self.collector.wants_events() && self.collector.asked().is_none_or(|a| a == c)) else {
            return;
        };
        self.open_events.entry(c).or_default().push((self.event_no, e.clone()));
    }
    // A flow outside every connection is in no plot.
}

/// Draws the plot `opts` asks for on `root`. Returns the connection id plotted.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cap: &Capture, opts: &PlotOptions) -> Result<usize, PlotError> {
    font::register();
    let conn = cap.connection(opts.connection, opts.direction)?;
    let win = cap.window(opts)?;
    root.fill(&WHITE).map_err(chart::draw_err)?;
    match opts.kind {
        PlotKind::Throughput => {
            let s = throughput::throughput_series(cap, conn, opts.direction);
            throughput::render(root, cap, conn, opts, &win, &s)?
        }
        PlotKind::Sequence => {
            let s = sequence::sequence_series(cap, conn, opts.direction);
            sequence::render(root, cap, conn, opts, &win, &s)?
        }
        PlotKind::Rtt => {
            let s = rtt::rtt_series(cap, conn, opts.direction);
            rtt::render(root, cap, conn, opts, &win, &s)?
        }
        PlotKind::Subflows => {
            let s = subflows::subflow_timeline(cap, conn);
            subflows::render(root, cap, conn, opts, &win, &s)?
        }
        PlotKind::Hol => {
            let s = hol::hol_series(cap, conn, opts.direction);
            hol::render(root, cap, conn, opts, &s)?
        }
        PlotKind::Reorder => {
            let s = reorder::reorder_series(cap, conn, opts.direction);
            reorder::render(root, cap, conn, opts, &win, &s)?
        }
    }
    root.present().map_err(chart::draw_err)?;
    Ok(conn.id)
}

/// Writes RGB `pixels` as a PNG file.
fn write_png(path: &Path, pixels: &[u8], (w, h): (u32, u32)) -> Result<(), PlotError> {
    let io_or = |e: png::EncodingError| match e {
        png::EncodingError::IoError(e) => PlotError::Write(e),
        other => PlotError::Draw(other.to_string()),
    };
    let mut file = std::fs::File::create(path).map_err(PlotError::Write)?;
    let mut encoder = png::Encoder::new(&mut file, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(io_or)?;
    writer.write_image_data(pixels).map_err(io_or)?;
    writer.finish().map_err(io_or)?;
    file.sync_all().map_err(PlotError::Write)
}

/// Renders to `path`, PNG or SVG by its extension. Returns the connection id plotted.
pub fn render_file(cap: &Capture, opts: &PlotOptions, path: &Path) -> Result<usize, PlotError> {
    let (w, h) = (opts.width, opts.height);
    if !(16..=MAX_SIDE).contains(&w) || !(16..=MAX_SIDE).contains(&h) {
        return Err(PlotError::Size(w, h));
    }
    write_image(path, (w, h), |area| draw(area, cap, opts), |area| draw(area, cap, opts))
}

/// Draws an image with `png` or `svg` (by `path`'s extension) and writes it to `path`. The image
/// is drawn in memory and written here: a write error (a full disk) is an io::Error said in
/// words (plotters' own file writing shows the image crate's Debug text).
pub(crate) fn write_image<T>(
    path: &Path,
    (w, h): (u32, u32),
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<T, PlotError>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<T, PlotError>,
) -> Result<T, PlotError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => {
            let mut pixels = vec![0u8; w as usize * h as usize * 3];
            let out = png(&BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area())?;
            write_png(path, &pixels, (w, h))?;
            Ok(out)
        }
        Some("svg") => {
            let mut text = String::new();
            let out = svg(&SVGBackend::with_string(&mut text, (w, h)).into_drawing_area())?;
            std::fs::write(path, text).map_err(PlotError::Write)?;
            Ok(out)
        }
        _ => Err(PlotError::Format(path.display().to_string())),
    }
}
