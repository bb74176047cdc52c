//! What the CLI tests share: testdata paths, running the binary, its output as text, scratch
//! folders, and running the oracles (tshark, tcpdump).
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository's root (the folder above cli/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// testdata/ itself.
pub fn testdata_dir() -> PathBuf {
    root().join("testdata")
}

/// A capture (or other file) in testdata/, as a path string.
pub fn testdata(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name).display().to_string()
}

/// Every capture directly in testdata/ (pcap and pcapng), sorted; at least ten of them.
pub fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata_dir())
        .expect("testdata/")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

/// The binary under test, as a command to add arguments to.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mptcp-trace"))
}

/// `mptcp-trace ARGS`, run to the end.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run mptcp-trace")
}

/// Output bytes as UTF-8 text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf8")
}

/// A scratch folder of this test process, `$TMPDIR/mptcp-trace-TAG-PID`, created if missing
/// (tests that run in parallel give different tags).
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mptcp-trace-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `tshark ARGS`, run to the end (the oracle tests need tshark installed: scripts/test.sh).
pub fn tshark<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new("tshark").args(args).output().expect("tshark is needed for this test (scripts/test.sh installs it)")
}

/// `tcpdump ARGS`, run to the end (scripts/test.sh installs tcpdump).
pub fn tcpdump<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new("tcpdump").args(args).output().expect("tcpdump is needed for this test (scripts/test.sh installs it)")
}

/// `name` in [`scratch_dir`]`(tag)`, holding `bytes`.
pub fn scratch_file(tag: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch_dir(tag).join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}
