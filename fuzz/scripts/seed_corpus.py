#!/usr/bin/env python3
"""Seed the fuzz corpora from the captures under testdata/.

    python3 fuzz/scripts/seed_corpus.py      # writes fuzz/corpus/{mptcp_option,packet_decode,pipeline}/

pipeline:      each pcap cut to its first 8 / 32 / 120 records (header kept), pcapng cut to the
               first 4 / 16 KiB (a truncated file is a fine seed too), plus a few headers alone,
               and testdata/compressed/ whole and cut in half.
packet_decode: every distinct packet whose TCP options carry MPTCP (and the first of the rest),
               prefixed by one byte: the index of its link type in the target's LINKTYPES table.
mptcp_option:  every distinct MPTCP option (kind 30) found by walking the TCP options.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTDATA = os.path.join(ROOT, "testdata")
OUT = os.path.join(os.path.dirname(HERE), "corpus")
# must match LINKTYPES in fuzz_targets/packet_decode.rs
LINKTYPES = [0, 1, 9, 12, 50, 101, 108, 113, 228, 229, 276]


def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap_records(buf):
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, None, []
    linktype = struct.unpack(e + "I", buf[20:24])[0]
    recs, at = [], 24
    while at + 16 <= len(buf):
        incl = struct.unpack(e + "I", buf[at + 8:at + 12])[0]
        end = at + 16 + incl
        if end > len(buf):
            break
        recs.append((at, end, buf[at + 16:end]))
        at = end
    return buf[:24], linktype, recs


def ip_offset(linktype, pkt):
    if linktype == 1:
        at, et = 12, pkt[12:14]
        while et in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
            at += 4
            et = pkt[at:at + 2]
        return at + 2
    if linktype == 113:
        return 16
    if linktype == 276:
        return 20
    if linktype in (101, 12, 228, 229):
        return 0
    return None


def tcp_options(linktype, pkt):
    at = ip_offset(linktype, pkt)
    if at is None or at >= len(pkt):
        return None
    v = pkt[at] >> 4
    if v == 4:
        ihl = (pkt[at] & 0xF) * 4
        if pkt[at + 9] != 6:
            return None
        tcp = at + ihl
    elif v == 6:
        if pkt[at + 6] != 6:  # testdata has no extension headers
            return None
        tcp = at + 40
    else:
        return None
    if tcp + 20 > len(pkt):
        return None
    doff = (pkt[tcp + 12] >> 4) * 4
    return pkt[tcp + 20:tcp + doff]


def walk(opts):
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            return
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            return
        n = opts[i + 1]
        yield opts[i:i + n]
        i += n


def main():
    seen_opt, seen_pkt = set(), set()
    # testdata/ and the capture matrix (mid-connection starts, window probes, 4 subflows, ...)
    paths = [os.path.join(TESTDATA, n) for n in sorted(os.listdir(TESTDATA))]
    paths += [os.path.join(TESTDATA, "matrix", n) for n in sorted(os.listdir(os.path.join(TESTDATA, "matrix")))]
    for path in paths:
        name = os.path.basename(path)
        if not name.endswith((".pcap", ".pcapng")):
            continue
        buf = open(path, "rb").read()
        if name.endswith(".pcapng"):
            for n in (4096, 16384):
                write("pipeline", buf[:n])
            continue
        head, linktype, recs = pcap_records(buf)
        if head is None:
            continue
        write("pipeline", head)
        for k in (8, 32, 120):
            if recs:
                write("pipeline", buf[:recs[min(k, len(recs)) - 1][1]])
        plain = 0
        for _, _, pkt in recs:
            opts = tcp_options(linktype, pkt)
            if opts is None:
                continue
            mptcp = [o for o in walk(opts) if o[0] == 30]
            for o in mptcp:
                if o not in seen_opt:
                    seen_opt.add(o)
                    write("mptcp_option", o)
            # the decoder only looks at headers: keep a short payload so executions stay fast
            key = (linktype, pkt[:200])
            if (mptcp or plain < 2) and key not in seen_pkt:
                seen_pkt.add(key)
                plain += 0 if mptcp else 1
                idx = LINKTYPES.index(linktype) if linktype in LINKTYPES else 0
                write("packet_decode", bytes([idx]) + pkt[:200])
    # Tunnels (testdata/tunnels/): the first packets of each, whole headers (the option walk
    # above does not see through tunnels).
    tdir = os.path.join(TESTDATA, "tunnels")
    for n in sorted(os.listdir(tdir)) if os.path.isdir(tdir) else []:
        if not n.endswith(".pcap"):
            continue
        buf = open(os.path.join(tdir, n), "rb").read()
        head, linktype, recs = pcap_records(buf)
        if head is None:
            continue
        write("pipeline", buf[:recs[min(8, len(recs)) - 1][1]] if recs else head)
        idx = LINKTYPES.index(linktype) if linktype in LINKTYPES else 0
        for _, _, pkt in recs[:4]:
            write("packet_decode", bytes([idx]) + pkt[:200])
    # Compressed captures (gzip, zstd, xz, lz4 made by the tools): whole, and cut in the middle
    # (the decoders' error paths).
    cdir = os.path.join(TESTDATA, "compressed")
    for n in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
        buf = open(os.path.join(cdir, n), "rb").read()
        write("pipeline", buf)
        write("pipeline", buf[: len(buf) // 2])
    for t in ("mptcp_option", "packet_decode", "pipeline"):
        d = os.path.join(OUT, t)
        print(t, len(os.listdir(d)) if os.path.isdir(d) else 0, "seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
