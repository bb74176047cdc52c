#!/usr/bin/env python3
"""MPTCP traffic for testdata/tunnels/vxlan-capture.sh (stdlib only).

server: accepts one MPTCP connection on 0.0.0.0:PORT, reads until EOF, writes
        {"received": N, "sha256": HEX} to --out.
client: connects to HOST:PORT over MPTCP (socket(AF_INET, SOCK_STREAM, 262)), sends
        N bytes of stream("c2s") (sha256 in counter mode, as testdata/mptcp_app.py) in
        16 KiB writes every 50 ms, shuts down its side, reads until EOF, writes
        {"sent": N, "sha256": HEX} (of the bytes it passed to sendall) to --out.
"""
import argparse
import hashlib
import json
import socket
import struct
import time

IPPROTO_MPTCP = 262


def gen_stream(seed, n):
    out = bytearray()
    ctr = 0
    while len(out) < n:
        out += hashlib.sha256(seed.encode() + struct.pack(">Q", ctr)).digest()
        ctr += 1
    return bytes(out[:n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--host", default="192.0.2.2")
    ap.add_argument("--port", type=int, default=5201)
    ap.add_argument("--bytes", type=int, default=200000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.role == "server":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", a.port))
        ls.listen(1)
        c, _ = ls.accept()
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.close()
        result = {"received": n, "sha256": h.hexdigest()}
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
        s.connect((a.host, a.port))
        data = gen_stream("c2s", a.bytes)
        h = hashlib.sha256()
        for i in range(0, len(data), 16384):
            chunk = data[i:i + 16384]
            s.sendall(chunk)
            h.update(chunk)
            time.sleep(0.05)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        s.close()
        result = {"sent": len(data), "sha256": h.hexdigest()}
    with open(a.out, "w") as f:
        json.dump(result, f)
        f.write("\n")


if __name__ == "__main__":
    main()
