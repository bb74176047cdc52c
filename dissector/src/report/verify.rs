//! `verify` reports: text, JSON and JUnit XML (one testcase per check per connection, one per
//! capture-level check with classname "capture", and one per expectation).
//!
//! Each connection's part is rendered when its verdicts are made ([`Streamed::connection`],
//! as the connection finishes) into a [`Spool`]; the document is written at the end, when the
//! counts that head it are known.
use std::io::{self, Write};

use super::spool::Spool;
use crate::analysis::verify::{ConnectionVerdicts, Outcome, VerifyReport};

/// A report's format, and for JSON whether the document is one of several (an array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json { many: bool },
    Junit,
}

/// One capture's report whose connections were rendered as they finished: `report` holds the
/// rest (its `connections` are empty), `spool` their parts in the document's format.
pub struct Streamed {
    pub report: VerifyReport,
    pub connections: u64,
    format: Format,
    spool: Spool,
}

impl Streamed {
    pub fn new(format: Format) -> Streamed {
        let report = VerifyReport {
            file: String::new(),
            connections: Vec::new(),
            capture_checks: Vec::new(),
            expectations: Vec::new(),
            capture_anomalies: 0,
            passed: 0,
            failed: 0,
            skipped: 0,
        };
        let sep: &'static [u8] = if matches!(format, Format::Json { .. }) { b",\n" } else { b"" };
        Streamed { report, connections: 0, format, spool: Spool::new(sep) }
    }

    /// A whole report, rendered.
    pub fn of(mut r: VerifyReport, format: Format) -> io::Result<Streamed> {
        let conns = std::mem::take(&mut r.connections);
        let mut s = Streamed::new(format);
        for c in &conns {
            s.connection(c)?;
        }
        s.report = r;
        Ok(s)
    }

    /// Renders one connection's verdicts (in connection order, whatever order they come in).
    pub fn connection(&mut self, c: &ConnectionVerdicts) -> io::Result<()> {
        self.connections += 1;
        let mut out = Vec::with_capacity(2048);
        match self.format {
            Format::Text => {
                writeln!(out, "connection {} {} -> {}", c.connection, c.client, c.server)?;
                for k in &c.checks {
                    writeln!(out, "  {:<4} {:<24} {:<17} {}{}", word(k.outcome), k.id, k.rfc, k.detail, frames_of(&k.frames))?;
                }
            }
            Format::Json { many } => out = Spool::json(c, if many { 6 } else { 4 })?.into_bytes(),
            Format::Junit => {
                let class = format!("connection {} ({} -> {})", c.connection, c.client, c.server);
                for k in &c.checks {
                    case(&mut out, &class, &format!("{} ({})", k.id, k.rfc), k.outcome, &format!("{}{}", k.detail, frames_of(&k.frames)))?;
                }
            }
        }
        self.spool.part(c.connection, &out)
    }

    /// Connection `id` is not in the report (not selected).
    pub fn skip(&mut self, id: usize) -> io::Result<()> {
        self.spool.skip(id)
    }
}

/// The reports as one document in their format: text (each capture's report under its own
/// header line), JSON (one report: its document; several: an array of them), JUnit (one
/// `<testsuites>`, a suite per capture). Every report must have been made in `format`.
pub fn write(out: &mut dyn Write, format: Format, reports: Vec<Streamed>) -> io::Result<()> {
    match format {
        Format::Text => reports.into_iter().try_for_each(|r| write_text_streamed(out, r)),
        Format::Json { many: false } => reports.into_iter().try_for_each(|r| write_json_doc(out, r, 0).and_then(|_| out.write_all(b"\n"))),
        Format::Json { many: true } => {
            if reports.is_empty() {
                return out.write_all(b"[]\n");
            }
            out.write_all(b"[\n")?;
            for (i, r) in reports.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                write_json_doc(out, r, 2)?;
            }
            out.write_all(b"\n]\n")
        }
        Format::Junit => write_junit_streamed(out, reports),
    }
}

pub fn write_json<W: Write>(out: &mut W, r: &VerifyReport) -> io::Result<()> {
    write(out, Format::Json { many: false }, vec![Streamed::of(r.clone(), Format::Json { many: false })?])
}

/// One report's JSON document, as `serde_json` pretty-prints it, indented by `indent`.
fn write_json_doc(out: &mut dyn Write, r: Streamed, indent: usize) -> io::Result<()> {
    let doc = serde_json::to_string_pretty(&r.report)?;
    let doc = if indent == 0 { doc } else { doc.split('\n').map(|l| format!("{}{l}", " ".repeat(indent))).collect::<Vec<_>>().join("\n") };
    r.spool.splice_json_array(&doc, "connections", out)
}

fn word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "skip",
    }
}

fn frames_of(frames: &[u64]) -> String {
    if frames.is_empty() {
        String::new()
    } else {
        format!(" [frames {}]", frames.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(","))
    }
}

pub fn write_text<W: Write>(out: &mut W, r: &VerifyReport) -> io::Result<()> {
    write_text_streamed(out, Streamed::of(r.clone(), Format::Text)?)
}

fn write_text_streamed(out: &mut dyn Write, s: Streamed) -> io::Result<()> {
    let r = &s.report;
    writeln!(out, "{}: {} connection(s)", r.file, s.connections)?;
    let r = s.report;
    s.spool.copy_to(out)?;
    if !r.capture_checks.is_empty() {
        writeln!(out, "capture")?;
        for k in &r.capture_checks {
            writeln!(out, "  {:<4} {:<24} {:<17} {}{}", word(k.outcome), k.id, k.rfc, k.detail, frames_of(&k.frames))?;
        }
    }
    if !r.expectations.is_empty() {
        writeln!(out, "expectations")?;
        for e in &r.expectations {
            writeln!(out, "  {:<4} {:<24} {}", word(e.outcome), e.rule, e.detail)?;
        }
    }
    writeln!(out, "{} passed, {} failed, {} skipped", r.passed, r.failed, r.skipped)
}

/// Escapes text for XML attributes and character data.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

pub fn write_junit<W: Write>(out: &mut W, r: &VerifyReport) -> io::Result<()> {
    write_junit_streamed(out, vec![Streamed::of(r.clone(), Format::Junit)?])
}

/// Several captures' reports as one JUnit document: one `<testsuites>`, a `<testsuite>` per
/// capture, in the order given.
fn write_junit_streamed(out: &mut dyn Write, reports: Vec<Streamed>) -> io::Result<()> {
    let sum = |f: fn(&VerifyReport) -> u64| reports.iter().map(|s| f(&s.report)).sum::<u64>();
    let (passed, failed, skipped) = (sum(|r| r.passed), sum(|r| r.failed), sum(|r| r.skipped));
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="mptcp-trace verify" tests="{}" failures="{failed}" skipped="{skipped}">"#,
        passed + failed + skipped
    )?;
    for r in reports {
        write_suite(out, r)?;
    }
    writeln!(out, "</testsuites>")
}

/// One JUnit test case.
fn case(out: &mut dyn Write, class: &str, name: &str, outcome: Outcome, detail: &str) -> io::Result<()> {
    write!(out, r#"    <testcase classname="{}" name="{}""#, esc(class), esc(name))?;
    match outcome {
        Outcome::Pass => writeln!(out, "><system-out>{}</system-out></testcase>", esc(detail)),
        Outcome::Fail => writeln!(out, r#"><failure message="{}">{}</failure></testcase>"#, esc(detail), esc(detail)),
        Outcome::Skip => writeln!(out, r#"><skipped message="{}"/></testcase>"#, esc(detail)),
    }
}

fn write_suite(out: &mut dyn Write, s: Streamed) -> io::Result<()> {
    let r = &s.report;
    let tests = r.passed + r.failed + r.skipped;
    writeln!(out, r#"  <testsuite name="{}" tests="{tests}" failures="{}" skipped="{}" errors="0">"#, esc(&r.file), r.failed, r.skipped)?;
    let r = s.report;
    s.spool.copy_to(out)?;
    for k in &r.capture_checks {
        case(out, "capture", &format!("{} ({})", k.id, k.rfc), k.outcome, &format!("{}{}", k.detail, frames_of(&k.frames)))?;
    }
    for e in &r.expectations {
        case(out, "expectations", &e.rule, e.outcome, &e.detail)?;
    }
    writeln!(out, "  </testsuite>")
}
