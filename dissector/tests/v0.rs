//! MPTCP v0 (RFC 6824) end to end on a hand-built capture: SHA-1 tokens and IDSNs, keys from the
//! SYN, HMAC-SHA1 joins, 4-byte DSN expansion, v0 ADD_ADDR, fastclose.
mod common;
mod synth;

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
