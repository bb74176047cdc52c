//! MPTCP inside tunnels (testdata/tunnels/): `dissect` decodes the inner TCP of every frame as
//! tshark does (its decode committed as FILE.tshark.tsv by testdata/tunnels/tshark-expected.sh),
//! reports the outermost tunnel with its id and outer addresses, and `analyze`/`stream` on the
//! kernel's VXLAN capture find what its setup script configured and what the application sent.
use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

mod kit;
use kit::{bin, scratch_dir, testdata_dir};

fn tunnels_dir() -> PathBuf {
    testdata_dir().join("tunnels")
}

/// The tunnel each file was made with: the kind `dissect` must report, the tshark column its id
/// is in (the outermost one's), whether the inner IP is v6, and where its outer addresses are.
struct Case {
    file: &'static str,
    kind: Option<&'static str>,
    id_field: Option<&'static str>,
    inner_v6: bool,
    outer: Outer,
    layers: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Outer {
    /// No outer IP (MPLS or VLANs straight over Ethernet).
    None,
    /// The first of tshark's `ip.src`/`ip.dst`.
    V4,
    /// The first of tshark's `ipv6.src`/`ipv6.dst`.
    V6,
}

const CASES: [Case; 12] = [
    Case { file: "vxlan", kind: Some("vxlan"), id_field: Some("vxlan.vni"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "gre", kind: Some("gre"), id_field: Some("gre.key"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "erspan2", kind: Some("erspan"), id_field: Some("erspan.spanid"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "erspan3", kind: Some("erspan"), id_field: Some("erspan.spanid"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "ipip", kind: Some("ipip"), id_field: None, inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "6in4", kind: Some("ipip"), id_field: None, inner_v6: true, outer: Outer::V4, layers: 1 },
    Case { file: "4in6", kind: Some("ipip"), id_field: None, inner_v6: false, outer: Outer::V6, layers: 1 },
    Case { file: "mpls", kind: Some("mpls"), id_field: Some("mpls.label"), inner_v6: false, outer: Outer::None, layers: 1 },
    Case { file: "geneve", kind: Some("geneve"), id_field: Some("geneve.vni"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "gtpu", kind: Some("gtp-u"), id_field: Some("gtp.teid"), inner_v6: false, outer: Outer::V4, layers: 1 },
    Case { file: "qinq", kind: None, id_field: None, inner_v6: false, outer: Outer::None, layers: 0 },
    // GRE outside, VXLAN inside it: the GRE tunnel (the outermost) is the one reported.
    Case { file: "nested", kind: Some("gre"), id_field: Some("gre.key"), inner_v6: false, outer: Outer::V4, layers: 2 },
];

/// tshark's rows with a TCP header, by frame number: column name -> value.
fn tshark_rows(file: &str) -> BTreeMap<u64, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(tunnels_dir().join(format!("{file}.tshark.tsv"))).expect("tshark.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let mut rows = BTreeMap::new();
    for line in lines {
        let row: BTreeMap<String, String> = header.iter().zip(line.split('\t')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if row["tcp.srcport"].is_empty() {
            continue;
        }
        rows.insert(row["frame.number"].parse().unwrap(), row);
    }
    rows
}

fn first(v: &str) -> &str {
    v.split(',').next().unwrap()
}
fn last(v: &str) -> &str {
    v.split(',').next_back().unwrap()
}
/// A tshark number: hex with 0x (gre.key, geneve.vni, gtp.teid) or decimal.
fn number(v: &str) -> u64 {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => v.parse().unwrap(),
    }
}
/// tshark's `tcp.flags` (0x0012) as our letters (S F R P A U E W order).
fn flag_letters(hex: &str) -> String {
    let bits = number(hex);
    let s: String = [(0x02, 'S'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P'), (0x10, 'A'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W')]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

fn dissect(file: &str) -> Vec<serde_json::Value> {
    let out = bin().args(["dissect", "--all", "--format", "jsonl"]).arg(tunnels_dir().join(format!("{file}.pcap"))).output().unwrap();
    assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn dissect_decodes_every_tunnelled_frame_as_tshark_does() {
    for case in &CASES {
        let want = tshark_rows(case.file);
        let got = dissect(case.file);
        assert!(want.len() > 200, "{}: {} TCP frames in tshark's decode", case.file, want.len());
        let frames: Vec<u64> = got.iter().map(|v| v["frame"].as_u64().unwrap()).collect();
        assert_eq!(frames, want.keys().copied().collect::<Vec<_>>(), "{}: the frames with TCP", case.file);
        let (mut dsns, mut data_acks) = (0, 0);
        for v in &got {
            let f = v["frame"].as_u64().unwrap();
            let t = &want[&f];
            let ctx = format!("{} frame {f}", case.file);
            assert_eq!(v["errors"], serde_json::json!([]), "{ctx}");
            let (src, dst) = if case.inner_v6 { ("ipv6.src", "ipv6.dst") } else { ("ip.src", "ip.dst") };
            assert_eq!(v["src"], last(&t[src]), "{ctx}");
            assert_eq!(v["dst"], last(&t[dst]), "{ctx}");
            assert_eq!(v["sport"].as_u64().unwrap(), number(&t["tcp.srcport"]), "{ctx}");
            assert_eq!(v["dport"].as_u64().unwrap(), number(&t["tcp.dstport"]), "{ctx}");
            assert_eq!(v["seq"].as_u64().unwrap(), number(&t["tcp.seq_raw"]), "{ctx}");
            assert_eq!(v["ack"].as_u64().unwrap(), number(&t["tcp.ack_raw"]), "{ctx}");
            assert_eq!(v["flags"], flag_letters(&t["tcp.flags"]), "{ctx}");
            assert_eq!(v["len"].as_u64().unwrap(), number(&t["tcp.len"]), "{ctx}");
            // DSS: the DSN and data ACK tshark read, where it read one.
            let dss = v["mptcp"].as_array().unwrap().iter().find(|o| o["subtype"] == "DSS");
            // tshark expands a 4-byte DSN or data ACK to 64 bits; we write it as on the wire.
            let same = |ours: &serde_json::Value, len: &serde_json::Value, theirs: &str| {
                let (ours, theirs): (u64, u64) = (ours.as_str().unwrap().parse().unwrap(), theirs.parse().unwrap());
                if len == 4 {
                    ours == theirs & 0xffff_ffff
                } else {
                    ours == theirs
                }
            };
            if !t["mptcp.dss.dsn"].is_empty() {
                let d = dss.unwrap();
                assert!(same(&d["dsn"], &d["dsn_len"], &t["mptcp.dss.dsn"]), "{ctx}: {d} vs {}", t["mptcp.dss.dsn"]);
                dsns += 1;
            }
            if !t["mptcp.ack"].is_empty() {
                let d = dss.unwrap();
                assert!(same(&d["data_ack"], &d["data_ack_len"], &t["mptcp.ack"]), "{ctx}: {d} vs {}", t["mptcp.ack"]);
                data_acks += 1;
            }
            // The tunnel: the outermost one's kind, id and outer addresses.
            let tunnel = &v["tunnel"];
            match case.kind {
                None => assert!(tunnel.is_null(), "{ctx}: {tunnel}"),
                Some(kind) => {
                    assert_eq!(tunnel["kind"], kind, "{ctx}");
                    assert_eq!(tunnel["layers"].as_u64().unwrap(), case.layers, "{ctx}");
                    match case.id_field {
                        Some(field) => assert_eq!(tunnel["id"].as_u64().unwrap(), number(first(&t[field])), "{ctx}"),
                        None => assert!(tunnel["id"].is_null(), "{ctx}"),
                    }
                    let outer = match case.outer {
                        Outer::None => None,
                        Outer::V4 => Some((first(&t["ip.src"]), first(&t["ip.dst"]))),
                        Outer::V6 => Some((first(&t["ipv6.src"]), first(&t["ipv6.dst"]))),
                    };
                    match outer {
                        None => assert!(tunnel["outer_src"].is_null() && tunnel["outer_dst"].is_null(), "{ctx}"),
                        Some((s, d)) => {
                            assert_eq!(tunnel["outer_src"], s, "{ctx}");
                            assert_eq!(tunnel["outer_dst"], d, "{ctx}");
                            assert_ne!(s, v["src"].as_str().unwrap(), "{ctx}: the outer address is not the inner one");
                        }
                    }
                }
            }
        }
        assert!(dsns > 50 && data_acks > 50, "{}: {dsns} DSNs and {data_acks} data ACKs compared", case.file);
    }
}

fn vxlan_truth() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(tunnels_dir().join("vxlan.json")).unwrap()).unwrap()
}

#[test]
fn analyze_finds_one_connection_with_two_subflows_in_their_vxlan_tunnels() {
    let truth = vxlan_truth();
    let out = bin().args(["analyze", "--format", "json"]).arg(tunnels_dir().join("vxlan.pcap")).output().unwrap();
    assert!(out.status.success());
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conns = a["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "one MPTCP connection");
    let subflows = conns[0]["subflows"].as_array().unwrap();
    assert_eq!(subflows.len(), 2, "two subflows");
    for want in truth["subflows"].as_array().unwrap() {
        let client = want["inner_client"].as_str().unwrap();
        let sf = subflows
            .iter()
            .find(|s| s["client"].as_str().unwrap().starts_with(&format!("{client}:")))
            .unwrap_or_else(|| panic!("a subflow from {client}"));
        let t = &sf["tunnel"];
        assert_eq!(t["kind"], "vxlan", "{sf}");
        assert_eq!(t["id"], want["vni"], "{sf}");
        assert_eq!(t["client_outer"], want["outer"][0], "{sf}");
        assert_eq!(t["server_outer"], want["outer"][1], "{sf}");
        assert_eq!(t["layers"], 1);
        assert!(sf.get("tunnel_changed_frame").is_none(), "{sf}");
        assert!(sf["c2s"]["bytes"].as_u64().unwrap() > 10_000, "both subflows carry data: {sf}");
    }
    let text = bin().arg("analyze").arg(tunnels_dir().join("vxlan.pcap")).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("        tunnel vxlan 100 203.0.113.1 > 203.0.113.2\n"), "{text}");
    assert!(text.contains("        tunnel vxlan 200 203.0.113.3 > 203.0.113.4\n"), "{text}");
}

#[test]
fn a_capture_without_tunnels_has_no_tunnel_field() {
    let out = bin().args(["analyze", "--format", "json"]).arg(testdata_dir().join("two-subflows.pcap")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // (The key, quoted: the file's path may hold the word.)
    assert!(!text.contains("\"tunnel"), "no tunnel field when there is none");
}

#[test]
fn stream_over_vxlan_is_what_the_application_sent() {
    let truth = vxlan_truth();
    let out_file = scratch_dir("tunnels").join("vxlan-c2s.bin");
    let st = bin()
        .args(["stream", "--connection", "0", "-d", "c2s", "-o"])
        .arg(&out_file)
        .arg(tunnels_dir().join("vxlan.pcap"))
        .status()
        .unwrap();
    assert!(st.success());
    let data = std::fs::read(&out_file).unwrap();
    assert_eq!(data.len() as u64, truth["c2s_bytes"].as_u64().unwrap());
    let hex: String = Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, truth["c2s_sha256"].as_str().unwrap());
}

#[test]
fn the_reencapsulated_captures_give_the_same_connection_as_vxlan() {
    // Same inner packets, other tunnels: the same stream comes out of each (6in4 is another,
    // shortened capture, and is left out).
    let truth = vxlan_truth();
    for file in ["gre", "erspan2", "erspan3", "ipip", "4in6", "mpls", "geneve", "gtpu", "qinq", "nested"] {
        let out_file = scratch_dir("tunnels").join(format!("{file}-c2s.bin"));
        let st = bin()
            .args(["stream", "--connection", "0", "-d", "c2s", "-o"])
            .arg(&out_file)
            .arg(tunnels_dir().join(format!("{file}.pcap")))
            .status()
            .unwrap();
        assert!(st.success(), "{file}");
        let hex: String = Sha256::digest(std::fs::read(&out_file).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, truth["c2s_sha256"].as_str().unwrap(), "{file}");
    }
}

/// The records of a classic pcap file (after its 24-byte header), each with its 16-byte header.
fn pcap_records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut at = 24;
    let mut v = Vec::new();
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        v.push(&bytes[at..at + 16 + len]);
        at += 16 + len;
    }
    v
}

#[test]
fn a_subflow_whose_tunnel_changes_midway_says_from_which_frame() {
    // gre.pcap and mpls.pcap hold the same inner packets in the same order: frames 1-100 from
    // the first, the rest from the second. Each subflow starts in GRE and goes on over MPLS.
    let gre = std::fs::read(tunnels_dir().join("gre.pcap")).unwrap();
    let mpls = std::fs::read(tunnels_dir().join("mpls.pcap")).unwrap();
    let (a, b) = (pcap_records(&gre), pcap_records(&mpls));
    assert_eq!(a.len(), b.len());
    let mut mixed = gre[..24].to_vec();
    for (i, (ra, rb)) in a.iter().zip(&b).enumerate() {
        mixed.extend_from_slice(if i < 100 { ra } else { rb });
    }
    let file = scratch_dir("tunnels").join("gre-then-mpls.pcap");
    std::fs::write(&file, &mixed).unwrap();
    let out = bin().args(["analyze", "--format", "json"]).arg(&file).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let subflows = doc["connections"][0]["subflows"].as_array().unwrap();
    assert_eq!(subflows.len(), 2);
    for sf in subflows {
        assert_eq!(sf["tunnel"]["kind"], "gre", "{sf}");
        let changed = sf["tunnel_changed_frame"].as_u64().unwrap_or_else(|| panic!("a change: {sf}"));
        assert!((101..=281).contains(&changed), "{sf}");
    }
    // The first frame past 100 of each subflow is the change: the frames of dissect say which.
    let lines = bin().args(["dissect", "--all", "--format", "jsonl"]).arg(&file).output().unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(lines.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for sf in subflows {
        let client = sf["client"].as_str().unwrap();
        let first_mpls = lines
            .iter()
            .find(|v| {
                v["tunnel"]["kind"] == "mpls"
                    && (client == format!("{}:{}", v["src"].as_str().unwrap(), v["sport"])
                        || client == format!("{}:{}", v["dst"].as_str().unwrap(), v["dport"]))
            })
            .unwrap();
        assert_eq!(sf["tunnel_changed_frame"], first_mpls["frame"], "{sf}");
    }
    let text = String::from_utf8(bin().arg("analyze").arg(&file).output().unwrap().stdout).unwrap();
    assert!(text.contains("        tunnel gre 1001 203.0.113.1 > 203.0.113.2; another tunnel (or none) from frame "), "{text}");
}
