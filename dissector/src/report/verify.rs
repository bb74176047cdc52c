//! `verify` reports: text, JSON and JUnit XML (one testcase per check per connection, one per
//! capture-level check with classname "capture", and one per expectation).
use std::io::{self, Write};

use crate::analysis::verify::{Outcome, VerifyReport};

pub fn write_json<W: Write>(out: &mut W, r: &VerifyReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    out.write_all(b"\n")
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
    writeln!(out, "{}: {} connection(s)", r.file, r.connections.len())?;
    for c in &r.connections {
        writeln!(out, "connection {} {} -> {}", c.connection, c.client, c.server)?;
        for k in &c.checks {
            writeln!(out, "  {:<4} {:<24} {:<17} {}{}", word(k.outcome), k.id, k.rfc, k.detail, frames_of(&k.frames))?;
        }
    }
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
    write_junit_many(out, std::slice::from_ref(r))
}

/// Several captures' reports as one JUnit document: one `<testsuites>`, a `<testsuite>` per
/// capture, in the order given.
pub fn write_junit_many<W: Write>(out: &mut W, reports: &[VerifyReport]) -> io::Result<()> {
    let sum = |f: fn(&VerifyReport) -> u64| reports.iter().map(f).sum::<u64>();
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

/// Several captures' reports as one JSON document: an array of the one-capture documents.
pub fn write_json_many<W: Write>(out: &mut W, reports: &[VerifyReport]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, reports)?;
    out.write_all(b"\n")
}

fn write_suite<W: Write>(out: &mut W, r: &VerifyReport) -> io::Result<()> {
    let tests = r.passed + r.failed + r.skipped;
    writeln!(out, r#"  <testsuite name="{}" tests="{tests}" failures="{}" skipped="{}" errors="0">"#, esc(&r.file), r.failed, r.skipped)?;
    let case = |out: &mut W, class: &str, name: &str, outcome: Outcome, detail: &str| -> io::Result<()> {
        write!(out, r#"    <testcase classname="{}" name="{}""#, esc(class), esc(name))?;
        match outcome {
            Outcome::Pass => writeln!(out, "><system-out>{}</system-out></testcase>", esc(detail)),
            Outcome::Fail => writeln!(out, r#"><failure message="{}">{}</failure></testcase>"#, esc(detail), esc(detail)),
            Outcome::Skip => writeln!(out, r#"><skipped message="{}"/></testcase>"#, esc(detail)),
        }
    };
    for c in &r.connections {
        let class = format!("connection {} ({} -> {})", c.connection, c.client, c.server);
        for k in &c.checks {
            case(out, &class, &format!("{} ({})", k.id, k.rfc), k.outcome, &format!("{}{}", k.detail, frames_of(&k.frames)))?;
        }
    }
    for k in &r.capture_checks {
        case(out, "capture", &format!("{} ({})", k.id, k.rfc), k.outcome, &format!("{}{}", k.detail, frames_of(&k.frames)))?;
    }
    for e in &r.expectations {
        case(out, "expectations", &e.rule, e.outcome, &e.detail)?;
    }
    writeln!(out, "  </testsuite>")
}
