#!/usr/bin/env python3
"""Extend a matrix truth file (matrix_truth.py output) for testdata/shapes.

Called by shapes.sh after matrix_truth.py. Adds, keeping every matrix key:
  shape              the shape name
  nstat_all          {side: {counter: value != 0}} for ALL counters of `nstat -asz`
                     (not only MPTcp*; the namespaces are fresh, values are absolute)
  nft                {namespace: [{rule, packets, bytes}]} for every nft rule with a counter
  corrupted          (mpfail shapes) the frame(s) whose payload nft overwrote, found in the
                     capture by the written pattern: frame number, subflow 4-tuple, raw and
                     relative TCP seq, payload offset, the original and the written bytes,
                     the stream offset (0-based, in the sender's data-level stream), the TCP
                     checksum status tshark computed, and the hash an application would get if
                     it read the corrupted bytes in place of the original ones
  tfo                (tfo shape) SYNs with payload, from tshark
Exit status: 0, or 5 when a requested check (corruption found once with a good TCP
checksum) fails.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mptcp_app import gen_stream  # noqa: E402


def nstat_all(path):
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2 and f[1].isdigit() and int(f[1]):
            out[f[0]] = int(f[1])
    return out


def nft_counters(path):
    d = json.load(open(path))
    rows = []
    for e in d.get("nftables", []):
        r = e.get("rule")
        if not r:
            continue
        for x in r["expr"]:
            if "counter" in x:
                rows.append({"chain": r["chain"], "comment": r.get("comment"),
                             "handle": r.get("handle"),
                             "packets": x["counter"]["packets"], "bytes": x["counter"]["bytes"]})
    return rows


def tshark(pcap, filt, fields):
    cmd = ["tshark", "-o", "tcp.check_checksum:TRUE", "-r", pcap, "-Y", filt, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, l.split("\t"))) for l in out.splitlines()]


def find_corrupt(pcap, pattern, th_off, seed, nbytes):
    fields = ["frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
              "tcp.seq_raw", "tcp.seq", "tcp.len", "tcp.hdr_len", "tcp.checksum",
              "tcp.checksum.status", "tcp.payload"]
    pat = bytes.fromhex(pattern)
    rows = tshark(pcap, "tcp.payload contains %s" % ":".join("%02x" % b for b in pat), fields)
    stream = gen_stream(seed, nbytes)
    res = []
    for r in rows:
        pl = bytes.fromhex(r.pop("tcp.payload"))
        po = th_off - int(r["tcp.hdr_len"])
        assert pl[po:po + len(pat)] == pat, "pattern not at the expected offset"
        # locate the segment in the sender's stream by the bytes before the pattern
        if po >= 16:
            base = stream.find(pl[:po])
        else:
            base = stream.find(pl[po + len(pat):])
            base = base - po - len(pat) if base >= 0 else -1
        so = base + po
        orig = stream[so:so + len(pat)]
        patched = stream[:so] + pat + stream[so + len(pat):]
        res.append({
            "frame": int(r["frame.number"]), "time_epoch": r["frame.time_epoch"],
            "src": "%s:%s" % (r["ip.src"], r["tcp.srcport"]),
            "dst": "%s:%s" % (r["ip.dst"], r["tcp.dstport"]),
            "tcp_seq_raw": int(r["tcp.seq_raw"]), "tcp_seq_relative": int(r["tcp.seq"]),
            "tcp_len": int(r["tcp.len"]), "tcp_hdr_len": int(r["tcp.hdr_len"]),
            "tcp_checksum": r["tcp.checksum"],
            "tcp_checksum_status_tshark": {"1": "good", "0": "bad"}.get(r["tcp.checksum.status"], r["tcp.checksum.status"]),
            "th_offset_bytes": th_off, "payload_offset": po, "length": len(pat),
            "written_hex": pattern, "original_hex": orig.hex(),
            "stream_seed": seed, "stream_offset": so if base >= 0 else None,
            "stream_sha256_with_corruption": hashlib.sha256(patched).hexdigest() if base >= 0 else None,
        })
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", required=True)
    ap.add_argument("--shape", required=True)
    ap.add_argument("--nstat", action="append", default=[], help="side=path")
    ap.add_argument("--nft", action="append", default=[], help="namespace=nft-json-path")
    ap.add_argument("--corrupt", help="hexpattern:th_offset_bytes:seed:stream_bytes")
    ap.add_argument("--tfo", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="key=json-value (extra fields)")
    a = ap.parse_args()
    t = json.load(open(a.truth))
    pcap = os.path.join(os.path.dirname(a.truth), t["pcap"])
    t["shape"] = a.shape
    t["nstat_all"] = {}
    for s in a.nstat:
        k, _, p = s.partition("=")
        t["nstat_all"][k] = nstat_all(p)
    if a.nft:
        t["nft"] = {}
        for s in a.nft:
            k, _, p = s.partition("=")
            t["nft"][k] = nft_counters(p)
    rc = 0
    if a.corrupt:
        pat, off, seed, n = a.corrupt.split(":")
        c = find_corrupt(pcap, pat, int(off), seed, int(n))
        t["corrupted"] = c
        if len(c) != 1 or c[0]["tcp_checksum_status_tshark"] != "good" or c[0]["stream_offset"] is None:
            print("CORRUPTION CHECK FAILED: %s" % c, file=sys.stderr)
            rc = 5
    if a.tfo:
        t["tfo"] = {"syn_with_payload": tshark(pcap, "tcp.flags.syn==1 && tcp.len>0", [
            "frame.number", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.ack",
            "tcp.len", "tcp.options.tfo.cookie", "tcp.options.mptcp.subtype"])}
    for s in a.set:
        k, _, v = s.partition("=")
        t[k] = json.loads(v)
    with open(a.truth, "w") as f:
        json.dump(t, f, indent=2)
        f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
