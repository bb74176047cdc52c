//! Several captures per run (issue 13): each analysed on its own, in parallel, reported in the
//! order given; a file that cannot be read is named and the others still run; the exit status is
//! the worst. Truth: the same command run on each file alone.
use std::path::PathBuf;

mod kit;
use kit::{run, testdata};

const FILES: [&str; 4] = ["loss.pcap", "matrix/twenty-conns.pcap", "ipv6.pcap", "matrix/sequential.pcap"];

#[test]
fn several_files_print_what_each_prints_alone_in_the_order_given() {
    let files: Vec<String> = FILES.iter().map(|f| testdata(f)).collect();
    // Outputs that name their file already are joined as they are; the others say which file
    // each part is from (tests/outputs.rs).
    for cmd in [&["analyze"][..], &["verify"]] {
        let mut alone = Vec::new();
        for f in &files {
            let out = run(&[cmd, &[f.as_str()]].concat());
            assert!(out.status.success(), "{cmd:?} {f}");
            alone.extend(out.stdout);
        }
        // --jobs past the files and cores is clamped (100,000 threads took minutes, or never
        // ended, before).
        for jobs in ["1", "2", "4", "100000"] {
            let args: Vec<&str> = [cmd, &["--jobs", jobs]].concat().into_iter().chain(files.iter().map(String::as_str)).collect();
            let out = run(&args);
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stdout == alone, "{cmd:?} --jobs {jobs}: not the files' own outputs in order");
        }
    }
}

#[test]
fn a_bad_file_is_named_and_the_others_still_run() {
    let (a, b) = (testdata("loss.pcap"), testdata("ipv6.pcap"));
    let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md").display().to_string();
    let out = run(&["analyze", &a, &readme, "/nonexistent.pcap", &b]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with(&format!("{a}: ")) && stdout.contains(&format!("\n{b}: ")), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&format!("{readme}: not a pcap or pcapng capture")), "{stderr}");
    assert!(stderr.contains("/nonexistent.pcap: "), "{stderr}");
}

#[test]
fn the_exit_status_is_the_worst_of_the_files() {
    // fallback.pcap has one subflow, two-subflows.pcap two: `subflows>=2` fails on the first only.
    let (one, two) = (testdata("fallback.pcap"), testdata("two-subflows.pcap"));
    assert_eq!(run(&["verify", "--expect", "subflows>=2", &two]).status.code(), Some(0));
    assert_eq!(run(&["verify", "--expect", "subflows>=2", &one]).status.code(), Some(1));
    assert_eq!(run(&["verify", "--expect", "subflows>=2", &two, &one]).status.code(), Some(1));
    assert_eq!(run(&["verify", "--expect", "subflows>=2", &two, &one, "/nonexistent.pcap"]).status.code(), Some(2));
}
