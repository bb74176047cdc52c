//! `mptcp-trace report`: one self-contained HTML page, checked in a real headless browser
//! (Debian's `chromium`, installed by .ci/run). The page loads without a console message (a
//! control page with a `console.error` shows the detector sees them), fetches nothing, and its
//! plots are drawn: inline SVGs whose data lines have many points, and plot-coloured pixels in a
//! screenshot. Its numbers are those of the other commands and of the applications' truth
//! (testdata/manifest.json).
use std::path::{Path, PathBuf};
use std::process::Command;

mod kit;
use kit::{bin, scratch_dir, testdata_dir};

fn scratch(name: &str) -> PathBuf {
    scratch_dir(&format!("report-{name}"))
}

fn report(capture: &str, out: &Path) -> std::process::Output {
    bin().args(["report", testdata_dir().join(capture).to_str().unwrap(), "-o", out.to_str().unwrap()]).output().expect("run mptcp-trace")
}

/// Runs headless Chromium on `page` with `args`; (stdout, stderr).
fn chromium(page: &Path, dir: &Path, args: &[&str]) -> (String, String) {
    let profile = dir.join("profile");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is needed for this test (.ci/run installs it: apt-get install chromium)");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Console messages and failed loads Chromium logged for the page.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Failed to load resource") || l.contains("net::ERR_")).collect()
}

#[test]
fn the_detector_sees_console_errors() {
    let dir = scratch("control");
    let page = dir.join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('boom')</script><img src=\"missing.png\"></body></html>",
    )
    .unwrap();
    let (_, err) = chromium(&page, &dir, &["--dump-dom"]);
    assert!(!console_lines(&err).is_empty(), "a console.error and a missing image are seen:\n{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_report_loads_in_a_browser_with_its_plots_drawn() {
    let dir = scratch("two-subflows");
    let page = dir.join("report.html");
    let out = report("two-subflows.pcap", &page);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained: no script, no style sheet, image, font or frame from elsewhere; the only
    // URL is the SVG namespace.
    for banned in ["<script", "<link", "<iframe", "<img", "@import", "url(", "src="] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let urls: Vec<&str> = html.match_indices("http").map(|(i, _)| &html[i..(i + 26).min(html.len())]).collect();
    assert!(urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg")), "{urls:?}");
    assert!(html.matches("href=\"").count() == html.matches("href=\"#").count(), "links stay in the page");

    // Loaded in Chromium: nothing on the console, the DOM has the sections and the plots.
    let (dom, err) = chromium(&page, &dir, &["--dump-dom"]);
    assert!(console_lines(&err).is_empty(), "console: {:?}", console_lines(&err));
    // The DOM Chromium serialises is HTML (not XML): checked as text.
    let figures = dom.matches("<figure class=\"plot\"").count();
    assert_eq!(figures, 6, "throughput, sequence and head-of-line delay, both directions");
    for id in ["summary", "connections", "verify", "events", "plots"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    assert_eq!(dom.matches("data-kind=\"hol\"").count(), 2, "the head-of-line plots, both directions");
    // Each plot draws data: elements in a series colour (step lines of the throughput, segment
    // lines and dots of the sequence plot) with many points in all.
    let mut drawn = 0;
    for fig in dom.split("<figure class=\"plot\"").skip(1) {
        let fig = fig.split("</figure>").next().unwrap();
        let mut points = 0;
        for el in fig.split('<').skip(1) {
            let el = el.split('>').next().unwrap_or("");
            if !["#1F77B4", "#FF7F0E"].iter().any(|c| el.contains(&format!("stroke=\"{c}\"")) || el.contains(&format!("fill=\"{c}\""))) {
                continue;
            }
            points += match el.split("points=\"").nth(1) {
                Some(p) => p.split('"').next().unwrap_or("").split_whitespace().count(),
                None => usize::from(el.starts_with("circle")),
            };
        }
        // a head-of-line line is a CDF of a few dozen points per subflow
        let least = if fig.trim_start().starts_with("data-kind=\"hol\"") { 20 } else { 100 };
        assert!(points >= least, "a plot draws {points} data points");
        drawn += 1;
    }
    assert_eq!(drawn, 6);

    // What it says: the applications' bytes (manifest), verify's counts, every event.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata_dir().join("manifest.json")).unwrap()).unwrap();
    let entry = manifest.as_array().unwrap().iter().find(|e| e["file"] == "two-subflows.pcap").unwrap();
    for k in ["c2s_bytes", "s2c_bytes"] {
        assert!(dom.contains(&format!("<td class=\"num\">{}</td>", entry[k])), "{k} {} in the connections table", entry[k]);
    }
    let verify = bin().args(["verify", "--format", "json", testdata_dir().join("two-subflows.pcap").to_str().unwrap()]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert!(dom.contains(&format!("{} passed, {} failed, {} skipped", v["passed"], v["failed"], v["skipped"])));
    let events = bin().args(["events", "--format", "jsonl", testdata_dir().join("two-subflows.pcap").to_str().unwrap()]).output().unwrap();
    let n_events = String::from_utf8(events.stdout).unwrap().lines().count();
    let table = dom.split("<table class=\"events\">").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(table.matches("<tr>").count(), n_events + 1, "one row per event, and the header");

    // A screenshot: the plots' colours are on screen (drawn and visible, not only in the DOM).
    let shot = dir.join("shot.png");
    chromium(&page, &dir, &["--window-size=1280,5200", &format!("--screenshot={}", shot.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) < 24);
    let (mut blue, mut orange) = (0, 0);
    for p in buf[..info.buffer_size()].chunks(channels) {
        blue += usize::from(near(&p[..3], [31, 119, 180]));
        orange += usize::from(near(&p[..3], [255, 127, 14]));
    }
    assert!(blue > 2000 && orange > 2000, "plot colours on screen: {blue} blue, {orange} orange pixels");
    // Kept for a person to look at (the test prints where).
    let keep = std::env::temp_dir().join("mptcp-trace-report-screenshot.png");
    let _ = std::fs::copy(&shot, &keep);
    eprintln!("screenshot: {}", keep.display());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capture_without_mptcp_still_makes_a_page_that_says_so() {
    let dir = scratch("plain");
    let page = dir.join("report.html");
    let out = report("plain/plain-tcp.pcap", &page);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (dom, err) = chromium(&page, &dir, &["--dump-dom"]);
    assert!(console_lines(&err).is_empty(), "{err}");
    assert!(dom.contains("No MPTCP connection in this capture"));
    assert!(dom.contains("3 connection(s), 0 flow(s) without their SYN"), "the truth file's 3 plain TCP connections");
    assert!(dom.contains("capture.mptcp"), "verify's capture check");
    assert_eq!(dom.matches("<figure class=\"plot\"").count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
