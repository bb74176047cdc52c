//! The subflow timeline: one lane per subflow of a connection, from its SYN through the
//! handshake (thin) to established (thick), backup periods (RFC 8684 §3.3.8: the join's B flag,
//! then MP_PRIO) drawn light, its end (FIN or RST) marked; address announcements and removals
//! of the connection as dashed verticals.
use mptcp_dissector::track::{Connection, EventKind};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::{self, draw_err, FONT};
use crate::legend::{self, Entry, Mark};
use crate::window::{self, Window};
use crate::{Capture, PlotError, PlotOptions};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkerKind {
    Established,
    /// MP_PRIO seen on the subflow: its new backup flag.
    Priority {
        backup: bool,
    },
    /// "fin", "rst", "mp_tcprst", "mp_fastclose".
    Closed(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub t: f64,
    pub kind: MarkerKind,
}

/// One subflow's lane; times are seconds since the first packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub subflow: usize,
    pub label: String,
    pub start: f64,
    pub established: Option<f64>,
    /// Its end, or its last packet when the capture does not show one.
    pub end: f64,
    pub closed: bool,
    /// Periods in which the subflow was backup.
    pub backup: Vec<(f64, f64)>,
    pub markers: Vec<Marker>,
}

/// A connection-level event drawn across all lanes.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnMark {
    pub t: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    pub lanes: Vec<Lane>,
    pub marks: Vec<ConnMark>,
}

/// The timeline of `conn`'s subflows and address events.
pub fn subflow_timeline(cap: &Capture, conn: &Connection) -> Timeline {
    let a = &cap.analysis;
    let mut lanes = Vec::new();
    for &id in &conn.subflow_ids {
        let Some(sf) = cap.subflow(id) else { continue };
        let evs: Vec<_> = a.events.iter().filter(|e| e.subflow == Some(id) && e.connection == Some(conn.id)).collect();
        let start = cap.rel(sf.start_ts);
        let end = cap.rel(sf.end.as_ref().map_or(sf.last_ts, |e| e.ts));
        let mut markers = Vec::new();
        if let Some(t) = sf.established_ts {
            markers.push(Marker { t: cap.rel(t), kind: MarkerKind::Established });
        }
        let prios: Vec<(f64, bool)> =
            evs.iter().filter(|e| e.kind == EventKind::SfPriority).map(|e| (cap.rel(e.ts), e.backup.unwrap_or(false))).collect();
        // The state before the first MP_PRIO: the join's B flag as SF_ESTABLISHED reports it;
        // without that event, the opposite of the first change (else the final state).
        let initial = evs
            .iter()
            .find(|e| e.kind == EventKind::SfEstablished)
            .and_then(|e| e.backup)
            .or_else(|| prios.first().map(|p| !p.1))
            .unwrap_or(sf.backup);
        let mut backup = Vec::new();
        let mut state = (initial, sf.established_ts.map_or(start, |t| cap.rel(t)));
        for &(t, b) in &prios {
            markers.push(Marker { t, kind: MarkerKind::Priority { backup: b } });
            if state.0 && t > state.1 {
                backup.push((state.1, t));
            }
            state = (b, if state.0 == b { state.1 } else { t });
        }
        if state.0 && end > state.1 {
            backup.push((state.1, end));
        }
        if let Some(e) = &sf.end {
            markers.push(Marker { t: cap.rel(e.ts), kind: MarkerKind::Closed(e.how.name()) });
        }
        let kind = if sf.join { "join" } else { "initial" };
        lanes.push(Lane {
            subflow: id,
            label: format!("{} ({kind})", chart::subflow_label(sf)),
            start,
            established: sf.established_ts.map(|t| cap.rel(t)),
            end,
            closed: sf.end.is_some(),
            backup,
            markers,
        });
    }
    let marks = a
        .events
        .iter()
        .filter(|e| e.connection == Some(conn.id))
        .filter_map(|e| {
            let text = match e.kind {
                EventKind::Announced => format!("ADD_ADDR {}", e.address.clone().unwrap_or_else(|| "?".into())),
                EventKind::Removed => format!("REMOVE_ADDR id {}", e.address_id.map_or("?".into(), |i| i.to_string())),
                EventKind::MpFail => "MP_FAIL".into(),
                EventKind::Fastclose => "MP_FASTCLOSE".into(),
                EventKind::Fallback => "fallback to TCP".into(),
                _ => return None,
            };
            Some(ConnMark { t: cap.rel(e.ts), text })
        })
        .collect();
    Timeline { lanes, marks }
}

pub fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cap: &Capture,
    conn: &Connection,
    _opts: &PlotOptions,
    win: &Window,
    s: &Timeline,
) -> Result<(), PlotError> {
    let area = chart::titled(root, cap, conn, "Subflow timeline")?;
    let (w, h) = root.dim_in_pixel();
    let sz = chart::sizes(w, h);
    let n = s.lanes.len().max(1) as f64;
    let times = || s.lanes.iter().flat_map(|l| [l.start, l.end]).chain(s.marks.iter().map(|m| m.t));
    let t_max = times().fold(0f64, f64::max);
    let t_min = times().fold(f64::INFINITY, f64::min);
    let mut x = window::time_axis(win, t_min, t_max);
    if win.to.is_none() {
        // Room on the right for the end labels.
        x.end += (x.end - x.start) * 0.08;
    }
    let grey = RGBColor(150, 150, 150);
    let mr = (sz.label / 2.2) as i32;
    let entries = [
        Entry::new("handshake (SYN → ACK)", Mark::Bar(grey)),
        Entry::new("established", Mark::Dot(BLACK)),
        Entry::new("backup period", Mark::Fill(chart::light(RGBColor(90, 90, 90), 0.35))),
        Entry::new("MP_PRIO", Mark::Triangle(BLACK)),
        Entry::new("closed (FIN/RST)", Mark::Cross(BLACK)),
    ];
    let area = legend::beneath(&area, &entries, &sz)?;
    // Lane i at y = n-1-i (first subflow on top); room above for the connection events' labels.
    let mut ch = ChartBuilder::on(&area)
        .margin((10.0 * sz.label / 14.0) as i32)
        .x_label_area_size((sz.label * 3.2) as u32)
        .y_label_area_size((sz.label * 1.0) as u32)
        .build_cartesian_2d(x.clone(), -0.7f64..(n + 0.1))
        .map_err(draw_err)?;
    ch.configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("time since the first packet (s)")
        .x_label_formatter(&|v| chart::num(*v))
        .y_label_formatter(&|v| chart::num(*v))
        .label_style((FONT, sz.label))
        .axis_desc_style((FONT, sz.desc))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)?;
    for m in s.marks.iter().filter(|m| window::shown(&x, m.t)) {
        ch.draw_series(DashedLineSeries::new(vec![(m.t, -0.6), (m.t, n - 0.45)], 4, 4, grey.stroke_width(1))).map_err(draw_err)?;
        ch.draw_series(std::iter::once(Text::new(
            m.text.clone(),
            (m.t, n - 0.45),
            (FONT, sz.small).into_font().color(&RGBColor(90, 90, 90)).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )))
        .map_err(draw_err)?;
    }
    for (i, l) in s.lanes.iter().enumerate() {
        if l.end < x.start || l.start > x.end {
            continue;
        }
        let y = n - 1.0 - i as f64;
        let c = chart::color(i);
        let up = l.established.unwrap_or(l.end);
        ch.draw_series(std::iter::once(Rectangle::new([(l.start, y - 0.05), (up, y + 0.05)], grey.filled()))).map_err(draw_err)?;
        if l.established.is_some() {
            ch.draw_series(std::iter::once(Rectangle::new([(up, y - 0.16), (l.end, y + 0.16)], c.filled()))).map_err(draw_err)?;
        }
        for &(a, b) in &l.backup {
            ch.draw_series(std::iter::once(Rectangle::new([(a, y - 0.16), (b, y + 0.16)], chart::light(c, 0.35).filled())))
                .map_err(draw_err)?;
            ch.draw_series(std::iter::once(Rectangle::new([(a, y - 0.16), (b, y + 0.16)], c.stroke_width(1)))).map_err(draw_err)?;
            ch.draw_series(std::iter::once(Text::new(
                "backup",
                ((a + b) / 2.0, y),
                (FONT, sz.small).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center)),
            )))
            .map_err(draw_err)?;
        }
        ch.draw_series(std::iter::once(Text::new(
            l.label.clone(),
            (l.start, y + 0.24),
            (FONT, sz.legend).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Bottom)),
        )))
        .map_err(draw_err)?;
        for m in l.markers.iter().filter(|m| window::shown(&x, m.t)) {
            match m.kind {
                MarkerKind::Established => {
                    ch.draw_series(std::iter::once(Circle::new((m.t, y), mr, BLACK.filled()))).map_err(draw_err)?;
                }
                MarkerKind::Priority { backup } => {
                    ch.draw_series(std::iter::once(TriangleMarker::new((m.t, y), mr + 2, BLACK.filled()))).map_err(draw_err)?;
                    let text = if backup { "MP_PRIO backup" } else { "MP_PRIO regular" };
                    ch.draw_series(std::iter::once(Text::new(
                        text,
                        (m.t, y - 0.2),
                        (FONT, sz.small).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top)),
                    )))
                    .map_err(draw_err)?;
                }
                MarkerKind::Closed(how) => {
                    ch.draw_series(std::iter::once(Cross::new((m.t, y), mr + 1, BLACK.stroke_width(3)))).map_err(draw_err)?;
                    // Beside the cross, not on it.
                    let style = (FONT, sz.small).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
                    ch.draw_series(std::iter::once(EmptyElement::at((m.t, y)) + Text::new(how.to_uppercase(), (mr + 6, 0), style)))
                        .map_err(draw_err)?;
                }
            }
        }
        if !l.closed && window::shown(&x, l.end) {
            let style = (FONT, sz.small).into_font().color(&RGBColor(90, 90, 90)).pos(Pos::new(HPos::Left, VPos::Center));
            ch.draw_series(std::iter::once(EmptyElement::at((l.end, y)) + Text::new("no end in the capture", (6, 0), style)))
                .map_err(draw_err)?;
        }
    }
    if s.lanes.is_empty() {
        chart::note(&area, "no subflows")?;
    }
    Ok(())
}
