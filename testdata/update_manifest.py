#!/usr/bin/env python3
"""Merge one capture's results into testdata/manifest.json (used by capture.sh).

Stable keys per entry (Rust tests rely on these):
  file, scenario, linktype, linktype_num, size_bytes, packets, connections,
  c2s_bytes, c2s_sha256, s2c_bytes, s2c_sha256,      (first/only connection,
      what the sender pushed into its socket)
  c2s_received_bytes, c2s_received_sha256, c2s_match,
  s2c_received_bytes, s2c_received_sha256, s2c_match,
  expect_complete, expect_complete_c2s, expect_complete_s2c,
  mptcp_subtypes   ({"0": n, "2": n, ...} option counts from tshark),
  conns            (list, one object per connection, same c2s_/s2c_ keys plus
                    client/server addresses),
  events ([{epoch, t_rel (s after client start), t_capture (s after first
          frame), action}]), notes
"""
import argparse
import json
import os
import struct
import subprocess
import sys
from collections import Counter

LINKTYPES = {1: "EN10MB", 113: "LINUX_SLL", 276: "LINUX_SLL2"}


def conn_record(cl, sv):
    """One connection's truth from the client's and the server's app result (`sv` may be {})."""
    return {
        "client": cl["local"], "server": cl["peer"],
        "client_socket_proto": cl["proto"], "server_socket_proto": sv.get("proto"),
        "c2s_seed": cl["seed"], "s2c_seed": sv.get("seed"),
        "c2s_bytes": cl["sent_bytes"], "c2s_sha256": cl["sent_sha256"],
        "c2s_received_bytes": sv.get("recv_bytes"),
        "c2s_received_sha256": sv.get("recv_sha256"),
        "s2c_bytes": sv.get("sent_bytes"), "s2c_sha256": sv.get("sent_sha256"),
        "s2c_received_bytes": cl["recv_bytes"],
        "s2c_received_sha256": cl["recv_sha256"],
        "client_errors": [e for e in (cl.get("send_error"), cl.get("recv_error")) if e],
        "server_errors": [e for e in (sv.get("send_error"), sv.get("recv_error")) if e],
    }

def linktypes(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            return "pcap", [struct.unpack("<I", head[20:24])[0]]
        if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            return "pcap", [struct.unpack(">I", head[20:24])[0]]
        if magic == b"\x0a\x0d\x0d\x0a":
            f.seek(0)
            data = f.read()
            bo = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
            off, lts = 0, []
            while off + 12 <= len(data):
                btype, blen = struct.unpack(bo + "II", data[off:off + 8])
                if btype == 1:  # IDB
                    lts.append(struct.unpack(bo + "H", data[off + 8:off + 10])[0])
                if blen < 12:
                    break
                off += blen
            return "pcapng", lts
    return "unknown", []


def tshark_stats(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number",
                          "-e", "tcp.options.mptcp.subtype"], capture_output=True, text=True).stdout
    pkts = 0
    c = Counter()
    for line in out.splitlines():
        pkts += 1
        parts = line.split("\t")
        if len(parts) > 1 and parts[1]:
            for st in parts[1].split(","):
                c[st] += 1
    return pkts, dict(sorted(c.items(), key=lambda kv: int(kv[0])))


def load(p):
    with open(p) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", action="append", required=True)
    ap.add_argument("--events")
    ap.add_argument("--notes", default="")
    ap.add_argument("--expect-complete", default="auto",
                    help="true|false|auto (auto: true iff every direction matched)")
    ap.add_argument("--complete-c2s", choices=["true", "false"],
                    help="override expect_complete_c2s (default: expect_complete and matched)")
    ap.add_argument("--complete-s2c", choices=["true", "false"])
    a = ap.parse_args()

    srv = load(a.server)
    conns = []
    for cpath in a.client:
        for cl in load(cpath):
            port = cl["local"].rsplit(":", 1)[1]
            sv = [s for s in srv if s["peer"].rsplit(":", 1)[1] == port]
            sv = sv[0] if sv else {}
            conn = conn_record(cl, sv)
            conn["client_mptcp_info_end"] = cl.get("info_end")
            conn["server_mptcp_info_end"] = sv.get("info_end")
            conn["c2s_match"] = (conn["c2s_bytes"] == conn["c2s_received_bytes"]
                                 and conn["c2s_sha256"] == conn["c2s_received_sha256"])
            conn["s2c_match"] = (conn["s2c_bytes"] == conn["s2c_received_bytes"]
                                 and conn["s2c_sha256"] == conn["s2c_received_sha256"])
            conns.append(conn)

    fmt, lts = linktypes(a.pcap)
    pkts, subtypes = tshark_stats(a.pcap)
    events = []
    if a.events and os.path.exists(a.events):
        with open(a.events) as f:
            events = [json.loads(l) for l in f if l.strip()]

    t0 = subprocess.run(["tshark", "-r", a.pcap, "-c", "1", "-T", "fields", "-e",
                         "frame.time_epoch"], capture_output=True, text=True).stdout.strip()
    for e in events:
        # seconds since the first frame of the capture (tshark frame.time_relative)
        e["t_capture"] = round(e["epoch"] - float(t0), 3) if t0 else None

    first = conns[0]
    all_c2s = all(c["c2s_match"] for c in conns)
    all_s2c = all(c["s2c_match"] for c in conns)
    if a.expect_complete == "auto":
        ec = all_c2s and all_s2c
    else:
        ec = a.expect_complete == "true"
    entry = {
        "file": os.path.basename(a.pcap),
        "scenario": a.scenario,
        "format": fmt,
        "linktype": "+".join(LINKTYPES.get(l, str(l)) for l in lts),
        "linktype_num": lts[0] if len(set(lts)) == 1 else lts,
        "size_bytes": os.path.getsize(a.pcap),
        "packets": pkts,
        "connections": len(conns),
        "c2s_bytes": first["c2s_bytes"], "c2s_sha256": first["c2s_sha256"],
        "c2s_received_bytes": first["c2s_received_bytes"],
        "c2s_received_sha256": first["c2s_received_sha256"],
        "c2s_match": first["c2s_match"],
        "s2c_bytes": first["s2c_bytes"], "s2c_sha256": first["s2c_sha256"],
        "s2c_received_bytes": first["s2c_received_bytes"],
        "s2c_received_sha256": first["s2c_received_sha256"],
        "s2c_match": first["s2c_match"],
        "expect_complete": ec,
        "expect_complete_c2s": (a.complete_c2s == "true") if a.complete_c2s else (ec and all_c2s),
        "expect_complete_s2c": (a.complete_s2c == "true") if a.complete_s2c else (ec and all_s2c),
        "mptcp_subtypes": subtypes,
        "conns": conns,
        "events": events,
        "notes": a.notes,
    }
    man = []
    if os.path.exists(a.manifest):
        man = load(a.manifest)
    man = [e for e in man if e["file"] != entry["file"]]
    man.append(entry)
    man.sort(key=lambda e: e["file"])
    with open(a.manifest, "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    print("%s: %s %d bytes %d pkts subtypes=%s c2s=%s s2c=%s" % (
        entry["file"], entry["linktype"], entry["size_bytes"], pkts, subtypes,
        all_c2s, all_s2c))


if __name__ == "__main__":
    sys.exit(main())
