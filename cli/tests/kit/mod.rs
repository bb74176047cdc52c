//! What the CLI tests share: testdata paths, running the binary, its output as text.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Command, Output};

/// A capture (or other file) in testdata/, as a path string.
pub fn testdata(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name).display().to_string()
}

/// `mptcp-trace ARGS`, run to the end.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mptcp-trace")).args(args).output().expect("run mptcp-trace")
}

/// Output bytes as UTF-8 text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf8")
}
