#!/usr/bin/env python3
"""Copy a classic pcap (Ethernet/IPv4/TCP, as mptcp-gen writes) as if captured at the other end:
every timestamp DELAY_US later, and every DROP-th c2s data segment (dport 5201, payload > 0)
left out. Prints the number of data segments seen and dropped (the truth)."""
import struct, sys
src, dst, delay_us, drop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = open(src, 'rb'); o = open(dst, 'wb')
gh = f.read(24); o.write(gh)
magic = struct.unpack('<I', gh[:4])[0]
ns = magic == 0xa1b23c4d
mult = 1000 if ns else 1
data = dropped = 0
while True:
    h = f.read(16)
    if len(h) < 16: break
    sec, frac, incl, orig = struct.unpack('<IIII', h)
    pkt = f.read(incl)
    keep = True
    if len(pkt) >= 54 and pkt[12:14] == b'\x08\x00' and pkt[23] == 6:
        ihl = (pkt[14] & 0x0f) * 4
        tot = struct.unpack('>H', pkt[16:18])[0]
        t = 14 + ihl
        dport = struct.unpack('>H', pkt[t+2:t+4])[0]
        doff = (pkt[t+12] >> 4) * 4
        plen = tot - ihl - doff
        if dport == 5201 and plen > 0:
            data += 1
            if drop and data % drop == 0:
                keep = False; dropped += 1
    if not keep: continue
    per = 1000000 * mult
    total = sec * per + frac + delay_us * mult
    o.write(struct.pack('<IIII', total // per, total % per, incl, orig)); o.write(pkt)
print(f"c2s_data_segments={data} dropped={dropped}")
