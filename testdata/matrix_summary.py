#!/usr/bin/env python3
"""Markdown table of testdata/matrix/*.truth.json plus tshark subflow counts (for README)."""
import glob
import json
import os
import subprocess

NAMES = {"0": "MP_CAPABLE", "1": "MP_JOIN", "2": "DSS", "3": "ADD_ADDR", "4": "REMOVE_ADDR",
         "5": "MP_PRIO", "6": "MP_FAIL", "7": "MP_FASTCLOSE", "8": "MP_TCPRST"}
KEYS = ["MPTcpExtWinProbe", "MPTcpExtMPCapableFallbackACK", "MPTcpExtDuplicateData",
        "MPTcpExtMPJoinAckRx", "MPTcpExtMPJoinRejected", "MPTcpExtBlackhole",
        "MPTcpExtMPCapableSYNTXDrop", "MPTcpExtMPJoinPortAckRx", "MPTcpExtAddAddr"]
HERE = os.path.dirname(os.path.abspath(__file__))

print("| capture | size | packets | conns | tcp streams | apps match | tcpdump captured/received/dropped | MPTCP options | nstat (client / server, non-zero of a few) |")
print("| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |")
for f in sorted(glob.glob(os.path.join(HERE, "matrix", "*.truth.json"))):
    t = json.load(open(f))
    pcap = os.path.join(os.path.dirname(f), t["pcap"])
    streams = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream"],
                             capture_output=True, text=True).stdout.split()
    td = t["tcpdump"]
    opts = ", ".join("%s %s" % (NAMES.get(k, k), v) for k, v in t["mptcp_subtypes"].items())
    ns = []
    for side in ("client", "server"):
        ns.append(" ".join("%s=%d" % (k.replace("MPTcpExt", ""), t["nstat"][side][k])
                           for k in KEYS if k in t["nstat"][side]) or "-")
    print("| `%s` | %d | %d | %d | %d | %s | %s/%s/%s | %s | %s / %s |" % (
        t["pcap"], t["size_bytes"], t["packets"], t["connections"], len(set(streams)),
        "yes" if t["apps_match"] else "no", td["packets_captured"],
        td["packets_received_by_filter"], td["packets_dropped_by_kernel"], opts, ns[0], ns[1]))
