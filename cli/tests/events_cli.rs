//! docs/events.md is true: every `$ mptcp-trace events …` example runs and prints exactly the
//! output shown under it.
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (arguments, expected output) of each example block: a ``` block whose first line is `$ mptcp-trace …`.
fn examples(doc: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        let Some(cmd) = l.strip_prefix("$ mptcp-trace ") else { continue };
        let mut expected = String::new();
        for l in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            expected.push_str(l);
            expected.push('\n');
        }
        out.push((cmd.split_whitespace().map(str::to_string).collect(), expected));
    }
    out
}

#[test]
fn docs_events_examples_print_what_the_docs_show() {
    let doc = std::fs::read_to_string(root().join("docs/events.md")).expect("docs/events.md");
    let ex = examples(&doc);
    assert!(ex.len() >= 3, "expected the examples of docs/events.md, found {}", ex.len());
    assert!(ex.iter().any(|(args, _)| args.iter().any(|a| a == "--side")), "no --side example");
    for (args, expected) in ex {
        let out = Command::new(env!("CARGO_BIN_EXE_mptcp-trace")).args(&args).current_dir(root()).output().unwrap();
        assert!(out.status.success(), "mptcp-trace {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "mptcp-trace {}", args.join(" "));
    }
}

#[test]
fn side_and_format_do_not_mix_and_timestamps_need_side() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_mptcp-trace")).args(args).current_dir(root()).output().unwrap();
    assert_eq!(run(&["events", "testdata/signal.pcap", "--side", "client", "--format", "jsonl"]).status.code(), Some(2));
    assert_eq!(run(&["events", "testdata/signal.pcap", "--timestamps"]).status.code(), Some(2));
}
