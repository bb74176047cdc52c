//! Every writer on a full disk: exit 2, the error in words naming the file it could not write
//! (not the folder, not Rust's Debug text), and nothing left behind — no partial file, no
//! temporary file, no folder made for the output. The disk is a tmpfs filled to its last byte
//! in a mount namespace of its own (`unshare -m`, as root; as another user `unshare -rm`), so the
//! kernel's own ENOSPC is the truth, not a simulated error.
use std::process::Command;

mod kit;
use kit::testdata;

/// Runs `script` (sh) in a new mount namespace where `dir` is a 64 KiB tmpfs filled up by the
/// file `fill`. Returns the script's stdout.
fn on_full_disk(dir: &str, script: &str) -> String {
    let setup = format!(
        "set -u; mount -t tmpfs -o size=64k tmpfs {dir} || exit 97; dd if=/dev/zero of={dir}/fill bs=1k count=1000 2>/dev/null; \
         [ \"$(df --output=avail {dir} | tail -1 | tr -d ' ')\" = 0 ] || exit 98; {script}"
    );
    let as_root = Command::new("unshare").args(["-m", "sh", "-c", &setup]).output().expect("unshare");
    let out = if as_root.status.code() == Some(97) || !as_root.status.success() && as_root.stdout.is_empty() {
        Command::new("unshare").args(["-rm", "sh", "-c", &setup]).output().expect("unshare -rm")
    } else {
        as_root
    };
    assert!(out.status.success(), "the full-disk namespace could not be made: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn every_writer_on_a_full_disk_fails_cleanly() {
    let bin = env!("CARGO_BIN_EXE_mptcp-trace");
    let cap = testdata("two-subflows.pcap");
    let dir = std::env::temp_dir().join(format!("mptcp-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.display().to_string();
    // (name, command line, the file the error must name)
    let cases: Vec<(&str, String, String)> = vec![
        ("stream", format!("{bin} stream --connection 0 -d c2s -o {d}/s.bin {cap} 2>&1"), format!("{d}/s.bin")),
        ("report", format!("{bin} report -o {d}/r.html {cap} 2>&1"), format!("{d}/r.html")),
        ("plot png", format!("{bin} plot -k throughput --connection 0 -o {d}/p.png {cap} 2>&1"), format!("{d}/p.png")),
        ("plot svg", format!("{bin} plot -k sequence --connection 0 -o {d}/p.svg {cap} 2>&1"), format!("{d}/p.svg")),
        ("verify", format!("{bin} verify --format junit -o {d}/v.xml {cap} 2>&1"), format!("{d}/v.xml")),
        ("man", format!("{bin} man --out {d}/man 2>&1"), format!("{d}/man/mptcp-trace-")),
        ("export", format!("{bin} export -o {d}/tables {cap} 2>&1"), format!("{d}/tables/")),
        ("dissect", format!("{bin} dissect {cap} 2>&1 > {d}/dissect.txt"), "standard output".into()),
        ("analyze json", format!("{bin} analyze --format json {cap} 2>&1 > {d}/a.json"), "standard output".into()),
    ];
    let mut script = String::new();
    for (name, cmd, _) in &cases {
        script.push_str(&format!(
            "echo '=== {name}'; {cmd}; echo \"exit $?\"; rm -f {d}/dissect.txt {d}/a.json; find {d} -mindepth 1 ! -name fill | sed 's/^/left: /'; "
        ));
    }
    // Standard error on the full disk too: no message can be written, the exit status tells
    // (it was 101, a panic in eprintln!).
    script.push_str(&format!("{bin} dissect {cap} > {d}/both.txt 2>&1; echo \"both $?\"; rm -f {d}/both.txt; "));
    let out = on_full_disk(&d, &script);
    assert!(out.contains("both 2\n"), "{out}");
    let out = out.split("both ").next().unwrap_or_default();
    let blocks: Vec<&str> = out.split("=== ").skip(1).collect();
    assert_eq!(blocks.len(), cases.len(), "{out}");
    for ((name, _, names), block) in cases.iter().zip(blocks) {
        assert!(block.starts_with(name), "{block}");
        assert!(block.contains("exit 2\n"), "{name}: exit 2:\n{block}");
        let error =
            block.lines().find(|l| l.starts_with("mptcp-trace: error:")).unwrap_or_else(|| panic!("{name}: an error line:\n{block}"));
        assert!(error.contains("No space left on device"), "{name}: {error}");
        assert!(error.contains(names.as_str()), "{name}: names {names}: {error}");
        for debug in ["Os {", "IoError(", "Custom {", "kind:"] {
            assert!(!error.contains(debug), "{name}: Debug text in {error}");
        }
        assert!(!block.contains("left: "), "{name}: something left behind:\n{block}");
        assert!(!block.contains("panicked"), "{name}:\n{block}");
    }
}
