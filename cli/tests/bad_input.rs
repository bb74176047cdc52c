//! Exit codes and messages of the CLI on bad input: not a capture → 2 with a message naming the
//! file; a capture cut mid-record → 0 with a warning, the packets before the cut used.
use std::path::{Path, PathBuf};
use std::process::Output;

mod kit;
use kit::{bin, scratch_file, testdata_dir};

/// This file's scratch folder (kit::scratch_dir).
const TAG: &str = "cli-tests";

fn run(args: &[&str], file: &Path) -> Output {
    bin().args(args).arg(file).output().expect("run mptcp-trace")
}

const COMMANDS: [&[&str]; 5] =
    [&["analyze"], &["dissect"], &["events"], &["throughput"], &["stream", "--connection", "0", "-d", "c2s", "-o", "-"]];

#[test]
fn not_a_capture_exits_2_naming_the_file() {
    for (name, bytes) in [("empty.pcap", &b""[..]), ("notes.txt", &b"this is not a capture\n"[..])] {
        let f = scratch_file(TAG, name, bytes);
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
    let cap = testdata_dir().join("two-subflows.pcap");
    for args in [&["dissect"][..], &["stream", "--connection", "0", "-d", "c2s", "-o", "-"][..]] {
        // The whole output must outgrow the pipe, or the command could finish before the close.
        let whole = run(args, &cap);
        assert!(whole.stdout.len() > PIPE_CAPACITY + 2 * STD_BUF, "{args:?}: only {} bytes of output", whole.stdout.len());
        let mut child = bin().args(args).arg(&cap).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
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
    let whole = std::fs::read(testdata_dir().join("two-subflows.pcap")).expect("testdata");
    // cut in the middle of a record near the end
    let f = scratch_file(TAG, "cut.pcap", &whole[..whole.len() - 700]);
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

/// Every command that reads the capture, with its output in `dir` where it writes one.
fn every_command(dir: &Path) -> Vec<Vec<String>> {
    let d = |n: &str| dir.join(n).display().to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["analyze"]),
        v(&["analyze", "--format", "json"]),
        v(&["dissect"]),
        v(&["events"]),
        v(&["throughput"]),
        v(&["verify"]),
        v(&["stream", "--connection", "0", "-d", "c2s", "-o", &d("s.bin")]),
        v(&["plot", "-k", "throughput", "--connection", "0", "--interval", "100ms", "-o", &d("p.png")]),
        v(&["report", "-o", &d("r.html")]),
        v(&["export", "-o", &d("tables")]),
    ]
}

/// Issue 23: a record whose length field is over the 8 MB cap is a corrupt file, not a cut one,
/// even when less than 8 MB is left after it: exit 2 from every command, naming the frame and
/// its byte offset, and no output file. (Before, the same bytes gave a warning and exit 0.)
#[test]
fn record_length_over_the_cap_is_corruption_for_every_command() {
    let whole = std::fs::read(testdata_dir().join("two-subflows.pcap")).expect("testdata");
    // The third record's captured length becomes 10 MB; the file (about 560 KB) ends well
    // before. Records 1 and 2 sit at 24 and 24 + 16 + their lengths.
    let len_at = |off: usize| u32::from_le_bytes(whole[off + 8..off + 12].try_into().unwrap()) as usize;
    let third = 24 + 16 + len_at(24);
    let third = third + 16 + len_at(third);
    let mut bytes = whole.clone();
    bytes[third + 8..third + 12].copy_from_slice(&10_000_000u32.to_le_bytes());
    assert!(bytes.len() - third < 8_000_000);
    corrupt_for_every_command("over-cap.pcap", &bytes, &[&format!("frame 3 at byte offset {third}"), "8 MB cap"]);
    // The same length field in a whole file is the same error (the file goes on past 8 MB is
    // not needed to tell).
    bytes[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let f = scratch_file(TAG, "huge-record.pcap", &bytes);
    let out = run(&["analyze"], &f);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("frame 1 at byte offset 24: captured length 4294967280 is over the 8 MB cap"), "{err}");
}

/// Every command on `bytes` (saved as `name`): exit 2, an error naming the file and saying each of
/// `says`, no warning, no panic, and no output file or table left.
fn corrupt_for_every_command(name: &str, bytes: &[u8], says: &[&str]) {
    let f = scratch_file(TAG, name, bytes);
    let dir = std::env::temp_dir().join(format!("mptcp-trace-cli-corrupt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for args in every_command(&dir) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, &f);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {s} in {err}");
        }
        assert!(!err.contains("panicked") && !err.contains("warning"), "{args:?}: {err}");
    }
    let left = walk(&dir);
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A pcapng section with `n` interface blocks (raw IP) and one packet on interface `on`.
fn pcapng_with_interfaces(n: u32, on: u32) -> Vec<u8> {
    let mut b = Vec::new();
    // Section header block: type, length 28, byte-order magic, version 1.0, section length -1.
    for w in [0x0A0D_0D0Au32, 28, 0x1A2B_3C4D] {
        b.extend(w.to_le_bytes());
    }
    b.extend(1u16.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend((-1i64).to_le_bytes());
    b.extend(28u32.to_le_bytes());
    for _ in 0..n {
        // Interface description block: type 1, length 20, link type 101 (raw IP), snaplen 0.
        b.extend(1u32.to_le_bytes());
        b.extend(20u32.to_le_bytes());
        b.extend(101u16.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(20u32.to_le_bytes());
    }
    // Enhanced packet block with 20 bytes of data (an IPv4 header).
    let data = [0x45u8, 0, 0, 20, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
    for w in [6u32, 52, on, 0, 0, 20, 20] {
        b.extend(w.to_le_bytes());
    }
    b.extend(data);
    b.extend(52u32.to_le_bytes());
    b
}

/// Issue 23: the interface blocks kept per section are capped (4096, bounded state); a packet on
/// an interface past the cap is an error that names the cap, not "not described".
#[test]
fn pcapng_over_the_interface_cap_names_the_cap() {
    let ok = scratch_file(TAG, "ifaces-4096.pcapng", &pcapng_with_interfaces(4096, 4095));
    let out = run(&["dissect", "--all"], &ok);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "the one packet is read");
    let over = scratch_file(TAG, "ifaces-4097.pcapng", &pcapng_with_interfaces(4097, 4096));
    let out = run(&["analyze"], &over);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ifaces-4097.pcapng") && err.contains("more than 4096 interfaces"), "{err}");
    // An interface that was never described is said as such.
    let undescribed = scratch_file(TAG, "ifaces-2.pcapng", &pcapng_with_interfaces(2, 7));
    let err = String::from_utf8_lossy(&run(&["analyze"], &undescribed).stderr).into_owned();
    assert!(err.contains("names interface 7 which was not described"), "{err}");
}

/// The same for pcapng: a block whose length field is over the cap, with less than that left in
/// the file, is corruption (exit 2 from every command, naming the block's byte offset), not a
/// capture cut mid-record (a warning that dropped every packet after it, exit 0).
#[test]
fn pcapng_block_length_over_the_cap_is_corruption_for_every_command() {
    let whole = std::fs::read(testdata_dir().join("dumpcap.pcapng")).expect("testdata");
    // Walk the blocks (little-endian section, as dumpcap wrote it) to the 5th Enhanced Packet
    // Block.
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(whole[8..12], [0x4d, 0x3c, 0x2b, 0x1a], "little-endian section");
    let (mut at, mut epbs) = (0, 0);
    while epbs < 5 {
        if u32_at(&whole, at) == 6 {
            epbs += 1;
            if epbs == 5 {
                break;
            }
        }
        at += u32_at(&whole, at + 4);
    }
    let mut bytes = whole.clone();
    bytes[at + 4..at + 8].copy_from_slice(&10_000_000u32.to_le_bytes());
    assert!(bytes.len() - at < 8_000_000);
    corrupt_for_every_command(
        "over-cap.pcapng",
        &bytes,
        &["after frame 4", &format!("byte offset {at}: block length 10000000 is over the 8 MB cap")],
    );
    // A real cut within the last block stays a warning.
    let f = scratch_file(TAG, "cut.pcapng", &whole[..whole.len() - 30]);
    let out = run(&["analyze"], &f);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning") && err.contains("cut off"), "{err}");
}
