//! `analyze --format tsv` (docs/analyze.md, "A connection log"): one line per MPTCP connection as
//! it finishes, in the habits of Zeek's conn.log — the `#separator`/`#fields`/`#types` header,
//! tab-separated fields, `-` for a value not known, `(empty)` for an empty set, times in seconds
//! since the epoch — so a day of connections is `grep`/`awk`/`zeek-cut`-able. Keeps nothing but
//! the verifier's per-connection state (as `verify` does), so memory follows the open connections.
use std::io::{self, Write};

use crate::analysis::select::Selection;
use crate::analysis::verify::{Outcome, Verifier};
use crate::pipeline::Sink;
use crate::track::{Connection, Event, Subflow};
use mptcp_wire::crypto::Token;

/// The columns and their Zeek types, in order (the `#fields` and `#types` lines).
pub const TSV_FIELDS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("conn", "count"),
    ("client_token", "string"),
    ("server_token", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("duration", "interval"),
    ("version", "count"),
    ("subflows", "count"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("orig_reinj_bytes", "count"),
    ("resp_reinj_bytes", "count"),
    ("state", "string"),
    ("fallback", "bool"),
    ("fallback_reason", "string"),
    ("failed_checks", "set[string]"),
    ("anomalies", "count"),
];

/// Zeek's name for a log of this shape (`#path`).
const PATH: &str = "mptcp_conn";

/// `analyze --format tsv`: writes the header at once, then a line per selected connection as it
/// finishes.
pub struct TsvWriter<W: Write> {
    out: W,
    verifier: Verifier<'static>,
    selection: Selection,
    /// Connections handed over, selected or not (ids count from 0): whether `--connection ID`
    /// names one.
    pub seen: usize,
    /// The header is written.
    started: bool,
    /// The line being made (reused).
    line: String,
    /// The first write error; nothing is written after it.
    pub error: Option<io::Error>,
    /// Each line is flushed as it is written (a live capture: shown as connections finish).
    pub flush_lines: bool,
}

impl<W: Write> TsvWriter<W> {
    pub fn new(out: W, selection: Selection) -> Self {
        TsvWriter {
            out,
            verifier: Verifier::new(&[]),
            selection,
            seen: 0,
            started: false,
            line: String::new(),
            error: None,
            flush_lines: false,
        }
    }

    /// The header lines, before the first connection's line or at the end (a log without
    /// connections is a header).
    fn start(&mut self) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let mut head = String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
        head.push_str(&format!("#path\t{PATH}\n#fields"));
        for (name, _) in TSV_FIELDS {
            head.push('\t');
            head.push_str(name);
        }
        head.push_str("\n#types");
        for (_, ty) in TSV_FIELDS {
            head.push('\t');
            head.push_str(ty);
        }
        head.push('\n');
        self.write(head.as_bytes());
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            self.error = self.out.write_all(bytes).err();
        }
    }

    /// Writes the header if no line did, and flushes; the first write error if there was one.
    pub fn finish(&mut self) -> io::Result<()> {
        self.start();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

impl<W: Write> Sink for TsvWriter<W> {
    fn event(&mut self, e: &Event, _tokens: [Option<Token>; 2]) {
        self.verifier.event(e);
    }

    fn connection(&mut self, c: Connection, subflows: Vec<Subflow>) {
        self.seen = self.seen.max(c.id + 1);
        let selected = self.selection.keeps_connection(&c);
        let verdicts = self.verifier.connection(&c, &subflows, selected);
        if !selected {
            return;
        }
        let failed: Vec<String> = verdicts.checks.iter().filter(|k| k.outcome == Outcome::Fail).map(|k| k.id.to_string()).collect();
        self.start();
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        connection_line(&mut line, &c, subflows.len(), &failed);
        self.write(line.as_bytes());
        if self.flush_lines && self.error.is_none() {
            self.error = self.out.flush().err();
        }
        self.line = line;
    }

    fn flow(&mut self, f: Subflow) {
        // Plain TCP flows and orphan subflows are not MPTCP connections: not logged, but a
        // join's token is checked against the connections as `verify` does.
        self.verifier.flow(&f);
    }
}

/// One connection's line (with its newline) into `line`.
fn connection_line(line: &mut String, c: &Connection, subflows: usize, failed: &[String]) {
    use std::fmt::Write as _;
    let token = |t: Option<Token>| t.map_or_else(|| "-".to_string(), |t| t.to_string());
    let fallback = c.fallback.as_ref();
    // Writing to a String cannot fail.
    let _ = write!(
        line,
        "{:.6}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.6}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
        c.start_ts,
        c.id,
        token(c.client_token),
        token(c.server_token),
        c.client.ip(),
        c.client.port(),
        c.server.ip(),
        c.server.port(),
        (c.end_ts - c.start_ts).max(0.0),
        c.version.map_or_else(|| "-".to_string(), |v| v.to_string()),
        subflows,
        c.c2s.bytes,
        c.s2c.bytes,
        c.c2s.reinjected_bytes,
        c.s2c.reinjected_bytes,
        state_name(c),
        if fallback.is_some() { "T" } else { "F" },
        fallback.map_or("-", |a| a.kind.name()),
    );
    if failed.is_empty() {
        line.push_str("(empty)");
    } else {
        for (i, id) in failed.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            escape_into(line, id, true);
        }
    }
    let _ = writeln!(line, "\t{}", c.anomalies.len() as u64 + c.anomalies_dropped);
}

/// The state as the JSON reports name it (`closed`, `fast_closed`, …).
fn state_name(c: &Connection) -> String {
    serde_json::to_value(c.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "-".to_string())
}

/// `s` as a Zeek ASCII string field (see [`escape_into`]).
pub fn tsv_escape(out: &mut String, s: &str) {
    escape_into(out, s, false);
}

/// `s` as a Zeek ASCII field: the separator, the set separator (in a set), backslashes and
/// bytes that are not printable ASCII as `\xHH`, as Zeek writes them.
fn escape_into(out: &mut String, s: &str, in_set: bool) {
    use std::fmt::Write as _;
    for b in s.bytes() {
        if b == b'\t' || b == b'\\' || (in_set && b == b',') || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(char::from(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_zeek_does() {
        let mut s = String::new();
        escape_into(&mut s, "a\tb,c\\d\u{e9}", true);
        assert_eq!(s, "a\\x09b\\x2cc\\x5cd\\xc3\\xa9");
        let mut s = String::new();
        escape_into(&mut s, "a,b", false);
        assert_eq!(s, "a,b");
    }

    #[test]
    fn the_header_names_every_column_once_with_its_type() {
        let mut out = Vec::new();
        let mut w = TsvWriter::new(&mut out, Selection::default());
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let fields: Vec<&str> = text.lines().find(|l| l.starts_with("#fields\t")).unwrap().split('\t').skip(1).collect();
        let types: Vec<&str> = text.lines().find(|l| l.starts_with("#types\t")).unwrap().split('\t').skip(1).collect();
        assert_eq!(fields.len(), TSV_FIELDS.len());
        assert_eq!(types.len(), fields.len());
        let mut uniq = fields.clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), fields.len());
        assert!(text.starts_with("#separator \\x09\n"));
    }
}
