//! `analyze --stats-interval N` (issue 26): lines of totals on standard error, checked against the
//! apps' truth of the matrix's sequential capture (30 connections, each 4000 + 3000 bytes, two
//! subflows each by MPTCP_INFO).
mod kit;

use kit::{run, testdata_dir, text};

/// The number right before `word` in `line`.
fn before(line: &str, word: &str) -> u64 {
    let head = &line[..line.find(word).unwrap_or_else(|| panic!("{word:?} in {line:?}"))];
    head.trim_end().rsplit([' ', '(']).next().unwrap().parse().unwrap_or_else(|_| panic!("a number before {word:?} in {line:?}"))
}

#[test]
fn the_lines_add_up_to_the_apps_bytes_and_end_with_every_connection() {
    let base = testdata_dir().join("matrix").join("sequential");
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(base.with_extension("truth.json")).unwrap()).unwrap();
    let conns = t["conns"].as_array().unwrap();
    let bytes: u64 = conns.iter().map(|c| c["c2s_bytes"].as_u64().unwrap() + c["s2c_bytes"].as_u64().unwrap()).sum();
    let subflows: u64 = conns
        .iter()
        .map(|c| {
            ["client", "server"]
                .iter()
                .flat_map(|s| ["start", "mid", "end"].map(|at| c[format!("{s}_mptcp_info")][at]["subflows"].as_u64()))
                .flatten()
                .max()
                .unwrap()
                + 1
        })
        .sum();
    let out = run(&["analyze", "--stats-interval", "1", base.with_extension("pcap").to_str().unwrap()]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("mptcp-trace: stats ")).collect();
    assert!(lines.len() >= 10, "a line a second over a 14 s capture: {err}");
    let total: u64 = lines.iter().map(|l| before(l, "data-level bytes")).sum();
    assert_eq!(total, bytes, "the lines' data-level bytes add up to the apps' bytes");
    let finished: Vec<u64> = lines.iter().map(|l| before(l, "finished")).collect();
    assert!(finished.windows(2).all(|w| w[0] <= w[1]), "finished only grows: {finished:?}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("mptcp-trace: stats end "), "{last}");
    assert_eq!(before(last, "finished"), conns.len() as u64, "{last}");
    assert_eq!(before(last, "subflows"), subflows, "{last}");
    assert_eq!(before(last, "connection(s) open"), 0, "{last}");
    // Not a flag of the other commands.
    assert_eq!(run(&["verify", "--stats-interval", "1", base.with_extension("pcap").to_str().unwrap()]).status.code(), Some(2));
}
