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
