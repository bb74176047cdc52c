//! The whole pipeline on raw capture bytes: capture::CaptureReader → pipeline::run with the
//! default limits, then the text and JSON reports.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptcp_dissector::capture::CaptureReader;
use mptcp_dissector::report::analyze::{write_json, write_text, AnalyzeReport};
use mptcp_dissector::track::{Analyzer, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let (analysis, end) = mptcp_dissector::pipeline::run(&mut reader, Analyzer::new(Limits::default()).with_hashes(true));
    let report = AnalyzeReport::new("fuzz", &analysis, end.map(|e| e.to_string()));
    let mut out = Vec::new();
    let _ = write_text(&mut out, &report);
    let _ = write_json(&mut out, &report);
});
