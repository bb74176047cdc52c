//! The `--expect` grammar (`KEY OP VALUE` or a flag, docs/verify.md) and its evaluation
//! against an [`Analysis`].
use serde::Serialize;

use super::Outcome;
use crate::track::{Connection, Dir, Subflow};

/// Comparison operator of an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

/// A user expectation, e.g. `subflows>=2`, `no-fallback`.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    pub rule: String,
    pub key: String,
    pub op: Op,
    pub value: String,
}

/// The result of an expectation.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationResult {
    pub rule: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// Numeric keys (`key OP integer`) and what they measure.
const NUMERIC_KEYS: &[(&str, &str)] = &[
    ("connections", "MPTCP connections in the capture"),
    ("subflows", "subflows of each connection"),
    ("joins", "MP_JOIN subflows of each connection"),
    ("version", "MPTCP version of each connection"),
    ("reinjected-bytes", "data-level bytes reinjected on another subflow, both directions, per connection"),
    ("add-addr", "ADD_ADDR announcements (not echoes) per connection"),
    ("remove-addr", "REMOVE_ADDR address ids per connection"),
    ("mp-prio", "MP_PRIO options per connection"),
    ("c2s-bytes", "distinct data-level bytes client to server, per connection"),
    ("s2c-bytes", "distinct data-level bytes server to client, per connection"),
];
/// String keys (`key=value` / `key!=value`).
const STRING_KEYS: &[(&str, &str)] = &[
    ("c2s-sha256", "sha256 of the rebuilt client-to-server stream (it must be complete)"),
    ("s2c-sha256", "sha256 of the rebuilt server-to-client stream"),
    ("checksums", "on|off: DSS checksums negotiated"),
];
/// Bare flags.
const FLAGS: &[(&str, &str)] = &[
    ("no-fallback", "no connection fell back to TCP, at the handshake or later"),
    ("fallback", "some connection fell back to TCP"),
    ("complete", "every data stream is complete (no gaps, DATA_FIN seen, all bytes captured)"),
    ("no-fastclose", "no MP_FASTCLOSE"),
];

/// The expectation grammar, for `--help` and docs.
pub fn expectation_help() -> String {
    let mut s = String::from("RULE is KEY OP VALUE with OP one of = != >= <= > <, or a flag.\n");
    for (k, what) in NUMERIC_KEYS {
        s.push_str(&format!("  {k} OP N: {what}\n"));
    }
    for (k, what) in STRING_KEYS {
        s.push_str(&format!("  {k}=VALUE: {what}\n"));
    }
    for (k, what) in FLAGS {
        s.push_str(&format!("  {k}: {what}\n"));
    }
    s
}

/// Parses one `--expect` rule; unknown keys and malformed rules are errors.
pub fn parse_expectation(rule: &str) -> Result<Expectation, String> {
    let rule = rule.trim();
    if FLAGS.iter().any(|(k, _)| *k == rule) {
        return Ok(Expectation { rule: rule.into(), key: rule.into(), op: Op::Eq, value: "true".into() });
    }
    const OPS: [(&str, Op); 6] = [(">=", Op::Ge), ("<=", Op::Le), ("!=", Op::Ne), ("=", Op::Eq), (">", Op::Gt), ("<", Op::Lt)];
    let Some((at, text, op)) =
        OPS.iter().filter_map(|(t, o)| rule.find(t).map(|i| (i, *t, *o))).min_by_key(|(i, t, _)| (*i, usize::MAX - t.len()))
    else {
        return Err(format!("expectation {rule:?}: no operator; expected KEY OP VALUE or a flag\n{}", expectation_help()));
    };
    let key = rule[..at].trim().to_string();
    let value = rule[at + text.len()..].trim().to_string();
    if NUMERIC_KEYS.iter().any(|(k, _)| *k == key) {
        value.parse::<u64>().map_err(|_| format!("expectation {rule:?}: {key} takes a whole number"))?;
    } else if STRING_KEYS.iter().any(|(k, _)| *k == key) {
        if !matches!(op, Op::Eq | Op::Ne) {
            return Err(format!("expectation {rule:?}: {key} takes = or !="));
        }
        if key == "checksums" && !matches!(value.as_str(), "on" | "off") {
            return Err(format!("expectation {rule:?}: checksums is on or off"));
        }
        if key.ends_with("sha256") && (value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("expectation {rule:?}: a sha256 is 64 hex digits"));
        }
    } else {
        return Err(format!("expectation {rule:?}: unknown key {key:?}\n{}", expectation_help()));
    }
    Ok(Expectation { rule: rule.into(), key, op, value })
}

/// Whether any expectation needs stream hashes (so the analyzer must compute them).
pub fn needs_hashes(exps: &[Expectation]) -> bool {
    exps.iter().any(|e| e.key.ends_with("sha256"))
}

fn compare(actual: u64, op: Op, want: u64) -> bool {
    match op {
        Op::Eq => actual == want,
        Op::Ne => actual != want,
        Op::Ge => actual >= want,
        Op::Le => actual <= want,
        Op::Gt => actual > want,
        Op::Lt => actual < want,
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Ge => ">=",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Lt => "<",
    }
}

/// What one expectation has seen of the connections so far: the per-connection values as the
/// detail lists them (`1, 2, 3`), and whether every one held.
#[derive(Default)]
pub(super) struct Tally {
    /// The list as text (`none` when empty).
    list: String,
    items: u64,
    /// Every connection so far met the rule (per-connection keys); some did (sha256 `=`).
    all: bool,
    any: bool,
}

impl Tally {
    fn add(&mut self, item: impl std::fmt::Display, ok: bool) {
        use std::fmt::Write;
        if self.items > 0 {
            self.list.push_str(", ");
        }
        let _ = write!(self.list, "{item}");
        if self.items == 0 {
            self.all = true;
        }
        self.items += 1;
        self.all &= ok;
        self.any |= ok;
    }

    /// The list as a person reads it, `1, 2, 3`, or `none`.
    fn list(&self) -> &str {
        if self.items == 0 {
            "none"
        } else {
            &self.list
        }
    }

    /// Connection `c` (shown in the report) with its own `subflows`; `prio`: its MP_PRIO count.
    pub(super) fn observe(&mut self, e: &Expectation, c: &Connection, subflows: &[Subflow], prio: u64) {
        let want: u64 = e.value.parse().unwrap_or(0);
        let mut num = |v: u64| self.add(v, compare(v, e.op, want));
        match e.key.as_str() {
            "subflows" => num(c.subflow_ids.len() as u64),
            "joins" => num(subflows.iter().filter(|f| f.join).count() as u64),
            "version" => num(u64::from(c.version.unwrap_or(u8::MAX))),
            "reinjected-bytes" => num(c.c2s.reinjected_bytes + c.s2c.reinjected_bytes),
            "add-addr" => num(c.announced.iter().filter(|x| !x.echo).count() as u64),
            "remove-addr" => num(c.removed_address_ids.len() as u64),
            "mp-prio" => num(prio),
            "c2s-bytes" => num(c.c2s.bytes),
            "s2c-bytes" => num(c.s2c.bytes),
            "c2s-sha256" | "s2c-sha256" => {
                let dir = if e.key.starts_with("c2s") { Dir::C2s } else { Dir::S2c };
                let h = c.data(dir).sha256.as_deref();
                self.add(h.unwrap_or("none"), h == Some(e.value.as_str()));
            }
            "checksums" => {
                let want = e.value == "on";
                self.add(if c.checksums { "on" } else { "off" }, (c.checksums == want) == (e.op == Op::Eq));
            }
            "no-fallback" | "fallback" if c.fallback.is_some() => self.add(c.id, true),
            "complete" => {
                for (n, d) in [("c2s", &c.c2s), ("s2c", &c.s2c)] {
                    if !d.complete {
                        self.add(format_args!("{}:{n}", c.id), true);
                    }
                }
            }
            _ => {}
        }
    }

    /// The result once every connection was seen: `connections` shown, `fastcloses`
    /// MP_FASTCLOSE events in the capture.
    pub(super) fn result(&self, e: &Expectation, connections: u64, fastcloses: u64) -> ExpectationResult {
        let result = |ok: bool, detail: String| ExpectationResult {
            rule: e.rule.clone(),
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            detail,
        };
        let want: u64 = e.value.parse().unwrap_or(0);
        match e.key.as_str() {
            "connections" => result(compare(connections, e.op, want), format!("{connections} connection(s)")),
            _ if NUMERIC_KEYS.iter().any(|(k, _)| *k == e.key) => {
                if connections == 0 {
                    return result(false, "no MPTCP connection in the capture".into());
                }
                result(self.all, format!("{} {} {want}: per connection {}", e.key, op_text(e.op), self.list()))
            }
            "c2s-sha256" | "s2c-sha256" => {
                let ok = if e.op == Op::Eq { self.any } else { !self.any };
                result(ok, format!("stream hashes per connection: {} (none when the stream is incomplete)", self.list()))
            }
            "checksums" => result(connections > 0 && self.all, format!("checksums per connection: {}", self.list())),
            "no-fallback" => result(
                self.items == 0,
                if self.items == 0 { "no fallback".into() } else { format!("connections {} fell back", self.list()) },
            ),
            "fallback" => result(self.items > 0, format!("connections that fell back: {}", self.list())),
            "complete" => result(
                connections > 0 && self.items == 0,
                if self.items == 0 { "all streams complete".into() } else { format!("incomplete: {}", self.list()) },
            ),
            "no-fastclose" => result(fastcloses == 0, format!("{fastcloses} MP_FASTCLOSE")),
            other => ExpectationResult { rule: e.rule.clone(), outcome: Outcome::Fail, detail: format!("unknown key {other}") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(parse_expectation("subflows>=2").map(|e| e.op), Ok(Op::Ge));
        assert_eq!(parse_expectation("reinjected-bytes=0").map(|e| (e.op, e.value)), Ok((Op::Eq, "0".into())));
        assert_eq!(parse_expectation("version != 0").map(|e| e.op), Ok(Op::Ne));
        assert_eq!(parse_expectation("no-fallback").map(|e| e.key), Ok("no-fallback".into()));
        assert_eq!(parse_expectation("checksums=on").map(|e| e.value), Ok("on".into()));
        for bad in ["subflows>=two", "checksums=maybe", "c2s-sha256=abc", "frobs=1", "subflows", "c2s-sha256>=00"] {
            assert!(parse_expectation(bad).is_err(), "{bad}");
        }
    }
}
