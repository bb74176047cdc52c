//! Shared by the tshark oracle tests: where the captures are, how to find tshark, and the
//! missing-tshark policy (fail loudly unless the skip is asked for explicitly).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every capture under testdata/ (`*.pcap`, `*.pcapng`), sorted by name.
pub fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no captures in {}", dir.display());
    out
}

pub fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// `true` if tshark is there. Without it the oracle tests fail, unless
/// MPTCP_TRACE_SKIP_ORACLE=1 says to skip them, in which case they say so loudly and pass.
pub fn tshark_available(test: &str) -> bool {
    let ok = Command::new("tshark").arg("-v").output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        return true;
    }
    if std::env::var("MPTCP_TRACE_SKIP_ORACLE").as_deref() == Ok("1") {
        eprintln!("##########################################################################");
        eprintln!("### {test}: SKIPPED: tshark not installed and MPTCP_TRACE_SKIP_ORACLE=1");
        eprintln!("### nothing was compared against tshark");
        eprintln!("##########################################################################");
        return false;
    }
    panic!(
        "{test}: tshark not installed: apt-get install tshark; \
         set MPTCP_TRACE_SKIP_ORACLE=1 to skip explicitly"
    );
}

/// Runs tshark with `args` on `capture` and returns its stdout; panics with stderr on failure.
pub fn tshark(capture: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark").arg("-n").arg("-r").arg(capture).args(args).output().expect("run tshark");
    assert!(out.status.success(), "tshark {args:?} on {} failed: {}", capture.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("tshark output is UTF-8")
}

pub fn open(path: &Path) -> mptcp_dissector::capture::CaptureReader {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    mptcp_dissector::capture::CaptureReader::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
