//! 64-bit values survive the tools people pipe our JSON into. jq 1.6, JavaScript and pandas read
//! JSON numbers as doubles (exact only up to 2^53), so DSNs, IDSNs and data ACKs are decimal
//! strings (cli docs, `mptcp_wire::json`). Here they go through jq and through Python's
//! `json.loads(s, parse_int=float)` and must come out with the digits tshark prints for the same
//! frames (`mptcp.dss.dsn`, `mptcp.ack` — tshark 4's name for the DSS data ACK —, and
//! `mptcp.expected_idsn`, all raw with `mptcp.relative_sequence_numbers:FALSE`).
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

mod kit;
use kit::{bin, testdata_dir, tshark};

/// 2^53: the first integer past which a double loses integers.
const EXACT_IN_DOUBLE: u64 = 1 << 53;

fn ours(args: &[&str]) -> Vec<u8> {
    let out = bin().args(args).output().expect("run mptcp-trace");
    assert!(out.status.code().is_some_and(|c| c < 2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs `prog args` with `input` on standard input; its standard output.
fn pipe(prog: &str, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog} is needed for this test (.ci/run installs it): {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write stdin");
    assert!(out.status.success(), "{prog} {args:?} failed");
    String::from_utf8(out.stdout).expect("utf8")
}

/// tshark's JSON (`-T json -e ...`): every field value is a string of digits.
fn tshark_json(capture: &str, fields: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["-r".to_string(), testdata_dir().join(capture).display().to_string()];
    args.extend(["-o", "mptcp.relative_sequence_numbers:FALSE", "-T", "json"].map(String::from));
    for f in fields {
        args.extend(["-e".to_string(), f.to_string()]);
    }
    let out = tshark(&args);
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tshark json");
    doc.as_array()
        .expect("packets")
        .iter()
        .map(|p| {
            let layers = p["_source"]["layers"].as_object().expect("layers");
            layers.iter().map(|(k, v)| (k.clone(), v[0].as_str().expect("tshark field is a string").to_string())).collect()
        })
        .collect()
}

/// frame → (DSN, data ACK) as tshark prints them, for frames with either.
fn tshark_dss(capture: &str) -> BTreeMap<String, (String, String)> {
    tshark_json(capture, &["frame.number", "mptcp.dss.dsn", "mptcp.ack"])
        .into_iter()
        .filter(|p| p.contains_key("mptcp.dss.dsn") || p.contains_key("mptcp.ack"))
        .map(|p| {
            let get = |k: &str| p.get(k).cloned().unwrap_or_default();
            (get("frame.number"), (get("mptcp.dss.dsn"), get("mptcp.ack")))
        })
        .collect()
}

/// Lines `frame \t dsn \t data_ack \t data_ack_len` into a map frame → (dsn, data ACK); asserts
/// the 64-bit values above 2^53 were seen. A 4-byte data ACK is the 32-bit value on the wire
/// (docs/dissect.md) where tshark prints it expanded to 64 bits: those compare on their low 32
/// bits, so `truth` is narrowed for them.
fn dss_lines(text: &str, tool: &str, truth: &mut BTreeMap<String, (String, String)>) -> BTreeMap<String, (String, String)> {
    let mut map = BTreeMap::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "{tool}: {l:?}");
        if f[3] == "4" {
            if let Some(t) = truth.get_mut(f[0]) {
                t.1 = (t.1.parse::<u64>().expect("tshark data ack") & 0xffff_ffff).to_string();
            }
        }
        map.insert(f[0].to_string(), (f[1].to_string(), f[2].to_string()));
    }
    let big = map.values().filter(|(d, _)| d.parse::<u64>().is_ok_and(|v| v > EXACT_IN_DOUBLE)).count();
    let big_acks = map.values().filter(|(_, a)| a.parse::<u64>().is_ok_and(|v| v > EXACT_IN_DOUBLE)).count();
    assert!(big > 100 && big_acks > 100, "{tool}: only {big} DSNs and {big_acks} data ACKs above 2^53");
    map
}

const CAPTURE: &str = "two-subflows.pcap";

#[test]
fn dissect_dsns_and_data_acks_survive_jq() {
    let jsonl = ours(&["dissect", "--format", "jsonl", testdata_dir().join(CAPTURE).to_str().unwrap()]);
    let filter = r#".frame as $f | .mptcp[] | select(.subtype == "DSS") | [($f | tostring), (.dsn // ""), (.data_ack // ""), (.data_ack_len // "" | tostring)] | @tsv"#;
    let through_jq = pipe("jq", &["-r", filter], &jsonl);
    let mut truth = tshark_dss(CAPTURE);
    assert_eq!(dss_lines(&through_jq, "jq", &mut truth), truth);
}

/// Python with every integer read as a float: the way a double-only parser sees the document.
const PY_DSS: &str = r#"
import json, sys
for line in sys.stdin:
    p = json.loads(line, parse_int=float)
    for o in p["mptcp"]:
        if o["subtype"] == "DSS":
            v = lambda x: "" if x is None else (x if isinstance(x, str) else repr(x))
            print("%d\t%s\t%s\t%s" % (p["frame"], v(o["dsn"]), v(o["data_ack"]), "" if o["data_ack_len"] is None else "%d" % o["data_ack_len"]))
"#;

#[test]
fn dissect_dsns_and_data_acks_survive_python_floats() {
    let jsonl = ours(&["dissect", "--format", "jsonl", testdata_dir().join(CAPTURE).to_str().unwrap()]);
    let through_py = pipe("python3", &["-c", PY_DSS], &jsonl);
    let mut truth = tshark_dss(CAPTURE);
    assert_eq!(dss_lines(&through_py, "python", &mut truth), truth);
}

#[test]
fn the_number_form_would_have_been_damaged() {
    // The control that makes the two tests above mean something: the same DSN written as a JSON
    // number does not survive these readers.
    let dsn = "8725461058535105958";
    let py = pipe(
        "python3",
        &["-c", "import json,sys; print(int(json.loads(sys.stdin.read(), parse_int=float)['d']))"],
        format!("{{\"d\": {dsn}}}").as_bytes(),
    );
    assert_ne!(py.trim(), dsn, "a double held a 63-bit DSN?");
    let jq_version = Command::new("jq").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    // jq 1.7 keeps the literal of an untouched number; 1.6 (Debian 12) does not.
    if jq_version.as_deref().is_ok_and(|v| v == "jq-1.6") {
        let jq = pipe("jq", &[".d"], format!("{{\"d\": {dsn}}}").as_bytes());
        assert_ne!(jq.trim(), dsn);
        let jq = pipe("jq", &["-r", ".d"], format!("{{\"d\": \"{dsn}\"}}").as_bytes());
        assert_eq!(jq.trim(), dsn);
    }
}

#[test]
fn analyze_idsns_and_dsns_survive_jq_and_python_floats() {
    let json = ours(&["analyze", "--format", "json", testdata_dir().join(CAPTURE).to_str().unwrap()]);
    // tshark's IDSN of each key's owner: the SYN/ACK carries the server's key, the third ACK the
    // client's.
    let idsns: Vec<String> =
        tshark_json(CAPTURE, &["mptcp.expected_idsn"]).into_iter().filter_map(|p| p.get("mptcp.expected_idsn").cloned()).collect();
    let (server, client) = (&idsns[0], &idsns[1]);
    assert!(client.parse::<u64>().unwrap() > EXACT_IN_DOUBLE && server.parse::<u64>().unwrap() < EXACT_IN_DOUBLE * 1024);
    let filter = r#".connections[0] | [.client_idsn, .server_idsn, .c2s.first_dsn, .c2s.data_acked, .s2c.first_dsn] | @tsv"#;
    let jq = pipe("jq", &["-r", filter], &json);
    let py = pipe(
        "python3",
        &["-c", "import json,sys; c=json.loads(sys.stdin.read(), parse_int=float)['connections'][0]; print('\\t'.join(str(x) for x in [c['client_idsn'], c['server_idsn'], c['c2s']['first_dsn'], c['c2s']['data_acked'], c['s2c']['first_dsn']]))"],
        &json,
    );
    // The first DSN is IDSN + 1 (RFC 8684 §3.3.1); the last data ACK of the c2s direction is the
    // highest mptcp.ack the server sent, which tshark prints on its last segment.
    let dss = tshark_dss(CAPTURE);
    let c2s_acked =
        dss.values().filter_map(|(_, a)| a.parse::<u64>().ok()).filter(|a| a.abs_diff(client.parse().unwrap()) < 1 << 32).max().unwrap();
    let want = format!("{client}\t{server}\t{}\t{c2s_acked}\t{}", client.parse::<u64>().unwrap() + 1, server.parse::<u64>().unwrap() + 1);
    assert_eq!(jq.trim(), want, "jq");
    assert_eq!(py.trim(), want, "python");
}

#[test]
fn pair_reinjection_dsns_survive_jq() {
    let (c, s) = (testdata_dir().join("pair/client-any.pcap"), testdata_dir().join("pair/server-any.pcap"));
    let json = ours(&["pair", "--format", "json", c.to_str().unwrap(), s.to_str().unwrap()]);
    let jq = pipe("jq", &["-r", r#".reinjections[] | [.direction, (.frame | tostring), .dsn] | @tsv"#], &json);
    // The digits as written (serde_json reads the string exactly).
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("json");
    let written: Vec<String> = doc["reinjections"]
        .as_array()
        .expect("reinjections")
        .iter()
        .map(|r| format!("{}\t{}\t{}", r["direction"].as_str().unwrap(), r["frame"], r["dsn"].as_str().expect("dsn is a string")))
        .collect();
    assert!(written.len() > 50, "the pair capture has {} reinjections", written.len());
    assert_eq!(jq.lines().collect::<Vec<_>>(), written);
    // Each lies inside the mapping tshark shows on that frame of the sender's capture (the DSN
    // of a segment is its mapping's DSN plus its offset in the mapping, under 64 KiB).
    let mappings = |capture: &str| -> BTreeMap<String, u64> {
        tshark_json(capture, &["frame.number", "mptcp.dss.dsn"])
            .into_iter()
            .filter_map(|p| Some((p.get("frame.number")?.clone(), p.get("mptcp.dss.dsn")?.parse().ok()?)))
            .collect()
    };
    let (client, server) = (mappings("pair/client-any.pcap"), mappings("pair/server-any.pcap"));
    let mut inside = 0;
    for line in jq.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let dsn: u64 = f[2].parse().expect("digits");
        assert!(dsn > EXACT_IN_DOUBLE, "{line}");
        let sender = if f[0] == "c2s" { &client } else { &server };
        if let Some(&m) = sender.get(f[1]) {
            assert!(dsn.wrapping_sub(m) < 1 << 16, "{line}: mapping at {m}");
            inside += 1;
        }
    }
    assert!(inside > 50, "{inside} reinjections on frames with their own mapping");
}

/// Every number in every JSON output stays below 2^53: what must be exact is a string.
#[test]
fn no_json_number_of_any_command_needs_more_than_a_double() {
    fn walk(v: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        match v {
            serde_json::Value::Number(n) if n.as_u64().is_some_and(|u| u > EXACT_IN_DOUBLE) => bad.push(format!("{path} = {n}")),
            serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), bad)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, &format!("{path}.{k}"), bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    for capture in [CAPTURE, "loss.pcap", "snaplen.pcap", "matrix/mid-start.pcap", "fastclose.pcap"] {
        let f = testdata_dir().join(capture);
        let f = f.to_str().unwrap();
        let runs: [&[&str]; 6] = [
            &["dissect", "--format", "jsonl", "--all", f],
            &["analyze", "--format", "json", f],
            &["analyze", "--format", "jsonl", f],
            &["events", "--format", "jsonl", f],
            &["verify", "--format", "json", f],
            &["throughput", "--format", "json", f],
        ];
        for args in runs {
            let out = String::from_utf8(ours(args)).expect("utf8");
            let docs: Vec<serde_json::Value> = if args.contains(&"json") {
                vec![serde_json::from_str(&out).expect("json")]
            } else {
                out.lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
            };
            assert!(!docs.is_empty());
            for d in &docs {
                walk(d, &format!("{} {capture}", args[0]), &mut bad);
            }
        }
    }
    assert!(bad.is_empty(), "numbers a double cannot hold:\n{}", bad.join("\n"));
}
