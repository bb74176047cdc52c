//! `export FILE… -o OUT`: Parquet tables of each capture, files in parallel (`mptcp_export`).
use std::io::{self, Write};
use std::process::ExitCode;

use rayon::prelude::*;

use crate::capture::open_capture;
use crate::config::RunConfig;
use crate::error::{CliError, STDOUT};
use crate::flags::ExportArgs;
use crate::jobs;
use crate::output;

/// `export`: each file's tables, files in parallel; a line per file and table on stdout, in the
/// order given. Exit status: the worst of the files (2 for a file that is not a capture, whose
/// partial tables are removed).
pub fn run(args: &ExportArgs, cfg: &RunConfig) -> Result<ExitCode, CliError> {
    let (files, out) = (&args.files, args.out.as_path());
    let mut names = std::collections::HashSet::new();
    for f in files {
        if f.as_os_str() == "-" {
            return Err(CliError::Usage("export reads files, not standard input".into()));
        }
        if !names.insert(f.file_name()) {
            return Err(CliError::Usage(format!("{}: two captures with the same file name would write the same tables", f.display())));
        }
    }
    let pool = jobs::pool(cfg)?;
    let opts = mptcp_export::ExportOptions { segments: args.segments };
    let new_dirs = output::NewDirs::missing(std::iter::once(out.to_path_buf()).chain(mptcp_export::TABLES.iter().map(|t| out.join(t))));
    let results: Vec<(String, u8)> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let name = f.display().to_string();
                let mut reader = match open_capture(f, cfg) {
                    Ok(r) => r,
                    Err(e) => return (format!("mptcp-trace: error: {e}\n"), 2),
                };
                match mptcp_export::export(&name, &mut reader, out, opts, cfg.limits) {
                    // A damaged capture (not merely cut short) is exit 2 for every command: its
                    // tables are not put in place, and an earlier export's stay as they were.
                    Ok((_, Some(e))) if !e.is_truncation() => {
                        (format!("mptcp-trace: error: {name}: {e}\nmptcp-trace: {name}: no table written\n"), 2)
                    }
                    Ok((w, end)) => {
                        let mut text = String::new();
                        for (table, path, rows) in &w.tables {
                            text.push_str(&format!("{name}: {table} {rows} rows -> {}\n", path.display()));
                        }
                        if let Err(e) = w.commit() {
                            return (format!("mptcp-trace: error: {name}: {e}\n"), 2);
                        }
                        if let Some(e) = &end {
                            text.push_str(&format!("mptcp-trace: warning: {name}: {e}; everything before it was used\n"));
                        }
                        (text, 0)
                    }
                    Err(e) => (format!("mptcp-trace: error: {name}: {e}\n"), 2),
                }
            })
            .collect()
    });
    let mut worst = 0;
    let mut stdout = io::stdout().lock();
    for (text, code) in results {
        worst = worst.max(code);
        for line in text.lines() {
            if line.starts_with("mptcp-trace: ") {
                say!("{line}");
            } else {
                writeln!(stdout, "{line}").map_err(CliError::write(STDOUT))?;
            }
        }
    }
    if worst != 0 {
        // Folders made for tables that were not written go again.
        new_dirs.remove_empty();
    }
    Ok(ExitCode::from(worst))
}
