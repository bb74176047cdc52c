//! `events` flags. Its documented examples run in docs_examples.rs with every other example.

mod kit;
use kit::{bin, root};

#[test]
fn side_and_format_do_not_mix_and_timestamps_need_side() {
    let run = |args: &[&str]| bin().args(args).current_dir(root()).output().unwrap();
    assert_eq!(run(&["events", "testdata/signal.pcap", "--side", "client", "--format", "jsonl"]).status.code(), Some(2));
    assert_eq!(run(&["events", "testdata/signal.pcap", "--timestamps"]).status.code(), Some(2));
    let ok = run(&["events", "testdata/signal.pcap", "--side", "server"]);
    assert!(
        ok.status.success() && !String::from_utf8_lossy(&ok.stdout).contains("[     ANNOUNCED]"),
        "ANNOUNCED is printed by the host that received it"
    );
}

/// A piped capture (`tcpdump -U -w - | mptcp-trace events -`): an event is written when its
/// packets are in, not at the end of input. The first 10 packets of two-subflows.pcap (the
/// MP_CAPABLE handshake and the first data) are written and the pipe is held open: the CREATED
/// line must come while it is, and be the line the whole file gives.
#[test]
fn a_piped_capture_shows_its_first_event_before_the_input_ends() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let data = std::fs::read(root().join("testdata/two-subflows.pcap")).unwrap();
    let mut end = 24;
    for _ in 0..10 {
        let incl = u32::from_le_bytes(data[end + 8..end + 12].try_into().unwrap()) as usize;
        end += 16 + incl;
    }
    let mut child = bin().args(["events", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data[..end]).unwrap();
    stdin.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = BufReader::new(stdout);
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        let _ = tx.send(line);
        // The rest, so that the writer never meets a closed pipe.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(20));
    // Only now the rest of the capture, and the end of input.
    stdin.write_all(&data[end..]).unwrap();
    drop(stdin);
    child.wait().unwrap();
    let first = first.expect("no event line while the input was still open");
    let whole = bin().args(["events", "testdata/two-subflows.pcap"]).current_dir(root()).output().unwrap();
    let whole = String::from_utf8(whole.stdout).unwrap();
    assert!(first.contains("[       CREATED]"), "{first}");
    assert_eq!(Some(first.trim_end()), whole.lines().next());
}
