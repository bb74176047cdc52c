//! `analyze --format tsv`, the connection log (issue 26), against the kernel's truth of the
//! matrix and shapes captures: the apps' byte counts, the tokens `MPTCP_INFO` reported, the
//! subflows it counted, and the `nstat` counters of checksum errors and fallbacks.
mod kit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kit::{run, testdata_dir, text};
use serde_json::Value;

/// The log of `args` (`analyze --format tsv ARGS…`): its `#fields` names and one map per line.
fn log(args: &[&str]) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut all = vec!["analyze", "--format", "tsv"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "{all:?}: {}", text(&out.stderr));
    let out = text(&out.stdout);
    let fields: Vec<String> =
        out.lines().find_map(|l| l.strip_prefix("#fields\t")).expect("a #fields line").split('\t').map(str::to_string).collect();
    let rows = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let values: Vec<&str> = l.split('\t').collect();
            assert_eq!(values.len(), fields.len(), "a line with as many fields as #fields: {l:?}");
            fields.iter().cloned().zip(values.iter().map(|v| v.to_string())).collect()
        })
        .collect();
    (fields, rows)
}

fn truth(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A kernel counter summed over both hosts' `nstat` files of a capture (0 when absent).
fn nstat(base: &Path, name: &str) -> u64 {
    ["client", "server"]
        .iter()
        .filter_map(|side| std::fs::read_to_string(format!("{}.nstat-{side}.txt", base.display())).ok())
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
        })
        .sum()
}

#[test]
fn each_connection_has_the_apps_bytes_and_the_kernels_tokens_and_subflows() {
    for name in ["sequential", "four-subflows", "twenty-conns", "upload-only", "download-only"] {
        let base = testdata_dir().join("matrix").join(name);
        let t = truth(&base.with_extension("truth.json"));
        let pcap = base.with_extension("pcap");
        let (_, rows) = log(&[pcap.to_str().unwrap()]);
        let conns = t["conns"].as_array().unwrap();
        assert_eq!(rows.len(), conns.len(), "{name}: one line per connection the apps made");
        for c in conns {
            let client = c["client"].as_str().unwrap();
            let info = |side: &str, at: &str| c[format!("{side}_mptcp_info")][at].clone();
            // Matched by the client's token (a client port can come back in a later connection).
            let token = info("client", "start")["token"].as_str().unwrap().to_string();
            let row = rows
                .iter()
                .find(|r| r["client_token"] == token)
                .unwrap_or_else(|| panic!("{name}: no line with the client token {token} of {client}"));
            assert_eq!(format!("{}:{}", row["id.orig_h"], row["id.orig_p"]), client, "{name} {token}");
            assert_eq!(format!("{}:{}", row["id.resp_h"], row["id.resp_p"]), c["server"].as_str().unwrap(), "{name} {client}");
            assert_eq!(row["orig_bytes"], c["c2s_bytes"].to_string(), "{name} {client}: the client app's bytes");
            assert_eq!(row["resp_bytes"], c["s2c_bytes"].to_string(), "{name} {client}: the server app's bytes");
            assert_eq!(row["server_token"], info("server", "start")["token"].as_str().unwrap(), "{name} {client}");
            // MPTCP_INFO counts the subflows established beside the first one, when it was read
            // (start, middle and end of the transfer, on either host).
            let added = ["client", "server"]
                .iter()
                .flat_map(|side| ["start", "mid", "end"].map(|at| info(side, at)["subflows"].as_u64()))
                .flatten()
                .max()
                .unwrap();
            let subflows: u64 = row["subflows"].parse().unwrap();
            if name == "upload-only" {
                // The server rejected the client's join (after its DATA_FIN): on the wire a
                // subflow, never established.
                assert_eq!((added, subflows), (0, 2), "{name} {client}: subflows");
            } else {
                assert_eq!(subflows, added + 1, "{name} {client}: subflows");
            }
            assert_eq!((row["state"].as_str(), row["fallback"].as_str()), ("closed", "F"), "{name} {client}");
            assert_eq!(row["failed_checks"], "(empty)", "{name} {client}");
            assert_eq!(row["version"], "1");
        }
    }
}

#[test]
fn checksum_errors_and_fallbacks_are_those_the_kernel_counted() {
    let mut seen = 0;
    for dir in ["matrix", "shapes"] {
        let mut bases: Vec<PathBuf> = std::fs::read_dir(testdata_dir().join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
            .map(|p| PathBuf::from(p.to_string_lossy().trim_end_matches(".truth.json")))
            .collect();
        bases.sort();
        for base in bases {
            let pcap = base.with_extension("pcap");
            if !pcap.exists() || !Path::new(&format!("{}.nstat-client.txt", base.display())).exists() {
                continue;
            }
            seen += 1;
            let (_, rows) = log(&[pcap.to_str().unwrap()]);
            let csum = rows.iter().any(|r| r["failed_checks"].split(',').any(|k| k == "dss.checksum"));
            assert_eq!(
                csum,
                nstat(&base, "MPTcpExtDataCsumErr") > 0,
                "{}: dss.checksum failed iff the kernel counted a DSS checksum error",
                base.display()
            );
            let kernel_fallback = [
                "MPTcpExtDssFallback",
                "MPTcpExtInfiniteMapRx",
                "MPTcpExtMPCapableFallbackACK",
                "MPTcpExtMPCapableFallbackSYNACK",
                "MPTcpExtMPCapableSYNTXDrop",
            ]
            .iter()
            .map(|n| nstat(&base, n))
            .sum::<u64>();
            let fallback = rows.iter().any(|r| r["fallback"] == "T");
            assert_eq!(fallback, kernel_fallback > 0, "{}: a fallback iff the kernel counted one", base.display());
            for r in rows.iter().filter(|r| r["fallback"] == "F") {
                assert_eq!(r["fallback_reason"], "-", "{}: no reason without a fallback", base.display());
            }
        }
    }
    assert!(seen >= 20, "the matrix and shapes captures with nstat files were found ({seen})");
}

#[test]
fn several_files_make_one_log_with_a_file_column() {
    let a = testdata_dir().join("fallback.pcap");
    let b = testdata_dir().join("two-subflows.pcap");
    let out = run(&["analyze", "--format", "tsv", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success());
    let out = text(&out.stdout);
    assert_eq!(out.lines().filter(|l| l.starts_with("#fields\t")).count(), 1, "one header");
    let fields: Vec<&str> = out.lines().find_map(|l| l.strip_prefix("#fields\t")).unwrap().split('\t').collect();
    let types: Vec<&str> = out.lines().find_map(|l| l.strip_prefix("#types\t")).unwrap().split('\t').collect();
    assert_eq!((fields[0], types[0], fields.len(), types.len()), ("file", "string", types.len(), fields.len()));
    let files: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(files, [a.to_str().unwrap(), b.to_str().unwrap()]);
}

#[test]
fn a_missing_connection_writes_no_log() {
    let f = testdata_dir().join("two-subflows.pcap");
    let out = run(&["analyze", "--format", "tsv", "--connection", "5", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    // A selection keeps its connection only; a capture without connections is a header.
    let (_, rows) = log(&["--connection", "0", f.to_str().unwrap()]);
    assert_eq!(rows.len(), 1);
    let plain = testdata_dir().join("plain");
    if let Some(p) = std::fs::read_dir(plain)
        .ok()
        .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "pcap"))))
    {
        let (fields, rows) = log(&[p.to_str().unwrap()]);
        assert_eq!((fields.len(), rows.len()), (20, 0), "{}: plain TCP only", p.display());
    }
}
