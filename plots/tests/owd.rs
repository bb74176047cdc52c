//! `plot --kind owd`: the plotted delays of the two-ended captures (testdata/pair/ and, through a
//! NAT, testdata/pair-nat/) are the delays the independent checker (testdata/tools/pair_match.py
//! over tshark's fields, committed as pair.match.json) found, per subflow and direction.
use std::path::{Path, PathBuf};

use mptcp_dissector::analysis::pair::{pair, PairOptions, PairReport};
use mptcp_dissector::capture::CaptureReader;

fn testdata(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(p)
}

fn open(p: &str) -> CaptureReader {
    CaptureReader::new(Box::new(std::fs::File::open(testdata(p)).unwrap())).unwrap()
}

fn report(dir: &str) -> PairReport {
    let (r, _) = pair(
        open(&format!("{dir}/client-any.pcap")),
        open(&format!("{dir}/server-any.pcap")),
        PairOptions { series: true, ..Default::default() },
    );
    r
}

/// The checker's per subflow direction delays (n, min µs, max µs), read with Python's json.
fn checker(dir: &str) -> Vec<(String, String, usize, f64, f64)> {
    let code = "import json,sys\nd=json.load(open(sys.argv[1]))\nfor s in d['subflows']:\n for k in ('c2s','s2c'):\n  o=s[k]['owd_us']\n  print(s['subflow'],k,o['n'],o['min'],o['max'])";
    let out = std::process::Command::new("python3")
        .args(["-c", code])
        .arg(testdata(&format!("{dir}/pair.match.json")))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

#[test]
fn plotted_delays_are_the_checkers() {
    for dir in ["pair", "pair-nat"] {
        let r = report(dir);
        let off_ms = r.clock_offset_us.expect("delays both ways") / 1e3;
        let want = checker(dir);
        assert_eq!(want.len(), 4, "{dir}: two subflows, two directions");
        for (sf, d, n, min_us, max_us) in want {
            let s = r
                .owd_series
                .iter()
                .find(|s| s.subflow == sf && s.direction.name() == d)
                .unwrap_or_else(|| panic!("{dir}: no series {sf} {d}"));
            assert_eq!(s.points.len(), n, "{dir} {sf} {d}");
            // the plot shows delays corrected by the offset: undo it to compare with raw clocks
            let corr = if d == "c2s" { off_ms } else { -off_ms };
            let raw: Vec<f64> = s.points.iter().map(|p| p.1 + corr).collect();
            let (lo, hi) = raw.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            assert!((lo - min_us / 1e3).abs() < 0.002, "{dir} {sf} {d}: min {lo} ms vs {min_us} µs");
            assert!((hi - max_us / 1e3).abs() < 0.002, "{dir} {sf} {d}: max {hi} ms vs {max_us} µs");
            assert!(s.points.iter().all(|p| p.0 >= 0.0 && p.0 < 10.0), "{dir}: times since the sender capture's start");
        }
    }
}

#[test]
fn the_owd_plot_draws_every_matched_segment() {
    let r = report("pair");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("owd.svg");
    mptcp_plots::owd::render_file(&r, "client-any.pcap / server-any.pcap", 1000, 700, &Default::default(), &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("valid SVG");
    let circles = doc.descendants().filter(|n| n.has_tag_name("circle")).count();
    // one marker per matched segment (fewer than 4 × width per series: none thinned) + one legend
    // marker per subflow (one legend for both directions)
    let subflows: std::collections::BTreeSet<&str> = r.owd_series.iter().map(|s| s.subflow.as_str()).collect();
    assert_eq!(subflows.len(), 2);
    assert_eq!(circles as u64, r.matched + 2);
    assert!(svg.contains("One-way delay per subflow"));
}
