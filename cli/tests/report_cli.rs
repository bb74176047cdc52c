//! `report` on a capture with more connections than the page lists (issue 25: a page bounded
//! whatever the capture). Truth: testdata/matrix/sequential.truth.json, the applications' byte
//! counts and addresses of 30 real sequential MPTCP connections, and `verify`/`events` as their
//! own commands print them.
mod kit;
use kit::*;

fn truth() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(testdata_dir().join("matrix/sequential.truth.json")).unwrap()).unwrap()
}

/// The rows of the first table of class `class`, without its header.
fn rows<'a>(html: &'a str, class: &str) -> Vec<&'a str> {
    let table = html.split(&format!("<table class=\"{class}\">")).nth(1).unwrap().split("</table>").next().unwrap();
    table.split("<tr>").skip(2).collect()
}

#[test]
fn a_page_lists_at_most_max_connections_and_counts_every_one() {
    let capture = testdata("matrix/sequential.pcap");
    let out = run(&["report", "--max-connections", "10", "-o", "-", &capture]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = text(&out.stdout);
    let t = truth();
    let conns = t["conns"].as_array().unwrap();
    assert_eq!(conns.len(), 30);

    // Every connection has 7,000 bytes both ways: the busiest are a tie, so the lowest ids are
    // listed, in the order of their SYNs (the truth's order).
    let listed = rows(&html, "connections");
    assert_eq!(listed.len(), 10, "{listed:?}");
    for (row, c) in listed.iter().zip(conns) {
        assert!(row.contains(&format!("<td>{}</td>", c["client"].as_str().unwrap())), "{row}");
    }
    let eleventh = format!("<td>{}</td>", conns[10]["client"].as_str().unwrap());
    assert!(!listed.iter().any(|r| r.contains(&eleventh)));
    assert!(html.contains("10 of 30 connections listed"));
    assert!(html.contains("20 more connection(s) not listed"));
    assert!(html.contains("<tr><th>MPTCP connections</th><td>30</td></tr>"));

    // The distributions count all 30 from the truth's bytes.
    let bytes: Vec<u64> = conns.iter().map(|c| c["c2s_bytes"].as_u64().unwrap() + c["s2c_bytes"].as_u64().unwrap()).collect();
    let in_1k_10k = bytes.iter().filter(|&&b| (1_000..10_000).contains(&b)).count();
    assert_eq!(in_1k_10k, 30);
    let dist = rows(&html, "distribution");
    assert!(dist.contains(&"<td>1 kB – 10 kB</td><td class=\"num\">30</td></tr>\n"), "{dist:?}");
    let total: u64 =
        dist.iter().map(|r| r.split("class=\"num\">").nth(1).unwrap().split('<').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(total, 30);

    // The verify tally covers every connection, as `verify` counts it; per-connection verdict
    // tables only for the listed ones.
    let v: serde_json::Value = serde_json::from_slice(&run(&["verify", "--format", "json", &capture]).stdout).unwrap();
    assert_eq!(v["connections"].as_array().unwrap().len(), 30);
    assert!(html.contains(&format!("{} passed, {} failed, {} skipped", v["passed"], v["failed"], v["skipped"])));
    assert_eq!(html.matches("<table class=\"verdicts\">").count(), 10 + 1, "10 connections and the capture checks");
    // Per check: passes over the 30 connections as verify reports them.
    let passed_of = |id: &str| {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["checks"].as_array().unwrap())
            .filter(|k| k["id"] == id && k["outcome"] == "pass")
            .count()
    };
    let totals = rows(&html, "check-totals");
    for id in ["mp_capable.version", "mp_capable.key_echo"] {
        let row = totals.iter().find(|r| r.contains(&format!("<code>{id}</code>"))).unwrap();
        assert!(row.contains(&format!("<td class=\"num\">{}</td>", passed_of(id))), "{row}");
    }

    // Every event of the capture is on the page (under the 2000 shown).
    let events = text(&run(&["events", "--format", "jsonl", &capture]).stdout).lines().count();
    assert_eq!(rows(&html, "events").len(), events);

    // The default lists all 30.
    let all = text(&run(&["report", "-o", "-", &capture]).stdout);
    assert_eq!(rows(&all, "connections").len(), 30);
    assert!(!all.contains("not listed"));
}
