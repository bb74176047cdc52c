//! MPTCP option grammar on the real option corpus of testdata.
//!
//! Setup reads every TCP segment of testdata/*.pcap and testdata/matrix/*.pcap (all plain pcap,
//! read with pcap-file: this crate has no capture reader), decodes it with the crate's own decode
//! stage and keeps the raw TCP option bytes of the segments that carry a kind-30 option. Then it times:
//! - `options/mptcp_options`: [`mptcp_options`] over each segment's option bytes (the TCP option
//!   walk plus the MPTCP grammar, as the pipeline calls it);
//! - `options/mptcp_parse`: [`mptcp::parse`] over each kind-30 option alone (the grammar only).
//!
//! Throughput is in MPTCP options, so criterion's "elem/s" is options per second.
//!
//! ```text
//! cargo bench -p mptcp-wire --bench options
//! ```

use std::fs::File;
use std::hint::black_box;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mptcp_wire::decode::{decode, Decoded};
use mptcp_wire::options::tcp::{TcpOption, TcpOptionIter, KIND_MPTCP};
use mptcp_wire::options::{has_mptcp, mptcp, mptcp_options};
use pcap_file::pcap::PcapReader;

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

fn corpus() -> Corpus {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut files = pcaps(&testdata);
    files.extend(pcaps(&testdata.join("matrix")));
    let mut segments = Vec::new();
    for path in &files {
        let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = PcapReader::new(BufReader::new(file)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let linktype = u32::from(reader.header().datalink);
        // A capture cut short (snaplen.pcap, early-stop) still gives the packets before the cut.
        while let Some(Ok(packet)) = reader.next_packet() {
            if let Decoded::Tcp(seg) = decode(linktype, &packet.data) {
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
