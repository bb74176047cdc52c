//! Every command example in README.md and docs/*.md runs here, and the output shown must be
//! exactly what it prints. An example is a fenced block whose lines starting with `$ ` are
//! shell commands (run with `sh -c`, `mptcp-trace` being this build, in a scratch folder where
//! `testdata/` is the repository's); the lines up to the next command or the end of the block
//! are its output (stdout and stderr together).
//!
//! After a deliberate change of output, regenerate every example with:
//!
//!     MPTCP_TRACE_UPDATE_DOCS=1 cargo test --release -p mptcp-trace --test docs_examples
use std::path::{Path, PathBuf};
use std::process::Command;

mod kit;
use kit::root;

fn doc_files() -> Vec<PathBuf> {
    let mut v = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    v.extend(docs);
    v
}

/// Runs the commands of one block in one shell (so `echo $?` and files written by an earlier
/// command work) and returns each command's output.
fn run_block(cmds: &[&str], scratch: &Path) -> Vec<String> {
    const MARK: &str = "\u{1}--mptcp-trace-docs--";
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mptcp-trace"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut script = String::new();
    for c in cmds {
        script.push_str(&format!("{{ {c}\n}} 2>&1; __rc=$?; printf '%s\\n' '{MARK}'; (exit $__rc)\n"));
    }
    let out = Command::new("sh").arg("-c").arg(script).current_dir(scratch).env("PATH", path).env("TZ", "UTC").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split(&format!("{MARK}\n")).map(str::to_string).take(cmds.len()).collect()
}

/// (line index of the command, line range of its output) for every example in `text`.
fn examples(lines: &[&str]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("```") {
            in_block = !in_block;
            i += 1;
            continue;
        }
        if in_block && l.starts_with("$ ") {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].starts_with("$ ") && !lines[end].starts_with("```") {
                end += 1;
            }
            out.push((i, start..end));
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

#[test]
fn every_documented_example_prints_what_the_docs_show() {
    let scratch = std::env::temp_dir().join(format!("mptcp-trace-docs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let link = scratch.join("testdata");
    if !link.exists() {
        std::os::unix::fs::symlink(root().join("testdata"), &link).unwrap();
    }
    let update = std::env::var_os("MPTCP_TRACE_UPDATE_DOCS").is_some();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut new_lines: Vec<String> = Vec::new();
        let mut last = 0;
        let found = examples(&lines);
        // Group the examples by block: consecutive commands with only their outputs between.
        let mut blocks: Vec<Vec<(usize, std::ops::Range<usize>)>> = Vec::new();
        for (cmd_line, range) in found {
            match blocks.last_mut() {
                Some(b) if b.last().is_some_and(|(_, r)| r.end == cmd_line) => b.push((cmd_line, range)),
                _ => blocks.push(vec![(cmd_line, range)]),
            }
        }
        for block in blocks {
            let cmds: Vec<&str> = block.iter().map(|(c, _)| lines[*c].trim_start_matches("$ ")).collect();
            let outs = run_block(&cmds, &scratch);
            for (((cmd_line, range), cmd), got) in block.iter().zip(&cmds).zip(outs) {
                let want = lines[range.clone()].join("\n");
                // A line "..." in the docs stands for lines left out: what is shown before it
                // must begin the real output, what is shown after it must end it.
                let shown: Vec<&str> = lines[range.clone()].to_vec();
                let got = match shown.iter().position(|l| l.trim() == "...") {
                    Some(cut) => {
                        let real: Vec<&str> = got.trim_end().lines().collect();
                        let tail = shown.len() - cut - 1;
                        if real.len() > cut + tail {
                            let mut v: Vec<&str> = real[..cut].to_vec();
                            v.push("...");
                            v.extend_from_slice(&real[real.len() - tail..]);
                            v.join("\n")
                        } else {
                            real.join("\n")
                        }
                    }
                    None => got,
                };
                if got.trim_end() != want.trim_end() {
                    wrong.push(format!("{}:{}: `{cmd}`\n--- docs\n{want}\n--- real\n{}", file.display(), cmd_line + 1, got.trim_end()));
                }
                new_lines.extend(lines[last..range.start].iter().map(|s| s.to_string()));
                new_lines.extend(got.trim_end().lines().map(str::to_string));
                last = range.end;
                checked += 1;
            }
        }
        if update {
            new_lines.extend(lines[last..].iter().map(|s| s.to_string()));
            let mut t = new_lines.join("\n");
            t.push('\n');
            if t != text {
                std::fs::write(&file, t).unwrap();
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    // Every `$ ` line of a fenced block in the docs was run: count them independently of the parser.
    let dollar_lines: usize = doc_files()
        .iter()
        .map(|f| {
            let t = std::fs::read_to_string(f).unwrap();
            let mut in_block = false;
            t.lines()
                .filter(|l| {
                    if l.starts_with("```") {
                        in_block = !in_block;
                    }
                    in_block && l.starts_with("$ ")
                })
                .count()
        })
        .sum();
    assert!(checked > 0 && checked == dollar_lines, "ran {checked} of {dollar_lines} examples");
    if !update {
        assert!(wrong.is_empty(), "{} example(s) differ from what the command prints (regenerate: MPTCP_TRACE_UPDATE_DOCS=1 cargo test --release -p mptcp-trace --test docs_examples):\n\n{}", wrong.len(), wrong.join("\n\n"));
    }
}
