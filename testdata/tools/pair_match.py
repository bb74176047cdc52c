#!/usr/bin/env python3
"""Match the TCP segments of two captures of the same traffic (issue 13).

    python3 testdata/tools/pair_match.py CLIENT.pcap SERVER.pcap [--truth pair.truth.json]
                                         [--pretty] [--strict] [--list-all]

An independent checker for `mptcp-trace pair`: Python 3 standard library over
tshark's fields (tshark 4.0 names) only, never mptcp-trace.

NAT between the points: a flow of SERVER.pcap whose 4-tuple is not in
CLIENT.pcap is renamed to the client-side 4-tuple of the flow whose SYN (no
ACK) has the same raw ISN, and its reverse likewise (`nat` in the output lists
the translations). This assumes the middlebox keeps sequence numbers (Linux
NAT does), and uses only the ISN, not MPTCP options.

Rules
-----
* Segments: TCP packets that carry payload (tcp.len > 0) or have SYN or FIN.
  ICMP errors quoting a TCP header are ignored.
* Subflow: the TCP 4-tuple; direction c2s is the one whose sender sent the
  SYN without ACK (the client, expected in CLIENT.pcap); without a SYN, the
  direction whose packets are mostly seen first in CLIENT.pcap is c2s.
* The sending side of c2s is CLIENT.pcap, of s2c SERVER.pcap.
* A segment is identified by (directed 4-tuple, raw TCP sequence number,
  payload length). When the same key is sent more than once (retransmission),
  the copies are told apart by (IPv4 id, TCP TSval, raw ack): a received copy
  is matched to the unmatched sent copy with the same triple (router without
  NAT keeps them); copies left over are matched in order (first unmatched sent
  copy to first unmatched received copy). `matched_by` says how many of each.
* Lost between the points: a sent copy that no received copy matches.
  `lost[]` lists them: raw seq, seq relative to the SYN's ISN (if the SYN is in
  the sender's file), len, flags, the sender's capture time (epoch, and s since
  that file's first packet), frame number in the sender's file, and whether
  another copy of the same key reached the receiver (`delivered_later`).
* One-way delay: receiver's capture time - sender's capture time of each
  matched copy, raw timestamps of both files (integer ns, no float rounding).
  min / median (statistics.median: mean of the two middle values for an even
  count) / p99 (nearest rank: sorted[ceil(0.99 n) - 1]) / max, in microseconds.
* Clock offset (server clock - client clock), stated two ways over all
  subflows: (median c2s OWD - median s2c OWD) / 2 and (min c2s - min s2c) / 2.
  Both assume symmetric delays; when both files use the same clock (namespaces
  of one host) the true offset is 0 and these numbers show the path asymmetry.
* All-packet reconciliation (for comparing with router drop counters): every
  TCP packet, identified by (directed 4-tuple, seq, ack, tcp.len, flags, IPv4
  id, TSval, ip.len), counted per side; lost = sent - received per identity,
  split into the categories of testdata/pair.sh's nft rules: `synfinrst`
  (SYN, FIN or RST set), `len81plus` (else IPv4 total length > 80), `short`
  (the rest: pure ACKs, tiny payloads; IPv6 never counts as len81plus).

With --truth (pair.sh's truth file) the all-packet counts per path and
direction are compared with the router's nft counters (`check` in the
output); --strict then exits 5 when they disagree.
"""
import argparse
import json
import math
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.flags",
          "ip.id", "ip.len", "tcp.options.timestamp.tsval", "tcp.options.mptcp.subtype",
          ]
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def epoch_ns(s):
    sec, _, frac = s.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def read(path):
    cmd = ["tshark", "-r", path, "-n", "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-Y", "tcp and not icmp and not icmpv6", "-T", "fields", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    pkts = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        if v["ip.src"]:
            src, dst = v["ip.src"], v["ip.dst"]
        else:
            src, dst = "[%s]" % v["ipv6.src"], "[%s]" % v["ipv6.dst"]
        pkts.append({
            "frame": int(v["frame.number"]),
            "epoch": v["frame.time_epoch"],
            "t": epoch_ns(v["frame.time_epoch"]),
            "src": "%s:%s" % (src, v["tcp.srcport"]),
            "dst": "%s:%s" % (dst, v["tcp.dstport"]),
            "seq": int(v["tcp.seq_raw"]),
            "ack": int(v["tcp.ack_raw"] or 0),
            "len": int(v["tcp.len"]),
            "flags": int(v["tcp.flags"], 16),
            "ipid": v["ip.id"],
            "iplen": int(v["ip.len"]) if v["ip.len"] else None,
            "tsval": v["tcp.options.timestamp.tsval"],
            "mptcp": v["tcp.options.mptcp.subtype"],
        })
    return pkts


def flag_names(f):
    return "".join(n for b, n in ((SYN, "S"), (FIN, "F"), (RST, "R"), (0x08, "P"), (ACK, "."))
                   if f & b)


def is_segment(p):
    return p["len"] > 0 or p["flags"] & (SYN | FIN)


def category(p):
    if p["flags"] & (SYN | FIN | RST):
        return "synfinrst"
    if p["iplen"] is not None and p["iplen"] > 80:
        return "len81plus"
    return "short"


def us(ns):
    return round(ns / 1000.0, 3)


def stats(vals):
    if not vals:
        return None
    s = sorted(vals)
    n = len(s)
    return {"n": n, "min": us(s[0]), "median": us(statistics.median(s)),
            "p99": us(s[max(0, math.ceil(0.99 * n) - 1)]), "max": us(s[-1])}


def orient(cli, srv):
    """{(src, dst): "c2s"|"s2c"} for every directed flow seen in either file."""
    flows = set()
    for p in cli + srv:
        flows.add((p["src"], p["dst"]))
    role = {}
    for p in cli + srv:
        if p["flags"] & SYN and not p["flags"] & ACK:
            role[(p["src"], p["dst"])] = "c2s"
            role[(p["dst"], p["src"])] = "s2c"
    # no SYN seen: the direction mostly seen first in the client file is c2s
    first_c = {}
    for p in cli:
        first_c.setdefault((p["src"], p["dst"], p["seq"], p["len"], p["ack"]), p["t"])
    votes = Counter()
    for p in srv:
        k = (p["src"], p["dst"], p["seq"], p["len"], p["ack"])
        if k in first_c:
            votes[(p["src"], p["dst"])] += 1 if first_c[k] <= p["t"] else -1
    for fl in flows:
        if fl not in role:
            d = "c2s" if votes[fl] >= 0 else "s2c"
            role[fl] = d
            role[(fl[1], fl[0])] = "s2c" if d == "c2s" else "c2s"
    return role


def match_group(sent, recv):
    """Match the copies of one key. Returns (pairs, unmatched_sent, unmatched_recv, by)."""
    by = Counter()
    pairs = []
    used_s = [False] * len(sent)
    left_r = []
    for r in recv:
        d = (r["ipid"], r["tsval"], r["ack"])
        for i, s in enumerate(sent):
            if not used_s[i] and (s["ipid"], s["tsval"], s["ack"]) == d and (s["ipid"] or s["tsval"]):
                used_s[i] = True
                pairs.append((s, r))
                by["identity"] += 1
                break
        else:
            left_r.append(r)
    left_s = [s for i, s in enumerate(sent) if not used_s[i]]
    n = min(len(left_s), len(left_r))
    for s, r in zip(left_s[:n], left_r[:n]):
        pairs.append((s, r))
        by["order"] += 1
    return pairs, left_s[n:], left_r[n:], by


def translate_nat(cli, srv):
    """Rename server-side flows to their client-side 4-tuples, found by the SYN's ISN."""
    cflows = {(p["src"], p["dst"]) for p in cli}
    syn_c = {p["seq"]: (p["src"], p["dst"]) for p in cli if p["flags"] & SYN and not p["flags"] & ACK}
    tr = {}
    for p in srv:
        fl = (p["src"], p["dst"])
        if p["flags"] & SYN and not p["flags"] & ACK and fl not in cflows and p["seq"] in syn_c:
            c = syn_c[p["seq"]]
            tr[fl] = c
            tr[(fl[1], fl[0])] = (c[1], c[0])
    for p in srv:
        c = tr.get((p["src"], p["dst"]))
        if c:
            p["src"], p["dst"] = c
    return {"%s->%s" % k: "%s->%s" % v for k, v in sorted(tr.items())}


def analyse(cli_path, srv_path, list_all=False):
    cli, srv = read(cli_path), read(srv_path)
    nat = translate_nat(cli, srv)
    role = orient(cli, srv)
    side = {"client": cli, "server": srv}
    t0 = {k: (v[0]["t"] if v else 0) for k, v in side.items()}

    def subflow_of(p):
        d = role[(p["src"], p["dst"])]
        return ("%s->%s" % (p["src"], p["dst"]) if d == "c2s" else "%s->%s" % (p["dst"], p["src"])), d

    isn = {}
    kind = {}
    for name, pk in side.items():
        for p in pk:
            if p["flags"] & SYN:
                isn.setdefault((name, p["src"], p["dst"]), p["seq"])
                if not p["flags"] & ACK:
                    sf, _ = subflow_of(p)
                    st = set(p["mptcp"].split(",")) if p["mptcp"] else set()
                    kind.setdefault(sf, "MP_CAPABLE" if "0" in st else "MP_JOIN" if "1" in st else "TCP")

    # segments per (subflow, direction, side)
    seg = defaultdict(lambda: defaultdict(list))   # (sf, dir) -> side -> [p]
    allp = defaultdict(lambda: defaultdict(Counter))
    allfirst = defaultdict(dict)
    for name, pk in side.items():
        for p in pk:
            sf, d = subflow_of(p)
            ident = (p["seq"], p["ack"], p["len"], p["flags"], p["ipid"], p["tsval"], p["iplen"])
            allp[(sf, d)][name][ident] += 1
            allfirst[(sf, d)].setdefault(ident, p)
            if is_segment(p):
                seg[(sf, d)][name].append(p)

    out_sub = {}
    owd_dir = {"c2s": [], "s2c": []}
    totals = Counter()
    for (sf, d) in sorted(set(seg) | set(allp)):
        snd = "client" if d == "c2s" else "server"
        rcv = "server" if d == "c2s" else "client"
        groups_s = defaultdict(list)
        groups_r = defaultdict(list)
        for p in seg[(sf, d)][snd]:
            groups_s[(p["seq"], p["len"])].append(p)
        for p in seg[(sf, d)][rcv]:
            groups_r[(p["seq"], p["len"])].append(p)
        lost, extra, owd, by = [], [], [], Counter()
        retrans_keys = sum(1 for v in groups_s.values() if len(v) > 1)
        for k in set(groups_s) | set(groups_r):
            pairs, ls, lr, b = match_group(groups_s.get(k, []), groups_r.get(k, []))
            by.update(b)
            for s, r in pairs:
                owd.append(r["t"] - s["t"])
            delivered = len(pairs) > 0
            for s in ls:
                i = isn.get((snd, s["src"], s["dst"]))
                lost.append({
                    "seq": s["seq"], "rel_seq": ((s["seq"] - i) % 2**32) if i is not None else None,
                    "len": s["len"], "flags": flag_names(s["flags"]),
                    "time": s["epoch"], "t_rel": round((s["t"] - t0[snd]) / 1e9, 6),
                    "frame": s["frame"], "delivered_later": delivered,
                })
            for r in lr:
                extra.append({"seq": r["seq"], "len": r["len"], "time": r["epoch"], "frame": r["frame"]})
        lost.sort(key=lambda x: x["frame"])
        extra.sort(key=lambda x: x["frame"])
        owd_dir[d] += owd
        # all-packet reconciliation
        a_s, a_r = allp[(sf, d)][snd], allp[(sf, d)][rcv]
        cats = Counter()
        seglost_all = 0
        for ident, n in a_s.items():
            m = n - a_r.get(ident, 0)
            if m > 0:
                p = allfirst[(sf, d)][ident]
                cats[category(p)] += m
                if is_segment(p):
                    seglost_all += m
        only_rcv = sum(max(0, n - a_s.get(ident, 0)) for ident, n in a_r.items())
        ent = {
            "subflow": sf, "direction": d, "kind": kind.get(sf),
            "sender_file": snd, "sent_segments": len(seg[(sf, d)][snd]),
            "received_segments": len(seg[(sf, d)][rcv]),
            "retransmitted_keys": retrans_keys,
            "matched_by": dict(by),
            "lost_count": len(lost), "lost_bytes": sum(x["len"] for x in lost),
            "lost": lost,
            "seen_only_at_receiver": extra,
            "owd_us": stats(owd),
            "all_packets": {
                "sent": sum(a_s.values()), "received": sum(a_r.values()),
                "lost": sum(cats.values()), "lost_by_category": {c: cats.get(c, 0) for c in ("synfinrst", "len81plus", "short")},
                "lost_segments": seglost_all, "seen_only_at_receiver": only_rcv,
            },
        }
        if list_all:
            ent["owd_series"] = sorted(owd)
        out_sub.setdefault(sf, {})[d] = ent
        totals["lost_segments_" + d] += len(lost)
        totals["lost_segments"] += len(lost)
        totals["lost_bytes"] += ent["lost_bytes"]
        totals["lost_packets_all"] += ent["all_packets"]["lost"]
        totals["seen_only_at_receiver"] += len(extra) + only_rcv
        totals["sent_segments"] += ent["sent_segments"]
        totals["matched_by_identity"] += by.get("identity", 0)
        totals["matched_by_order"] += by.get("order", 0)
    fw, bw = owd_dir["c2s"], owd_dir["s2c"]
    offset = None
    if fw and bw:
        offset = {
            "from_medians_us": us((statistics.median(fw) - statistics.median(bw)) / 2),
            "from_minima_us": us((min(fw) - min(bw)) / 2),
            "meaning": "server clock minus client clock, assuming symmetric one-way delays",
        }
    return {
        "format": "pair-match/1",
        "client_file": cli_path.rsplit("/", 1)[-1], "server_file": srv_path.rsplit("/", 1)[-1],
        "client_packets_tcp": len(cli), "server_packets_tcp": len(srv),
        "nat": nat,
        "subflows": [{"subflow": sf, "kind": kind.get(sf), **{d: v for d, v in dirs.items()}}
                     for sf, dirs in out_sub.items()],
        "owd_us": {"c2s": stats(fw), "s2c": stats(bw)},
        "clock_offset": offset,
        "totals": dict(totals),
    }, out_sub


def check_truth(res, out_sub, truth):
    """Compare per path and direction with the router's nft counters."""
    paths = truth["paths"]
    rows, ok = [], True
    for pname, pinfo in sorted(paths.items()):
        ca = pinfo["client_addr"]
        for d in ("c2s", "s2c"):
            sent = recv = lost = lseg = 0
            cats = Counter()
            subs = []
            for sf, dirs in out_sub.items():
                host = sf.split("->")[0].rsplit(":", 1)[0].strip("[]")
                if host != ca or d not in dirs:
                    continue
                e = dirs[d]
                subs.append(sf)
                sent += e["all_packets"]["sent"]
                recv += e["all_packets"]["received"]
                lost += e["all_packets"]["lost"]
                lseg += e["lost_count"]
                cats.update(e["all_packets"]["lost_by_category"])
            nft = pinfo[d]
            r = {
                "path": pname, "direction": d, "subflows": subs,
                "nft_forwarded": nft["forwarded_tcp_packets"], "sender_tcp_packets": sent,
                "receiver_tcp_packets": recv,
                "nft_dropped": nft["dropped_total"], "match_lost_packets": lost,
                "nft_dropped_by_category": nft["dropped"],
                "match_lost_by_category": {c: cats.get(c, 0) for c in ("synfinrst", "len81plus", "short")},
                "match_lost_segments": lseg,
            }
            r["ok"] = (r["nft_forwarded"] == sent and r["nft_dropped"] == lost
                       and r["nft_dropped"] == sent - recv
                       and r["nft_dropped_by_category"] == r["match_lost_by_category"])
            ok = ok and r["ok"]
            rows.append(r)
    return {"per_path": rows, "ok": ok,
            "rule": "per path and direction: nft forwarded == TCP packets in the sender's file; "
                    "nft dropped == sent - received == all-packet losses found here, per category "
                    "(synfinrst / len81plus / short as in pair.sh's drop chains). "
                    "match_lost_segments (payload, SYN or FIN segments never seen at the receiver) "
                    "== len81plus + the synfinrst and short drops that carried payload, SYN or FIN."}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("client")
    ap.add_argument("server")
    ap.add_argument("--truth", help="pair.truth.json: compare with the router's nft counters")
    ap.add_argument("--pretty", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 5 if the --truth check fails")
    ap.add_argument("--list-all", action="store_true", help="add every OWD sample (ns)")
    a = ap.parse_args()
    res, out_sub = analyse(a.client, a.server, a.list_all)
    rc = 0
    if a.truth:
        with open(a.truth) as f:
            res["check"] = check_truth(res, out_sub, json.load(f))
        if a.strict and not res["check"]["ok"]:
            rc = 5
        # payload/SYN/FIN segment losses must be the all-packet losses that are segments
        seg_ok = all(e[d]["lost_count"] == e[d]["all_packets"]["lost_segments"]
                     for e in res["subflows"] for d in ("c2s", "s2c") if d in e)
        res["check"]["segments_consistent"] = seg_ok
        if a.strict and not seg_ok:
            rc = 5
    json.dump(res, sys.stdout, indent=2 if a.pretty else None)
    sys.stdout.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
