//! Helpers shared by the integration tests: testdata paths, the manifest, pcap record offsets
//! (for corrupting one byte of a real capture), and running the pipeline on bytes.
#![allow(dead_code)]
use std::io::Cursor;
use std::path::PathBuf;

use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::track::{Analysis, Analyzer, Limits};
use mptcp_wire::decode::{decode, Decoded};

pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("testdata")
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join(name)).unwrap_or_else(|e| panic!("testdata/{name}: {e}"))
}

/// Every capture in testdata/ (pcap and pcapng), sorted.
pub fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(testdata())
        .expect("testdata/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "expected the testdata captures, found {v:?}");
    v
}

pub fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(testdata().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json parses")
}

pub fn analyze_bytes(bytes: Vec<u8>, analyzer: Analyzer) -> Analysis {
    analyze_bytes_into(bytes, analyzer, &mut ())
}

/// [`analyze_bytes`], handing what the run finds to `sink`.
#[allow(dead_code)] // not every test file uses it
pub fn analyze_bytes_into(bytes: Vec<u8>, analyzer: Analyzer, sink: &mut impl mptcp_dissector::pipeline::Sink) -> Analysis {
    let mut reader = CaptureReader::new(Cursor::new(bytes)).expect("capture header");
    let (analysis, end) = mptcp_dissector::pipeline::run_into(&mut reader, analyzer, sink);
    assert!(end.is_none(), "capture ended with {end:?}");
    analysis
}

pub fn analyze(name: &str) -> Analysis {
    analyze_bytes(read(name), Analyzer::new(Limits::default()))
}

/// (frame, byte range of the packet data in the file) of every record of a classic pcap file.
pub fn pcap_records(file: &[u8]) -> Vec<(u64, std::ops::Range<usize>)> {
    let le = file[0..4] == [0xd4, 0xc3, 0xb2, 0xa1] || file[0..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let u32at = |at: usize| {
        let b = [file[at], file[at + 1], file[at + 2], file[at + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut out = Vec::new();
    let mut at = 24;
    let mut frame = 0;
    while at + 16 <= file.len() {
        let incl = u32at(at + 8) as usize;
        frame += 1;
        out.push((frame, at + 16..at + 16 + incl));
        at += 16 + incl;
    }
    out
}

/// Finds the first frame for which `pick` returns a byte offset within the packet data, and
/// returns the absolute file offset.
pub fn find_offset(
    file: &[u8],
    linktype: u32,
    pick: impl Fn(&[u8], &mptcp_wire::decode::TcpSegment<'_>) -> Option<usize>,
) -> Option<(u64, usize)> {
    find_offsets(file, linktype, pick).into_iter().next()
}

/// Every (frame, absolute file offset) for which `pick` returns a byte offset within the packet
/// data, in file order.
pub fn find_offsets(
    file: &[u8],
    linktype: u32,
    pick: impl Fn(&[u8], &mptcp_wire::decode::TcpSegment<'_>) -> Option<usize>,
) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    for (frame, range) in pcap_records(file) {
        let data = &file[range.clone()];
        if let Decoded::Tcp(seg) = decode(linktype, data) {
            if let Some(off) = pick(data, &seg) {
                out.push((frame, range.start + off));
            }
        }
    }
    out
}

/// Byte offset of `inner` within `outer`.
pub fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}
