//! `mptcp-trace export` (issue 16): the Parquet tables read back (DuckDB, from Python) equal what
//! `analyze`, `events`, `verify` and tshark say of the same captures; and captures split into
//! shards by 5-tuple hash (a connection's subflows in different files), exported one by one and
//! joined by the shipped SQL (sql/), give the whole capture's connections, subflows, bytes per
//! subflow and reinjected bytes, in DuckDB and in Apache Spark (local mode).
//!
//! Needs python3 with the duckdb package and, for Spark, pyspark and a Java runtime (.ci/run
//! installs them): the tests fail, not skip, without them.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod kit;
use kit::{bin, root};

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn json_of(cmd: &mut Command) -> Value {
    serde_json::from_slice(&run(cmd)).expect("json")
}

/// A count or byte figure, whether JSON wrote it as a number or as a decimal string.
fn n(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Runs a Python snippet with the table directory as argv[1]; its stdout as JSON.
fn py(code: &str, arg: &Path) -> Value {
    json_of(Command::new("python3").args(["-c", code]).arg(arg))
}

fn export(files: &[PathBuf], out: &Path) {
    run(bin().arg("export").args(files).arg("-o").arg(out));
}

/// Every committed capture whose name is unique (export writes OUT/<table>/<file name>.parquet).
fn captures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["testdata", "testdata/matrix"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

const READ_BACK: &str = r#"
import duckdb, json, sys
d = sys.argv[1]
q = lambda s: duckdb.sql(s.replace("T/", d + "/")).fetchall()
out = {}
for cap, n in q("select capture, count(*) from read_parquet('T/connections/*.parquet') group by 1"):
    out.setdefault(cap, {})["connections"] = n
for cap, n in q("select capture, count(*) from read_parquet('T/subflows/*.parquet') group by 1"):
    out.setdefault(cap, {})["subflows"] = n
for cap, imp, n in q("select capture, implicit, count(*) from (select distinct capture, subflow, direction, dsn, subflow_seq, length, implicit from read_parquet('T/mappings/*.parquet')) group by 1, 2"):
    out.setdefault(cap, {})["implicit" if imp else "mappings"] = n
for cap, n in q("select capture, count(*) from read_parquet('T/events/*.parquet') group by 1"):
    out.setdefault(cap, {})["events"] = n
for cap, o, n in q("select capture, outcome, count(*) from read_parquet('T/checks/*.parquet') group by 1, 2"):
    out.setdefault(cap, {})[o] = n
for cap, tok, c2s, s2c, reinj in q("select capture, server_token, c2s_bytes, s2c_bytes, c2s_reinjected_bytes + s2c_reinjected_bytes from read_parquet('T/connections/*.parquet') order by connection"):
    out.setdefault(cap, {}).setdefault("conns", []).append([tok, c2s, s2c, reinj])
for cap, c, s, b1, b2 in q("select capture, client_addr || ':' || client_port, server_addr || ':' || server_port, c2s_bytes, s2c_bytes from read_parquet('T/subflows/*.parquet') order by subflow"):
    out.setdefault(cap, {}).setdefault("sfs", []).append([c, s, b1, b2])
print(json.dumps(out))
"#;

/// Distinct DSS mappings per capture as tshark sees them: (4-tuple, raw DSN, subflow seq,
/// length); with `mpc`, the MP_CAPABLE options that carry data (their implicit mappings).
fn tshark_mappings(file: &Path, mpc: bool) -> usize {
    // a DSS cut by the snaplen shows its DSN and subflow sequence number in tshark, not its length:
    // not a mapping
    let filter = if mpc {
        "tcp.options.mptcp.subtype == 0 && tcp.options.mptcp.datalvllen"
    } else {
        "tcp.options.mptcp.rawdataseqno && tcp.options.mptcp.datalvllen"
    };
    let out = run(Command::new("tshark").arg("-r").arg(file).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
        "-e",
        "ip.dst",
        "-e",
        "ipv6.dst",
        "-e",
        "tcp.dstport",
        "-e",
        "tcp.options.mptcp.rawdataseqno",
        "-e",
        "tcp.options.mptcp.subflowseqno",
        "-e",
        "tcp.options.mptcp.datalvllen",
    ]));
    String::from_utf8(out).unwrap().lines().collect::<BTreeSet<_>>().len()
}

#[test]
fn tables_read_back_equal_analyze_events_verify_and_tshark() {
    let files = captures();
    assert!(files.len() >= 25, "{} captures", files.len());
    let out = tmp("export-all");
    export(&files, &out);
    let got = py(READ_BACK, &out);
    let mut checked_mappings = 0;
    for f in &files {
        let name = f.display().to_string();
        let g = &got[&name];
        let a = json_of(bin().arg("analyze").arg(f).args(["--format", "json"]));
        let conns = a["connections"].as_array().unwrap();
        assert_eq!(g["connections"].as_u64().unwrap_or(0), conns.len() as u64, "{name}: connections");
        let want_sfs: usize =
            conns.iter().map(|c| c["subflows"].as_array().unwrap().len()).sum::<usize>() + a["orphans"].as_array().map_or(0, Vec::len);
        assert_eq!(g["subflows"].as_u64().unwrap_or(0), want_sfs as u64, "{name}: subflows (+ orphan flows)");
        for (i, c) in conns.iter().enumerate() {
            let row = &g["conns"][i];
            assert_eq!(row[0].as_str(), c["server_token"].as_str(), "{name}: connection {i} token");
            assert_eq!(n(&row[1]), n(&c["c2s"]["bytes"]), "{name}: connection {i} c2s bytes");
            assert_eq!(n(&row[2]), n(&c["s2c"]["bytes"]), "{name}: connection {i} s2c bytes");
            assert_eq!(
                n(&row[3]),
                n(&c["c2s"]["reinjected_bytes"]) + n(&c["s2c"]["reinjected_bytes"]),
                "{name}: connection {i} reinjected"
            );
        }
        // every subflow of every connection, with its wire bytes per direction
        let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for s in conns.iter().flat_map(|c| c["subflows"].as_array().unwrap()) {
            want.insert(
                (s["client"].as_str().unwrap().into(), s["server"].as_str().unwrap().into()),
                (n(&s["c2s"]["bytes"]), n(&s["s2c"]["bytes"])),
            );
        }
        let have: BTreeMap<(String, String), (u64, u64)> = g["sfs"]
            .as_array()
            .map(|v| v.iter().map(|r| ((bracket(r[0].as_str().unwrap()), bracket(r[1].as_str().unwrap())), (n(&r[2]), n(&r[3])))).collect())
            .unwrap_or_default();
        for (k, v) in &want {
            assert_eq!(have.get(k), Some(v), "{name}: subflow {k:?}");
        }
        // the DSS mappings tshark finds, once each
        let tm = tshark_mappings(f, false);
        assert_eq!(g["mappings"].as_u64().unwrap_or(0), tm as u64, "{name}: distinct DSS mappings vs tshark");
        let implicit = tshark_mappings(f, true);
        assert_eq!(g["implicit"].as_u64().unwrap_or(0), implicit as u64, "{name}: MP_CAPABLE with data vs tshark");
        checked_mappings += tm + implicit;
        // the event timeline and the verify verdicts
        let ev = run(bin().arg("events").arg(f).args(["--format", "jsonl"]));
        assert_eq!(g["events"].as_u64().unwrap_or(0), ev.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64, "{name}: events");
        let v = json_of(bin().arg("verify").arg(f).args(["--format", "json"]));
        for (k, o) in [("passed", "pass"), ("failed", "fail"), ("skipped", "skip")] {
            assert_eq!(g[o].as_u64().unwrap_or(0), n(&v[k]), "{name}: checks {o}");
        }
    }
    assert!(checked_mappings > 1000, "{checked_mappings} mappings compared");
}

/// `addr:port` as the subflows table writes it (IPv6 without brackets) → as analyze does.
fn bracket(s: &str) -> String {
    match s.rsplit_once(':') {
        Some((a, p)) if a.contains(':') => format!("[{a}]:{p}"),
        _ => s.to_string(),
    }
}

/// Captures split into 3 shards each (testdata/tools/shard_pcap.py), exported shard by shard.
fn shards(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = tmp(&format!("shards-{}", name.replace('/', "-")));
    run(Command::new("python3")
        .arg(root().join("testdata/tools/shard_pcap.py"))
        .arg(root().join("testdata").join(name))
        .arg("3")
        .arg(&dir));
    let files: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("shard-{k}.pcap"))).collect();
    (dir, files)
}

const SHARDED: [&str; 5] = [
    "matrix/four-subflows.pcap",
    "matrix/twenty-conns.pcap",
    "matrix/add-addr-port.pcap",
    "matrix/ipv6-add-addr.pcap",
    "matrix/reused-tuple.pcap",
];

/// The SQL's answers compared with `analyze` of the whole capture; returns how many connections
/// had subflows in more than one shard.
fn compare_with_whole(name: &str, res: &Value) -> usize {
    let a = json_of(bin().arg("analyze").arg(root().join("testdata").join(name)).args(["--format", "json"]));
    let conns = a["connections"].as_array().unwrap();
    let by_token = res["connections_by_token"].as_array().unwrap();
    let tokens: BTreeSet<&str> = by_token.iter().map(|r| r["conn_token"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = conns.iter().map(|c| c["server_token"].as_str().unwrap()).collect();
    assert_eq!(tokens, want, "{name}: connections (server tokens)");
    for c in conns {
        let tok = c["server_token"].as_str().unwrap();
        let subs: Vec<&Value> = res["subflow_bytes"].as_array().unwrap().iter().filter(|r| r["conn_token"] == tok).collect();
        let mut have = BTreeMap::new();
        for r in &subs {
            let cl = bracket(&format!("{}:{}", r["client_addr"].as_str().unwrap(), r["client_port"]));
            let sv = bracket(&format!("{}:{}", r["server_addr"].as_str().unwrap(), r["server_port"]));
            have.insert((cl, sv), (n(&r["c2s_bytes"]), n(&r["s2c_bytes"])));
        }
        let mut want = BTreeMap::new();
        for s in c["subflows"].as_array().unwrap() {
            want.insert(
                (s["client"].as_str().unwrap().to_string(), s["server"].as_str().unwrap().to_string()),
                (n(&s["c2s"]["bytes"]), n(&s["s2c"]["bytes"])),
            );
        }
        assert_eq!(have, want, "{name} {tok}: subflows and their bytes");
        for d in ["c2s", "s2c"] {
            let r = res["reinjected"].as_array().unwrap().iter().find(|r| r["conn_token"] == tok && r["direction"] == d);
            let got = r.map_or(0, |r| n(&r["reinjected_bytes"]));
            assert_eq!(got, n(&c[d]["reinjected_bytes"]), "{name} {tok} {d}: reinjected bytes");
            if let Some(r) = r {
                assert_eq!(n(&r["distinct_bytes"]), n(&c[d]["bytes"]), "{name} {tok} {d}: distinct data bytes");
            }
        }
    }
    res["multi_probe"].as_array().unwrap().len()
}

#[test]
fn shards_joined_in_duckdb_equal_the_whole_capture() {
    let mut spread = 0;
    for name in SHARDED {
        let (dir, files) = shards(name);
        let out = dir.join("tables");
        export(&files, &out);
        let res = json_of(Command::new("python3").arg(root().join("sql/run_duckdb.py")).arg(&out));
        spread += compare_with_whole(name, &res);
    }
    assert!(spread >= 5, "only {spread} connections had subflows in several shards: the test shows little");
}

#[test]
fn shards_joined_in_spark_local_mode_equal_the_whole_capture() {
    let name = "matrix/twenty-conns.pcap";
    let (dir, files) = shards(name);
    let out = dir.join("spark-tables");
    let results = dir.join("spark.json");
    run(Command::new("python3")
        .arg(root().join("contrib/spark/mptcp_export_job.py"))
        .args(["--master", "local[2]", "--binary", env!("CARGO_BIN_EXE_mptcp-trace"), "--out"])
        .arg(&out)
        .arg("--results")
        .arg(&results)
        .args(&files));
    let res: Value = serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert!(res["exports"].as_array().unwrap().iter().all(|e| e["exit"] == 0), "{}", res["exports"]);
    assert!(compare_with_whole(name, &res) >= 5, "subflows spread over the shards");
}
