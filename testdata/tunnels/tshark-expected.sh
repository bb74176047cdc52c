#!/bin/sh
# tshark's own decode of every tunnel capture here, the truth cli/tests/tunnels.rs compares
# `mptcp-trace dissect --all --format jsonl` with, frame by frame: FILE.pcap -> FILE.tshark.tsv.
# usage: sh testdata/tunnels/tshark-expected.sh   (tshark 4.0.17 made the committed files)
# -E occurrence=a: every occurrence, comma-separated, outermost first (ip.src holds the outer
# and the inner IPv4 source of an IPv4-in-IPv4 packet).
set -eu
cd "$(dirname "$0")"
for f in *.pcap; do
  tshark -r "$f" -o mptcp.relative_sequence_numbers:FALSE -T fields -E header=y -E occurrence=a \
    -e frame.number -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport \
    -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.len -e mptcp.dss.dsn -e mptcp.ack \
    -e vxlan.vni -e geneve.vni -e gre.key -e erspan.spanid -e gtp.teid -e mpls.label \
    > "${f%.pcap}.tshark.tsv"
done
