//! The capture-level options end to end, each checked against a truth we did not compute:
//! `-f` (BPF) against tcpdump reading the same capture with the same filter, `-c` against
//! tcpdump -c, `-t` against tshark's own time column, `--connection`/`--token`/`--subflow`
//! against tshark's `mptcp.stream`/`tcp.stream`, and compressed captures (made by the gzip,
//! zstd, xz and lz4 tools, committed in testdata/compressed) against the uncompressed bytes.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod kit;
use kit::{bin, scratch_dir, testdata_dir};

fn run(args: &[&str], file: &Path) -> Output {
    bin().args(args).arg(file).output().expect("run mptcp-trace")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf8")
}

fn scratch(name: &str) -> PathBuf {
    scratch_dir("capture-options").join(name)
}

/// Captures of each link type and format we ship: Linux cooked v2 pcap (µs), Ethernet pcap,
/// Ethernet pcapng (ns).
const CAPTURES: [&str; 3] = ["two-subflows.pcap", "ethernet-one-path.pcap", "dumpcap.pcapng"];

/// `dissect --all -t e` lines without the frame number: what must not change when packets are
/// renumbered by a filter applied elsewhere.
/// The epoch time is written with nine digits, as a nanosecond copy (tcpdump's `-w` with
/// `--time-stamp-precision=nano`) of a microsecond capture shows it.
fn lines_without_frame(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let rest = l.trim_start().split_once(' ').map_or("", |(_, rest)| rest);
            let (time, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
            format!("{secs}.{frac:0<9} {rest}")
        })
        .collect()
}

#[test]
fn bpf_filter_keeps_what_tcpdump_keeps() {
    let filters = ["tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "tcp dst portrange 1-10000", "ip6 or (ip and tcp src portrange 30000-65535)"];
    for cap in CAPTURES {
        let path = testdata_dir().join(cap);
        for f in filters {
            // tcpdump writes the packets the filter keeps; our run on that file is the truth.
            let filtered = scratch(&format!("{cap}.filtered.pcap"));
            let td = Command::new("tcpdump")
                .args(["-n", "--time-stamp-precision=nano", "-r"])
                .arg(&path)
                .arg("-w")
                .arg(&filtered)
                .arg(f)
                .output()
                .expect("tcpdump");
            assert!(td.status.success(), "tcpdump {cap} {f}: {}", String::from_utf8_lossy(&td.stderr));
            let count = Command::new("tcpdump").args(["-n", "-r"]).arg(&filtered).stdout(Stdio::piped()).output().expect("tcpdump");
            let want_packets = stdout(&count).lines().count() as u64;

            let ours = run(&["analyze", "--format", "json", "-f", f], &path);
            assert!(ours.status.success(), "{cap} {f}: {}", String::from_utf8_lossy(&ours.stderr));
            let v: serde_json::Value = serde_json::from_str(&stdout(&ours)).expect("json");
            assert_eq!(v["stats"]["packets"].as_u64(), Some(want_packets), "{cap} {f}: packets read after the filter");

            let with_filter = run(&["dissect", "--all", "-t", "e", "-f", f], &path);
            let on_tcpdump_output = run(&["dissect", "--all", "-t", "e"], &filtered);
            assert!(with_filter.status.success() && on_tcpdump_output.status.success());
            let (a, b) = (lines_without_frame(&stdout(&with_filter)), lines_without_frame(&stdout(&on_tcpdump_output)));
            assert!(!b.is_empty() || want_packets == 0, "{cap} {f}: the filter keeps something");
            assert_eq!(a, b, "{cap} {f}: the same packets as tcpdump's");
        }
    }
}

#[test]
fn bpf_filter_keeps_frame_numbers_of_the_file() {
    // Frames of SYNs, as tshark numbers them in the unfiltered file.
    let path = testdata_dir().join("two-subflows.pcap");
    let ts = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark");
    let want: Vec<u64> = stdout(&ts).lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert!(!want.is_empty());
    let ours = run(&["dissect", "--all", "-f", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"], &path);
    let got: Vec<u64> = stdout(&ours).lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert_eq!(got, want);
}

#[test]
fn bad_filter_is_a_usage_error() {
    let out = run(&["analyze", "-f", "host and port"], &testdata_dir().join("two-subflows.pcap"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-f") && err.contains("host and port") && err.contains("syntax error"), "{err}");
    // Valid syntax that means nothing on this link type (Linux cooked capture has no Ethernet
    // header): an error naming the file, not a silent empty result.
    let out = run(&["analyze", "-f", "ether host 02:00:00:00:00:01"], &testdata_dir().join("two-subflows.pcap"));
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("two-subflows.pcap") && err.contains("link type 276"), "{err}");
}

#[test]
fn count_stops_after_n_packets_like_tcpdump() {
    for cap in CAPTURES {
        let path = testdata_dir().join(cap);
        for (n, f) in [(25u64, None), (7, Some("tcp dst portrange 1-10000"))] {
            let mut td = Command::new("tcpdump");
            td.args(["-n", "--time-stamp-precision=nano", "-c", &n.to_string(), "-r"]).arg(&path);
            let filtered = scratch(&format!("{cap}.count{n}.pcap"));
            td.arg("-w").arg(&filtered);
            if let Some(f) = f {
                td.arg(f);
            }
            assert!(td.output().expect("tcpdump").status.success());
            let mut args = vec!["dissect", "--all", "-t", "e"];
            let ns = n.to_string();
            args.extend(["-c", ns.as_str()]);
            if let Some(f) = f {
                args.extend(["-f", f]);
            }
            let ours = run(&args, &path);
            assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
            let truth = run(&["dissect", "--all", "-t", "e"], &filtered);
            assert_eq!(lines_without_frame(&stdout(&ours)), lines_without_frame(&stdout(&truth)), "{cap} -c {n} {f:?}");
            let json = run(&["analyze", "--format", "json", "-c", &ns], &path);
            let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
            assert_eq!(v["stats"]["packets"].as_u64(), Some(n), "{cap}");
        }
    }
    // -c 0 is refused (tcpdump refuses it too).
    assert_eq!(run(&["analyze", "-c", "0"], &testdata_dir().join("two-subflows.pcap")).status.code(), Some(2));
}

/// tshark's time column for every frame, in `-t format`.
fn tshark_times(path: &Path, format: &str, filter: &str, tz: &str) -> Vec<(u64, String)> {
    let out = Command::new("tshark")
        .env("TZ", tz)
        .args(["-r"])
        .arg(path)
        .args(["-t", format, "-Y", filter, "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Time"])
        .output()
        .expect("tshark");
    stdout(&out)
        .lines()
        .filter_map(|l| {
            let (f, t) = l.split_once('\t')?;
            Some((f.trim().parse().ok()?, t.trim().to_string()))
        })
        .collect()
}

#[test]
fn dissect_times_are_tsharks() {
    // A zone away from UTC, so that local and UTC differ (and by a non-whole hour).
    let tz = "Asia/Kolkata";
    for cap in ["two-subflows.pcap", "dumpcap.pcapng"] {
        let path = testdata_dir().join(cap);
        for format in ["a", "ad", "adoy", "u", "ud", "udoy", "r", "d", "dd", "e"] {
            // --all prints every TCP packet: tshark's display filter `tcp` shows the same ones
            // (dd counts from the previous one shown).
            let want = tshark_times(&path, format, "tcp", tz);
            assert!(want.len() > 50, "{cap}: tshark shows packets");
            let ours = bin().env("TZ", tz).args(["dissect", "--all", "-t", format]).arg(&path).output().expect("run");
            assert!(ours.status.success());
            let got: Vec<(u64, String)> = stdout(&ours)
                .lines()
                .filter_map(|l| {
                    let (frame, rest) = l.trim_start().split_once(' ')?;
                    // The date formats hold one space: the time is what precedes the address.
                    let words = if format.len() > 1 && format != "dd" { 2 } else { 1 };
                    let t: Vec<&str> = rest.splitn(words + 1, ' ').take(words).collect();
                    Some((frame.parse().ok()?, t.join(" ")))
                })
                .collect();
            assert_eq!(got, want, "{cap} -t {format}");
        }
    }
}

#[test]
fn events_times_match_the_packets_that_show_them() {
    // Each event's time in `-t ud` is its frame's time as tshark prints it.
    let path = testdata_dir().join("two-subflows.pcap");
    let want: std::collections::BTreeMap<u64, String> = tshark_times(&path, "ud", "frame", "UTC").into_iter().collect();
    let ours = run(&["events", "-t", "ud"], &path);
    let mut n = 0;
    for l in stdout(&ours).lines() {
        let frame: u64 = l.rsplit("frame=").next().and_then(|f| f.trim().parse().ok()).expect("frame");
        let t: Vec<&str> = l.splitn(3, ' ').take(2).collect();
        assert_eq!(Some(&t.join(" ")), want.get(&frame), "{l}");
        n += 1;
    }
    assert!(n >= 3);
    // Relative times count from the capture's first packet, as tshark's `r`.
    let want: std::collections::BTreeMap<u64, String> = tshark_times(&path, "r", "frame", "UTC").into_iter().collect();
    for l in stdout(&run(&["events"], &path)).lines() {
        let frame: u64 = l.rsplit("frame=").next().and_then(|f| f.trim().parse().ok()).expect("frame");
        assert_eq!(l.split(' ').next().map(str::to_string).as_ref(), want.get(&frame), "{l}");
    }
}

#[test]
fn json_keeps_every_digit_of_the_timestamp() {
    // dumpcap.pcapng records nanoseconds: tshark's frame.time_epoch has all nine digits.
    let path = testdata_dir().join("dumpcap.pcapng");
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch"])
        .output()
        .expect("tshark");
    let want: std::collections::BTreeMap<u64, String> = stdout(&out)
        .lines()
        .filter_map(|l| {
            let (f, t) = l.split_once('\t')?;
            Some((f.parse().ok()?, t.trim().trim_end_matches('0').trim_end_matches('.').to_string()))
        })
        .collect();
    let ours = run(&["dissect", "--format", "jsonl"], &path);
    let mut n = 0;
    for l in stdout(&ours).lines() {
        // The number as written in the JSON text, not as a double reads it.
        let frame: u64 = l.split("\"frame\":").nth(1).and_then(|r| r.split(',').next()).and_then(|f| f.parse().ok()).expect("frame");
        let ts = l.split("\"ts\":").nth(1).and_then(|r| r.split(',').next()).expect("ts");
        assert_eq!(Some(&ts.trim_end_matches('0').trim_end_matches('.').to_string()), want.get(&frame), "{l}");
        n += 1;
    }
    assert!(n > 10);
}

/// Frames tshark shows for a display filter.
fn tshark_frames(path: &Path, filter: &str) -> BTreeSet<u64> {
    let out =
        Command::new("tshark").args(["-r"]).arg(path).args(["-Y", filter, "-T", "fields", "-e", "frame.number"]).output().expect("tshark");
    stdout(&out).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn our_frames(args: &[&str], path: &Path) -> BTreeSet<u64> {
    let out = run(args, path);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out).lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

#[test]
fn connection_token_and_subflow_select_what_tshark_does() {
    for cap in ["multi-conn.pcap", "two-subflows.pcap", "matrix/twenty-conns.pcap"] {
        let path = testdata_dir().join(cap);
        let json = run(&["analyze", "--format", "json"], &path);
        let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
        let conns = v["connections"].as_array().expect("connections").len();
        assert!(conns >= 1);
        for id in 0..conns.min(4) {
            // Packets with MPTCP options on the TCP streams tshark puts in MPTCP stream `id`
            // (tshark leaves `mptcp.stream` off a v1 MP_CAPABLE SYN, which has no key yet, so
            // its subflows are asked for rather than the field on every packet).
            let streams = Command::new("tshark")
                .args(["-r"])
                .arg(&path)
                .args(["-Y", &format!("mptcp.stream == {id}"), "-T", "fields", "-e", "tcp.stream"])
                .output()
                .expect("tshark");
            let streams: BTreeSet<String> = stdout(&streams).lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
            let list = streams.into_iter().collect::<Vec<_>>().join(", ");
            let want = tshark_frames(&path, &format!("tcp.stream in {{{list}}} && tcp.options.mptcp.subtype"));
            assert!(!want.is_empty(), "{cap}: tshark stream {id}");
            assert_eq!(our_frames(&["dissect", "--connection", &id.to_string()], &path), want, "{cap} --connection {id}");
            // The token MP_JOIN SYNs of that stream carry (tshark's field), when there is one.
            let tokens = Command::new("tshark")
                .args(["-r"])
                .arg(&path)
                .args([
                    "-Y",
                    &format!("mptcp.stream == {id} && tcp.options.mptcp.recvtok"),
                    "-T",
                    "fields",
                    "-e",
                    "tcp.options.mptcp.recvtok",
                ])
                .output()
                .expect("tshark");
            let first = stdout(&tokens).lines().next().map(|t| t.trim().to_string());
            // tshark prints the token in decimal; analyze (and --token) take hex.
            if let Some(tok) = first.and_then(|t| t.parse::<u32>().ok()).map(|t| format!("{t:08x}")) {
                assert_eq!(our_frames(&["dissect", "--token", &tok], &path), want, "{cap} --token {tok}");
            }
        }
    }
    // Subflows: ours are numbered as tshark's tcp.stream when every flow of the capture is TCP.
    for cap in ["two-subflows.pcap", "multi-conn.pcap"] {
        let path = testdata_dir().join(cap);
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args(["-Y", "tcp", "-T", "fields", "-e", "tcp.stream"])
            .output()
            .expect("tshark");
        let streams: BTreeSet<u64> = stdout(&out).lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert!(streams.len() >= 2, "{cap}: {streams:?}");
        for sf in streams {
            let want = tshark_frames(&path, &format!("tcp.stream == {sf}"));
            assert_eq!(our_frames(&["dissect", "--all", "--subflow", &sf.to_string()], &path), want, "{cap} --subflow {sf}");
        }
    }
}

#[test]
fn selection_on_events_analyze_and_verify() {
    let path = testdata_dir().join("multi-conn.pcap");
    let all = stdout(&run(&["events", "--format", "jsonl"], &path));
    let one = stdout(&run(&["events", "--format", "jsonl", "--connection", "1"], &path));
    let want: Vec<&str> = all.lines().filter(|l| l.contains("\"connection\":1,")).collect();
    assert!(!want.is_empty());
    assert_eq!(one.lines().collect::<Vec<_>>(), want);
    let json = run(&["analyze", "--format", "json", "--connection", "1"], &path);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    let ids: Vec<u64> = v["connections"].as_array().expect("array").iter().filter_map(|c| c["id"].as_u64()).collect();
    assert_eq!(ids, vec![1]);
    let verify = run(&["verify", "--format", "json", "--connection", "0"], &path);
    let v: serde_json::Value = serde_json::from_str(&stdout(&verify)).expect("json");
    assert_eq!(v["connections"].as_array().map(Vec::len), Some(1), "{v}");
}

/// The same output, the file's name aside.
fn same_output(args: &[&str], plain: &Path, other: &Path) {
    let a = run(args, plain);
    let b = run(args, other);
    assert!(a.status.success() && b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let name = |p: &Path| p.display().to_string();
    assert_eq!(stdout(&a).replace(&name(plain), "FILE"), stdout(&b).replace(&name(other), "FILE"), "{args:?} {other:?}");
}

#[test]
fn compressed_captures_read_as_the_original() {
    let snaplen = testdata_dir().join("snaplen.pcap");
    // The first 50008 bytes of dumpcap.pcapng (its first 59 packets), compressed by the tools.
    let head = scratch("dumpcap-head.pcapng");
    let bytes = std::fs::read(testdata_dir().join("dumpcap.pcapng")).expect("read");
    std::fs::write(&head, bytes.get(..50008).expect("long enough")).expect("write");
    for (plain, stem) in [(&snaplen, "snaplen.pcap"), (&head, "dumpcap-head.pcapng")] {
        for ext in ["gz", "zst", "xz", "lz4"] {
            let compressed = testdata_dir().join("compressed").join(format!("{stem}.{ext}"));
            for args in [&["analyze", "--format", "json"][..], &["dissect", "--all", "--format", "jsonl"], &["events"]] {
                same_output(args, plain, &compressed);
            }
            // By magic, not by name.
            let renamed = scratch(&format!("{stem}-{ext}.pcap"));
            std::fs::copy(&compressed, &renamed).expect("copy");
            same_output(&["analyze", "--format", "json"], plain, &renamed);
            // And from standard input.
            let piped = bin().args(["dissect", "--all", "-"]).stdin(std::fs::File::open(&compressed).expect("open")).output().expect("run");
            assert_eq!(stdout(&piped), stdout(&run(&["dissect", "--all"], plain)), "stdin {ext}");
        }
    }
}

#[test]
fn damaged_compressed_captures_are_clear_errors() {
    for ext in ["gz", "zst", "xz", "lz4"] {
        let good = std::fs::read(testdata_dir().join("compressed").join(format!("snaplen.pcap.{ext}"))).expect("read");
        let name = match ext {
            "gz" => "gzip",
            "zst" => "zstd",
            other => other,
        };
        // Cut short, and a byte flipped in the middle.
        let mut flipped = good.clone();
        if let Some(b) = flipped.get_mut(good.len() / 2) {
            *b ^= 0x55;
        }
        for (what, bytes) in [("cut", good.get(..good.len() / 2).expect("half").to_vec()), ("flipped", flipped)] {
            let path = scratch(&format!("damaged-{what}.pcap.{ext}"));
            std::fs::write(&path, &bytes).expect("write");
            for cmd in ["analyze", "dissect"] {
                let out = run(&[cmd], &path);
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{what} {ext} {cmd}: {err}");
                assert!(err.contains(&path.display().to_string()) && err.contains(name), "{what} {ext}: {err}");
                assert!(!err.contains("panicked"), "{err}");
            }
        }
    }
}

#[test]
fn stream_takes_the_connection_by_token_or_subflow() {
    let path = testdata_dir().join("multi-conn.pcap");
    // The token tshark reads in the MP_JOIN SYNs of its MPTCP stream 1 (decimal there).
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-Y", "mptcp.stream == 1 && tcp.options.mptcp.recvtok", "-T", "fields", "-e", "tcp.options.mptcp.recvtok"])
        .output()
        .expect("tshark");
    let token: u32 = stdout(&out).lines().next().and_then(|t| t.trim().parse().ok()).expect("a join token");
    let by_id = bin().args(["stream", "--connection", "1", "-d", "c2s", "-o", "-"]).arg(&path).output().expect("run");
    let by_token = bin().args(["stream", "--token", &format!("{token:08x}"), "-d", "c2s", "-o", "-"]).arg(&path).output().expect("run");
    assert!(by_id.status.success() && by_token.status.success(), "{}", String::from_utf8_lossy(&by_token.stderr));
    assert!(by_id.stdout.len() > 100_000);
    assert_eq!(by_id.stdout, by_token.stdout);
    // The old `-c ID` is the packet count now: a note says so, and no connection was chosen.
    let old = bin().args(["stream", "-c", "1", "-d", "c2s", "-o", "-"]).arg(&path).output().expect("run");
    assert_eq!(old.status.code(), Some(2));
    let err = String::from_utf8_lossy(&old.stderr);
    assert!(err.contains("-c is the packet count") && err.contains("--connection"), "{err}");
}

/// libpcap is loaded at run time for `-f` only (issue 23): without it, `-f` is a usage error
/// naming the Debian package, and a run without `-f` works as usual.
#[test]
fn filter_without_libpcap_names_the_package_and_exits_2() {
    let cap = testdata_dir().join("two-subflows.pcap");
    let missing = scratch("no-such-libpcap.so");
    let o = bin().env("MPTCP_TRACE_LIBPCAP", &missing).args(["analyze", "-f", "tcp"]).arg(&cap).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "nothing is analysed: {}", stdout(&o));
    assert!(err.contains("-f needs libpcap"), "{err}");
    assert!(err.contains("apt-get install libpcap0.8"), "{err}");
    assert!(err.contains(&*missing.to_string_lossy()), "names the file tried: {err}");
    assert_eq!(err.lines().count(), 1, "one message: {err}");
    // Every command without -f runs, libpcap or not.
    for args in [&["analyze"][..], &["dissect", "-c", "5"], &["verify"]] {
        let o = bin().env("MPTCP_TRACE_LIBPCAP", &missing).args(args).arg(&cap).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!o.stdout.is_empty(), "{args:?}");
    }
}

/// The binary needs no system library beyond libc (issue 23): `ldd`, the dynamic linker's own
/// account, lists no libpcap.
#[test]
fn the_binary_does_not_link_libpcap() {
    let o = Command::new("ldd").arg(env!("CARGO_BIN_EXE_mptcp-trace")).output().expect("ldd (libc-bin) runs");
    let libs = stdout(&o);
    assert!(o.status.success(), "{libs}");
    assert!(libs.contains("libc.so"), "ldd listed the libraries: {libs}");
    assert!(!libs.contains("libpcap"), "{libs}");
}
