//! `verify` on hand-built captures (tests/synth, written byte by byte from the RFCs): the text
//! report keeps its labels in one column, and a malformed MPTCP option outside any connection
//! fails the capture-level options.length check (the same SYN as tcpdump's mptcp-dss-oobr.pcap,
//! which is not in git: testdata/thirdparty/README.md).
mod common;
mod synth;

use mptcp_dissector::analysis::verify::{verify, Outcome};
use mptcp_dissector::track::{Analyzer, Limits};
use synth::*;

/// The label column: every check line's detail starts in the same column, `§3.5-3.7` (17
/// characters, the longest label) included.
#[test]
fn verify_text_labels_are_in_one_column() {
    for bytes in [v0_connection(), common::read("two-subflows.pcap"), common::read("fastclose.pcap")] {
        let a = common::analyze_bytes(bytes, Analyzer::new(Limits::default()));
        let r = verify("x", &a, &[]);
        let mut out = Vec::new();
        mptcp_dissector::report::verify::write_text(&mut out, &r).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let mut starts = std::collections::BTreeSet::new();
        // The check lines, in the order the report holds the checks.
        let lines: Vec<&str> = text.lines().filter(|l| ["  PASS ", "  FAIL ", "  skip "].iter().any(|p| l.starts_with(p))).collect();
        let checks: Vec<_> = r.connections.iter().flat_map(|c| &c.checks).chain(&r.capture_checks).collect();
        assert_eq!(lines.len(), checks.len(), "{text}");
        assert!(lines.len() >= 14, "{text}");
        for (line, k) in lines.iter().zip(checks) {
            let at = line.rfind(k.detail.as_str()).unwrap_or_else(|| panic!("{} not in {line}", k.detail));
            assert!(line[..at].trim_end().ends_with(k.rfc), "{line}");
            assert!(line[..at].starts_with(&format!("  {:<4} {} ", &line[2..6], k.id)), "{line}");
            starts.insert(line[..at].chars().count());
        }
        assert_eq!(starts.len(), 1, "details start in columns {starts:?}:\n{text}");
    }
}

/// tcpdump's mptcp-dss-oobr.pcap (CVE-2017-13040): one SYN whose options end with a DSS of
/// length 3 (`1e 03 20`), in no connection. The same SYN here (MSS, SACK permitted, timestamps,
/// then that DSS).
pub fn dss_oobr() -> Vec<u8> {
    let mut p = Pcap::new();
    let mut opts = vec![2, 4, 0x40, 0x0c, 4, 2, 8, 10, 0x23, 0x97, 0x55, 0x34, 0, 0, 0, 0];
    opts.extend([0x1e, 0x03, 0x20]);
    p.push(&tcp4(CLIENT, SERVER, 57370, 23, 1736820995, 0, SYN, &opts, &[]));
    p.bytes
}

#[test]
fn malformed_option_outside_any_connection_fails_options_length() {
    let a = common::analyze_bytes(dss_oobr(), Analyzer::new(Limits::default()));
    assert!(a.connections.is_empty());
    let r = verify("oobr", &a, &[]);
    let k = r.capture_checks.iter().find(|k| k.id.id() == "options.length").expect("capture-level options.length");
    assert_eq!(k.outcome, Outcome::Fail);
    assert_eq!(k.frames, vec![1]);
    assert!(k.detail.starts_with("1 malformed MPTCP option(s) outside any connection; first: "), "{}", k.detail);
    assert!(k.detail.contains("DSS"), "{}", k.detail);
    assert!(!r.ok());
    // A capture without one adds no such check.
    let r = verify("v0", &common::analyze_bytes(v0_connection(), Analyzer::new(Limits::default())), &[]);
    assert!(r.capture_checks.iter().all(|k| k.id.id() != "options.length"));
}
