//! `throughput` streams (issue 25): each connection's series leave the counting when the
//! connection finishes, and its rows are written at the end from what was kept. Truth: the
//! bytes each application sent and received (testdata/matrix/sequential.truth.json, written by
//! the capture's own client and server, not by this code), the connection count, and the
//! selection rules.

mod kit;
use kit::{run, testdata, text};

/// CSV rows as (connection, subflow, path, c2s_bytes, s2c_bytes).
fn csv_rows(out: &str) -> Vec<(usize, Option<usize>, String, u64, u64)> {
    out.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2].parse().ok(), f[3].trim_matches('"').to_string(), f[4].parse().unwrap(), f[5].parse().unwrap())
        })
        .collect()
}

/// testdata/matrix/sequential.pcap: 30 connections one after another. Every connection's
/// data-level rows add up to what its client and server applications sent, whatever the
/// interval; the rows come in connection order, data level first.
#[test]
fn each_connection_adds_up_to_what_its_applications_sent() {
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata("matrix/sequential.truth.json")).unwrap()).unwrap();
    let conns = truth["conns"].as_array().unwrap();
    assert_eq!(conns.len(), 30);
    for interval in [None, Some("1ms"), Some("10s")] {
        let file = testdata("matrix/sequential.pcap");
        let mut args = vec!["throughput", file.as_str()];
        if let Some(i) = interval {
            args.extend(["--interval", i]);
        }
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let rows = csv_rows(&text(&o.stdout));
        let order: Vec<(usize, Option<usize>)> = rows.iter().map(|r| (r.0, r.1)).collect();
        let mut sorted = order.clone();
        sorted.sort_by_key(|&(c, s)| (c, s.map_or(0, |s| s + 1)));
        assert_eq!(order, sorted, "{interval:?}: (connection, subflow) order");
        for (id, want) in conns.iter().enumerate() {
            let mine: Vec<_> = rows.iter().filter(|r| r.0 == id).collect();
            // The connection is the truth's: its first subflow is the applications' socket pair.
            let path = format!("{} -> {}", want["client"].as_str().unwrap(), want["server"].as_str().unwrap());
            assert!(mine.iter().any(|r| r.1.is_some() && r.2 == path), "{interval:?}: connection {id} is not {path}");
            let data = mine.iter().filter(|r| r.1.is_none());
            let sent = data.fold((0, 0), |(a, b), r| (a + r.3, b + r.4));
            assert_eq!(sent, (want["c2s_bytes"].as_u64().unwrap(), want["s2c_bytes"].as_u64().unwrap()), "{interval:?}: connection {id}");
        }
    }
}

/// `--connection` gives that connection's rows of the whole capture's output (same interval),
/// and one past the last is the error it was (exit 2, the count of connections said).
#[test]
fn one_connection_is_its_rows_of_the_whole_and_a_missing_one_is_an_error() {
    let file = testdata("matrix/sequential.pcap");
    let all = run(&["throughput", &file, "--interval", "5ms"]);
    let all = text(&all.stdout);
    let header = all.lines().next().unwrap().to_string();
    for id in [0usize, 17, 29] {
        let o = run(&["throughput", &file, "--interval", "5ms", "--connection", &id.to_string()]);
        assert_eq!(o.status.code(), Some(0));
        let want: Vec<&str> =
            std::iter::once(&header[..]).chain(all.lines().skip(1).filter(|l| l.split(',').nth(1) == Some(&id.to_string()[..]))).collect();
        assert_eq!(text(&o.stdout).lines().collect::<Vec<_>>(), want, "connection {id}");
    }
    let o = run(&["throughput", &file, "--connection", "30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no connection 30 (the capture has 30)"), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
}

/// The JSON document carries the same rows as the CSV, and the paths of the subflows with rows.
#[test]
fn json_has_the_csv_rows_and_every_path() {
    let file = testdata("matrix/sequential.pcap");
    let csv = csv_rows(&text(&run(&["throughput", &file]).stdout));
    let o = run(&["throughput", &file, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), csv.len());
    for (j, c) in rows.iter().zip(&csv) {
        assert_eq!(j["connection"].as_u64(), Some(c.0 as u64));
        assert_eq!(j["subflow"].as_u64().map(|s| s as usize), c.1);
        assert_eq!((j["c2s_bytes"].as_u64().unwrap(), j["s2c_bytes"].as_u64().unwrap()), (c.3, c.4));
        if let Some(sf) = c.1 {
            assert_eq!(doc["paths"][sf.to_string()].as_str(), Some(&c.2[..]));
        }
    }
    let keys = doc["paths"].as_object().unwrap().len();
    let subflows: std::collections::BTreeSet<usize> = csv.iter().filter_map(|r| r.1).collect();
    assert_eq!(keys, subflows.len());
}
