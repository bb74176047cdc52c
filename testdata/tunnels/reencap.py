#!/usr/bin/env python3
"""Re-encapsulates the packets of real kernel MPTCP captures into the tunnels this kernel cannot
make (no gre, ipip, sit, geneve, gtp or mpls modules): the inner IP packets are the kernel's,
byte for byte; only the outer headers are written here, by scapy (pip install scapy; 2.8.0).

usage: python3 testdata/tunnels/reencap.py      (from anywhere; writes next to this script)

Sources: vxlan.pcap (made by vxlan-capture.sh: its inner IPv4 packets, two subflows) and
../ipv6.pcap (made by ../capture.sh: IPv6, two subflows) for the IPv6-inner files. Each inner
packet keeps its capture time. The outer endpoints and the tunnel id follow the subflow's path
(the client's address: 192.0.2.1 / 2001:db8:a::1 is path A, 198.51.100.1 / 2001:db8:b::1
path B) and the direction (client to server: outer client to outer server):
  path A: outer 203.0.113.1 <-> 203.0.113.2 (IPv6 outer: 2001:db8:ff::1 <-> 2001:db8:ff::2), id 1001
  path B: outer 203.0.113.3 <-> 203.0.113.4 (IPv6 outer: 2001:db8:ff::3 <-> 2001:db8:ff::4), id 1002
(MPLS: top label 1001 / 1002 over a bottom label 16; ERSPAN: session 101 / 102, 10 bits.)
"""
import os
import sys

from scapy.all import IP, IPv6, UDP, Ether, GRE, Dot1Q, Dot1AD, PcapReader, PcapWriter, Raw
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS_A = {"192.0.2.1", "2001:db8:a::1"}
CLIENTS_B = {"198.51.100.1", "2001:db8:b::1"}
MAC_C, MAC_S = "02:00:00:00:00:01", "02:00:00:00:00:02"


def inner_packets(path):
    """(time, inner IP bytes) of every IP packet in `path`, peeling VXLAN when present."""
    for p in PcapReader(path):
        if VXLAN in p:
            inner = p[VXLAN].payload
        else:
            inner = p
        if IP in inner:
            yield p.time, bytes(inner[IP])
        elif IPv6 in inner:
            yield p.time, bytes(inner[IPv6])


def path_of(ip):
    """(path index 0/1, client to server) of an inner packet."""
    src, dst = ip.src, ip.dst
    for i, clients in enumerate((CLIENTS_A, CLIENTS_B)):
        if src in clients:
            return i, True
        if dst in clients:
            return i, False
    raise ValueError(f"packet of no path: {src} > {dst}")


def outer(i, c2s, v6=False):
    ends = [("2001:db8:ff::1", "2001:db8:ff::2"), ("2001:db8:ff::3", "2001:db8:ff::4")] if v6 else \
        [("203.0.113.1", "203.0.113.2"), ("203.0.113.3", "203.0.113.4")]
    a, b = ends[i]
    macs = (MAC_C, MAC_S) if c2s else (MAC_S, MAC_C)
    eth = Ether(src=macs[0], dst=macs[1])
    if v6:
        return eth / IPv6(src=a if c2s else b, dst=b if c2s else a, hlim=64)
    return eth / IP(src=a if c2s else b, dst=b if c2s else a, ttl=64, flags="DF")


def inner_ether(c2s, raw):
    # The type is explicit: scapy does not guess it for a Raw payload.
    return Ether(src=MAC_C if c2s else MAC_S, dst=MAC_S if c2s else MAC_C, type=0x0800 if raw[0] >> 4 == 4 else 0x86DD)


def wrap(kind, raw, seq):
    ip = IP(raw) if raw[0] >> 4 == 4 else IPv6(raw)
    try:
        i, c2s = path_of(ip)
    except ValueError:
        return None  # not on a path (IPv6 link-local multicast): left out
    tid = 1001 + i
    body = Raw(raw)
    if kind == "gre":  # checksum, key and sequence number present
        return outer(i, c2s) / GRE(chksum_present=1, key_present=1, seqnum_present=1, key=tid, sequence_number=seq,
                                   proto=0x0800 if raw[0] >> 4 == 4 else 0x86DD) / body
    if kind == "erspan2":
        return outer(i, c2s) / GRE(seqnum_present=1, sequence_number=seq, proto=0x88BE) / \
            ERSPAN_II(session_id=101 + i, index=seq) / inner_ether(c2s, raw) / body
    if kind == "erspan3":
        return outer(i, c2s) / GRE(seqnum_present=1, sequence_number=seq, proto=0x22EB) / \
            ERSPAN_III(session_id=101 + i, timestamp=seq) / inner_ether(c2s, raw) / body
    if kind in ("ipip", "6in4", "4in6"):  # IP protocol / next header 4 or 41, from the inner version
        o = outer(i, c2s, v6=(kind == "4in6"))
        proto = 4 if raw[0] >> 4 == 4 else 41
        if kind == "4in6":
            o[IPv6].nh = proto
        else:
            o[IP].proto = proto
        return o / body
    if kind == "mpls":
        return Ether(src=inner_ether(c2s, raw).src, dst=inner_ether(c2s, raw).dst, type=0x8847) / MPLS(label=tid, s=0, ttl=64) / MPLS(label=16, s=1, ttl=64) / body
    if kind == "geneve":  # one 8-byte option (class 0x0102, type 0x80, 4 bytes of data)
        opt = bytes([0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef])
        return outer(i, c2s) / UDP(sport=40000 + i, dport=6081) / GENEVE(vni=tid, proto=0x6558, optionlen=2) / \
            Raw(opt) / inner_ether(c2s, raw) / body
    if kind == "gtpu":  # E flag, PDU session container (QFI 9): uplink c2s, downlink s2c
        pdu = GTPPDUSessionContainer(type=1 if c2s else 0, QFI=9, NextExtHdr=0)
        return outer(i, c2s) / UDP(sport=2152, dport=2152) / \
            GTP_U_Header(E=1, S=0, PN=0, gtp_type=255, teid=tid, next_ex=0x85) / pdu / body
    if kind == "qinq":
        e = inner_ether(c2s, raw)
        return Ether(src=e.src, dst=e.dst, type=0x88A8) / Dot1AD(vlan=100, type=0x8100) / Dot1Q(vlan=tid & 0xfff, type=e.type) / body
    if kind == "nested":  # GRE (key) outside, VXLAN inside it, then Ethernet and the packet
        return outer(i, c2s) / GRE(key_present=1, key=tid, proto=0x0800) / \
            IP(src="192.0.2.201" if c2s else "192.0.2.202", dst="192.0.2.202" if c2s else "192.0.2.201", ttl=64) / \
            UDP(sport=50000 + i, dport=4789) / VXLAN(vni=500 + i) / inner_ether(c2s, raw) / body
    raise ValueError(kind)


FILES = {
    "gre": "vxlan.pcap", "erspan2": "vxlan.pcap", "erspan3": "vxlan.pcap", "ipip": "vxlan.pcap",
    "6in4": "../ipv6.pcap", "4in6": "vxlan.pcap", "mpls": "vxlan.pcap", "geneve": "vxlan.pcap",
    "gtpu": "vxlan.pcap", "qinq": "vxlan.pcap", "nested": "vxlan.pcap",
}

# ../ipv6.pcap carries 500 kB: its first 250 packets keep 6in4.pcap small (both subflows' handshakes).
LIMIT = {"6in4": 250}


def main(kinds):
    for kind in kinds or FILES:
        out = os.path.join(HERE, f"{kind}.pcap")
        w = PcapWriter(out, linktype=1, sync=False)
        for n, (t, raw) in enumerate(inner_packets(os.path.join(HERE, FILES[kind]))):
            if n >= LIMIT.get(kind, n + 1):
                break
            p = wrap(kind, raw, n + 1)
            if p is None:
                continue
            p.time = t
            w.write(p)
        w.close()
        print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
