//! Shared by the tshark oracle tests: where the captures are, how to find tshark, and the
//! missing-tshark policy (fail loudly unless the skip is asked for explicitly).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// testdata/.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Every capture under testdata/ (`*.pcap`, `*.pcapng`), sorted by name.
pub fn captures() -> Vec<PathBuf> {
    let dir = testdata();
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

/// The tshark release series on which the pinned defects (the DSS checksum not shown, the
/// relative DSN of join subflows against the wrong IDSN, reinjections decided on touching mapping
/// ranges) were observed: Debian 12's tshark 4.0.17. A defect is asserted only there; on another
/// release the tests still compare everything else and say that the defect check did not apply,
/// so a tshark that fixed it does not fail the suite.
pub const DEFECT_SERIES: &[&str] = &["4.0."];

/// tshark's version, e.g. "4.0.17", from the first line of `tshark --version`
/// ("TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).").
pub fn tshark_version() -> String {
    let out = Command::new("tshark").arg("--version").output().expect("run tshark --version");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    first
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains('.'))
        .unwrap_or_else(|| panic!("no version in `tshark --version`: {first:?}"))
        .to_string()
}

/// Whether the pinned tshark `defect` is expected on this tshark. When it is not, says so on
/// stderr: the test then checks only what does not depend on the defect.
pub fn defect_applies(defect: &str) -> bool {
    let v = tshark_version();
    let applies = DEFECT_SERIES.iter().any(|s| v.starts_with(s));
    if !applies {
        eprintln!("tshark {v}: the pinned defect check ({defect}) did not apply: it was observed on tshark {DEFECT_SERIES:?} only");
    }
    applies
}
