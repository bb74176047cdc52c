#!/usr/bin/env python3
"""Write NAME.truth.json for one testdata/matrix capture (called by matrix.sh).

The truth comes from the applications (mptcp_app.py result files), tcpdump's
own statistics, nstat and the scenario script, never from mptcp-trace.
Format: see testdata/README.md, section "Matrix". Key points:

  format            "mptcp-trace-matrix-truth/1"
  scenario, pcap, size_bytes, packets, linktype, linktype_num, mptcp_subtypes
  tcpdump           {packets_captured, packets_received_by_filter,
                     packets_dropped_by_kernel, ok}
  capture_window    "full" | "starts-mid-connection" | "ends-mid-connection"
  expect_app_match  directions whose sent/received app hashes must be equal
  apps_match        every direction of every connection matched
  expect_complete(_c2s/_s2c)  a correct analyser rebuilds the streams from the file
  connections, conns[]  one object per MPTCP connection (see README)
  nstat             {"client": {counter: value != 0}, "server": {...}}
  events, setup, notes

Exit status: 0 ok, 3 tcpdump lost packets, 4 an application-level check failed.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import update_manifest as um  # noqa: E402  (linktypes, tshark_stats)


def tcpdump_counts(path):
    txt = open(path).read()

    def num(pat):
        m = re.search(r"(\d+) packets? " + pat, txt)
        return int(m.group(1)) if m else None

    d = {
        "packets_captured": num("captured"),
        "packets_received_by_filter": num("received by filter"),
        "packets_dropped_by_kernel": num("dropped by kernel"),
    }
    d["ok"] = (d["packets_captured"] is not None
               and d["packets_captured"] == d["packets_received_by_filter"]
               and d["packets_dropped_by_kernel"] == 0)
    return d


def nstat_nonzero(path):
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2 and f[0].startswith("MPTcp") and f[1].isdigit() and int(f[1]):
            out[f[0]] = int(f[1])
    return out


def label_key(r):
    m = re.search(r"(\d+)$", r.get("label", ""))
    return int(m.group(1)) if m else 0


def build_conns(server, clients):
    srv = sorted(server, key=label_key)
    used = set()
    conns = []
    for cl in clients:
        sv = {}
        for i, s in enumerate(srv):
            if i not in used and s["peer"] == cl["local"]:
                used.add(i)
                sv = s
                break
        if not sv:
            # behind a NAT (testdata/pair.sh NAT=1) the server sees another peer
            # address: the first unused server connection, in order
            for i, s in enumerate(srv):
                if i not in used:
                    used.add(i)
                    sv = s
                    break
        c = um.conn_record(cl, sv)
        c.update({
            "client_mptcp_info": {k: cl.get("info_" + k) for k in ("start", "mid", "end")},
            "server_mptcp_info": {k: sv.get("info_" + k) for k in ("start", "mid", "end")},
            "client_app_t_end": cl.get("t_end"), "server_app_t_end": sv.get("t_end"),
        })
        c["c2s_match"] = (c["c2s_bytes"] == c["c2s_received_bytes"]
                          and c["c2s_sha256"] == c["c2s_received_sha256"])
        c["s2c_match"] = (c["s2c_bytes"] == c["s2c_received_bytes"]
                          and c["s2c_sha256"] == c["s2c_received_sha256"])
        conns.append(c)
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--pcap", required=True, help="capture (its basename is recorded)")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", action="append", required=True)
    ap.add_argument("--tcpdump-stderr", required=True)
    ap.add_argument("--nstat-client", required=True)
    ap.add_argument("--nstat-server", required=True)
    ap.add_argument("--events")
    ap.add_argument("--setup", default="", help="newline-separated setup commands")
    ap.add_argument("--notes", default="")
    ap.add_argument("--window", default="full",
                    choices=["full", "starts-mid-connection", "ends-mid-connection"])
    ap.add_argument("--expect-match", default="c2s,s2c",
                    help="comma list of directions whose app hashes must match ('' for none)")
    ap.add_argument("--min-conns", type=int, default=1)
    ap.add_argument("--require", action="append", default=[],
                    help="side:Counter[=N]: nstat counter of client|server must be >= N (default 1)")
    a = ap.parse_args()

    server = um.load(a.server)
    clients = [r for p in a.client for r in um.load(p)]
    clients.sort(key=label_key)
    conns = build_conns(server, clients)
    fmt, lts = um.linktypes(a.pcap)
    pkts, subtypes = um.tshark_stats(a.pcap)
    events = []
    if a.events and os.path.exists(a.events):
        with open(a.events) as f:
            events = [json.loads(l) for l in f if l.strip()]
    td = tcpdump_counts(a.tcpdump_stderr)
    want = [d for d in a.expect_match.split(",") if d]
    apps_match = all(c["c2s_match"] and c["s2c_match"] for c in conns)
    full = a.window == "full"
    truth = {
        "format": "mptcp-trace-matrix-truth/1",
        "scenario": a.scenario,
        "pcap": os.path.basename(a.pcap),
        "size_bytes": os.path.getsize(a.pcap),
        "packets": pkts,
        "linktype": "+".join(um.LINKTYPES.get(l, str(l)) for l in lts),
        "linktype_num": lts[0] if len(set(lts)) == 1 else lts,
        "tcpdump": td,
        "capture_window": a.window,
        "expect_app_match": want,
        "apps_match": apps_match,
        "expect_complete": full and apps_match,
        "expect_complete_c2s": full and all(c["c2s_match"] for c in conns),
        "expect_complete_s2c": full and all(c["s2c_match"] for c in conns),
        "connections": len(conns),
        "mptcp_subtypes": subtypes,
        "conns": conns,
        "nstat": {"client": nstat_nonzero(a.nstat_client),
                  "server": nstat_nonzero(a.nstat_server)},
        "events": events,
        "setup": [l for l in a.setup.splitlines() if l.strip()],
        "notes": a.notes,
    }
    with open(a.out, "w") as f:
        json.dump(truth, f, indent=2)
        f.write("\n")
    bad = [("%s %s" % (c["client"], d)) for c in conns for d in want if not c[d + "_match"]]
    print("%s: %d bytes, %d pkts, %d conns, subtypes=%s, tcpdump=%s, apps_match=%s%s" % (
        a.scenario, truth["size_bytes"], pkts, len(conns), subtypes, td, apps_match,
        (" MISMATCH " + ", ".join(bad)) if bad else ""), file=sys.stderr)
    if not td["ok"]:
        return 3
    for r in a.require:
        side, _, ctr = r.partition(":")
        ctr, _, n = ctr.partition("=")
        have = truth["nstat"][side].get(ctr, 0)
        if have < int(n or 1):
            bad.append("nstat %s %s=%d < %s" % (side, ctr, have, n or 1))
    if bad:
        print("CHECK FAILED: " + "; ".join(bad), file=sys.stderr)
    if bad or len(conns) < a.min_conns:
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
