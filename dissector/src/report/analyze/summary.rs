//! The text report of a capture of any size ([`TextSummary`]): every connection while there are
//! few, past that the totals and the connections that matter, in bounded memory.
use std::io::{self, Write};

use super::text::{human_bytes, write_anomalies, write_connection, write_header, write_orphans};
use super::totals::{is_orphan, Totals};
use crate::pipeline::Sink;
use crate::track::{Analysis, Connection, Subflow};

/// Up to this many connections the text report shows every one.
pub const TEXT_ALL_UP_TO: usize = 20;
/// Past [`TEXT_ALL_UP_TO`]: at most this many connections with failed checks or anomalies, and
/// this many of the largest others, are shown.
const TEXT_NOTABLE: usize = 20;
const TEXT_LARGEST: usize = 5;
const TEXT_ORPHANS: usize = 50;

type Finished = (Connection, Vec<Subflow>);

/// The text report of a capture of any size: every connection while there are at most
/// [`TEXT_ALL_UP_TO`]; past that, the totals and the connections that matter (failed checks,
/// anomalies, the largest), in bounded memory.
#[derive(Default)]
pub struct TextSummary {
    totals: Totals,
    /// Every connection while few; then only the notable ones.
    kept: Vec<Finished>,
    /// The largest of the others, by data-level bytes.
    largest: Vec<Finished>,
    notable_more: u64,
    orphans: Vec<Subflow>,
    orphans_more: u64,
}

fn notable(c: &Connection) -> bool {
    c.checks.any_fail() || !c.anomalies.is_empty() || c.fallback.is_some()
}

fn size(c: &Connection) -> u64 {
    c.c2s.bytes + c.s2c.bytes
}

impl TextSummary {
    fn many(&self) -> bool {
        self.totals.connections as usize > TEXT_ALL_UP_TO
    }

    fn consider_largest(&mut self, f: Finished) {
        self.largest.push(f);
        self.largest.sort_by(|a, b| size(&b.0).cmp(&size(&a.0)).then(a.0.id.cmp(&b.0.id)));
        self.largest.truncate(TEXT_LARGEST);
    }

    fn place(&mut self, f: Finished) {
        if notable(&f.0) {
            if self.kept.len() < TEXT_NOTABLE {
                self.kept.push(f);
            } else {
                self.notable_more += 1;
            }
        } else {
            self.consider_largest(f);
        }
    }

    pub fn write<W: Write>(&mut self, out: &mut W, file: &str, a: &Analysis, warning: &Option<String>) -> io::Result<()> {
        let t0 = a.stats.first_ts;
        write_header(out, file, &a.stats, self.totals.connections, warning)?;
        self.kept.sort_by_key(|f| f.0.id);
        if self.many() {
            let t = &self.totals;
            writeln!(out)?;
            writeln!(
                out,
                "Totals: {} connections, {} subflows; {} closed, {} fast-closed, {} fallback, {} timed out, {} open at the end",
                t.connections, t.subflows, t.closed, t.fast_closed, t.fallback, t.timed_out, t.open_at_end
            )?;
            writeln!(
                out,
                "  data c2s {}, s2c {}, reinjected {}; {} connections complete both ways",
                human_bytes(t.c2s_bytes),
                human_bytes(t.s2c_bytes),
                human_bytes(t.reinjected_bytes),
                t.complete
            )?;
            writeln!(out, "  {} with a failed check, {} with anomalies", t.failed_checks, t.with_anomalies)?;
            if !self.kept.is_empty() {
                writeln!(out)?;
                writeln!(
                    out,
                    "Connections with failed checks, anomalies or fallback ({} shown{}):",
                    self.kept.len(),
                    if self.notable_more > 0 { format!(", {} more", self.notable_more) } else { String::new() }
                )?;
            }
        }
        for (c, subflows) in &self.kept {
            write_connection(out, t0, c, &subflows.iter().collect::<Vec<_>>())?;
        }
        if self.many() {
            writeln!(out)?;
            writeln!(out, "Largest other connections ({} shown):", self.largest.len())?;
            for (c, subflows) in &self.largest {
                write_connection(out, t0, c, &subflows.iter().collect::<Vec<_>>())?;
            }
            writeln!(out)?;
            writeln!(out, "(`analyze --all` lists every connection; `--format jsonl` writes one line per connection)")?;
        }
        self.orphans.sort_by_key(|f| f.id);
        let orphans: Vec<&Subflow> = self.orphans.iter().collect();
        write_orphans(out, &orphans, self.orphans_more)?;
        write_anomalies(out, &a.anomalies)
    }
}

impl Sink for TextSummary {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.totals.add(&conn, subflows.len());
        if !self.many() {
            self.kept.push((conn, subflows));
            return;
        }
        if self.totals.connections as usize == TEXT_ALL_UP_TO + 1 {
            // From now on only what matters is kept.
            for f in std::mem::take(&mut self.kept) {
                self.place(f);
            }
        }
        self.place((conn, subflows));
    }
    fn flow(&mut self, flow: Subflow) {
        if is_orphan(&flow) {
            self.totals.orphans += 1;
            if self.orphans.len() < TEXT_ORPHANS {
                self.orphans.push(flow);
            } else {
                self.orphans_more += 1;
            }
        }
    }
}
