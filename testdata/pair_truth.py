#!/usr/bin/env python3
"""Write pair.truth.json for testdata/pair/ (called by pair.sh).

The truth comes from the applications (mptcp_app.py result files), tcpdump's
own statistics, the router's nftables counters and tbf statistics, nstat and
the script, never from mptcp-trace. Format "mptcp-trace-pair-truth/1", see
testdata/README.md, section "Pair".

Exit status: 0 ok, 3 a tcpdump did not write every packet it received,
4 an application direction does not match or tbf dropped packets.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matrix_truth as mt  # noqa: E402  (tcpdump_counts, build_conns, nstat)
import update_manifest as um  # noqa: E402  (linktypes, tshark_stats, load)

CAPTURES = {
    "client-any": {"vantage": "client", "interface": "any",
                   "what": "tcpdump -i any in the client netns: both paths"},
    "client-vA": {"vantage": "client", "interface": "vA-cli",
                  "what": "tcpdump -i vA-cli in the client netns: path A only"},
    "client-vB": {"vantage": "client", "interface": "vB-cli",
                  "what": "tcpdump -i vB-cli in the client netns: path B only (nanosecond timestamps)"},
    "server-any": {"vantage": "server", "interface": "any",
                   "what": "tcpdump -i any in the server netns: both paths"},
}


def pcap_precision(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return "ns"
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        return "us"
    return "?"


def first_last(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.time_epoch"],
                         capture_output=True, text=True).stdout.split()
    return (out[0], out[-1]) if out else (None, None)


def nstat_all(path):
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2 and f[1].isdigit() and int(f[1]):
            out[f[0]] = int(f[1])
    return out


def nft_counters(path):
    """{comment: {packets, bytes}} for every rule with a counter and a comment."""
    d = json.load(open(path))
    out = {}
    for item in d.get("nftables", []):
        r = item.get("rule")
        if not r or "comment" not in r:
            continue
        for e in r.get("expr", []):
            if "counter" in e:
                out[r["comment"]] = {"packets": e["counter"]["packets"],
                                     "bytes": e["counter"]["bytes"]}
    return out


def tbf_stats(path):
    out = {}
    for q in json.load(open(path)):
        if q.get("kind") != "tbf":
            continue
        out[q["dev"]] = {k: q.get(k) for k in ("packets", "bytes", "drops", "overlimits",
                                                "requeues", "backlog")}
        out[q["dev"]]["rate"] = q.get("options", {}).get("rate")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tcpdump", action="append", required=True,
                    help="NAME=PCAP=TCPDUMP_STDERR")
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--nft-json", required=True)
    ap.add_argument("--nft-text", required=True)
    ap.add_argument("--tc-json", required=True)
    ap.add_argument("--nstat", action="append", default=[], help="NS=FILE")
    ap.add_argument("--events")
    ap.add_argument("--setup", required=True)
    ap.add_argument("--rate-a", required=True)
    ap.add_argument("--rate-b", required=True)
    ap.add_argument("--loss", required=True)
    a = ap.parse_args()

    caps = []
    for spec in a.tcpdump:
        name, pcap, err = spec.split("=", 2)
        fmt, lts = um.linktypes(pcap)
        pkts, subtypes = um.tshark_stats(pcap)
        t0, t1 = first_last(pcap)
        c = {"name": name, "file": name + ".pcap"}
        c.update(CAPTURES.get(name, {}))
        c.update({
            "size_bytes": os.path.getsize(pcap), "packets": pkts,
            "linktype": "+".join(um.LINKTYPES.get(l, str(l)) for l in lts),
            "linktype_num": lts[0] if len(set(lts)) == 1 else lts,
            "ts_precision": pcap_precision(pcap),
            "first_epoch": t0, "last_epoch": t1,
            "mptcp_subtypes": subtypes,
            "tcpdump": mt.tcpdump_counts(err),
        })
        caps.append(c)

    server = um.load(a.server)
    clients = um.load(a.client)
    conns = mt.build_conns(server, clients)
    apps_match = all(c["c2s_match"] and c["s2c_match"] for c in conns)
    tbf = tbf_stats(a.tc_json)
    nft = nft_counters(a.nft_json)
    paths = {}
    for p, rate, ca, rc, rs, sa in (("A", a.rate_a, "192.0.2.1", "vA-rc", "vA-rs", "203.0.113.2"),
                                    ("B", a.rate_b, "198.51.100.1", "vB-rc", "vB-rs", "203.0.113.130")):
        paths[p] = {
            "client_addr": ca, "server_addr_on_path": sa,
            "client_if": "v%s-cli" % p, "server_if": "v%s-srv" % p,
            "router_if_client_side": rc, "router_if_server_side": rs,
            "tbf_rate": rate,
            "rule": "subflows whose client address is %s use path %s in both directions" % (ca, p),
        }
        for d in ("c2s", "s2c"):
            fw = nft.get("fwd %s %s" % (p, d), {}).get("packets")
            dr = {k: nft.get("drop %s %s %s" % (p, d, k), {}).get("packets")
                  for k in ("synfinrst", "len81plus", "short")}
            paths[p][d] = {"forwarded_tcp_packets": fw, "dropped": dr,
                           "dropped_total": sum(v or 0 for v in dr.values())}
    events = []
    if a.events and os.path.exists(a.events):
        events = [json.loads(l) for l in open(a.events) if l.strip()]
    nstat = {}
    for spec in a.nstat:
        ns, f = spec.split("=", 1)
        nstat[ns] = nstat_all(f)
    tbf_drops = sum(v.get("drops") or 0 for v in tbf.values())
    truth = {
        "format": "mptcp-trace-pair-truth/1",
        "scenario": "pair",
        "captures": caps,
        "merge_of": {"client-any.pcap": ["client-vA.pcap", "client-vB.pcap"]},
        "pair": {"client_side": "client-any.pcap", "server_side": "server-any.pcap"},
        "apps_match": apps_match,
        "expect_complete": apps_match,
        "connections": len(conns),
        "conns": conns,
        "paths": paths,
        "loss_percent": int(a.loss),
        "nft_counters": nft,
        "nft_ruleset": open(a.nft_text).read().splitlines(),
        "router_tbf": tbf,
        "router_tbf_drops": tbf_drops,
        "nstat": nstat,
        "events": events,
        "setup": [l for l in open(a.setup).read().splitlines() if l.strip()],
        "notes": (
            "One MPTCP connection 192.0.2.1 -> 203.0.113.2:5201 (path A, MP_CAPABLE) plus the "
            "client's 'subflow' endpoint 198.51.100.1 dev vB-cli joining 203.0.113.2 over path B. "
            "A router netns forwards both paths (no NAT), shapes its egress with tbf and drops "
            "~%s%% of forwarded TCP packets at random in both directions of both paths (nft, "
            "forward hook), so every drop is in the sender's capture and missing from the "
            "receiver's. The four captures ran at the same time; all namespaces share the host "
            "clock (true clock offset 0)." % a.loss),
    }
    with open(a.out, "w") as f:
        json.dump(truth, f, indent=2)
        f.write("\n")
    bad = [c["name"] for c in caps if not c["tcpdump"]["ok"]]
    for c in caps:
        t = c["tcpdump"]
        print("%s: %d bytes, %d packets, tcpdump %s/%s/%s" % (
            c["file"], c["size_bytes"], c["packets"], t["packets_captured"],
            t["packets_received_by_filter"], t["packets_dropped_by_kernel"]), file=sys.stderr)
    print("apps_match=%s tbf_drops=%d nft=%s" % (apps_match, tbf_drops, json.dumps(nft)),
          file=sys.stderr)
    if bad:
        print("tcpdump lost packets: %s" % bad, file=sys.stderr)
        return 3
    if not apps_match or tbf_drops or len(conns) != 1:
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
