//! Issue 17: what a careful user tripped over on v0 captures, cut file headers and malformed
//! options. The third-party captures that showed each item (tcpdump's mptcp-v0.pcap and
//! mptcp-dss-oobr.pcap) are not in git (testdata/thirdparty/README.md); the hand-built captures
//! here (tests/synth, written byte by byte from the RFCs) show the same things.
mod common;
mod synth;

use std::io::Cursor;

use mptcp_dissector::analysis::verify::{verify, Outcome};
use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::track::{Analyzer, Limits};
use synth::*;

/// RFC 6824 sections of the rules the catalog checks, from RFC 6824's table of contents:
/// §3 MPTCP Protocol (option format), §3.1 Connection Initiation, §3.2 Starting a New Subflow,
/// §3.3 General MPTCP Operation, §3.3.1 Data Sequence Mapping, §3.3.3 Closing a Connection,
/// §3.4.1 Address Advertisement, §3.5 Fast Close, §3.6 Fallback (with MP_FAIL).
const RFC_6824: &[(&str, &str)] = &[
    ("mp_capable.version", "RFC 6824 §3.1"),
    ("mp_capable.key_echo", "RFC 6824 §3.1"),
    ("mp_join.token", "RFC 6824 §3.2"),
    ("mp_join.synack_hmac", "RFC 6824 §3.2"),
    ("mp_join.ack_hmac", "RFC 6824 §3.2"),
    ("add_addr.hmac", "RFC 6824 §3.4.1"),
    ("dss.checksum", "RFC 6824 §3.3.1"),
    ("dss.mapping_consistency", "RFC 6824 §3.3.1"),
    ("data.complete", "RFC 6824 §3.3"),
    ("data.closure", "RFC 6824 §3.3.3"),
    ("fallback", "RFC 6824 §3.6"),
    ("mp_fail.response", "RFC 6824 §3.6"),
    ("mp_fastclose.key", "RFC 6824 §3.5"),
    ("signals", "RFC 6824 §3.5-3.6"),
    ("options.length", "RFC 6824 §3"),
];

#[test]
fn v0_connection_is_judged_by_rfc_6824_and_its_add_addr_has_no_hmac() {
    let a = common::analyze_bytes(v0_connection(), Analyzer::new(Limits::default()));
    assert_eq!(a.connections[0].version, Some(0));
    let r = verify("v0", &a, &[]);
    let checks = &r.connections[0].checks;
    assert_eq!(checks.len(), RFC_6824.len());
    for (k, (id, rfc)) in checks.iter().zip(RFC_6824) {
        assert_eq!((k.id.id(), k.rfc), (*id, *rfc));
    }
    // The capture holds two v0 ADD_ADDRs (synth: ids 5 and 6): not "no ADD_ADDR in the capture".
    let add = checks.iter().find(|k| k.id.id() == "add_addr.hmac").expect("add_addr.hmac");
    assert_eq!(add.outcome, Outcome::Skip);
    assert_eq!(add.detail, "not applicable to v0: an RFC 6824 ADD_ADDR carries no HMAC (2 ADD_ADDR in the capture)");
    // The capture-level join check cites RFC 6824 too (every connection is v0).
    assert!(r.capture_checks.iter().all(|k| k.rfc.starts_with("RFC 6824")), "{:?}", r.capture_checks);
    // A v1 capture keeps RFC 8684.
    let v1 = verify("two-subflows", &common::analyze("two-subflows.pcap"), &[]);
    assert!(v1.connections[0].checks.iter().all(|k| k.rfc.starts_with("RFC 8684")));
}

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

#[test]
fn a_cut_file_header_is_named_as_such() {
    let pcap = common::read("two-subflows.pcap");
    let ng = common::read("dumpcap.pcapng");
    // A pcap file header is 24 bytes; dumpcap.pcapng's section header block is 180 (its length
    // field, bytes 4..8 = b4 00 00 00).
    assert_eq!(ng[4..8], [0xb4, 0, 0, 0]);
    for (bytes, format) in
        [(&pcap[..10], "pcap"), (&pcap[..23], "pcap"), (&ng[..8], "pcapng"), (&ng[..28], "pcapng"), (&ng[..179], "pcapng")]
    {
        let err = CaptureReader::new(Cursor::new(bytes.to_vec())).err().unwrap_or_else(|| panic!("{format} cut at {}", bytes.len()));
        assert!(matches!(err, CaptureError::HeaderTruncated { .. }), "{format} cut at {}: {err}", bytes.len());
        assert_eq!(err.to_string(), format!("{format} file header incomplete: the file ends within it (no packet in the file)"));
    }
    // A whole header and a cut first record is still a cut record.
    let mut reader = CaptureReader::new(Cursor::new(pcap[..30].to_vec())).expect("header");
    let Err(err) = reader.next_packet() else { panic!("cut record read as a packet") };
    assert!(err.is_truncation(), "{err}");
}
