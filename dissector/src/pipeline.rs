//! The whole pipeline over a capture: read → decode → track → analysis.
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{decode, Decoded};
use crate::track::{Analysis, Analyzer};

/// Runs every packet of `reader` through `analyzer`. A capture error ends the loop and is
/// returned beside the analysis of everything before it.
pub fn run(reader: &mut CaptureReader, mut analyzer: Analyzer) -> (Analysis, Option<CaptureError>) {
    let end = loop {
        match reader.next_packet() {
            Ok(Some(p)) => match decode(p.linktype, p.data) {
                Decoded::Tcp(seg) => analyzer.packet(p.frame, p.ts_ns, &seg),
                Decoded::Error(e) => analyzer.non_tcp(p.frame, p.ts_ns, Some(&e)),
                Decoded::Fragment | Decoded::Other => analyzer.non_tcp(p.frame, p.ts_ns, None),
            },
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (analyzer.finish(), end)
}
