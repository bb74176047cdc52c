//! Words and numbers that users compare with tcpdump and Wireshark: `dissect`'s TCP sequence and
//! acknowledgement numbers (relative as tcpdump prints them, absolute with `-S` as `tcpdump -S`),
//! MP_TCPRST reasons in words (Wireshark's names), and ADD_ADDR echoes in `analyze`'s text
//! (tshark's `mptcp.echo` flag tells announcements from echoes). Truths: tcpdump's and tshark's
//! own output on the same captures.
use std::collections::BTreeMap;

mod kit;
use kit::{run, tcpdump, testdata, text, tshark};

/// Frame number → `Flags [..], seq .., ack .., win N` of each TCP line (the frame number leads
/// the line in both tools' output: tcpdump's `-#` and dissect's first column).
fn tcp_parts(out: &str) -> BTreeMap<u64, String> {
    out.lines()
        .filter_map(|l| {
            let frame = l.split_whitespace().next()?.parse().ok()?;
            let from = l.find("Flags [")?;
            let win = from + l[from..].find(", win ")?;
            let end = win + 6 + l[win + 6..].find(|c: char| !c.is_ascii_digit())?;
            Some((frame, l[from..end].to_string()))
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "two-subflows.pcap",
    "ipv6.pcap",
    "dumpcap.pcapng",
    "fastclose.pcap",
    "multi-conn.pcap",
    "loss.pcap",
    "shapes/tfo.pcap",
    "shapes/router-any.pcap",
];

#[test]
fn sequence_numbers_equal_tcpdumps_relative_and_absolute() {
    for cap in CAPTURES {
        let path = testdata(cap);
        for absolute in [false, true] {
            let mut td = vec!["-n", "-#", "-r", &path];
            let mut ours = vec!["dissect", "--all", &path];
            if absolute {
                td.insert(0, "-S");
                ours.push("-S");
            }
            let want = tcpdump(&td);
            assert!(want.status.success(), "{}", text(&want.stderr));
            let want = tcp_parts(&text(&want.stdout));
            let got = run(&ours);
            assert!(got.status.success(), "{}", text(&got.stderr));
            let got = tcp_parts(&text(&got.stdout));
            assert!(want.len() > 20, "{cap}: tcpdump printed {} TCP lines", want.len());
            assert_eq!(got.len(), want.len(), "{cap} -S {absolute}: as many TCP lines");
            let mut relative_seen = false;
            for (frame, w) in &want {
                assert_eq!(got.get(frame), Some(w), "{cap} -S {absolute}: frame {frame}");
                relative_seen |= w.contains("ack 1,");
            }
            assert_eq!(relative_seen, !absolute, "{cap}: relative numbers only without -S");
        }
    }
}

/// Frame number → Wireshark's words for each MP_TCPRST reason (`TCPRST Reason: Middlebox
/// interference (0x06)` in `tshark -V`).
fn tshark_reasons(path: &str) -> BTreeMap<u64, String> {
    let out = tshark(&["-r", path, "-Y", "tcp.options.mptcp.rst_reason", "-V"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut frame = 0;
    let mut reasons = BTreeMap::new();
    for line in text(&out.stdout).lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            frame = rest.split(':').next().and_then(|n| n.trim().parse().ok()).unwrap_or(0);
        } else if let Some(rest) = line.trim().strip_prefix("TCPRST Reason: ") {
            let words = rest.rsplit_once(" (0x").map_or(rest, |(w, _)| w);
            reasons.insert(frame, words.to_lowercase());
        }
    }
    reasons
}

#[test]
fn mp_tcprst_reasons_are_wiresharks_words() {
    let mut codes = std::collections::BTreeSet::new();
    let mut ended_by_reset = 0;
    for cap in ["fastclose.pcap", "remove-addr.pcap", "shapes/mpfail-multi.pcap", "receiver/loss.pcap", "matrix/upload-only.pcap"] {
        let path = testdata(cap);
        let want = tshark_reasons(&path);
        assert!(!want.is_empty(), "{cap}: tshark shows an MP_TCPRST");
        let out = run(&["dissect", &path]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = text(&out.stdout);
        for (frame, words) in &want {
            let line = out.lines().find(|l| l.split_whitespace().next() == Some(&frame.to_string())).expect("frame printed");
            let (_, reason) = line.split_once("tcprst flags ").and_then(|(_, r)| r.split_once(" reason ")).expect("reason");
            let (code, ours) = reason.split_once(" (").expect("words after the code");
            codes.insert(code.to_string());
            assert_eq!(ours.split(')').next().map(str::to_lowercase).as_deref(), Some(words.as_str()), "{cap} frame {frame}: {line}");
        }
        // analyze names a subflow that ended with an MP_TCPRST with the same words (a subflow
        // that had already ended with its FINs ends with those).
        let a = text(&run(&["analyze", &path]).stdout).to_lowercase();
        for (_, rest) in a.match_indices("mp_tcprst (").map(|(i, _)| a.split_at(i + 11)) {
            let words = rest.split(')').next().unwrap_or_default();
            assert!(want.values().any(|w| w == words), "{cap}: analyze says {words}, tshark {want:?}");
            ended_by_reset += 1;
        }
    }
    assert!(codes.len() >= 2, "more than one reason code seen: {codes:?}");
    assert!(ended_by_reset >= 2, "analyze named MP_TCPRST endings {ended_by_reset} times");
}

/// tshark's ADD_ADDRs of a capture: (echo flag, address id, address).
fn tshark_add_addrs(path: &str) -> Vec<(bool, u8, String)> {
    let out = tshark(&[
        "-r",
        path,
        "-Y",
        "tcp.options.mptcp.ipv4",
        "-T",
        "fields",
        "-e",
        "tcp.options.mptcp.echo",
        "-e",
        "tcp.options.mptcp.addrid",
        "-e",
        "tcp.options.mptcp.ipv4",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (matches!(f[0], "1" | "True"), f[1].parse().expect("id"), f[2].to_string())
        })
        .collect()
}

#[test]
fn an_add_addr_echo_is_not_listed_as_an_announcement() {
    for cap in ["signal.pcap", "remove-addr.pcap"] {
        let path = testdata(cap);
        let adds = tshark_add_addrs(&path);
        let echoes = adds.iter().filter(|a| a.0).count();
        assert!(echoes > 0 && echoes < adds.len(), "{cap}: announcements and echoes: {adds:?}");
        let out = text(&run(&["analyze", &path]).stdout);
        let line = out.lines().find(|l| l.trim_start().starts_with("announced:")).expect("announced line");
        let listed: Vec<&str> = line.split_whitespace().skip(1).filter(|w| w.contains('#')).collect();
        let mut announced: Vec<String> = adds.iter().filter(|a| !a.0).map(|a| format!("#{}={}", a.1, a.2)).collect();
        announced.dedup();
        assert_eq!(listed.len(), announced.len(), "{cap}: {line} vs tshark {adds:?}");
        for a in &announced {
            assert!(listed.iter().any(|l| l.ends_with(a.as_str())), "{cap}: {a} in {line}");
        }
        assert_eq!(line.matches("(echoed)").count(), announced.len(), "{cap}: every announcement was echoed: {line}");
    }
}

/// The `Flags [..]` of each line, in order.
fn flags(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.split_once("Flags [").and_then(|(_, r)| r.split_once(']')).map(|(f, _)| f.to_string())).collect()
}

#[test]
fn dissect_flags_are_written_as_tcpdump_writes_them() {
    let mut seen = std::collections::BTreeSet::new();
    for cap in ["two-subflows.pcap", "ethernet-one-path.pcap", "dumpcap.pcapng", "fastclose.pcap"] {
        let path = testdata(cap);
        let td = tcpdump(&["-n", "-r", &path, "tcp"]);
        assert!(td.status.success(), "{}", text(&td.stderr));
        let want = flags(&text(&td.stdout));
        let ours = run(&["dissect", "--all", "-f", "tcp", &path]);
        assert!(ours.status.success(), "{}", text(&ours.stderr));
        let got = flags(&text(&ours.stdout));
        assert!(want.len() > 100, "{cap}: {}", want.len());
        assert_eq!(got, want, "{cap}");
        seen.extend(got);
    }
    // The forms the issue names were all met.
    for f in ["S", "S.", ".", "P.", "F."] {
        assert!(seen.contains(f), "{f} not in {seen:?}");
    }
}
