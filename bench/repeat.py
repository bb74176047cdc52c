#!/usr/bin/env python3
"""Write a classic pcap made of one capture repeated N times, each copy shifted in time to start
`--gap` seconds after the previous one ended (same addresses, ports and keys): the shape of a
long capture of a service that sees the same clients again and again (issue 12's repeated case).

    python3 bench/repeat.py IN.pcap 40 OUT.pcap [--gap 1.0]

Classic pcap input only (micro- or nanosecond, either byte order); streams the output.
"""
import argparse
import struct


def records(data, endian, nano):
    at = 24
    while at + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[at:at + 16])
        body = data[at + 16:at + 16 + incl]
        yield sec * (10**9 if nano else 10**6) + frac, incl, orig, body
        at += 16 + incl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("copies", type=int)
    ap.add_argument("output")
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between copies")
    a = ap.parse_args()
    data = open(a.input, "rb").read()
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}[magic]
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    unit = 10**9 if nano else 10**6
    recs = list(records(data, endian, nano))
    first, last = recs[0][0], max(r[0] for r in recs)
    span = last - first + int(a.gap * unit)
    with open(a.output, "wb") as out:
        out.write(data[:24])
        for k in range(a.copies):
            for t, incl, orig, body in recs:
                t += k * span
                out.write(struct.pack(endian + "IIII", t // unit, t % unit, incl, orig))
                out.write(body)


if __name__ == "__main__":
    main()
