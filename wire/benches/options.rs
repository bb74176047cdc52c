//! MPTCP option grammar on the real option corpus of testdata.
//!
//! Setup reads every TCP segment of testdata/*.pcap and testdata/matrix/*.pcap (all classic
//! pcap; this crate has no capture reader, so [`records`] walks the file's records), decodes it
//! with the crate's own decode stage and keeps the raw TCP option bytes of the segments that
//! carry a kind-30 option. Then it times:
//! - `options/mptcp_options`: [`mptcp_options`] over each segment's option bytes (the TCP option
//!   walk plus the MPTCP grammar, as the pipeline calls it);
//! - `options/mptcp_parse`: [`mptcp::parse`] over each kind-30 option alone (the grammar only).
//!
//! Throughput is in MPTCP options, so criterion's "elem/s" is options per second.
//!
//! ```text
//! cargo bench -p mptcp-wire --bench options
//! ```

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mptcp_wire::decode::{decode, Decoded};
use mptcp_wire::options::tcp::{TcpOption, TcpOptionIter, KIND_MPTCP};
use mptcp_wire::options::{has_mptcp, mptcp, mptcp_options};

/// The option corpus: per segment, its raw TCP option bytes; and every kind-30 option alone.
struct Corpus {
    segments: Vec<Vec<u8>>,
    options: Vec<Vec<u8>>,
}

fn pcaps(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
}

/// The link type and the captured bytes of each record of a classic pcap file (either byte
/// order, µs or ns timestamps). A record cut by the end of the file ends the list: a capture cut
/// short (snaplen.pcap, early-stop) still gives the packets before the cut.
fn records(file: &[u8]) -> (u32, Vec<&[u8]>) {
    let u32_at = |at: usize, be: bool| {
        let b: [u8; 4] = file.get(at..at + 4).and_then(|b| b.try_into().ok()).unwrap_or_else(|| panic!("pcap header cut"));
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let be = match u32_at(0, true) {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        m => panic!("not a classic pcap file (magic {m:08x})"),
    };
    let linktype = u32_at(20, be) & 0x0fff_ffff;
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let len = u32_at(at + 8, be) as usize;
        match file.get(at + 16..at + 16 + len) {
            Some(data) => out.push(data),
            None => break,
        }
        at += 16 + len;
    }
    (linktype, out)
}

fn corpus() -> Corpus {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut files = pcaps(&testdata);
    files.extend(pcaps(&testdata.join("matrix")));
    let mut segments = Vec::new();
    for path in &files {
        let file = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (linktype, packets) = records(&file);
        for data in packets {
            if let Decoded::Tcp(seg) = decode(linktype, data) {
                if has_mptcp(seg.options) {
                    segments.push(seg.options.to_vec());
                }
            }
        }
    }
    let options = segments
        .iter()
        .flat_map(|s| {
            TcpOptionIter::new(s)
                .filter_map(|o| match o {
                    Ok(TcpOption::Other { kind: KIND_MPTCP, bytes, .. }) => Some(bytes.to_vec()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Corpus { segments, options }
}

fn bench_options(c: &mut Criterion) {
    let corpus = corpus();
    let items = corpus.segments.iter().map(|s| mptcp_options(s).count()).sum::<usize>();
    let malformed = corpus.options.iter().filter(|o| mptcp::parse(o).is_err()).count();
    eprintln!(
        "corpus: {} segments with MPTCP options, {} MPTCP options ({malformed} malformed), {items} mptcp_options items \
         (with option-walk errors)",
        corpus.segments.len(),
        corpus.options.len()
    );

    let mut group = c.benchmark_group("options");
    group.throughput(Throughput::Elements(items as u64));
    group.bench_function("mptcp_options", |b| {
        b.iter(|| {
            for seg in &corpus.segments {
                for item in mptcp_options(black_box(seg)) {
                    black_box(&item);
                }
            }
        })
    });
    group.throughput(Throughput::Elements(corpus.options.len() as u64));
    group.bench_function("mptcp_parse", |b| {
        b.iter(|| {
            for opt in &corpus.options {
                black_box(&mptcp::parse(black_box(opt)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_options);
criterion_main!(benches);
