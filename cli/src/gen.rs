//! What is generated from the clap definitions: shell completions (`mptcp-trace completions
//! bash|zsh|fish`, clap_complete) and man pages (`mptcp-trace man --out DIR`, clap_mangen: one
//! page for the tool and one per command, `mptcp-trace-analyze.1`, …), and the example each
//! command's `--help` ends with.
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

/// A shell whose completion script `completions` writes.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Writes the completion script for `shell` of the command line `cmd` (named `mptcp-trace`).
pub(crate) fn completions(shell: Shell, mut cmd: clap::Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    match shell {
        Shell::Bash => {
            let mut script = Vec::new();
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name.as_str(), &mut script);
            // clap_complete (4.6.12) spells the state of a hyphenated bin name two ways: the
            // loop over the words reaches `mptcp__trace__subcmd__verify`, the case arms test
            // `mptcp__subcmd__trace__subcmd__verify`, so no command's options ever complete
            // (clap-rs/clap#6421). The arms are given the loop's spelling; a no-op once fixed.
            let text = String::from_utf8_lossy(&script).replace(&name.replace('-', "__subcmd__"), &name.replace('-', "__"));
            let _ = out.write_all(text.as_bytes());
        }
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, out),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, out),
    }
}

/// Writes `mptcp-trace.1` and one page per command (`mptcp-trace-<command>.1`) into `dir`
/// (created when missing); returns the files written. Each page is put in place whole
/// ([`crate::output::OutFile`]).
pub(crate) fn man_pages(cmd: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, crate::error::CliError> {
    let new = crate::output::NewDirs::missing([dir.to_path_buf()]);
    let pages = render_pages(cmd, dir);
    // Every page is written before any is put in place: a failure (a full disk) leaves no page
    // of this run, and a folder made for them goes again.
    let done = pages.and_then(|pages| {
        let mut written = Vec::new();
        for out in pages {
            written.push(out.target().to_path_buf());
            out.commit()?;
        }
        Ok(written)
    });
    if done.is_err() {
        new.remove_empty();
    }
    done
}

/// Each page rendered into its temporary file (see [`crate::output::OutFile`]).
fn render_pages(cmd: clap::Command, dir: &Path) -> Result<Vec<crate::output::OutFile>, crate::error::CliError> {
    std::fs::create_dir_all(dir).map_err(crate::error::CliError::open(dir))?;
    let mut cmd = cmd;
    cmd.build();
    let mut pages = Vec::new();
    let mut page = |c: clap::Command, file: String| -> Result<(), crate::error::CliError> {
        let path = dir.join(file);
        let mut out = crate::output::OutFile::create(&path, &[])?;
        clap_mangen::Man::new(c).render(&mut out).map_err(crate::error::CliError::write(path.display()))?;
        pages.push(out);
        Ok(())
    };
    let name = cmd.get_name().to_string();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // The page's title names the command as it is typed: `mptcp-trace-analyze`.
        let full = format!("{name}-{}", sub.get_name());
        page(sub.clone().name(full.clone()).bin_name(format!("{name} {}", sub.get_name())), format!("{full}.1"))?;
    }
    page(cmd, format!("{name}.1"))?;
    Ok(pages)
}

/// The example at the end of each command's `--help` (every one runs in `cli/tests/completions_man.rs`).
pub(crate) mod examples {
    pub(crate) const DISSECT: &str = "Example:\n  mptcp-trace dissect testdata/two-subflows.pcap | head";
    pub(crate) const ANALYZE: &str = "Example:\n  mptcp-trace analyze testdata/two-subflows.pcap";
    pub(crate) const STREAM: &str = "Example:\n  mptcp-trace stream testdata/two-subflows.pcap --connection 0 -d c2s -o c2s.bin";
    pub(crate) const THROUGHPUT: &str = "Example:\n  mptcp-trace throughput testdata/two-subflows.pcap --format json";
    pub(crate) const VERIFY: &str =
        "Example:\n  mptcp-trace verify testdata/two-subflows.pcap --expect 'subflows>=2' --format junit -o verify.xml";
    pub(crate) const PLOT: &str = "Example:\n  mptcp-trace plot testdata/two-subflows.pcap -k throughput -o throughput.svg";
    pub(crate) const EVENTS: &str = "Example:\n  mptcp-trace events testdata/two-subflows.pcap --side client";
    pub(crate) const PAIR: &str = "Example:\n  mptcp-trace pair testdata/pair/client-any.pcap testdata/pair/server-any.pcap";
    pub(crate) const EXPORT: &str = "Example:\n  mptcp-trace export testdata/two-subflows.pcap testdata/path-cut.pcap -o tables";
    pub(crate) const REPORT: &str = "Example:\n  mptcp-trace report testdata/two-subflows.pcap -o report.html";
    pub(crate) const COMPLETIONS: &str =
        "Example:\n  mptcp-trace completions bash > /etc/bash_completion.d/mptcp-trace\n  mptcp-trace completions zsh > \"${fpath[1]}/_mptcp-trace\"";
    pub(crate) const MAN: &str = "Example:\n  mptcp-trace man --out man/ && man -l man/mptcp-trace-analyze.1";
}
