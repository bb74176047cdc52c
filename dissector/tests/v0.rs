//! MPTCP v0 (RFC 6824) end to end on a hand-built capture: SHA-1 tokens and IDSNs, keys from the
//! SYN, HMAC-SHA1 joins, 4-byte DSN expansion, v0 ADD_ADDR, fastclose.
mod common;
mod synth;

use mptcp_dissector::analysis::verify::{verify, Outcome};
use mptcp_dissector::track::checks::{CheckId, Verdict};
use mptcp_dissector::track::{Analyzer, Dir, EventKind, Limits};
use synth::*;

#[test]
fn v0_connection_is_tracked_and_verified() {
    let a = common::analyze_bytes(v0_connection(), Analyzer::new(Limits::default()).with_hashes(true));
    assert_eq!(a.connections.len(), 1);
    let c = &a.connections[0];
    assert_eq!(c.version, Some(0));
    let (ta, ia) = v0_token_idsn(KEY_A);
    let (tb, ib) = v0_token_idsn(KEY_B);
    assert_eq!(c.client_token.map(|t| t.to_string()), Some(format!("{ta:08x}")));
    assert_eq!(c.server_token.map(|t| t.to_string()), Some(format!("{tb:08x}")));
    assert_eq!((c.client_idsn.map(|i| i.0), c.server_idsn.map(|i| i.0)), (Some(ia), Some(ib)));
    assert_eq!(c.subflow_ids.len(), 2, "the join attached by the SHA-1 token");
    for id in ["mp_capable.key_echo", "mp_join.token", "mp_join.synack_hmac", "mp_join.ack_hmac", "mp_fastclose.key"] {
        let t = c.checks.get(CheckId::from_id(id).expect("a catalogue id")).unwrap_or_else(|| panic!("no {id}"));
        assert_eq!((t.verdict, t.fail), (Verdict::Pass, 0), "{id}: {t:?}");
    }
    // The 4-byte DSN was expanded against the IDSN: the data is at IDSN+1 and complete.
    let d = c.data(Dir::C2s);
    assert_eq!(d.first_dsn.map(u64::from), Some(ia.wrapping_add(1)));
    assert_eq!(d.bytes, DATA.len() as u64);
    assert!(d.complete, "{d:?}");
    use sha2::Digest;
    assert_eq!(d.sha256.as_deref(), Some(format!("{:x}", sha2::Sha256::digest(DATA)).as_str()));
    // v0 ADD_ADDR: announced, no HMAC check (v0 has none).
    assert_eq!(c.announced.len(), 2);
    assert_eq!(c.announced[0].port, Some(8080));
    assert!(c.checks.get(CheckId::AddAddrHmac).is_none());
    assert!(a.events.iter().any(|e| e.kind == EventKind::SfPriority));
    assert!(a.events.iter().any(|e| e.kind == EventKind::Fastclose));
}

#[test]
fn v0_join_hmac_with_a_flipped_bit_fails() {
    let mut bytes = v0_connection();
    // The join ACK's HMAC: find the 24-byte MP_JOIN option and flip its last byte.
    let at = bytes.windows(4).position(|w| w == [30, 24, 0x10, 0x00]).expect("join ACK option") + 23;
    bytes[at] ^= 1;
    let a = common::analyze_bytes(bytes, Analyzer::new(Limits::default()));
    let t = a.connections[0].checks.get(CheckId::JoinAckHmac).expect("check");
    assert_eq!(t.verdict, Verdict::Fail);
}

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
