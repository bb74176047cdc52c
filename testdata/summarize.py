#!/usr/bin/env python3
"""Print a per-capture summary (tshark-based) used to write testdata/README.md.

    python3 testdata/summarize.py [file...]
"""
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {0: "MP_CAPABLE", 1: "MP_JOIN", 2: "DSS", 3: "ADD_ADDR", 4: "REMOVE_ADDR",
         5: "MP_PRIO", 6: "MP_FAIL", 7: "MP_FASTCLOSE", 8: "MP_TCPRST"}
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.flags.str", "tcp.len",
          "tcp.options.mptcp.subtype", "tcp.options.mptcp.datafin.flag",
          "tcp.options.mptcp.backup.flag", "tcp.options.mptcp.addrid",
          "tcp.options.mptcp.echo", "tcp.options.mptcp.rst_reason",
          "tcp.analysis.retransmission", "tcp.options.mptcp.checksum",
          "tcp.options.mptcp.checksumreq.flags", "frame.cap_len", "frame.len",
          "frame.interface_id"]


def rows(path):
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    for line in out.splitlines():
        yield dict(zip(FIELDS, line.split("\t")))


def summarize(path, man):
    name = os.path.basename(path)
    ent = man.get(name, {})
    pkts = 0
    sub = Counter()
    streams = defaultdict(lambda: {"pkts": 0, "payload": 0, "ends": None, "fin": 0, "rst": 0,
                                   "datafin": 0, "retx": 0})
    special = []
    truncated = 0
    csums = 0
    last_t = 0.0
    ifaces = Counter()
    for r in rows(path):
        pkts += 1
        last_t = float(r["frame.time_relative"] or 0)
        if r["frame.cap_len"] != r["frame.len"]:
            truncated += 1
        ifaces[r["frame.interface_id"]] += 1
        if not r["tcp.stream"]:
            continue
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        a, b = (src, r["tcp.srcport"]), (dst, r["tcp.dstport"])
        st = streams[r["tcp.stream"]]
        if st["ends"] is None:
            st["ends"] = "%s:%s -> %s:%s" % (a[0], a[1], b[0], b[1])
        st["pkts"] += 1
        st["payload"] += int(r["tcp.len"] or 0)
        flags = r["tcp.flags.str"]
        if "F" in flags:
            st["fin"] += 1
        if "R" in flags:
            st["rst"] += 1
        if r["tcp.analysis.retransmission"]:
            st["retx"] += 1
        if r["tcp.options.mptcp.checksum"]:
            csums += 1
        subs = [int(x) for x in r["tcp.options.mptcp.subtype"].split(",") if x]
        for s in subs:
            sub[s] += 1
        if "1" in r["tcp.options.mptcp.datafin.flag"].split(","):
            st["datafin"] += 1
        interesting = [s for s in subs if s >= 3]
        if interesting or ("R" in flags):
            special.append("frame %s t=%.3f %s -> %s [%s] %s%s%s%s" % (
                r["frame.number"], last_t, src, dst, flags.replace("·", ""),
                "+".join(NAMES[s] for s in subs),
                (" B=" + r["tcp.options.mptcp.backup.flag"]) if 5 in subs else "",
                (" addr_id=" + r["tcp.options.mptcp.addrid"]) if set(subs) & {3, 4} else "",
                (" echo=" + r["tcp.options.mptcp.echo"]) if 3 in subs else ""
                + ((" reason=" + r["tcp.options.mptcp.rst_reason"]) if 8 in subs else "")))
    print("### %s" % name)
    print("- size %d bytes, %d packets, %.2f s, link type %s%s" % (
        os.path.getsize(path), pkts, last_t, ent.get("linktype", "?"),
        (", interfaces %s" % dict(ifaces)) if len(ifaces) > 1 else ""))
    print("- MPTCP options: " + ", ".join("%s(%d) x%d" % (NAMES[k], k, v) for k, v in sorted(sub.items())))
    if truncated:
        print("- %d frames truncated by snaplen" % truncated)
    if csums:
        print("- %d frames carry a DSS checksum" % csums)
    for sid, st in sorted(streams.items(), key=lambda kv: int(kv[0])):
        print("- tcp.stream %s: %s: %d pkts, %d payload bytes, FIN %d, RST %d, DATA_FIN-flag pkts %d, tshark-retransmissions %d" % (
            sid, st["ends"], st["pkts"], st["payload"], st["fin"], st["rst"], st["datafin"], st["retx"]))
    for s in special[:12]:
        print("  - " + s)
    if len(special) > 12:
        print("  - ... %d more" % (len(special) - 12))
    if ent:
        for c in ent["conns"]:
            print("- conn %s -> %s: c2s %s B sha256 %s (received %s, match %s); s2c %s B sha256 %s (received %s, match %s)" % (
                c["client"], c["server"], c["c2s_bytes"], c["c2s_sha256"][:16] + "...",
                c["c2s_received_bytes"], c["c2s_match"], c["s2c_bytes"],
                (c["s2c_sha256"] or "")[:16] + "...", c["s2c_received_bytes"], c["s2c_match"]))
        for e in ent["events"]:
            print("- event t=%.3f s after client start: %s" % (e["t_rel"], e["action"]))
    print()


def main():
    man = {}
    mp = os.path.join(HERE, "manifest.json")
    if os.path.exists(mp):
        man = {e["file"]: e for e in json.load(open(mp))}
    files = sys.argv[1:] or [os.path.join(HERE, e) for e in sorted(man)]
    for f in files:
        summarize(f, man)


if __name__ == "__main__":
    main()
