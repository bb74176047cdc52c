//! `-w OUT.pcap` on `analyze` and `dissect` (issue 26): the packets of the selected connections,
//! checked with tshark (which opens the file, and groups subflows into MPTCP connections by
//! itself: `mptcp.stream`) and the kernel's truth of the matrix and shapes captures.
mod kit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kit::{run, scratch_dir, testdata_dir, text, tshark};

/// tshark's `fields` of every packet of `pcap` (display filter `filter`, with MPTCP analysis on,
/// two passes so `mptcp.stream` is set on every subflow's packets), one line each.
fn fields(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["-2", "-o", "mptcp.analyze_mptcp:TRUE", "-r", pcap.to_str().unwrap(), "-T", "fields"].iter().map(|s| s.to_string()).collect();
    if !filter.is_empty() {
        args.extend(["-Y".to_string(), filter.to_string()]);
    }
    for f in fields {
        args.extend(["-e".to_string(), f.to_string()]);
    }
    let out = tshark(&args);
    assert!(out.status.success(), "tshark {args:?}: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// Every packet of tshark's MPTCP stream `stream`: of each TCP stream (subflow) tshark puts in
/// it (a subflow's packets without MPTCP options, e.g. after MP_FAIL, included).
fn connection_packets(pcap: &Path, stream: &str) -> Vec<String> {
    let subflows: BTreeSet<String> = fields(pcap, &format!("mptcp.stream == {stream}"), &["tcp.stream"]).into_iter().collect();
    assert!(!subflows.is_empty(), "tshark: no MPTCP stream {stream} in {}", pcap.display());
    let list = subflows.into_iter().collect::<Vec<_>>().join(", ");
    fields(pcap, &format!("tcp.stream in {{{list}}}"), PACKET)
}

/// The same packets in the same order (on a difference: the counts and the first one apart).
fn same(got: &[String], want: &[String], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: {} packets written, {} expected; first difference at {at}: {:?} vs {:?}",
            got.len(),
            want.len(),
            got.get(at),
            want.get(at)
        );
    }
}

/// What identifies a packet in both files: time, addresses, ports, sequence, ack, length.
const PACKET: &[&str] =
    &["frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "frame.cap_len"];

fn truth(base: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(base.with_extension("truth.json")).unwrap()).unwrap()
}

fn write(args: &[&str]) -> std::process::Output {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

#[test]
fn without_a_selection_every_packet_of_every_mptcp_connection_is_written() {
    let dir = scratch_dir("write-all");
    let input = testdata_dir().join("two-subflows.pcap");
    let out = dir.join("all.pcap");
    write(&["analyze", "-w", out.to_str().unwrap(), input.to_str().unwrap()]);
    // The capture's TCP packets are its one connection's (tshark: all in MPTCP stream 0).
    let want = connection_packets(&input, "0");
    same(&fields(&input, "tcp", PACKET), &want, "the capture holds one MPTCP connection");
    same(&fields(&out, "", PACKET), &want, "two-subflows");
    // dissect -w writes the same file.
    let d = dir.join("dissect.pcap");
    write(&["dissect", "-w", d.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(std::fs::read(&d).unwrap(), std::fs::read(&out).unwrap());
}

#[test]
fn a_token_selects_its_connection_with_every_subflow_as_tshark_groups_them() {
    let base = testdata_dir().join("matrix").join("twenty-conns");
    let input = base.with_extension("pcap");
    let dir = scratch_dir("write-token");
    let t = truth(&base);
    let conns = t["conns"].as_array().unwrap();
    assert_eq!(conns.len(), 20);
    for c in [&conns[0], &conns[7], &conns[19]] {
        let token = c["client_mptcp_info"]["start"]["token"].as_str().unwrap();
        let port = c["client"].as_str().unwrap().rsplit(':').next().unwrap();
        // tshark's MPTCP stream of the client's first subflow, and every packet in it.
        let streams = fields(&input, &format!("tcp.srcport == {port} && tcp.flags.syn == 1 && tcp.flags.ack == 0"), &["mptcp.stream"]);
        let stream = streams.first().unwrap_or_else(|| panic!("no SYN from port {port}"));
        let want = connection_packets(&input, stream);
        let subflows: BTreeSet<String> = fields(&input, &format!("mptcp.stream == {stream}"), &["tcp.stream"]).into_iter().collect();
        assert_eq!(subflows.len(), 2, "tshark: the first subflow and the join");
        let out = dir.join(format!("{token}.pcap"));
        write(&["analyze", "--format", "tsv", "--token", token, "-w", out.to_str().unwrap(), input.to_str().unwrap()]);
        same(&fields(&out, "", PACKET), &want, &format!("token {token}: the packets of tshark's MPTCP stream {stream}"));
        assert!(!want.is_empty());
    }
}

#[test]
fn failed_writes_the_connections_whose_checksum_the_kernel_found_wrong() {
    let dir = scratch_dir("write-failed");
    for (name, csum_errors) in
        [("shapes/mpfail-multi", true), ("shapes/mpfail-single", true), ("matrix/sequential", false), ("matrix/loss-both", false)]
    {
        let base = testdata_dir().join(name);
        let nstat: u64 = ["client", "server"]
            .iter()
            .filter_map(|s| std::fs::read_to_string(format!("{}.nstat-{s}.txt", base.display())).ok())
            .flat_map(|t| {
                t.lines()
                    .filter(|l| l.starts_with("MPTcpExtDataCsumErr "))
                    .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .sum();
        assert_eq!(nstat > 0, csum_errors, "{name}: the kernel's MPTcpExtDataCsumErr");
        let input = base.with_extension("pcap");
        let out = dir.join(format!("{}.pcap", name.replace('/', "-")));
        write(&["analyze", "--failed", "-w", out.to_str().unwrap(), input.to_str().unwrap()]);
        let got = fields(&out, "", PACKET);
        if csum_errors {
            // One connection in the capture: all its packets (tshark's MPTCP stream 0).
            same(&got, &connection_packets(&input, "0"), name);
        } else {
            assert!(got.is_empty(), "{name}: no connection failed, yet {} packets written", got.len());
        }
    }
}

#[test]
fn the_output_never_replaces_an_input_and_is_not_left_half_written() {
    let dir = scratch_dir("write-safe");
    let input = dir.join("in.pcap");
    std::fs::copy(testdata_dir().join("two-subflows.pcap"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = run(&["analyze", "-w", input.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("refusing to overwrite"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&input).unwrap(), before, "the input is untouched");
    // A capture that cannot be read: exit 2, no output file, nothing left beside it.
    let bad = kit::scratch_file("write-safe", "bad.pcap", b"not a capture at all");
    let target = dir.join("never.pcap");
    let out = run(&["analyze", "-w", target.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
    let left: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().contains(".mptcp-trace-")).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    // Several files into one -w, and --failed on standard input: refused before reading.
    let two = testdata_dir().join("two-subflows.pcap");
    let out = run(&["analyze", "-w", target.to_str().unwrap(), two.to_str().unwrap(), two.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
}
