//! The global flags reach every command: `report` and `plot` see a capture as `analyze` does
//! under the same flags. Each case runs the three commands without and with one flag, checks
//! that the flag changes `analyze`'s view (so the case can fail), and that the page and the plot
//! change with it and say what `analyze` says.
mod kit;

use kit::{run, scratch_dir, testdata, text};
use serde_json::Value;

/// `analyze --format json FLAGS FILE`.
fn analyze(flags: &[&str], file: &str) -> Value {
    let out = run(&[&["analyze", "--format", "json"], flags, &[file]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("analyze json")
}

/// A scratch file for an output named `name`.
fn scratch(name: &str) -> String {
    scratch_dir("global-flags").join(name).display().to_string()
}

/// `report FLAGS FILE -o OUT`: the page.
fn report(flags: &[&str], file: &str, name: &str) -> String {
    let out = scratch(name);
    let o = run(&[&["report"], flags, &[file, "-o", &out]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read_to_string(&out).expect("report written")
}

/// `plot -k subflows FLAGS FILE -o OUT.svg`: the SVG.
fn plot_subflows(flags: &[&str], file: &str, name: &str) -> String {
    let out = scratch(name);
    let o = run(&[&["plot", "-k", "subflows"], flags, &[file, "-o", &out]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read_to_string(&out).expect("plot written")
}

#[test]
fn idle_timeout_times_out_the_stalled_connection_in_report_and_plot_as_in_analyze() {
    // mpfail-single.pcap: after the MP_FAIL exchange the connection stalls; the capture ends
    // about 1.5 s later with it still open. A 1 s idle timeout fires before the end.
    let pcap = testdata("shapes/mpfail-single.pcap");
    let mut pages = Vec::new();
    let mut plots = Vec::new();
    for (k, flags) in [&[][..], &["--idle-timeout", "1s"][..]].into_iter().enumerate() {
        let a = analyze(flags, &pcap);
        let state = a["connections"][0]["state"].as_str().expect("state").to_string();
        assert_eq!(state, if k == 0 { "established" } else { "timed_out" }, "{flags:?}");
        let timed_out = state == "timed_out";
        // The page's connection row has analyze's state, and the subflow ends as analyze says.
        let page = report(flags, &pcap, &format!("idle-{k}.html"));
        assert_eq!(page.contains("<td>timed out</td>"), timed_out, "{flags:?}");
        assert_eq!(page.contains("<td>established</td>"), !timed_out, "{flags:?}");
        assert_eq!(page.contains("<td>timed_out (frame "), timed_out, "{flags:?}");
        // The subflow timeline marks the end analyze reports.
        let svg = plot_subflows(flags, &pcap, &format!("idle-{k}.svg"));
        assert_eq!(svg.contains("TIMED_OUT"), timed_out, "{flags:?}");
        pages.push(page);
        plots.push(svg);
    }
    assert_ne!(pages[0], pages[1], "--idle-timeout changes the report");
    assert_ne!(plots[0], plots[1], "--idle-timeout changes the plot");
}

#[test]
fn a_filter_that_drops_a_subflow_drops_it_from_report_and_plot_as_from_analyze() {
    // two-subflows.pcap: the join subflow comes from 198.51.100.1; without its packets the
    // connection has its initial subflow only.
    let pcap = testdata("two-subflows.pcap");
    let mut pages = Vec::new();
    for (k, flags) in [&[][..], &["-f", "not host 198.51.100.1"][..]].into_iter().enumerate() {
        let a = analyze(flags, &pcap);
        let subflows = a["connections"][0]["subflows"].as_array().expect("subflows").len();
        assert_eq!(subflows, 2 - k, "{flags:?}");
        let page = report(flags, &pcap, &format!("filter-{k}.html"));
        assert!(page.contains(&format!("<tr><th>subflows</th><td>{subflows}</td></tr>")), "{flags:?}");
        let svg = plot_subflows(flags, &pcap, &format!("filter-{k}.svg"));
        assert!(svg.contains("#0 192.0.2.1:45486"), "{flags:?}");
        assert_eq!(svg.contains("#1 198.51.100.1:44329"), subflows == 2, "{flags:?}");
        pages.push(page);
    }
    assert_ne!(pages[0], pages[1], "-f changes the report");
}
