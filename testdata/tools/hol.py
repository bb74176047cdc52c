#!/usr/bin/env python3
"""Head-of-line delay and data-level reordering from tshark's fields (issue 14).

An independent check of `mptcp-trace analyze`'s receiver view: it uses only tshark
(4.0 field names) and Python 3's standard library, never mptcp-trace.

    python3 testdata/tools/hol.py FILE [--pretty]

Scope: captures with ONE MPTCP connection whose handshakes (MP_CAPABLE and MP_JOIN
SYNs) are in the capture and whose DSS options carry mappings with 8-byte DSNs (what
Linux sends). Other captures are refused (exit 2).

Rules, per data direction (a direction that carried payload):
  * A segment's subflow offset is seq_raw - ISN (ISN from that subflow direction's
    SYN); its DSN is that of the mapping covering it: the DSS on the segment itself,
    else the last mapping of that subflow direction that covers its offset.
  * The stream starts at the lowest DSN any payload byte carries.
  * Segments are taken in frame order. A segment's new bytes are those of
    [dsn, dsn + len) not carried before in the connection direction. A segment with
    new bytes is "out of order" when its DSN is above the next expected DSN (the
    first byte not yet received contiguously from the start).
  * Its head-of-line delay: from its timestamp to the timestamp of the first frame
    after which every byte below its end has been received (0 when that is itself).
  * A segment without new bytes is a "copy": in a 1-byte mapping it is a probe;
    if its subflow byte range had been carried before on its subflow it is a TCP
    retransmission; otherwise a duplicate.
  * Percentiles: nearest rank (the smallest value with at least ceil(p * n) of the
    n values at or below it), exact.

Output (JSON): per direction `c2s`/`s2c` (c2s = from the MP_CAPABLE SYN sender):
segments, bytes, waited_segments, waited_bytes, out_of_order_segments,
out_of_order_bytes, undelivered_segments, duplicate_segments, retransmitted_copies,
probe_segments, payload_segments_after_peer_fin (segments with payload captured after
the receiver's first FIN on any subflow: a closed receiver answers them with a reset),
hol_ms {min, median, p90, p99, max}, and by_stream (tcp.stream ->
the same head-of-line figures for the segments that stream carried).
"""
import argparse
import json
import math
import subprocess
import sys
from decimal import Decimal

FIELDS = [
    "frame.number", "frame.time_epoch", "tcp.stream", "tcp.srcport", "tcp.flags", "tcp.seq_raw", "tcp.len",
    "tcp.options.mptcp.subtype", "tcp.options.mptcp.dseqnpresent.flag",
    "tcp.options.mptcp.dseqn8.flag", "tcp.options.mptcp.rawdataseqno",
    "tcp.options.mptcp.subflowseqno", "tcp.options.mptcp.datalvllen",
]


def tshark(path):
    cmd = ["tshark", "-r", path, "-n", "-o", "tcp.relative_sequence_numbers:FALSE",
           "-o", "mptcp.relative_sequence_numbers:FALSE", "-Y", "tcp",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split("\t") + [""] * len(FIELDS)
        yield dict(zip(FIELDS, parts))


def first(s):
    return s.split(",")[0] if s else ""


def nearest_rank(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    return v[max(1, math.ceil(p * len(v))) - 1]


def stats(delays):
    ms = lambda ns: None if ns is None else round(ns / 1e6, 6)
    return {"min": ms(nearest_rank(delays, 0.0)), "median": ms(nearest_rank(delays, 0.5)),
            "p90": ms(nearest_rank(delays, 0.9)), "p99": ms(nearest_rank(delays, 0.99)),
            "max": ms(max(delays) if delays else None)}


class Received:
    """Disjoint sorted intervals of DSNs received."""

    def __init__(self):
        self.iv = []

    def add(self, a, b):
        """Adds [a, b); returns how many of its bytes were new."""
        new = b - a
        out = []
        for x, y in self.iv:
            lo, hi = max(a, x), min(b, y)
            if lo < hi:
                new -= hi - lo
            if y < a or x > b:
                out.append((x, y))
            else:
                a, b = min(a, x), max(b, y)
        out.append((a, b))
        out.sort()
        self.iv = out
        return new

    def next_expected(self, start):
        for x, y in self.iv:
            if x <= start < y or x == start:
                return y
        return start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--pretty", action="store_true")
    a = ap.parse_args()
    rows = list(tshark(a.pcap))
    isn = {}        # (stream, dir) -> ISN
    mpc_streams = set()
    syn_port = {}   # stream -> source port of its SYN
    segs = []
    for r in rows:
        st = int(r["tcp.stream"])
        flags = int(r["tcp.flags"], 16)
        subtypes = [int(x) for x in r["tcp.options.mptcp.subtype"].split(",") if x]
        if flags & 0x02 and not flags & 0x10:
            syn_port[st] = r["tcp.srcport"]
            if 0 in subtypes:
                mpc_streams.add(st)
        segs.append((r, st, flags))
    if len(mpc_streams) != 1:
        sys.exit(2)
    maps = {}       # (stream, dir) -> [(ssn, dsn, len)]
    carried = {}    # (stream, dir) -> Received (subflow offsets)
    recv = {"c2s": Received(), "s2c": Received()}
    seen = {"c2s": [], "s2c": []}
    fin_from = set()                    # directions whose sender has sent a FIN
    after_fin = {"c2s": 0, "s2c": 0}    # payload segments sent after the peer's FIN
    for r, st, flags in segs:
        if st not in syn_port:
            sys.exit(2)
        d = "c2s" if r["tcp.srcport"] == syn_port[st] else "s2c"
        if flags & 0x02:
            isn[(st, d)] = int(r["tcp.seq_raw"])
            continue
        peer = "s2c" if d == "c2s" else "c2s"
        if int(r["tcp.len"] or 0) and peer in fin_from:
            after_fin[d] += 1
        if flags & 0x01:
            fin_from.add(d)
        dsnf = first(r["tcp.options.mptcp.dseqnpresent.flag"])
        if dsnf in ("1", "True") and first(r["tcp.options.mptcp.dseqn8.flag"]) in ("1", "True"):
            m = (int(first(r["tcp.options.mptcp.subflowseqno"])), int(first(r["tcp.options.mptcp.rawdataseqno"])),
                 int(first(r["tcp.options.mptcp.datalvllen"])))
            ms = maps.setdefault((st, d), [])
            if m not in ms:
                ms.append(m)
        elif dsnf in ("1", "True"):
            sys.exit(2)  # 4-byte DSNs: out of scope
        n = int(r["tcp.len"] or 0)
        if n == 0 or (st, d) not in isn:
            continue
        off = (int(r["tcp.seq_raw"]) - isn[(st, d)]) % (1 << 32)
        m = next((m for m in reversed(maps.get((st, d), [])) if m[0] <= off < m[0] + max(m[2], 1)), None)
        if m is None:
            continue
        dsn = m[1] + (off - m[0])
        ln = min(n, m[0] + m[2] - off) if m[2] else n
        ts = int(Decimal(r["frame.time_epoch"]) * 1_000_000_000)
        sub_new = carried.setdefault((st, d), Received()).add(off, off + n)
        seen[d].append((ts, st, dsn, ln, m[2] == 1, sub_new == 0))
    res = {}
    for d in ("c2s", "s2c"):
        if not seen[d]:
            continue
        start = min(s[2] for s in seen[d])
        rc = Received()
        nxt = start
        waits = []
        o = {"segments": 0, "bytes": 0, "waited_segments": 0, "waited_bytes": 0,
             "out_of_order_segments": 0, "out_of_order_bytes": 0, "undelivered_segments": 0,
             "duplicate_segments": 0, "retransmitted_copies": 0, "probe_segments": 0}
        delays, by = [], {}
        for ts, st, dsn, ln, one, retx in seen[d]:
            new = rc.add(dsn, dsn + ln)
            if new == 0:
                if one:
                    o["probe_segments"] += 1
                elif retx:
                    o["retransmitted_copies"] += 1
                else:
                    o["duplicate_segments"] += 1
            else:
                o["segments"] += 1
                o["bytes"] += new
                if dsn > nxt:
                    o["out_of_order_segments"] += 1
                    o["out_of_order_bytes"] += new
                waits.append([dsn + ln, ts, st, new])
            nxt = rc.next_expected(start)
            keep = []
            for end, t0, s, nb in waits:
                if end <= nxt:
                    dl = ts - t0
                    delays.append(dl)
                    by.setdefault(s, []).append(dl)
                    if dl > 0:
                        o["waited_segments"] += 1
                        o["waited_bytes"] += nb
                else:
                    keep.append([end, t0, s, nb])
            waits = keep
        o["undelivered_segments"] = len(waits)
        o["payload_segments_after_peer_fin"] = after_fin[d]
        o["hol_ms"] = stats(delays)
        o["by_stream"] = {str(s): dict(stats(v), segments=len(v), waited_segments=sum(1 for x in v if x > 0))
                          for s, v in sorted(by.items())}
        res[d] = o
    json.dump(res, sys.stdout, indent=1 if a.pretty else None, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
