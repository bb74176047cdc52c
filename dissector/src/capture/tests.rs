use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;

use super::input::{AHEAD_CHUNK, AHEAD_HEAD};
use super::pcapng::scale_ts;
use super::*;

fn pcap_bytes(magic: [u8; 4], big_endian: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut out = magic.to_vec();
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0));
    out.extend(u32b(0));
    out.extend(u32b(96)); // snaplen smaller than orig_len below, as with tcpdump -s 96
    out.extend(u32b(101)); // raw IP
    for (sec, frac, data) in records {
        out.extend(u32b(*sec));
        out.extend(u32b(*frac));
        out.extend(u32b(data.len() as u32));
        out.extend(u32b(1500));
        out.extend_from_slice(data);
    }
    out
}

/// (frame, ts_ns, linktype, captured length) of each packet read.
type Read = (u64, u64, u32, usize);

fn read_all(bytes: Vec<u8>) -> (Vec<Read>, Option<CaptureError>) {
    let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
    let mut out = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => out.push((p.frame, p.ts_ns, p.linktype, p.data.len())),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[test]
fn pcap_microseconds_little_endian() {
    let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(10, 500_000, &[1, 2, 3]), (11, 1, &[4; 96])]);
    let (pkts, err) = read_all(bytes);
    assert!(err.is_none());
    assert_eq!(pkts, vec![(1, 10_500_000_000, 101, 3), (2, 11_000_001_000, 101, 96)]);
}

#[test]
fn pcap_nanoseconds_big_endian() {
    let bytes = pcap_bytes([0xa1, 0xb2, 0x3c, 0x4d], true, &[(10, 500, &[1, 2, 3])]);
    let (pkts, err) = read_all(bytes);
    assert!(err.is_none());
    assert_eq!(pkts, vec![(1, 10_000_000_500, 101, 3)]);
}

#[test]
fn truncated_mid_record_keeps_earlier_packets() {
    let mut bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[9; 40]), (2, 0, &[9; 40])]);
    bytes.truncate(bytes.len() - 10);
    let (pkts, err) = read_all(bytes);
    assert_eq!(pkts.len(), 1);
    let err = err.expect("truncation reported");
    assert!(err.is_truncation(), "{err}");
    assert!(err.to_string().contains("after frame 1"), "{err}");
}

#[test]
fn not_a_capture_is_an_error() {
    for bytes in [b"hello world".to_vec(), vec![], vec![0xa1]] {
        let err = CaptureReader::new(io::Cursor::new(bytes)).err().expect("error");
        assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
    }
}

#[test]
fn header_only_truncated() {
    let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[]);
    let err = CaptureReader::new(io::Cursor::new(bytes[..10].to_vec())).err().expect("error");
    assert!(matches!(err, CaptureError::HeaderTruncated { format: "pcap" }), "{err}");
    assert_eq!(err.to_string(), "pcap file header incomplete: the file ends within it (no packet in the file)");
}

/// pcapng with two interfaces of different link types (Ethernet and raw IP) and the second
/// with nanosecond timestamps (if_tsresol 9).
#[test]
fn pcapng_interfaces_with_their_own_link_types_and_resolutions() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;
    use std::borrow::Cow;
    use std::time::Duration;
    let mut w = PcapNgWriter::new(Vec::new()).expect("writer");
    let eth = InterfaceDescriptionBlock { linktype: DataLink::ETHERNET, snaplen: 0, options: vec![] };
    let raw = InterfaceDescriptionBlock { linktype: DataLink::RAW, snaplen: 0, options: vec![InterfaceDescriptionOption::IfTsResol(9)] };
    w.write_pcapng_block(eth).expect("idb");
    w.write_pcapng_block(raw).expect("idb");
    for (iface, raw_ts, len) in [(0u32, 1_500_000u64, 60usize), (1, 2_000_000_123, 40)] {
        let epb = EnhancedPacketBlock {
            interface_id: iface,
            // pcap-file writes the Duration's nanoseconds as the raw timestamp units.
            timestamp: Duration::from_nanos(raw_ts),
            original_len: len as u32,
            data: Cow::Owned(vec![0x45; len]),
            options: vec![],
        };
        w.write_pcapng_block(epb).expect("epb");
    }
    let (pkts, err) = read_all(w.into_inner());
    assert!(err.is_none(), "{err:?}");
    // Interface 0: microseconds (default); interface 1: nanoseconds.
    assert_eq!(pkts, vec![(1, 1_500_000_000, 1, 60), (2, 2_000_000_123, 101, 40)]);
}

/// Every packet (frame, timestamp, link type, bytes) and the error at the end, reading
/// `bytes` through `R`.
type Full = (Vec<(u64, u64, u32, Vec<u8>)>, Option<String>);
fn read_full<R: io::Read + 'static>(input: R) -> Full {
    let mut r = match CaptureReader::new(input) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    let mut out = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => out.push((p.frame, p.ts_ns, p.linktype, p.data.to_vec())),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
}

/// The same bytes read from a file (read ahead on a thread, in chunks) and from memory.
fn file_and_memory_agree(name: &str, bytes: Vec<u8>) -> Full {
    let path = std::env::temp_dir().join(format!("mptcp-capture-{}-{name}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).expect("write temp capture");
    let from_file = read_full(File::open(&path).expect("open temp capture"));
    let _ = std::fs::remove_file(&path);
    let from_memory = read_full(io::Cursor::new(bytes));
    assert_eq!(from_file, from_memory, "{name}");
    from_file
}

/// Records of every size around the read-ahead chunk and its head room, so that records
/// are cut by chunk boundaries anywhere, including ones longer than the room.
#[test]
fn read_ahead_file_matches_memory_across_chunk_boundaries() {
    let sizes = [0usize, 1, 60, 1514, 40_000, AHEAD_HEAD - 16, AHEAD_HEAD, AHEAD_HEAD + 1, 100_000, AHEAD_CHUNK + 7, 3 * AHEAD_CHUNK];
    let datas: Vec<Vec<u8>> = (0..60).map(|i| (0..sizes[i % sizes.len()] + i).map(|k| (k * 31 + i) as u8).collect::<Vec<u8>>()).collect();
    let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (i as u32, 7, d.as_slice())).collect();
    for (magic, be) in [([0xd4, 0xc3, 0xb2, 0xa1], false), ([0xa1, 0xb2, 0x3c, 0x4d], true)] {
        let bytes = pcap_bytes(magic, be, &records);
        let (pkts, err) = file_and_memory_agree("chunks", bytes.clone());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pkts.len(), 60);
        assert!(pkts.iter().zip(&datas).all(|(p, d)| &p.3 == d));
        // Cut anywhere: the same packets and the same truncation either way.
        for cut in [10, 23, 30, 5000, AHEAD_CHUNK - 3, AHEAD_CHUNK + AHEAD_HEAD, bytes.len() / 2, bytes.len() - 1] {
            let (_, err) = file_and_memory_agree("cut", bytes[..cut].to_vec());
            // Within the 24-byte file header there is no record to be cut (issue 17).
            let want = if cut < 24 { "file header incomplete" } else { "cut off" };
            assert!(err.is_some_and(|e| e.contains(want)), "cut {cut}");
        }
    }
}

/// A compressed file is decompressed on the read-ahead thread: the same packets, and the
/// same error at the same frame when the compressed data is cut, as from memory.
#[test]
#[cfg(all(feature = "gzip", feature = "zstd"))]
fn read_ahead_compressed_file_matches_memory() {
    let datas: Vec<Vec<u8>> = (0..300).map(|i| (0..(i * 997) % 70_000).map(|k| (k * 7 + i) as u8).collect()).collect();
    let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (i as u32, 9, d.as_slice())).collect();
    let plain = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &records);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    io::Write::write_all(&mut gz, &plain).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(io::Cursor::new(&plain), 1).expect("zstd");
    let (want, err) = read_full(io::Cursor::new(plain));
    assert!(err.is_none());
    for (name, bytes) in [("gz", gz), ("zst", zst)] {
        let (pkts, err) = file_and_memory_agree(name, bytes.clone());
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(pkts, want, "{name}");
        for cut in [bytes.len() / 3, bytes.len() - 1] {
            let (pkts, err) = file_and_memory_agree(name, bytes.get(..cut).expect("cut").to_vec());
            // Cut in the trailer: every packet, then the error.
            assert!(pkts.len() <= want.len() && pkts.iter().zip(&want).all(|(a, b)| a == b), "{name} cut {cut}");
            assert!(err.as_ref().is_some_and(|e| e.contains(if name == "gz" { "gzip" } else { "zstd" })), "{name} cut {cut}: {err:?}");
        }
    }
}

/// A record longer than 8 MB is a corrupt length field (issue 23), whether the file ends
/// within 8 MB or goes on, read from a file or from memory: the message names the frame and
/// its byte offset.
#[test]
fn read_ahead_file_absurd_record_length() {
    let mut head = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[9; 40])]);
    head.extend(1u32.to_le_bytes());
    head.extend(0u32.to_le_bytes());
    head.extend(9_000_000u32.to_le_bytes());
    head.extend(9_000_000u32.to_le_bytes());
    let mut short = head.clone();
    short.resize(head.len() + 1_000_000, 0);
    let want = "frame 2 at byte offset 80: captured length 9000000 is over the 8 MB cap";
    let (pkts, err) = file_and_memory_agree("absurd-short", short);
    assert_eq!(pkts.len(), 1);
    assert!(err.as_ref().is_some_and(|e| e.contains(want)), "{err:?}");
    let mut long = head;
    long.resize(long.len() + 8_500_000, 0);
    let (pkts, err) = file_and_memory_agree("absurd-long", long);
    assert_eq!(pkts.len(), 1);
    assert!(err.as_ref().is_some_and(|e| e.contains(want)), "{err:?}");
}

/// Passes frames whose first byte is even; counts what it was shown.
struct EvenFirstByte(std::rc::Rc<std::cell::Cell<u32>>);
impl PacketFilter for EvenFirstByte {
    fn matches(&mut self, linktype: u32, data: &[u8], orig_len: u32) -> Result<bool, String> {
        assert_eq!((linktype, orig_len), (101, 1500));
        self.0.set(self.0.get() + 1);
        Ok(data.first().is_some_and(|b| b % 2 == 0))
    }
}

#[test]
fn filter_and_count_keep_the_file_frame_numbers_and_times() {
    let datas: Vec<[u8; 3]> = (0..10u8).map(|i| [i, 0, 0]).collect();
    let records: Vec<(u32, u32, &[u8])> = datas.iter().enumerate().map(|(i, d)| (100 + i as u32, 0, &d[..])).collect();
    let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &records);
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
    r.set_filter(Box::new(EvenFirstByte(seen.clone())));
    r.set_limit(3);
    let mut got = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        got.push((p.frame, p.ts_ns / 1_000_000_000, p.prev_ts_ns / 1_000_000_000, p.first_ts_ns / 1_000_000_000, p.ts_digits));
    }
    // Frames 1, 3, 5 (first bytes 0, 2, 4); the previous frame is the one before in the
    // file, filtered out or not; the count stops the reading after the third.
    assert_eq!(got, vec![(1, 100, 100, 100, 6), (3, 102, 101, 100, 6), (5, 104, 103, 100, 6)]);
    assert_eq!(seen.get(), 5);
}

struct Refuses;
impl PacketFilter for Refuses {
    fn matches(&mut self, _: u32, _: &[u8], _: u32) -> Result<bool, String> {
        Err("no program for this link type".into())
    }
}

#[test]
fn a_filter_that_cannot_decide_ends_the_reading_with_an_error() {
    let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 0, &[1]), (2, 0, &[2])]);
    let mut r = CaptureReader::new(io::Cursor::new(bytes)).expect("header");
    r.set_filter(Box::new(Refuses));
    let err = r.next_packet().expect_err("error");
    assert!(matches!(err, CaptureError::Filter { frame: 1, .. }), "{err}");
    assert!(matches!(r.next_packet(), Ok(None)));
}

#[test]
#[cfg(feature = "gzip")]
fn compressed_capture_reads_as_the_plain_one() {
    let bytes = pcap_bytes([0xd4, 0xc3, 0xb2, 0xa1], false, &[(1, 5, &[1, 2, 3]), (2, 6, &[4; 96])]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    io::Write::write_all(&mut gz, &bytes).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let mut r = CaptureReader::new(io::Cursor::new(gz.clone())).expect("header");
    assert_eq!(r.compression(), Some(decompress::Compression::Gzip));
    assert!(r.next_packet().is_ok());
    let ((plain, e1), (unzipped, e2)) = (read_all(bytes), read_all(gz.clone()));
    assert!(e1.is_none() && e2.is_none());
    assert_eq!(plain, unzipped);
    // Cut inside the compressed data: an error naming gzip, not a cut-off capture.
    let (pkts, err) = read_full(io::Cursor::new(gz.get(..gz.len() - 6).expect("cut").to_vec()));
    assert!(pkts.len() <= 2);
    let err = err.expect("error");
    assert!(err.contains("gzip") && !err.contains("cut off after"), "{err}");
}

#[test]
fn pcapng_tsresol_scaling() {
    assert_eq!(scale_ts(1_500_000, 1_000_000), 1_500_000_000);
    assert_eq!(scale_ts(1_500, 1_000_000_000), 1_500);
    assert_eq!(scale_ts(u64::MAX, 1), u64::MAX);
}
