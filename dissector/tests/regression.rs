//! One test per bug fixed, named for what broke.
use std::io::Cursor;

use mptcp_dissector::capture::{CaptureError, CaptureReader};
use mptcp_dissector::track::{Analyzer, Limits};

/// A record whose incl_len is absurd (here 2 GiB) in a file that goes on was reported as "capture
/// ends in the middle of a record" (a truncation, exit 0): pcap-file gives up with an unexpected
/// EOF once a record outgrows its 8 MB buffer, whether or not the file ended.
#[test]
fn absurd_incl_len_in_a_long_file_is_a_format_error_not_a_truncation() {
    let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    bytes.extend(65535u32.to_le_bytes());
    bytes.extend(101u32.to_le_bytes());
    for incl in [4u32, 0x7fff_ffff] {
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(incl.to_le_bytes());
        bytes.extend(incl.to_le_bytes());
        bytes.extend([0x45, 0, 0, 4]);
    }
    bytes.resize(bytes.len() + (9 << 20), 0);
    let mut reader = CaptureReader::new(Cursor::new(bytes)).expect("header");
    let (a, end) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()));
    assert_eq!(a.stats.packets, 1);
    let end = end.expect("error");
    assert!(matches!(end, CaptureError::Format { after_frame: 1, .. }), "{end}");
    assert!(!end.is_truncation());
}

/// Fuzzing (pipeline target) found subflow holes recorded across wild sequence jumps that
/// overlapped, so a segment's "fresh" bytes exceeded its length and `len - fresh` overflowed
/// (a panic with overflow checks). The input is the fuzzer's, kept in tests/data.
#[test]
fn overlapping_subflow_holes_do_not_overflow_the_retransmission_count() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fuzz-seqspace-overlapping-holes.bin")).unwrap();
    let Ok(mut reader) = CaptureReader::new(Cursor::new(bytes)) else { return };
    let (a, _) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()));
    for s in &a.subflows {
        for d in [&s.c2s, &s.s2c] {
            assert!(d.retransmitted_bytes <= d.bytes, "{d:?}");
        }
    }
}
