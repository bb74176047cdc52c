//! Plots of an MPTCP capture: per-subflow throughput, the data-sequence graph with
//! reinjections and data ACKs, per-subflow RTT, and the subflow timeline (docs/plot.md).
//!
//! Each kind has a pure *series function* (analysis + per-segment records → the numbers that are
//! plotted, tested against the analysis) and a render function generic over the plotters
//! backend. [`render_file`] picks PNG or SVG from the output's extension. Text is drawn with an
//! embedded font ([`font`]), so no system font or font library is needed.
//!
//! ```no_run
//! use mptcp_dissector::capture::CaptureReader;
//! use mptcp_dissector::track::Dir;
//! use mptcp_plots::{collect, render_file, PlotKind, PlotOptions};
//! let file = std::fs::File::open("testdata/path-cut.pcap").unwrap();
//! let mut reader = CaptureReader::new(Box::new(file)).unwrap();
//! let capture = collect("path-cut.pcap", &mut reader, 100_000_000);
//! let opts = PlotOptions { kind: PlotKind::Sequence, direction: Dir::C2s, ..PlotOptions::default() };
//! render_file(&capture, &opts, std::path::Path::new("seq.png")).unwrap();
//! ```
//!
//! Directions: like the analyzer, a segment's direction within its subflow (from the subflow's
//! SYN sender) is taken as its direction at the data level.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::series::{SharedObserver, Throughput};
use mptcp_dissector::track::{Analysis, Analyzer, Connection, Dir, Limits, Observer, SegmentRecord};
use plotters::coord::Shift;
use plotters::prelude::*;

mod chart;
pub mod font;
pub mod rtt;
pub mod sequence;
pub mod subflows;
pub mod throughput;

/// Most segment records kept for the sequence and RTT plots (bounded memory on long captures).
pub const MAX_RECORDS: usize = 4 << 20;

/// What to plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    Throughput,
    Sequence,
    Rtt,
    Subflows,
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
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions { kind: PlotKind::Throughput, connection: None, direction: Dir::C2s, width: 1000, height: 600, stacked: false }
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
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Keeps every segment record of connections (up to [`MAX_RECORDS`]) and the clock's start.
#[derive(Default)]
pub struct Recorder {
    pub records: Vec<SegmentRecord>,
    /// Records not kept because of the cap.
    pub dropped: u64,
    /// Timestamp of the first TCP segment: time zero of `series::Throughput`'s buckets.
    pub t0_ns: Option<u64>,
}

impl Observer for Recorder {
    fn segment(&mut self, r: &SegmentRecord) {
        self.t0_ns.get_or_insert(r.ts_ns);
        if r.connection.is_none() {
            return;
        }
        if self.records.len() >= MAX_RECORDS {
            self.dropped += 1;
            return;
        }
        self.records.push(*r);
    }
}

/// Everything the plots need from one pass over a capture.
pub struct Capture {
    /// Name shown in titles (the capture file's name).
    pub name: String,
    pub analysis: Analysis,
    /// How the capture ended early, if it did.
    pub end: Option<CaptureError>,
    pub records: Vec<SegmentRecord>,
    pub records_dropped: u64,
    /// Per-interval bytes of every connection, subflow and data level.
    pub throughput: Throughput,
    /// Time zero of every plot: the capture's first packet, as `analyze` counts times.
    pub t0_ns: u64,
    /// Seconds from time zero to the first TCP segment, where the throughput buckets start.
    pub throughput_offset_s: f64,
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
            Some(c) => conns.get(c).ok_or(PlotError::NoConnection { asked: c, have: conns.len() }),
            None => conns
                .iter()
                .max_by_key(|c| (c.data(dir).bytes, c.data(dir.flip()).bytes, std::cmp::Reverse(c.id)))
                .ok_or(PlotError::NoConnections),
        }
    }
}

/// Runs the analyzer over `reader`, keeping the per-segment records and the throughput series
/// (`interval_ns` buckets) of every connection.
pub fn collect(name: &str, reader: &mut CaptureReader, interval_ns: u64) -> Capture {
    let rec = Rc::new(RefCell::new(Recorder::default()));
    let tp = Rc::new(RefCell::new(Throughput::new(interval_ns, None)));
    let analyzer = Analyzer::new(Limits::default()).with_observer(Box::new(Both(SharedObserver(rec.clone()), SharedObserver(tp.clone()))));
    let (analysis, end) = mptcp_dissector::pipeline::run(reader, analyzer);
    let rec = rec.take();
    let throughput = tp.replace(Throughput::new(interval_ns, None));
    let first_ns = (analysis.stats.first_ts * 1e9).round() as u64;
    let tcp0 = rec.t0_ns.unwrap_or(first_ns);
    let t0_ns = first_ns.min(tcp0);
    Capture {
        name: name.to_string(),
        analysis,
        end,
        records: rec.records,
        records_dropped: rec.dropped,
        throughput,
        t0_ns,
        throughput_offset_s: tcp0.saturating_sub(t0_ns) as f64 / 1e9,
    }
}

/// Two observers fed the same records.
struct Both<A: Observer, B: Observer>(A, B);

impl<A: Observer, B: Observer> Observer for Both<A, B> {
    fn segment(&mut self, r: &SegmentRecord) {
        self.0.segment(r);
        self.1.segment(r);
    }
}

/// Draws the plot `opts` asks for on `root`. Returns the connection id plotted.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cap: &Capture, opts: &PlotOptions) -> Result<usize, PlotError> {
    font::register();
    let conn = cap.connection(opts.connection, opts.direction)?;
    root.fill(&WHITE).map_err(chart::draw_err)?;
    match opts.kind {
        PlotKind::Throughput => {
            let s = throughput::throughput_series(cap, conn, opts.direction);
            throughput::render(root, cap, conn, opts, &s)?
        }
        PlotKind::Sequence => {
            let s = sequence::sequence_series(cap, conn, opts.direction);
            sequence::render(root, cap, conn, opts, &s)?
        }
        PlotKind::Rtt => {
            let s = rtt::rtt_series(cap, conn, opts.direction);
            rtt::render(root, cap, conn, opts, &s)?
        }
        PlotKind::Subflows => {
            let s = subflows::subflow_timeline(cap, conn);
            subflows::render(root, cap, conn, opts, &s)?
        }
    }
    root.present().map_err(chart::draw_err)?;
    Ok(conn.id)
}

/// Renders to `path`, PNG or SVG by its extension. Returns the connection id plotted.
pub fn render_file(cap: &Capture, opts: &PlotOptions, path: &Path) -> Result<usize, PlotError> {
    let (w, h) = (opts.width, opts.height);
    if !(16..=10_000).contains(&w) || !(16..=10_000).contains(&h) {
        return Err(PlotError::Size(w, h));
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => draw(&BitMapBackend::new(path, (w, h)).into_drawing_area(), cap, opts),
        Some("svg") => draw(&SVGBackend::new(path, (w, h)).into_drawing_area(), cap, opts),
        _ => Err(PlotError::Format(path.display().to_string())),
    }
}
