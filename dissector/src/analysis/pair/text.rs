//! `pair`'s text report, like `analyze`'s.
use super::model::{OwdStats, PairReport, SynKind};
use crate::track::{Dir, ReinjectionVerdict};

/// The report as text, like `analyze`'s.
pub fn render_text(r: &PairReport, client: &str, server: &str) -> String {
    let mut s = String::new();
    let _ = write_text(&mut s, r, client, server);
    s
}

/// The same written to `s` as it is made (not held whole: it grows with the subflows).
pub fn write_text<W: std::fmt::Write>(s: &mut W, r: &PairReport, client: &str, server: &str) -> std::fmt::Result {
    let _ = writeln!(
        s,
        "client capture {client}: {} TCP packets; server capture {server}: {} TCP packets",
        r.client_tcp_packets, r.server_tcp_packets
    );
    let _ = writeln!(s, "{} segments matched across the captures", r.matched);
    let fmt = |o: &Option<OwdStats>| match o {
        Some(o) => format!("min {:.3} ms, median {:.3} ms, p99 {:.3} ms (n {})", o.min / 1e3, o.median / 1e3, o.p99 / 1e3, o.n),
        None => "-".to_string(),
    };
    match r.clock_offset_us {
        Some(o) => {
            let _ = writeln!(s, "clock offset (server - client, from both directions' minimum delays): {o:.1} µs");
        }
        None => {
            let _ = writeln!(s, "clock offset: not estimated (no delays both ways)");
        }
    }
    for sp in &r.subflows {
        let _ = writeln!(s, "\nsubflow {} ({})", sp.subflow, sp.kind.map_or("no SYN seen", SynKind::name));
        match (&sp.at_server, sp.linked_by) {
            (Some(n), Some(by)) => {
                let _ = writeln!(s, "  at the server capture: {n} (a NAT between the points; found by {by})");
            }
            (_, None) => {
                let _ = writeln!(s, "  seen in one capture only");
            }
            _ => {}
        }
        for d in [&sp.c2s, &sp.s2c] {
            let _ = writeln!(
                s,
                "  {}: sent {} segments (at the {} capture), received {}, lost between the points {} ({} bytes), seen only at the receiver {}",
                d.direction.name(), d.sent_segments, d.sender_capture, d.received_segments, d.lost_count, d.lost_bytes, d.seen_only_at_receiver
            );
            let _ = writeln!(s, "    one-way delay: {}", fmt(&d.owd_us));
            if d.owd_corrected_us.is_some() {
                let _ = writeln!(s, "    corrected by the offset: {}", fmt(&d.owd_corrected_us));
            }
            for l in &d.lost {
                let _ = writeln!(
                    s,
                    "    lost: seq {}{} len {} [{}] at {} s (frame {})",
                    l.seq,
                    if l.relative { "" } else { " (raw)" },
                    l.len,
                    l.flags,
                    l.t_rel,
                    l.frame
                );
            }
            if d.lost_list_truncated {
                let _ = writeln!(s, "    ... ({} lost in all)", d.lost_count);
            }
        }
    }
    for (dir, sum) in [(Dir::C2s, &r.reinjections_c2s), (Dir::S2c, &r.reinjections_s2c)] {
        let _ = writeln!(
            s,
            "\nreinjections {}: {} ({} bytes): useful {}, redundant {}, neither copy arrived {}",
            dir.name(),
            sum.count,
            sum.bytes,
            sum.useful,
            sum.redundant,
            sum.lost
        );
        let t = |x: Option<f64>| x.map_or("lost".to_string(), |x| format!("{x} s"));
        for x in r.reinjections.iter().filter(|x| x.direction == dir && x.verdict != ReinjectionVerdict::Redundant) {
            let _ = writeln!(
                s,
                "  {}: dsn {} len {} on {} at {} s (frame {}), original on {} at {} s (frame {}); arrived: original {}, reinjection {}",
                x.verdict,
                x.dsn,
                x.len,
                x.subflow,
                x.t_rel,
                x.frame,
                x.original_subflow,
                x.original_t_rel,
                x.original_frame,
                t(x.original_arrived),
                t(x.reinjection_arrived)
            );
        }
    }
    if r.reinjections_truncated {
        let _ = writeln!(s, "  (the JSON list holds the first {} per direction)", r.reinjections.len());
    }
    if r.matched == 0 {
        let _ = writeln!(s, "\nno segment was seen in both captures: they share no traffic");
    }
    for l in &r.limits {
        let _ = writeln!(s, "\nnote: {l}");
    }
    Ok(())
}
