//! Shell completions and man pages generated from the clap definitions, and the example every
//! command's `--help` ends with: the bash script parses and completes in a real bash, the man
//! pages render in groff without a warning, and each example runs.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod kit;
use kit::{bin, root, scratch_dir};

fn ours(args: &[&str]) -> Output {
    bin().args(args).output().expect("run mptcp-trace")
}

fn scratch(name: &str) -> PathBuf {
    scratch_dir(&format!("gen-{name}"))
}

/// The commands `mptcp-trace --help` lists (the clap definitions, as a user sees them).
fn commands() -> Vec<String> {
    let help = String::from_utf8(ours(&["--help"]).stdout).unwrap();
    let list = help.split("Commands:").nth(1).expect("a command list").split("\n\n").next().unwrap();
    let v: Vec<String> = list.lines().filter_map(|l| l.split_whitespace().next()).filter(|c| *c != "help").map(String::from).collect();
    assert!(v.len() >= 11 && v.iter().any(|c| c == "report") && v.iter().any(|c| c == "man"), "{v:?}");
    v
}

fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let arr = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" ");
    let prog = format!(
        "source '{}'; COMP_WORDS=({arr}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _mptcp__trace mptcp-trace '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2]
    );
    let out = Command::new("bash").args(["--norc", "-c", &prog]).output().expect("bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect()
}

#[test]
fn bash_completion_parses_and_completes() {
    let dir = scratch("bash");
    let script = dir.join("mptcp-trace.bash");
    let out = ours(&["completions", "bash"]);
    assert!(out.status.success());
    std::fs::write(&script, &out.stdout).unwrap();
    let n = Command::new("bash").args(["-n", script.to_str().unwrap()]).status().expect("bash");
    assert!(n.success(), "bash -n");
    let all = bash_complete(&script, &["mptcp-trace", ""]);
    for c in commands() {
        assert!(all.contains(&c), "{c} in {all:?}");
    }
    assert_eq!(bash_complete(&script, &["mptcp-trace", "ana"]), vec!["analyze"]);
    assert!(bash_complete(&script, &["mptcp-trace", "verify", "--al"]).contains(&"--allow-empty".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    for (shell, head) in [("zsh", "#compdef mptcp-trace"), ("fish", "complete -c mptcp-trace")] {
        let out = ours(&["completions", shell]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with(head) || text.contains(head), "{shell}");
        for c in commands() {
            assert!(text.contains(&c), "{shell}: {c}");
        }
        // Parsed by the shell itself where it is installed (not in .ci/run: bash is the one checked).
        if Command::new(shell).arg("--version").output().is_ok_and(|o| o.status.success()) {
            let dir = scratch(shell);
            let f = dir.join(format!("c.{shell}"));
            std::fs::write(&f, &text).unwrap();
            let ok = Command::new(shell).args(["-n", f.to_str().unwrap()]).status().unwrap();
            assert!(ok.success(), "{shell} -n");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    assert_eq!(ours(&["completions", "tcsh"]).status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_pages_render_without_warnings() {
    let dir = scratch("man");
    let out = ours(&["man", "--out", dir.join("man").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut pages = vec!["mptcp-trace".to_string()];
    pages.extend(commands().iter().map(|c| format!("mptcp-trace-{c}")));
    for p in &pages {
        let file = dir.join("man").join(format!("{p}.1"));
        assert!(file.exists(), "{p}.1");
        // groff with every warning on: none (a broken request or escape would show here).
        let g = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z", file.to_str().unwrap()])
            .output()
            .expect("groff (.ci/run installs groff-base)");
        assert!(g.status.success() && g.stderr.is_empty(), "{p}: {}", String::from_utf8_lossy(&g.stderr));
        let text = Command::new("groff").args(["-man", "-Tascii", "-P", "-cbou", file.to_str().unwrap()]).output().unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION"] {
            assert!(text.contains(section), "{p}: {section}");
        }
    }
    let verify = Command::new("groff").args(["-man", "-Tascii", "-P", "-cbou"]).arg(dir.join("man/mptcp-trace-verify.1")).output().unwrap();
    let verify = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.contains("--allow-empty") && verify.contains("--expect"), "{verify}");
    assert!(verify.contains("Example:") && verify.contains("verify.xml"), "the example is in the page");
    let top = Command::new("groff").args(["-man", "-Tascii", "-P", "-cbou"]).arg(dir.join("man/mptcp-trace.1")).output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    for c in commands() {
        assert!(top.contains(&format!("mptcp-trace-{c}(1)")) || top.contains(&c), "mptcp-trace.1 names {c}");
    }
    if Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let m = Command::new("man")
            .arg("-l")
            .arg(dir.join("man/mptcp-trace-analyze.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(m.status.success() && String::from_utf8_lossy(&m.stdout).contains("--sha256"), "man -l renders");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_command_help_ends_with_an_example_that_runs() {
    let dir = scratch("examples");
    std::os::unix::fs::symlink(root().join("testdata"), dir.join("testdata")).unwrap();
    let path = format!(
        "{}:{}",
        Path::new(env!("CARGO_BIN_EXE_mptcp-trace")).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for c in commands() {
        let help = String::from_utf8(ours(&[&c, "--help"]).stdout).unwrap();
        let example = help.split("Example:\n").nth(1).unwrap_or_else(|| panic!("{c} --help has no example:\n{help}"));
        let lines: Vec<&str> = example.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert!(lines.iter().all(|l| l.starts_with(&format!("mptcp-trace {c}"))), "{c}: {lines:?}");
        for line in lines {
            // Installing into system folders is shown, not run; the part before `&&` is ours.
            if line.contains(" > ") {
                let cmd = line.split(" > ").next().unwrap();
                let out = Command::new("sh").args(["-c", cmd]).current_dir(&dir).env("PATH", &path).output().unwrap();
                assert!(out.status.success() && !out.stdout.is_empty(), "{cmd}");
                continue;
            }
            let cmd = line.split(" && ").next().unwrap();
            let out = Command::new("sh").args(["-c", cmd]).current_dir(&dir).env("PATH", &path).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
