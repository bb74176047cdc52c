#!/usr/bin/env python3
"""Split a classic pcap into N shards by a hash of the TCP 5-tuple (issue 16).

    python3 testdata/tools/shard_pcap.py IN.pcap N OUTDIR   # writes OUTDIR/shard-K.pcap

Like a probe farm behind a flow-hashing load balancer: every packet of one TCP
connection (both directions: the hash is over the sorted endpoints) lands in
the same shard, so an MPTCP connection's subflows are spread over the shards.
Packets that are not IPv4/IPv6 TCP go to shard 0. Python 3 standard library
only; link types Ethernet (1), raw IP (101), Linux cooked v1 (113) and v2
(276); microsecond or nanosecond pcaps (the header is copied).

Prints one JSON line: packets per shard and, per TCP 4-tuple, its shard.
"""
import json
import os
import struct
import sys
import zlib


def l3_offset(linktype, pkt):
    """(offset of the IP header, ethertype) or None."""
    if linktype == 1:
        off, et = 14, struct.unpack("!H", pkt[12:14])[0] if len(pkt) >= 14 else 0
        while et in (0x8100, 0x88A8) and len(pkt) >= off + 4:
            et = struct.unpack("!H", pkt[off + 2:off + 4])[0]
            off += 4
        return off, et
    if linktype == 101:
        v = pkt[0] >> 4 if pkt else 0
        return 0, 0x0800 if v == 4 else 0x86DD if v == 6 else 0
    if linktype == 113:
        return 16, struct.unpack("!H", pkt[14:16])[0] if len(pkt) >= 16 else 0
    if linktype == 276:
        return 20, struct.unpack("!H", pkt[0:2])[0] if len(pkt) >= 20 else 0
    return None


def five_tuple(linktype, pkt):
    l3 = l3_offset(linktype, pkt)
    if not l3:
        return None
    off, et = l3
    if et == 0x0800 and len(pkt) >= off + 20:
        ihl = (pkt[off] & 0x0F) * 4
        if pkt[off + 9] != 6:
            return None
        src, dst, l4 = pkt[off + 12:off + 16], pkt[off + 16:off + 20], off + ihl
    elif et == 0x86DD and len(pkt) >= off + 40:
        if pkt[off + 6] != 6:   # no extension headers in our captures
            return None
        src, dst, l4 = pkt[off + 8:off + 24], pkt[off + 24:off + 40], off + 40
    else:
        return None
    if len(pkt) < l4 + 4:
        return None
    sp, dp = struct.unpack("!HH", pkt[l4:l4 + 4])
    return (src, sp), (dst, dp)


def main():
    path, n, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("%s: not a classic pcap" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    outs = [open(os.path.join(outdir, "shard-%d.pcap" % k), "wb") for k in range(n)]
    for o in outs:
        o.write(data[:24])
    counts = [0] * n
    flows = {}
    pos = 24
    while pos + 16 <= len(data):
        incl = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
        rec = data[pos:pos + 16 + incl]
        pkt = rec[16:]
        t = five_tuple(linktype, pkt)
        k = 0
        if t:
            a, b = sorted(t)
            k = zlib.crc32(a[0] + struct.pack("!H", a[1]) + b[0] + struct.pack("!H", b[1]) + b"\x06") % n
            name = "%s->%s" % tuple("%s:%d" % (ip.hex(), p) for ip, p in (a, b))
            flows[name] = k
        outs[k].write(rec)
        counts[k] += 1
        pos += 16 + incl
    for o in outs:
        o.close()
    print(json.dumps({"packets": counts, "flows": flows}))


if __name__ == "__main__":
    main()
