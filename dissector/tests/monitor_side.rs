//! `events --side` on the committed captures: what each host's `ip mptcp monitor` prints, by the
//! rules learned from kernel logs recorded beside captures (Linux 6.18, iproute2 6.1; see
//! docs/events.md). Each test is named for what the wire-level timeline got wrong for one host.
mod common;

use common::analyze;
use mptcp_dissector::report::events::{monitor_lines, MonitorLine};
use mptcp_dissector::track::Side;

fn lines(name: &str, side: Side) -> Vec<MonitorLine> {
    monitor_lines(&analyze(name), side)
}

fn kinds(ls: &[MonitorLine]) -> Vec<&str> {
    ls.iter().map(|l| l.kind.as_str()).collect()
}

#[test]
fn each_host_prints_its_own_token_and_local_address_first() {
    let a = analyze("two-subflows.pcap");
    let c = &a.connections[0];
    for (side, token, local) in [(Side::Client, &c.client_token, c.client), (Side::Server, &c.server_token, c.server)] {
        let ls = monitor_lines(&a, side);
        assert!(!ls.is_empty());
        for l in &ls {
            assert_eq!(l.get("token"), token.map(|t| t.to_string()).as_deref(), "{l}");
        }
        assert_eq!(ls[0].kind, "CREATED");
        assert_eq!(ls[0].get("saddr4"), Some(local.ip().to_string().as_str()), "{}", ls[0]);
        assert_eq!(ls[0].get("sport"), Some(local.port().to_string().as_str()), "{}", ls[0]);
    }
}

#[test]
fn sf_established_backup_is_the_b_bit_each_host_received() {
    // The client's MP_JOIN SYN has B=1, the server's SYN/ACK B=0: the server reports backup=1,
    // the client backup=0 (kernel log of the same scenario).
    let client = lines("backup-prio.pcap", Side::Client);
    let server = lines("backup-prio.pcap", Side::Server);
    let est = |ls: &[MonitorLine]| ls.iter().find(|l| l.kind == "SF_ESTABLISHED").map(|l| l.to_string()).unwrap();
    assert!(
        est(&client).ends_with("remid=0 locid=1 saddr4=198.51.100.1 daddr4=192.0.2.2 sport=43985 dport=5201 backup=0"),
        "{}",
        est(&client)
    );
    assert!(
        est(&server).ends_with("remid=1 locid=0 saddr4=192.0.2.2 daddr4=198.51.100.1 sport=5201 dport=43985 backup=1"),
        "{}",
        est(&server)
    );
}

#[test]
fn sf_prio_only_on_the_host_that_received_mp_prio() {
    let client = lines("backup-prio.pcap", Side::Client);
    let server = lines("backup-prio.pcap", Side::Server);
    assert!(!kinds(&client).contains(&"SF_PRIO"), "{:?}", kinds(&client));
    let prio: Vec<_> = server.iter().filter(|l| l.kind == "SF_PRIO").map(|l| l.get("backup").unwrap().to_string()).collect();
    assert_eq!(prio, ["0", "1"]);
}

#[test]
fn announced_and_removed_only_on_the_receiving_host() {
    let client = lines("remove-addr.pcap", Side::Client);
    let server = lines("remove-addr.pcap", Side::Server);
    let ann: Vec<String> = client.iter().filter(|l| matches!(l.kind.as_str(), "ANNOUNCED" | "REMOVED")).map(|l| l.to_string()).collect();
    let token = client[0].get("token").unwrap();
    assert_eq!(
        ann,
        [
            format!("[     ANNOUNCED] token={token} remid=1 daddr4=198.51.100.2 dport=5201"),
            format!("[       REMOVED] token={token} remid=1"),
        ]
    );
    assert!(!kinds(&server).iter().any(|k| matches!(*k, "ANNOUNCED" | "REMOVED")), "{:?}", kinds(&server));
}

#[test]
fn sf_closed_only_for_a_subflow_that_ends_before_the_first_data_fin() {
    // remove-addr: the path-B subflow is closed mid-transfer, on both hosts.
    for side in [Side::Client, Side::Server] {
        let ls = lines("remove-addr.pcap", side);
        assert_eq!(kinds(&ls).iter().filter(|k| **k == "SF_CLOSED").count(), 1, "{:?}", kinds(&ls));
    }
    // two-subflows: every subflow closes after the DATA_FINs: no SF_CLOSED, one CLOSED.
    for side in [Side::Client, Side::Server] {
        let ls = lines("two-subflows.pcap", side);
        assert_eq!(kinds(&ls), ["CREATED", "ESTABLISHED", "SF_ESTABLISHED", "CLOSED"]);
    }
}

#[test]
fn no_closed_on_the_host_that_received_mp_fastclose() {
    // The server sends MP_FASTCLOSE: it prints CLOSED, the client (receiver) prints none.
    assert_eq!(kinds(&lines("fastclose.pcap", Side::Client)), ["CREATED", "ESTABLISHED", "SF_ESTABLISHED"]);
    assert_eq!(kinds(&lines("fastclose.pcap", Side::Server)), ["CREATED", "ESTABLISHED", "SF_ESTABLISHED", "CLOSED"]);
}

#[test]
fn handshake_fallback_prints_no_mptcp_event() {
    assert!(lines("fallback.pcap", Side::Client).is_empty());
    assert!(lines("fallback.pcap", Side::Server).is_empty());
}

#[test]
fn server_created_carries_the_server_side_flag() {
    let server = lines("ipv6.pcap", Side::Server);
    assert_eq!(server[0].get("flags"), Some("2"), "{}", server[0]);
    assert!(server[0].get("saddr6").is_some(), "{}", server[0]);
    let client = lines("ipv6.pcap", Side::Client);
    assert_eq!(client[0].get("flags"), None, "{}", client[0]);
}

#[test]
fn kernel_lines_parse_and_print_back_unchanged() {
    let kernel = [
        "[       CREATED] token=305519b1 remid=0 locid=0 saddr4=192.0.2.2 daddr4=192.0.2.1 sport=5201 dport=48578 flags=2",
        "[SF_ESTABLISHED] token=ba271edd remid=0 locid=1 saddr4=198.51.100.1 daddr4=192.0.2.2 sport=57165 dport=5201 backup=0 ifindex=3",
        "[     ANNOUNCED] token=22481ee6 remid=1 daddr4=198.51.100.2 dport=5201",
        "[        CLOSED] token=22481ee6",
        "[UNKNOWN 15]",
    ];
    for k in kernel {
        let l = MonitorLine::parse(k).unwrap();
        assert_eq!(l.to_string().trim_start(), k.trim_start());
    }
    assert_eq!(MonitorLine::parse("1796133315.574494 [        CLOSED] token=1").unwrap().get("token"), Some("1"));
    assert!(MonitorLine::parse("").is_none());
    assert!(MonitorLine::parse("+ ip netns exec ev-cli ip mptcp monitor").is_none());
    // Unknowable fields are not compared, every other one is.
    let k = MonitorLine::parse(kernel[1]).unwrap();
    let ours = MonitorLine::parse(kernel[1].trim_end_matches(" ifindex=3")).unwrap();
    assert!(k.matched_by(&ours));
    let wrong = MonitorLine::parse(&kernel[1].replace("backup=0", "backup=1")).unwrap();
    assert!(!k.matched_by(&wrong));
}

#[test]
fn the_streaming_monitor_writes_capture_order_whatever_order_connections_end_in() {
    // Connections handed over in reverse: a line waits for every connection with an earlier
    // event, so the lines come out as the whole-capture rebuild orders them.
    use mptcp_dissector::report::events::Monitor;
    for name in ["matrix/twenty-conns.pcap", "matrix/sequential.pcap"] {
        let a = analyze(name);
        for side in [Side::Client, Side::Server] {
            let whole = monitor_lines(&a, side);
            assert!(whole.len() > 40, "{name}: {} lines", whole.len());
            let mut m = Monitor::new(side);
            for e in &a.events {
                m.event(e);
            }
            let mut got = Vec::new();
            for c in a.connections.iter().rev() {
                let subflows: Vec<_> = c.subflow_ids.iter().map(|&s| a.subflows[s].clone()).collect();
                m.connection(c, &subflows, |_| true);
                while let Some(l) = m.next_line() {
                    got.push(l);
                }
                if c.id > 0 {
                    assert!(got.is_empty(), "{name}: connection 0 is open, nothing may be written");
                }
            }
            got.extend(m.finish());
            assert_eq!(got, whole, "{name} {side:?}");
        }
    }
}
