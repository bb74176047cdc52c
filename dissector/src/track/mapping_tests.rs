//! Tests of mapping.rs: mappings, payload placement, held payload, ISN guessing.
use super::super::testkit::*;
use super::*;

/// RFC 8684 §3.3.1: one's complement sum of DSN (64), relative subflow seq (32), data-level
/// length (16), a zero checksum field (16) and the payload.
fn dss_checksum(dsn: u64, ssn: u32, dll: u16, payload: &[u8]) -> u16 {
    let mut bytes = [dsn.to_be_bytes().as_slice(), &ssn.to_be_bytes(), &dll.to_be_bytes(), &[0, 0], payload].concat();
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn mapped_payload_reaches_the_data_level() {
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &dss(Some((IDSN_A + 1, 1, 100)), None, false, None), &[7; 100]);
    let a = f.finish();
    let (c, s) = (&a.connections[0], &a.subflows[0]);
    assert_eq!((s.c2s.mapped_bytes, s.c2s.new_data_bytes, s.c2s.unmapped_bytes), (100, 100, 0));
    assert_eq!((c.c2s.first_dsn, c.c2s.bytes), (Some(DataSeq(IDSN_A + 1)), 100));
}

#[test]
fn a_4_byte_dsn_is_widened_against_the_idsn() {
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &dss4((IDSN_A + 1) as u32, 1, 10), &[1; 10]);
    let a = f.finish();
    assert_eq!((a.connections[0].c2s.first_dsn, a.connections[0].c2s.bytes), (Some(DataSeq(IDSN_A + 1)), 10));
}

#[test]
fn payload_waits_for_a_mapping_a_retransmission_brings() {
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &[], &[1; 10]);
    f.seg(4, CLIENT, SERVER, ACK, 1001, 5001, &dss(Some((IDSN_A + 1, 1, 10)), None, false, None), &[1; 10]);
    f.seg(5, CLIENT, SERVER, ACK, 1011, 5001, &[], &[2; 5]); // never mapped
    let a = f.finish();
    let s = &a.subflows[0].c2s;
    assert_eq!((s.new_data_bytes, s.retransmitted_bytes, s.unmapped_bytes), (10, 10, 5));
    assert!(a.connections[0].anomalies.iter().any(|x| x.kind == AnomalyKind::UnmappedData));
}

#[test]
fn an_infinite_mapping_is_a_fallback() {
    // RFC 8684 §3.7: a data-level length of 0 maps the rest of the subflow.
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &dss(Some((IDSN_A + 1, 1, 0)), None, false, None), &[1; 10]);
    let a = f.finish();
    let c = &a.connections[0];
    assert_eq!((c.state, c.fallback.as_ref().map(|x| x.kind)), (ConnState::Fallback, Some(AnomalyKind::InfiniteMapping)));
    assert_eq!(a.events.last().map(|e| e.kind), Some(EventKind::Fallback));
}

#[test]
fn dss_checksums_are_checked_over_the_mapping() {
    let payload = b"0123456789abc";
    let good = dss_checksum(IDSN_A + 1, 1, 13, payload);
    for (wire, verdict) in [(good, Verdict::Pass), (good ^ 0x0100, Verdict::Fail)] {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 1000, 0, &capable_syn(0x81), &[]);
        f.seg(1, SERVER, CLIENT, SYN | ACK, 5000, 1001, &capable_synack(0x81, KEY_B), &[]);
        f.seg(2, CLIENT, SERVER, ACK, 1001, 5001, &capable_ack(0x81, KEY_A, KEY_B), &[]);
        // The mapping's payload over two segments.
        f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &dss(Some((IDSN_A + 1, 1, 13)), None, false, Some(wire)), &payload[..6]);
        f.seg(4, CLIENT, SERVER, ACK, 1007, 5001, &dss(Some((IDSN_A + 1, 1, 13)), None, false, Some(wire)), &payload[6..]);
        let a = f.finish();
        let c = &a.connections[0];
        assert!(c.checksums);
        assert_eq!(c.checks.get(CheckId::DssChecksum).map(|t| (t.verdict, t.pass + t.fail)), Some((verdict, 1)));
    }
}

#[test]
fn data_carried_again_on_another_subflow_is_a_reinjection_from_the_first() {
    let j = "10.0.1.1:41000";
    let m = dss(Some((IDSN_A + 1, 1, 10)), None, false, None);
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &m, &[1; 10]);
    f.seg(10, j, SERVER, SYN, 0, 0, &join_syn(TOKEN_B, 1, 2, false), &[]);
    f.seg(11, SERVER, j, SYN | ACK, 0, 1, &[], &[]);
    f.seg(53, j, SERVER, ACK, 1, 1, &m, &[1; 10]);
    let a = f.finish();
    let s = &a.subflows[1].c2s;
    assert_eq!((s.new_data_bytes, s.reinjected_bytes), (0, 10));
    let from: Vec<_> = s.reinjected_from.iter().map(|r| (r.subflow, r.bytes, r.first_delay_ms)).collect();
    assert_eq!(from, vec![(Some(0), 10, Some(50.0))]);
    assert_eq!((a.connections[0].c2s.bytes, a.connections[0].c2s.reinjections), (10, 1));
}

#[test]
fn without_handshakes_subflows_sharing_a_data_sequence_space_are_one_connection() {
    let base = 1u64 << 40;
    let mut f = Feed::new();
    f.seg(0, "10.0.0.1:40000", SERVER, ACK, 500, 1, &dss(Some((base, 20, 10)), None, false, None), &[1; 10]);
    f.seg(1, "10.0.0.3:40001", SERVER, ACK, 900, 1, &dss(Some((base + 10, 7, 10)), None, false, None), &[2; 10]);
    f.seg(2, "10.0.0.4:40002", SERVER, ACK, 900, 1, &dss(Some((base << 20, 7, 10)), None, false, None), &[3; 10]);
    let a = f.finish();
    let found: Vec<_> = a.connections.iter().map(|c| (c.found_by, c.subflow_ids.clone())).collect();
    assert_eq!(found, vec![(FoundBy::DataLevel, vec![0, 1]), (FoundBy::DataLevel, vec![2])]);
    // The first segment pins each ISN down (seq - ssn): the bytes are placed.
    assert_eq!((a.connections[0].c2s.first_dsn, a.connections[0].c2s.bytes), (Some(DataSeq(base)), 20));
}

#[test]
fn a_stream_whose_handshake_is_not_in_the_capture_is_never_complete() {
    // The capture starts after the handshake: the first DSN captured is not the stream's
    // start (IDSN + 1 is unknown without the keys), however whole the rest is.
    let base = 1u64 << 40;
    let mut f = Feed::new();
    f.seg(0, CLIENT, SERVER, ACK, 500, 1, &dss(Some((base, 20, 10)), None, false, None), &[1; 10]);
    f.seg(1, CLIENT, SERVER, ACK | FIN, 510, 1, &dss(Some((base + 10, 30, 11)), None, true, None), &[2; 10]);
    let a = f.finish();
    let d = &a.connections[0].c2s;
    assert_eq!((d.bytes, d.gap_count, d.data_fin_dsn), (20, 0, Some(DataSeq(base + 20))));
    assert_eq!((d.complete, d.start_unknown, d.complete_from, d.sha256.as_deref()), (false, true, Some(DataSeq(base)), None));
    // With the handshake the same bytes are a complete stream.
    let mut f = Feed::new();
    handshake(&mut f);
    f.seg(3, CLIENT, SERVER, ACK, 1001, 5001, &dss(Some((IDSN_A + 1, 1, 10)), None, false, None), &[1; 10]);
    f.seg(4, CLIENT, SERVER, ACK | FIN, 1011, 5001, &dss(Some((IDSN_A + 11, 11, 11)), None, true, None), &[2; 10]);
    let a = f.finish();
    let d = &a.connections[0].c2s;
    assert_eq!((d.complete, d.start_unknown, d.complete_from), (true, false, None));
}
