#!/usr/bin/env python3
"""Independent byte-level classifier of MPTCP payload bytes (a "truth script").

Runs tshark on a capture and, without using mptcp-trace, classifies every TCP
payload byte of every MPTCP connection direction as new / retransmitted /
reinjected / probe / unmapped.  Python 3 stdlib only.

    python3 testdata/tools/bytecount.py FILE [--pretty] [--events]

Prints one JSON document on stdout.  The rules are listed in RULES below and
repeated in the output's "rules" field; testdata/tools/README.md explains them.
"""

import argparse
import bisect
import collections
import hashlib
import json
import subprocess
import sys

M32 = 1 << 32
M64 = 1 << 64

RULES = {
    "subflow_isn": (
        "ISN of a subflow direction = seq of its SYN (SYN/ACK for the other direction); "
        "when no SYN was captured: among the candidates (seq_raw - dss.ssn) of the segments "
        "that carry a DSS mapping and payload, the one that puts the most of those segments "
        "inside their own mapping [ssn, ssn+len) (ties: the most common candidate; this is "
        "the 'mode' rule, made robust for Linux, which repeats a mapping on every segment it "
        "covers). isn_rule per subflow direction says which was used."),
    "mappings": (
        "every DSS mapping (dsn, ssn, len) ever seen on a subflow direction is kept; it maps "
        "subflow bytes [ssn, ssn+len) to data bytes [dsn, dsn+len). A DATA_FIN mapping "
        "covers len-1 payload bytes (the DATA_FIN takes the last DSN). A v1 MP_CAPABLE "
        "carrying data (no DSN) maps ssn 1.. to IDSN+1.. with IDSN = low 64 bits of "
        "SHA-256(sender key). If two kept mappings cover the same subflow byte, the latest "
        "one seen at or before the segment wins, else the earliest after it (counted in "
        "mapping_conflict_bytes when they disagree). 4-byte DSNs are widened to 64 bits next "
        "to the connection direction's last known DSN (or IDSN)."),
    "infinite_mapping": (
        "a DSS mapping with length 0 (infinite mapping) or an MP_CAPABLE SYN answered without "
        "MP_CAPABLE means fallback to TCP: data-level classification of that connection is "
        "skipped (data_level = 'skipped: ...'); subflow-level new/retransmitted are still given"),
    "classification": (
        "per connection direction, bytes in capture order: 'retransmitted' if its subflow "
        "seq was already seen on that subflow direction; else its DSN from the mappings: "
        "'unmapped' if none covers it, 'new' if the DSN was never carried before on any "
        "subflow of that connection direction, 'probe' if already carried and the mapping is "
        "1 byte long, else 'reinjected'"),
    "grouping": (
        "subflows -> connections: MP_CAPABLE keys -> token (top 32 bits of SHA-256(key) for v1, "
        "SHA-1 for v0) matched against MP_JOIN SYN receiver tokens; joins with an unknown "
        "token are grouped by token; the remaining MPTCP subflows (no handshake captured) are "
        "merged with a connection when their 64-bit DSNs / data ACKs fall within 2^32 of that "
        "connection direction's DSN range"),
    "direction": (
        "client = sender of the MP_CAPABLE SYN (or receiver of the SYN/ACK) where seen; for a "
        "join, the token says which side it belongs to; otherwise the endpoint with the higher "
        "port of the connection's first subflow is taken as the client (client_rule)"),
    "distinct": "distinct = number of distinct DSNs carried by payload bytes (new bytes); first/last DSN are those of carried bytes",
}

FIELDS = [
    "frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw",
    "tcp.len", "tcp.options.mptcp.subtype", "tcp.options.mptcp.version",
    "tcp.options.mptcp.sendkey", "tcp.options.mptcp.recvkey", "tcp.options.mptcp.recvtok",
    "tcp.options.mptcp.dseqnpresent.flag", "tcp.options.mptcp.dseqn8.flag",
    "tcp.options.mptcp.dataackpresent.flag", "tcp.options.mptcp.dataack8.flag",
    "tcp.options.mptcp.datafin.flag", "tcp.options.mptcp.rawdataseqno",
    "tcp.options.mptcp.subflowseqno", "tcp.options.mptcp.datalvllen",
    "tcp.options.mptcp.rawdataack", "mptcp.stream",
]


def run_tshark(path):
    cmd = ["tshark", "-r", path, "-n",
           "-o", "tcp.relative_sequence_numbers:FALSE",
           "-o", "mptcp.relative_sequence_numbers:FALSE",
           "-o", "tcp.analyze_sequence_numbers:TRUE",
           "-Y", "tcp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(FIELDS) - len(parts))
        rows.append(dict(zip(FIELDS, parts)))
    return rows


def ints(s, base=0):
    return [int(x, base) for x in s.split(",") if x != ""] if s else []


def first_int(s, base=0):
    v = ints(s, base)
    return v[0] if v else None


def key_info(key, version):
    """(token, idsn) of a 64-bit key: SHA-256 for v1, SHA-1 for v0."""
    h = (hashlib.sha256 if version >= 1 else hashlib.sha1)(key.to_bytes(8, "big")).digest()
    return int.from_bytes(h[:4], "big"), int.from_bytes(h[-8:], "big")


def widen(val, bits, ref):
    """Widen a bits-wide value to the full-width value nearest to ref."""
    if ref is None:
        return val
    m = 1 << bits
    base = ref - (ref % m)
    best = None
    for cand in (base - m + val, base + val, base + m + val):
        if best is None or abs(cand - ref) < abs(best - ref):
            best = cand
    return best % M64 if bits < 64 else best


class IntervalSet:
    """Disjoint half-open intervals [a, b) kept sorted."""

    def __init__(self):
        self.starts = []
        self.ends = []

    def split(self, a, b):
        """Return (covered, uncovered) pieces of [a, b)."""
        covered, uncovered = [], []
        i = bisect.bisect_right(self.starts, a) - 1
        if i < 0:
            i = 0
        pos = a
        while pos < b and i < len(self.starts):
            s, e = self.starts[i], self.ends[i]
            if e <= pos:
                i += 1
                continue
            if s >= b:
                break
            if s > pos:
                uncovered.append((pos, s))
                pos = s
            hi = min(e, b)
            covered.append((pos, hi))
            pos = hi
            i += 1
        if pos < b:
            uncovered.append((pos, b))
        return covered, uncovered

    def add(self, a, b):
        if a >= b:
            return
        i = bisect.bisect_left(self.ends, a)
        j = bisect.bisect_right(self.starts, b)
        if i < j:
            a = min(a, self.starts[i])
            b = max(b, self.ends[j - 1])
        self.starts[i:j] = [a]
        self.ends[i:j] = [b]

    def total(self):
        return sum(e - s for s, e in zip(self.starts, self.ends))

    def bounds(self):
        if not self.starts:
            return None, None
        return self.starts[0], self.ends[-1] - 1


class Mappings:
    """All DSS mappings of one subflow direction: (ssn, payload_len) -> dsn."""

    def __init__(self):
        self.seen = {}        # (ssn, plen, dsn) -> first frame
        self.items = None     # sorted list of (ssn, ssn_end, dsn, frame, plen)
        self.maxlen = 0

    def add(self, ssn, plen, dsn, frame):
        k = (ssn, plen, dsn)
        if k not in self.seen:
            self.seen[k] = frame
            self.items = None

    def _build(self):
        self.items = sorted((s, s + p, d, f, p) for (s, p, d), f in self.seen.items() if p > 0)
        self.starts = [it[0] for it in self.items]
        self.maxlen = max((it[4] for it in self.items), default=0)

    def lookup(self, a, b, frame):
        """Pieces of [a, b): (x, y, mapping or None, conflict)."""
        if self.items is None:
            self._build()
        hi = bisect.bisect_left(self.starts, b)
        cands = []
        i = hi - 1
        while i >= 0 and self.items[i][0] > a - self.maxlen - 1:
            it = self.items[i]
            if it[1] > a and it[0] < b:
                cands.append(it)
            i -= 1
        if not cands:
            return [(a, b, None, False)]
        pts = {a, b}
        for it in cands:
            if a < it[0] < b:
                pts.add(it[0])
            if a < it[1] < b:
                pts.add(it[1])
        pts = sorted(pts)
        out = []
        for x, y in zip(pts, pts[1:]):
            cov = [it for it in cands if it[0] <= x and it[1] >= y]
            if not cov:
                out.append((x, y, None, False))
                continue
            before = [it for it in cov if it[3] <= frame]
            best = max(before, key=lambda it: it[3]) if before else min(cov, key=lambda it: it[3])
            conflict = len({(it[2] - it[0]) % M64 for it in cov}) > 1
            out.append((x, y, best, conflict))
        return out


def new_counts():
    return {"new": 0, "retransmitted": 0, "reinjected": 0, "probe": 0, "unmapped": 0}


def analyse(path, want_events=False):
    rows = run_tshark(path)
    subflows = {}      # tcp.stream -> dict
    order = []

    for r in rows:
        if not r["tcp.stream"]:
            continue
        st = int(r["tcp.stream"])
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        sport, dport = int(r["tcp.srcport"]), int(r["tcp.dstport"])
        a, b = (src, sport), (dst, dport)
        sf = subflows.get(st)
        if sf is None:
            sf = {"stream": st, "first": a, "second": b, "pkts": [], "mptcp": False,
                  "syn_from": None, "synack_from": None, "mpc_syn": False, "mpc_synack": None,
                  "join_syn_token": None, "join_syn_from": None, "version": None,
                  "keys": {}, "isn": {}, "mptcp_stream": set()}
            subflows[st] = sf
            order.append(st)
        flags = int(r["tcp.flags"], 16)
        subtypes = ints(r["tcp.options.mptcp.subtype"])
        frame = int(r["frame.number"])
        if r["mptcp.stream"]:
            sf["mptcp_stream"].update(ints(r["mptcp.stream"]))
        if subtypes:
            sf["mptcp"] = True
        version = first_int(r["tcp.options.mptcp.version"])
        if version is not None and 0 in subtypes:
            sf["version"] = version
        syn, ack = flags & 0x02, flags & 0x10
        seq = int(r["tcp.seq_raw"])
        if syn:
            sf["isn"][a] = (seq, "SYN/ACK" if ack else "SYN", frame)
            if ack:
                sf["synack_from"] = a
                if sf["mpc_syn"] and sf["mpc_synack"] is None:
                    sf["mpc_synack"] = 0 in subtypes
            else:
                sf["syn_from"] = a
                if 0 in subtypes:
                    sf["mpc_syn"] = True
                if 1 in subtypes:
                    tok = first_int(r["tcp.options.mptcp.recvtok"])
                    if tok is not None:
                        sf["join_syn_token"] = tok
                        sf["join_syn_from"] = a
        sk = first_int(r["tcp.options.mptcp.sendkey"])
        rk = first_int(r["tcp.options.mptcp.recvkey"])
        if 0 in subtypes:
            if sk is not None:
                sf["keys"][a] = sk
            if rk is not None:
                sf["keys"][b] = rk
        pkt = {"frame": frame, "from": a, "seq": seq, "len": int(r["tcp.len"] or 0),
               "syn": bool(syn), "flags": flags, "maps": [], "acks": [], "infinite": False,
               "datafin_dsn": None}
        # DSS mapping
        dsns = ints(r["tcp.options.mptcp.rawdataseqno"])
        ssns = ints(r["tcp.options.mptcp.subflowseqno"])
        lens = ints(r["tcp.options.mptcp.datalvllen"])
        d8 = ints(r["tcp.options.mptcp.dseqn8.flag"])
        fins = ints(r["tcp.options.mptcp.datafin.flag"])
        if 2 in subtypes and dsns:
            dsn, ssn = dsns[0], ssns[0] if ssns else None
            ln = lens[-1] if lens else None
            wide = bool(d8[0]) if d8 else True
            fin = bool(fins[0]) if fins else False
            if ln == 0:
                pkt["infinite"] = True
            if ssn is not None and ln is not None:
                pkt["maps"].append({"dsn": dsn, "bits": 64 if wide else 32, "ssn": ssn,
                                    "len": ln, "fin": fin})
        elif 0 in subtypes and lens and sk is not None and not syn:
            # v1 MP_CAPABLE with data: implicit mapping ssn 1 -> IDSN+1
            ver = sf["version"] if sf["version"] is not None else 1
            _, idsn = key_info(sk, ver)
            pkt["maps"].append({"dsn": (idsn + 1) % M64, "bits": 64, "ssn": 1, "len": lens[0],
                                "fin": False, "mpc": True})
        dacks = ints(r["tcp.options.mptcp.rawdataack"])
        a8 = ints(r["tcp.options.mptcp.dataack8.flag"])
        if 2 in subtypes and dacks:
            pkt["acks"].append((dacks[0], 64 if (a8[0] if a8 else 1) else 32))
        sf["pkts"].append(pkt)

    # ---- keys / tokens of MP_CAPABLE subflows
    conns = []          # list of dicts
    sf_conn = {}        # stream -> (conn index, c2s endpoint tuple (src,dst))
    token_of = {}       # token -> (conn index, side 'client'/'server')

    def orient(sf, client):
        other = sf["second"] if client == sf["first"] else sf["first"]
        return (client, other)

    for st in order:
        sf = subflows[st]
        if not sf["mptcp"] or not (sf["mpc_syn"] or (sf["syn_from"] is None and sf["keys"]
                                                     and sf["join_syn_token"] is None)):
            continue
        ver = sf["version"] if sf["version"] is not None else 1
        if sf["syn_from"] is not None:
            client, rule = sf["syn_from"], "MP_CAPABLE SYN sender"
        elif sf["synack_from"] is not None:
            client = sf["second"] if sf["synack_from"] == sf["first"] else sf["first"]
            rule = "receiver of MP_CAPABLE SYN/ACK"
        else:
            client = max((sf["first"], sf["second"]), key=lambda e: e[1])
            rule = "higher port (no SYN captured)"
        server = sf["second"] if client == sf["first"] else sf["first"]
        c = {"subflows": [st], "client": client, "server": server, "client_rule": rule,
             "version": ver, "keys": {}, "tokens": {}, "idsn": {}, "fallback": None,
             "has_handshake": True}
        if sf["mpc_syn"] and sf["mpc_synack"] is False:
            c["fallback"] = "MP_CAPABLE SYN answered by a SYN/ACK without MP_CAPABLE"
        for side, ep in (("client", client), ("server", server)):
            k = sf["keys"].get(ep)
            if k is not None:
                tok, idsn = key_info(k, ver)
                c["keys"][side] = k
                c["tokens"][side] = tok
                c["idsn"]["c2s" if side == "client" else "s2c"] = idsn
                token_of[tok] = (len(conns), side)
        sf_conn[st] = (len(conns), (client, server))
        conns.append(c)

    # ---- joins
    pending_tok = {}
    for st in order:
        sf = subflows[st]
        if st in sf_conn or sf["join_syn_token"] is None:
            continue
        tok, frm = sf["join_syn_token"], sf["join_syn_from"]
        to = sf["second"] if frm == sf["first"] else sf["first"]
        if tok in token_of:
            ci, side = token_of[tok]
            # receiver's token: receiver is 'side'; the SYN sender is the other side
            c2s = (frm, to) if side == "server" else (to, frm)
            sf_conn[st] = (ci, c2s)
            conns[ci]["subflows"].append(st)
        else:
            if tok not in pending_tok:
                pending_tok[tok] = len(conns)
                conns.append({"subflows": [], "client": frm, "server": to,
                              "client_rule": "MP_JOIN SYN sender, token %08x not in a captured "
                                             "MP_CAPABLE handshake" % tok,
                              "version": None, "keys": {}, "tokens": {"server": tok}, "idsn": {},
                              "fallback": None, "has_handshake": False})
            ci = pending_tok[tok]
            sf_conn[st] = (ci, (frm, to))
            conns[ci]["subflows"].append(st)

    # ---- remaining MPTCP subflows: a segment of a 4-tuple that tshark split off
    # from a subflow whose SYN carries the same ISN (e.g. packets sent in SYN-SENT
    # before a retransmitted SYN) belongs to that subflow's connection
    for st in order:
        sf = subflows[st]
        if st in sf_conn or not sf["mptcp"]:
            continue
        tup = {sf["first"], sf["second"]}
        for st2 in order:
            sf2 = subflows[st2]
            if st2 == st or st2 not in sf_conn or {sf2["first"], sf2["second"]} != tup:
                continue
            if any(p["from"] in sf2["isn"] and p["seq"] in (sf2["isn"][p["from"]][0],
                                                            (sf2["isn"][p["from"]][0] + 1) % M32)
                   for p in sf["pkts"]):
                ci, c2s = sf_conn[st2]
                sf_conn[st] = (ci, c2s)
                conns[ci]["subflows"].append(st)
                sf["same_as"] = st2
                break

    # ---- remaining MPTCP subflows: one provisional connection each
    for st in order:
        sf = subflows[st]
        if st in sf_conn or not sf["mptcp"]:
            continue
        client = max((sf["first"], sf["second"]), key=lambda e: e[1])
        server = sf["second"] if client == sf["first"] else sf["first"]
        sf_conn[st] = (len(conns), (client, server))
        conns.append({"subflows": [st], "client": client, "server": server,
                      "client_rule": "higher port (no handshake captured)", "version": None,
                      "keys": {}, "tokens": {}, "idsn": {}, "fallback": None,
                      "has_handshake": False})

    # ---- merge connections by 64-bit DSN / data-ACK ranges
    def ranges(ci):
        rng = {"c2s": [None, None], "s2c": [None, None]}

        def put(d, v):
            lo, hi = rng[d]
            rng[d] = [v if lo is None else min(lo, v), v if hi is None else max(hi, v)]
        for st in conns[ci]["subflows"]:
            c2s = sf_conn[st][1]
            for p in subflows[st]["pkts"]:
                d = "c2s" if p["from"] == c2s[0] else "s2c"
                rd = "s2c" if d == "c2s" else "c2s"
                for m in p["maps"]:
                    if m["bits"] == 64:
                        put(d, m["dsn"])
                for v, bits in p["acks"]:
                    if bits == 64:
                        put(rd, v)
        for d, idsn in conns[ci]["idsn"].items():
            put(d, idsn)
        return rng

    def near(r1, r2, tol=M32):
        if r1[0] is None or r2[0] is None:
            return False
        return r1[0] - tol <= r2[1] and r2[0] - tol <= r1[1]

    alive = [True] * len(conns)
    changed = True
    while changed:
        changed = False
        rngs = {i: ranges(i) for i in range(len(conns)) if alive[i]}
        idx = [i for i in range(len(conns)) if alive[i]]
        for i in idx:
            for j in idx:
                if i >= j or not alive[i] or not alive[j]:
                    continue
                # keep the one with a handshake as the base
                base, other = (i, j) if (conns[i]["has_handshake"] or not conns[j]["has_handshake"]) else (j, i)
                rb, ro = rngs[base], rngs[other]
                if near(rb["c2s"], ro["c2s"]) or near(rb["s2c"], ro["s2c"]):
                    flip = False
                elif near(rb["c2s"], ro["s2c"]) or near(rb["s2c"], ro["c2s"]):
                    flip = True
                else:
                    continue
                for st in conns[other]["subflows"]:
                    c2s = sf_conn[st][1]
                    sf_conn[st] = (base, (c2s[1], c2s[0]) if flip else c2s)
                    conns[base]["subflows"].append(st)
                for side in ("client", "server"):
                    if side in conns[other]["tokens"]:
                        s2 = side if not flip else ("server" if side == "client" else "client")
                        conns[base]["tokens"].setdefault(s2, conns[other]["tokens"][side])
                alive[other] = False
                changed = True
        if changed:
            continue

    result_conns = []
    for ci, c in enumerate(conns):
        if not alive[ci]:
            continue
        c["subflows"].sort()
        if not c["has_handshake"]:
            first = subflows[c["subflows"][0]]
            c2s = sf_conn[c["subflows"][0]][1]
            if "higher port" in c["client_rule"]:
                client = max((first["first"], first["second"]), key=lambda e: e[1])
                if client != c2s[0]:
                    for st in c["subflows"]:
                        x = sf_conn[st][1]
                        sf_conn[st] = (ci, (x[1], x[0]))
            c["client"], c["server"] = sf_conn[c["subflows"][0]][1]
        result_conns.append(classify(ci, c, subflows, sf_conn, want_events))

    non_mptcp = [st for st in order if not subflows[st]["mptcp"]]
    return {
        "file": path.rsplit("/", 1)[-1],
        "tool": "testdata/tools/bytecount.py",
        "rules": RULES,
        "connections": result_conns,
        "non_mptcp_tcp_streams": non_mptcp,
    }


def fmt_ep(ep):
    addr, port = ep
    return ("[%s]:%d" % (addr, port)) if ":" in addr else ("%s:%d" % (addr, port))


def find_isn(sf, ep):
    if ep in sf["isn"]:
        seq, how, frame = sf["isn"][ep]
        return seq, "%s (frame %d)" % (how, frame)
    cands = collections.Counter()
    segs = []
    for p in sf["pkts"]:
        if p["from"] != ep or p["len"] == 0:
            continue
        for m in p["maps"]:
            if m["len"] > 0:
                cands[(p["seq"] - m["ssn"]) % M32] += 1
                segs.append((p["seq"], m["ssn"], m["len"]))
    if not cands:
        first = next((p for p in sf["pkts"] if p["from"] == ep and p["len"] > 0), None)
        if first is None:
            return None, "none (no payload)"
        return (first["seq"] - 1) % M32, "unknown: no SYN and no DSS mapping (first payload byte = 1)"

    def score(c):
        return sum(1 for seq, ssn, ln in segs if 0 <= ((seq - c) % M32) - ssn < ln)
    mode = cands.most_common(1)[0][0]
    best = max(cands, key=lambda c: (score(c), cands[c]))
    how = "DSS mappings (no SYN): %d of %d mapped segments consistent" % (score(best), len(segs))
    if best != mode:
        how += "; differs from the plain mode %d" % mode
    return best, how


def classify(ci, c, subflows, sf_conn, want_events=False):
    dirs = {}
    for d in ("c2s", "s2c"):
        dirs[d] = {"carried": IntervalSet(), "counts": new_counts(), "data_fin_dsn": None,
                   "events": [],
                   "mapping_conflict_bytes": 0, "dsn32_widened": 0}
    fallback = c["fallback"]
    # gather packets of this connection in capture order
    events = []
    sfinfo = {}
    for st in c["subflows"]:
        sf = subflows[st]
        c2s = sf_conn[st][1]
        info = {"stream": st, "c2s": c2s, "dirs": {}}
        for d, ep in (("c2s", c2s[0]), ("s2c", c2s[1])):
            isn, how = find_isn(sf, ep)
            info["dirs"][d] = {"ep": ep, "isn": isn, "isn_rule": how, "seen": IntervalSet(),
                               "maps": Mappings(), "counts": new_counts(), "hi": None}
        sfinfo[st] = info
        for p in sf["pkts"]:
            d = "c2s" if p["from"] == c2s[0] else "s2c"
            events.append((p["frame"], st, d, p))
            if p["infinite"] and not fallback:
                fallback = "infinite mapping (DSS data-level length 0) in frame %d" % p["frame"]
    events.sort(key=lambda e: e[0])

    def rel(dd, seq32):
        """unwrapped subflow sequence relative to the ISN"""
        r = (seq32 - dd["isn"]) % M32
        if dd["hi"] is not None:
            r = widen(r, 32, dd["hi"])
        return r

    # pass 1: widen DSNs and collect all mappings
    ref = {d: (c["idsn"][d] + 1) % M64 if d in c["idsn"] else None for d in ("c2s", "s2c")}
    for frame, st, d, p in events:
        dd = sfinfo[st]["dirs"][d]
        for m in p["maps"]:
            dsn = m["dsn"]
            if m["bits"] == 32:
                dsn = widen(dsn, 32, ref[d])
                dirs[d]["dsn32_widened"] += 1
            ref[d] = dsn
            plen = m["len"] - 1 if m["fin"] and m["len"] > 0 else m["len"]
            if m["fin"] and m["len"] > 0:
                dirs[d]["data_fin_dsn"] = (dsn + m["len"] - 1) % M64
            if dd["isn"] is not None and plen > 0:
                ssn = m["ssn"]
                if dd["hi"] is not None:
                    ssn = widen(ssn, 32, dd["hi"])
                dd["maps"].add(ssn, plen, dsn, frame)
            m["wide_dsn"] = dsn
        if p["len"] > 0 and dd["isn"] is not None:
            start = p["seq"] + (1 if p["syn"] else 0)
            r = rel(dd, start)
            dd["hi"] = r if dd["hi"] is None else max(dd["hi"], r)
    for info in sfinfo.values():
        for dd in info["dirs"].values():
            dd["hi"] = None

    # pass 2: classify payload bytes in capture order
    for frame, st, d, p in events:
        if p["len"] == 0:
            continue
        dd = sfinfo[st]["dirs"][d]
        cnt, tot = dd["counts"], dirs[d]["counts"]
        if dd["isn"] is None:
            continue
        start = p["seq"] + (1 if p["syn"] else 0)
        a = rel(dd, start)
        b = a + p["len"]
        dd["hi"] = a if dd["hi"] is None else max(dd["hi"], a)
        covered, fresh = dd["seen"].split(a, b)
        n = sum(y - x for x, y in covered)
        cnt["retransmitted"] += n
        tot["retransmitted"] += n
        ev = collections.Counter()
        if n:
            ev["retransmitted"] += n
        dd["seen"].add(a, b)
        for x, y in fresh:
            if fallback:
                cnt["new"] += y - x
                tot["new"] += y - x
                continue
            for u, v, m, conflict in dd["maps"].lookup(x, y, frame):
                if m is None:
                    cnt["unmapped"] += v - u
                    tot["unmapped"] += v - u
                    ev["unmapped"] += v - u
                    continue
                if conflict:
                    dirs[d]["mapping_conflict_bytes"] += v - u
                d0 = m[2] + (u - m[0])
                d1 = d0 + (v - u)
                carried, newp = dirs[d]["carried"].split(d0, d1)
                k = sum(q - o for o, q in newp)
                old = (d1 - d0) - k
                kind = "probe" if m[4] == 1 else "reinjected"
                cnt["new"] += k
                tot["new"] += k
                cnt[kind] += old
                tot[kind] += old
                if old:
                    ev[kind] += old
                dirs[d]["carried"].add(d0, d1)
        if want_events and ev:
            dirs[d]["events"].append([frame, st] + ["%s=%d" % kv for kv in sorted(ev.items())])

    out = {
        "client": fmt_ep(c["client"]),
        "server": fmt_ep(c["server"]),
        "client_rule": c["client_rule"],
        "mptcp_version": c["version"],
        "tokens": {k: "%08x" % v for k, v in c["tokens"].items()},
        "data_level": "classified" if not fallback else "skipped: " + fallback,
        "subflows": [],
    }
    for d in ("c2s", "s2c"):
        x = dirs[d]
        lo, hi = x["carried"].bounds()
        entry = {"first_dsn": lo, "last_dsn": hi,
                 "distinct": x["carried"].total() if not fallback else None}
        if fallback:
            entry["subflow_level_distinct"] = sum(
                sfinfo[st]["dirs"][d]["seen"].total() for st in sfinfo)
        if lo is not None:
            entry["dsn_span"] = hi - lo + 1
            entry["gaps"] = entry["dsn_span"] - entry["distinct"]
        entry.update(x["counts"])
        if x["data_fin_dsn"] is not None:
            entry["data_fin_dsn"] = x["data_fin_dsn"]
        if x["mapping_conflict_bytes"]:
            entry["mapping_conflict_bytes"] = x["mapping_conflict_bytes"]
        if x["dsn32_widened"]:
            entry["dsn32_widened"] = x["dsn32_widened"]
        if want_events:
            entry["events"] = x["events"]
        out[d] = entry
    for st in c["subflows"]:
        info = sfinfo[st]
        sf = subflows[st]
        s = {"tcp_stream": st, "c2s_src": fmt_ep(info["c2s"][0]), "c2s_dst": fmt_ep(info["c2s"][1]),
             "kind": ("MP_CAPABLE" if sf["mpc_syn"] or sf["keys"] else
                      "MP_JOIN" if sf["join_syn_token"] is not None else
                      "no handshake; same 4-tuple and ISN as tcp.stream %d" % sf["same_as"]
                      if "same_as" in sf else "no handshake"),
             "tshark_mptcp_stream": sorted(sf["mptcp_stream"])}
        for d in ("c2s", "s2c"):
            dd = info["dirs"][d]
            s[d] = dict(dd["counts"], isn_rule=dd["isn_rule"])
        out["subflows"].append(s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--pretty", action="store_true")
    ap.add_argument("--events", action="store_true",
                    help="list every segment with non-new bytes: [frame, tcp.stream, kind=bytes...]")
    args = ap.parse_args()
    res = analyse(args.file, args.events)
    json.dump(res, sys.stdout, indent=1 if args.pretty else None, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
