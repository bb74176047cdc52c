#!/usr/bin/env python3
"""Checks a capture written by mptcp-gen against tshark, an independent dissector.

    python3 bench/gen/check_tshark.py CAPTURE TRUTH.json

For small captures (it keeps per-connection state): runs tshark once with IP and TCP checksum
validation on, MPTCP mapping analysis on and the payload decoded as plain data, and checks
- no malformed packet, no bad IP or TCP checksum, no expert item of warning level or above other
  than "No mapping available" (tshark sets it on every segment without payload that carries no
  mapping, real Linux captures included);
- tcp.stream count = the truth's connections, every stream has the SYN, SYN/ACK and third ACK
  MP_CAPABLE v1 (H flag, no A flag), the third ACK echoes the SYN/ACK key;
- tshark's expected token and IDSN for each key = our own SHA-256 (RFC 8684 §3.1);
- per direction: the first mapping's DSN = IDSN + 1, every data mapping has DSN - IDSN = subflow
  seq (relative) and covers exactly its segment, data-level bytes = the truth's, the DATA_FIN
  mapping (subflow seq 0, length 1) sits at IDSN + 1 + bytes, the peer data-ACKs IDSN + 2 + bytes.
Exit status 0 when all holds, 1 otherwise (the first problems are printed).
"""
import hashlib
import json
import subprocess
import sys
from collections import Counter, defaultdict

FIELDS = [
    "frame.number", "tcp.stream", "ip.src", "tcp.srcport", "tcp.flags", "tcp.len", "tcp.seq",
    "tcp.options.mptcp.subtype", "tcp.options.mptcp.version", "tcp.options.mptcp.flags",
    "tcp.options.mptcp.sendkey", "tcp.options.mptcp.recvkey", "mptcp.expected_idsn",
    "mptcp.expected_token", "tcp.options.mptcp.rawdataseqno", "tcp.options.mptcp.subflowseqno",
    "tcp.options.mptcp.datalvllen", "tcp.options.mptcp.datafin.flag",
    "tcp.options.mptcp.rawdataack", "ip.checksum.status", "tcp.checksum.status", "_ws.malformed",
    "_ws.expert.severity", "_ws.expert.message",
]
WARN = 6291456  # PI_WARN


def idsn_token(key):
    d = hashlib.sha256(key.to_bytes(8, "big")).digest()
    return int.from_bytes(d[24:], "big"), int.from_bytes(d[:4], "big")


def num(s):
    s = s.strip()
    if not s:
        return None
    return int(s, 16) if s.startswith("0x") else int(s)


def main():
    cap, truth_path = sys.argv[1], sys.argv[2]
    truth = json.load(open(truth_path))
    # The payload is random bytes: decode it as data on every port, or a heuristic (thrift, ...)
    # or a port-based dissector may take it for its protocol and report it malformed.
    cmd = ["tshark", "-r", cap, "-n", "-d", "tcp.port==1-65535,data",
           "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
           "-o", "mptcp.analyze_mappings:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    problems = []
    experts = Counter()
    streams = defaultdict(lambda: {"client": None, "keys": {}, "mpc": [], "maps": defaultdict(list),
                                   "fin": {}, "acks": defaultdict(int), "tshark_idsn": {}})
    frames = 0

    def bad(msg):
        if len(problems) < 30:
            problems.append(msg)
        elif len(problems) == 30:
            problems.append("...")

    for line in proc.stdout:
        frames += 1
        v = dict(zip(FIELDS, line.rstrip("\n").split("|")))
        fn = v["frame.number"]
        if v["_ws.malformed"]:
            bad(f"frame {fn}: malformed")
        if v["ip.checksum.status"] != "1" or v["tcp.checksum.status"] != "1":
            bad(f"frame {fn}: checksum status ip={v['ip.checksum.status']} tcp={v['tcp.checksum.status']}")
        for sev, msg in zip(v["_ws.expert.severity"].split(";"), v["_ws.expert.message"].split(";")):
            if sev:
                experts[msg] += 1
                if int(sev) >= WARN and msg != "No mapping available":
                    bad(f"frame {fn}: expert {msg}")
        st = streams[int(v["tcp.stream"])]
        flags = num(v["tcp.flags"])
        ep = (v["ip.src"], v["tcp.srcport"])
        if flags & 0x12 == 0x02:
            st["client"] = ep
        d = "c2s" if ep == st["client"] else "s2c"
        subtypes = [num(x) for x in v["tcp.options.mptcp.subtype"].split(";") if x]
        if 0 in subtypes:
            st["mpc"].append((d, flags, v["tcp.options.mptcp.version"], v["tcp.options.mptcp.flags"]))
            sk, rk = num(v["tcp.options.mptcp.sendkey"]), num(v["tcp.options.mptcp.recvkey"])
            if sk is not None:
                if st["keys"].setdefault(d, sk) != sk:
                    bad(f"frame {fn}: {d} key changed")
                if rk is not None and rk != st["keys"].get("s2c" if d == "c2s" else "c2s"):
                    bad(f"frame {fn}: receiver key {rk:x} is not the peer's key")
                ti, tt = num(v["mptcp.expected_idsn"]), num(v["mptcp.expected_token"])
                if (ti, tt) != idsn_token(sk):
                    bad(f"frame {fn}: tshark idsn/token {ti}/{tt} != sha256 {idsn_token(sk)}")
                st["tshark_idsn"][d] = ti
            dll = num(v["tcp.options.mptcp.datalvllen"])
            if dll is not None:  # MP_CAPABLE with data: implicit mapping DSN = IDSN + 1, ssn 1
                st["maps"][d].append(("mpc", 1, dll, num(v["tcp.len"])))
        if 2 in subtypes:
            dsn, ssn = num(v["tcp.options.mptcp.rawdataseqno"]), num(v["tcp.options.mptcp.subflowseqno"])
            dll, fin = num(v["tcp.options.mptcp.datalvllen"]), num(v["tcp.options.mptcp.datafin.flag"])
            if dsn is not None:
                if fin:
                    st["fin"][d] = (dsn, ssn, dll, num(v["tcp.len"]))
                else:
                    st["maps"][d].append((dsn, ssn, dll, num(v["tcp.len"])))
            ack = num(v["tcp.options.mptcp.rawdataack"])
            if ack is not None:
                st["acks"][d] = max(st["acks"][d], ack)
    proc.wait()
    if proc.returncode != 0:
        bad(f"tshark exit status {proc.returncode}")

    closed = truth.get("closed", True)
    want = {"c2s": truth.get("c2s_bytes_per_conn"), "s2c": truth.get("s2c_bytes_per_conn")}
    if len(streams) != truth["connections"]:
        bad(f"{len(streams)} tcp streams, truth {truth['connections']} connections")
    if frames != truth["packets"]:
        bad(f"{frames} frames, truth {truth['packets']} packets")
    totals = Counter()
    for sid, st in sorted(streams.items()):
        kinds = [(d, f & 0x12) for d, f, _, _ in st["mpc"]]
        if truth["mode"] == "syn-flood":
            if kinds != [("c2s", 0x02)]:
                bad(f"stream {sid}: MP_CAPABLE {kinds}")
            continue
        if kinds[:3] != [("c2s", 0x02), ("s2c", 0x12), ("c2s", 0x10)]:
            bad(f"stream {sid}: handshake MP_CAPABLE {kinds}")
        for d, _, ver, fl in st["mpc"]:
            if ver != "1" or num(fl) != 0x01:
                bad(f"stream {sid}: MP_CAPABLE version {ver} flags {fl}")
        if set(st["keys"]) != {"c2s", "s2c"}:
            bad(f"stream {sid}: keys seen {sorted(st['keys'])}")
            continue
        for d in ("c2s", "s2c"):
            idsn = idsn_token(st["keys"][d])[0]
            peer = "s2c" if d == "c2s" else "c2s"
            total = 0
            for i, (dsn, ssn, dll, seglen) in enumerate(st["maps"][d]):
                if dsn == "mpc":
                    dsn = (idsn + 1) % 2**64
                if i == 0 and dsn != (idsn + 1) % 2**64:
                    bad(f"stream {sid} {d}: first DSN {dsn} != IDSN+1 {idsn + 1}")
                if (dsn - idsn) % 2**64 != ssn or dll != seglen:
                    bad(f"stream {sid} {d}: mapping dsn {dsn} ssn {ssn} len {dll} on a {seglen}-byte segment")
                total += dll
            totals[d] += total
            if want[d] is not None and total != want[d]:
                bad(f"stream {sid} {d}: {total} data-level bytes, truth {want[d]}")
            if closed:
                fin = st["fin"].get(d)
                if fin != ((idsn + 1 + total) % 2**64, 0, 1, 0):
                    bad(f"stream {sid} {d}: DATA_FIN {fin}, want DSN {idsn + 1 + total} ssn 0 len 1")
                if st["acks"][peer] != (idsn + 2 + total) % 2**64:
                    bad(f"stream {sid} {d}: highest data ACK {st['acks'][peer]}, want {idsn + 2 + total}")
    for d in ("c2s", "s2c"):
        if totals[d] != truth.get(f"{d}_bytes", totals[d]):
            bad(f"{d}: {totals[d]} data-level bytes in all, truth {truth[f'{d}_bytes']}")

    print(f"{cap}: {frames} frames, {len(streams)} tcp streams, data-level bytes c2s {totals['c2s']} s2c {totals['s2c']}")
    print("expert items: " + ", ".join(f"{m} x{n}" for m, n in experts.most_common()))
    if problems:
        print("FAIL")
        for p in problems:
            print("  " + p)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
