//! `mptcp-trace stream` on every testdata capture: the rebuilt data-level streams are byte-exact
//! (sha256 of what the receiving application read, recorded by the capture script), and a stream
//! the capture cannot complete comes out as a true prefix with exit 1, never as a wrong stream.
#[path = "../../dissector/tests/common/appstream.rs"]
mod appstream;
use appstream::gen_stream;
use sha2::{Digest, Sha256};

mod kit;
use kit::{bin, testdata_dir};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn payload_generator_matches_the_manifest() {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(testdata_dir().join("manifest.json")).unwrap()).unwrap();
    let e = &m[0]["conns"][0];
    let data = gen_stream(e["c2s_seed"].as_str().unwrap(), e["c2s_bytes"].as_u64().unwrap() as usize);
    assert_eq!(hex(&Sha256::digest(&data)), e["c2s_sha256"].as_str().unwrap());
}

#[test]
fn streams_are_byte_exact_or_an_honest_prefix() {
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(testdata_dir().join("manifest.json")).expect("manifest")).expect("json");
    let dir = std::env::temp_dir().join(format!("mptcp-trace-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut exact, mut prefixes) = (0, 0);
    // What the manifest promises: each connection direction it marks complete comes out
    // byte-exact, every other one as a true prefix.
    let (mut want_exact, mut want_prefixes) = (0, 0);
    for entry in &manifest {
        let file = testdata_dir().join(entry["file"].as_str().unwrap());
        let analysis = bin().args(["analyze", "--format", "json"]).arg(&file).output().unwrap();
        assert!(analysis.status.success());
        let a: serde_json::Value = serde_json::from_slice(&analysis.stdout).unwrap();
        for conn in entry["conns"].as_array().unwrap() {
            let client = conn["client"].as_str().unwrap();
            let id = a["connections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["client"].as_str().map(|x| x.replace(['[', ']'], "")).as_deref() == Some(client))
                .unwrap_or_else(|| panic!("{file:?}: no connection from {client}"))["id"]
                .as_u64()
                .unwrap();
            for d in ["c2s", "s2c"] {
                let out = dir.join(format!("{}-{id}-{d}", entry["file"].as_str().unwrap()));
                let run = bin().args(["stream", "--connection", &id.to_string(), "-d", d, "-o"]).arg(&out).arg(&file).output().unwrap();
                let got = std::fs::read(&out).unwrap();
                let complete = entry[format!("expect_complete_{d}")].as_bool().unwrap_or(false);
                if complete {
                    want_exact += 1;
                } else {
                    want_prefixes += 1;
                }
                let name = format!("{} conn {id} {d}", entry["file"].as_str().unwrap());
                if complete {
                    let stderr = String::from_utf8_lossy(&run.stderr);
                    // An abortive close (MP_FASTCLOSE) sends no DATA_FIN: every byte is there,
                    // but the tool cannot know the stream ended, and says so.
                    if entry["file"] == "fastclose.pcap" {
                        assert_eq!(run.status.code(), Some(1), "{name}: {stderr}");
                        assert!(stderr.contains("no DATA_FIN"), "{name}: {stderr}");
                    } else {
                        assert_eq!(run.status.code(), Some(0), "{name}: {stderr}");
                    }
                    assert_eq!(hex(&Sha256::digest(&got)), conn[format!("{d}_received_sha256")].as_str().unwrap(), "{name}");
                    assert_eq!(got.len() as u64, conn[format!("{d}_received_bytes")].as_u64().unwrap(), "{name}");
                    exact += 1;
                } else {
                    let stderr = String::from_utf8_lossy(&run.stderr);
                    assert_eq!(run.status.code(), Some(1), "{name}: incomplete stream exits 1: {stderr}");
                    assert!(stderr.contains("INCOMPLETE"), "{name}: {stderr}");
                    let sent =
                        gen_stream(conn[format!("{d}_seed")].as_str().unwrap(), conn[format!("{d}_bytes")].as_u64().unwrap() as usize);
                    assert!(got.len() < sent.len() || entry["file"] == "fastclose.pcap", "{name}: shorter than the stream");
                    assert_eq!(&sent[..got.len().min(sent.len())], &got[..], "{name}: what is written is a true prefix");
                    prefixes += 1;
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("{exact} byte-exact streams, {prefixes} incomplete streams written as true prefixes");
    assert_eq!((exact, prefixes), (want_exact, want_prefixes), "byte-exact and prefix streams, as manifest.json expects");
}

#[test]
fn one_path_capture_names_its_gaps() {
    let run = bin()
        .args(["stream", "--connection", "0", "-d", "c2s", "-o", "-"])
        .arg(testdata_dir().join("ethernet-one-path.pcap"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("gap: DSN"), "{stderr}");
}

#[test]
fn unknown_connection_is_a_usage_error() {
    let run =
        bin().args(["stream", "--connection", "7", "-d", "c2s", "-o", "-"]).arg(testdata_dir().join("two-subflows.pcap")).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
}

/// Captures that hold only part of a connection (testdata/matrix/mid-start.pcap, early-stop.pcap):
/// `stream` writes a true suffix (after the last gap: the capture starts after the handshake) or
/// a true prefix (the capture stops first) of what the application sent, says so, and exits 1.
#[test]
fn partial_captures_give_a_true_suffix_or_prefix() {
    let dir = std::env::temp_dir().join(format!("mptcp-trace-partial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, suffix) in [("mid-start", true), ("early-stop", false)] {
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(testdata_dir().join(format!("matrix/{name}.truth.json"))).unwrap()).unwrap();
        let conn = &truth["conns"][0];
        for d in ["c2s", "s2c"] {
            let out = dir.join(format!("{name}-{d}.bin"));
            let r = bin()
                .arg("stream")
                .arg(testdata_dir().join(format!("matrix/{name}.pcap")))
                .args(["--connection", "0", "-d", d, "-o"])
                .arg(&out)
                .output()
                .unwrap();
            assert_eq!(r.status.code(), Some(1), "{name} {d}: exit 1 for a partial stream");
            let msg = String::from_utf8_lossy(&r.stderr);
            let app = gen_stream(conn[format!("{d}_seed")].as_str().unwrap(), conn[format!("{d}_bytes")].as_u64().unwrap() as usize);
            let got = std::fs::read(&out).unwrap();
            assert!(got.len() > 100_000, "{name} {d}: {} bytes", got.len());
            if suffix {
                assert!(app.ends_with(&got), "{name} {d}: a true suffix");
                assert!(msg.contains("starts after the connection's handshake"), "{msg}");
            } else {
                assert!(app.starts_with(&got), "{name} {d}: a true prefix");
                assert!(msg.contains("no DATA_FIN in the capture"), "{msg}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
