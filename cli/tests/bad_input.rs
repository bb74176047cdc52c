//! Exit codes and messages of the CLI on bad input: not a capture → 2 with a message naming the
//! file; a capture cut mid-record → 0 with a warning, the packets before the cut used.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mptcp-trace")
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("testdata").join(name)
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mptcp-trace-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

fn run(args: &[&str], file: &Path) -> Output {
    Command::new(bin()).args(args).arg(file).output().expect("run mptcp-trace")
}

const COMMANDS: [&[&str]; 5] =
    [&["analyze"], &["dissect"], &["events"], &["throughput"], &["stream", "--connection", "0", "-d", "c2s", "-o", "-"]];

#[test]
fn not_a_capture_exits_2_naming_the_file() {
    for (name, bytes) in [("empty.pcap", &b""[..]), ("notes.txt", &b"this is not a capture\n"[..])] {
        let f = scratch(name, bytes);
        for args in COMMANDS {
            let out = run(args, &f);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {name}: {err}");
            assert!(err.contains(name), "{args:?}: message should name the file: {err}");
            assert!(err.contains("not a pcap or pcapng capture"), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn missing_file_exits_2() {
    for path in ["/nonexistent", "/nonexistent/capture.pcap"] {
        let out = run(&["analyze"], Path::new(path));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert!(err.contains(&format!("error: {path}: ")), "the message names the path: {err}");
    }
}

/// Linux's default pipe capacity (pipe(7): 16 pages of 4 KiB). An output larger than this
/// cannot all be written before the reader goes away, so the writer meets the closed pipe.
const PIPE_CAPACITY: usize = 64 << 10;
/// std::io's default BufReader/BufWriter capacity (8 KiB): the command's writer and our reader
/// each hold up to this much besides what sits in the pipe.
const STD_BUF: usize = 8 << 10;

/// `mptcp-trace CMD | head -1`: the reader closes the pipe after one line; the command stops
/// quietly with exit 0 (a closed pipe is io::ErrorKind::BrokenPipe, not an error to report).
#[test]
fn closed_pipe_exits_0_without_a_message() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let cap = testdata("two-subflows.pcap");
    for args in [&["dissect"][..], &["stream", "--connection", "0", "-d", "c2s", "-o", "-"][..]] {
        // The whole output must outgrow the pipe, or the command could finish before the close.
        let whole = run(args, &cap);
        assert!(whole.stdout.len() > PIPE_CAPACITY + 2 * STD_BUF, "{args:?}: only {} bytes of output", whole.stdout.len());
        let mut child = Command::new(bin()).args(args).arg(&cap).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let mut first = Vec::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_until(b'\n', &mut first).expect("one line");
        // The reader (and with it the pipe's read end) is dropped here, as `head -1` exits.
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?}: a first line");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: no message for a closed pipe: {err}");
    }
}

#[test]
fn truncated_capture_warns_and_exits_0() {
    let whole = std::fs::read(testdata("two-subflows.pcap")).expect("testdata");
    // cut in the middle of a record near the end
    let f = scratch("cut.pcap", &whole[..whole.len() - 700]);
    for args in COMMANDS {
        let out = run(args, &f);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        let code = out.status.code();
        // `stream` exits 1 when the stream it wrote is incomplete (the cut removed its end)
        let ok = if args[0] == "stream" { code == Some(0) || code == Some(1) } else { code == Some(0) };
        assert!(ok, "{args:?}: exit {code:?}: {err}");
        assert!(err.contains("warning") && err.contains("cut.pcap") && err.contains("cut off"), "{args:?}: {err}");
    }
    let out = run(&["analyze"], &f);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Connection 0"), "packets before the cut are used: {text}");
}

#[test]
fn absurd_record_length_exits_2_with_a_message() {
    let mut bytes = std::fs::read(testdata("two-subflows.pcap")).expect("testdata");
    // incl_len of the first record = 0xffff_fff0
    bytes[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let f = scratch("huge-record.pcap", &bytes);
    let out = run(&["analyze"], &f);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("huge-record.pcap"), "{err}");
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{:?}: {err}", out.status);
}
