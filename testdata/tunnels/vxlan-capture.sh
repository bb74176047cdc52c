#!/bin/bash
# A real Linux-kernel MPTCP connection over two VXLAN tunnels, captured on the underlay.
# usage: sudo bash testdata/tunnels/vxlan-capture.sh     -> testdata/tunnels/vxlan.pcap, vxlan.json
#
# Two netns joined by one veth pair (the underlay, 203.0.113.0/24, two addresses per side).
# Over it two VXLAN devices per side (the overlay, UDP port 4789):
#   vx100: VNI 100, outer 203.0.113.1 <-> 203.0.113.2, inner 192.0.2.1/24   <-> 192.0.2.2/24
#   vx200: VNI 200, outer 203.0.113.3 <-> 203.0.113.4, inner 198.51.100.1/24 <-> 198.51.100.2/24
# The client has a `subflow` endpoint 198.51.100.1 dev vx200: the kernel joins the server's
# initial address 192.0.2.2 from it, routed over vx200 (source rule, table 100). tcpdump runs on
# the client's underlay veth (Ethernet link type), offloads off everywhere, tbf 1 mbit on each
# vxlan device (the app sends faster than one path carries) so both subflows carry data.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=vx-cli SRV=vx-srv
BYTES=${BYTES:-200000}
WORK=$(mktemp -d /tmp/vxlan-capture.XXXXXX)
cleanup() { ip netns del $CLI 2>/dev/null || true; ip netns del $SRV 2>/dev/null || true; }
trap 'cleanup; rm -rf "$WORK"' EXIT
cleanup
ip netns add $CLI; ip netns add $SRV
c() { ip netns exec $CLI "$@"; }
s() { ip netns exec $SRV "$@"; }
ip link add u-cli netns $CLI type veth peer name u-srv netns $SRV
for ns in $CLI $SRV; do
  ip netns exec $ns sysctl -qw net.mptcp.enabled=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip netns exec $ns ip link set lo up
  ip netns exec $ns ip mptcp limits set subflows 2 add_addr_accepted 2
done
c ip addr add 203.0.113.1/24 dev u-cli; c ip addr add 203.0.113.3/24 dev u-cli
s ip addr add 203.0.113.2/24 dev u-srv; s ip addr add 203.0.113.4/24 dev u-srv
c ip link set u-cli up; s ip link set u-srv up
c ip link add vx100 type vxlan id 100 local 203.0.113.1 remote 203.0.113.2 dstport 4789 dev u-cli
c ip link add vx200 type vxlan id 200 local 203.0.113.3 remote 203.0.113.4 dstport 4789 dev u-cli
s ip link add vx100 type vxlan id 100 local 203.0.113.2 remote 203.0.113.1 dstport 4789 dev u-srv
s ip link add vx200 type vxlan id 200 local 203.0.113.4 remote 203.0.113.3 dstport 4789 dev u-srv
c ip addr add 192.0.2.1/24 dev vx100; c ip addr add 198.51.100.1/24 dev vx200
s ip addr add 192.0.2.2/24 dev vx100; s ip addr add 198.51.100.2/24 dev vx200
for d in vx100 vx200; do c ip link set $d up; s ip link set $d up; done
for d in u-cli vx100 vx200; do c ethtool -K $d tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; done
for d in u-srv vx100 vx200; do s ethtool -K $d tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; done
for d in vx100 vx200; do
  c tc qdisc add dev $d root tbf rate 1mbit burst 8kb limit 1mb
  s tc qdisc add dev $d root tbf rate 1mbit burst 8kb limit 1mb
done
c ip rule add from 198.51.100.1 lookup 100
c ip route add default via 198.51.100.2 dev vx200 table 100
c ip mptcp endpoint add 198.51.100.1 dev vx200 subflow
sleep 1 # the vxlan devices and the IPv4 addresses settle
ip netns exec $CLI tcpdump -n -i u-cli -B 32768 -w "$WORK/vxlan.pcap" 2>"$WORK/tcpdump.err" &
TCPDUMP=$!
sleep 1 # the vxlan devices and the IPv4 addresses settle
s python3 "$HERE/vxlan_app.py" server --out "$WORK/server.json" &
SERVER=$!
sleep 0.5
c python3 "$HERE/vxlan_app.py" client --host 192.0.2.2 --bytes "$BYTES" --out "$WORK/client.json"
wait $SERVER
sleep 2
kill -INT $TCPDUMP; wait $TCPDUMP || true
cat "$WORK/tcpdump.err" >&2
captured=$(sed -n 's/^\([0-9]*\) packets\? captured.*/\1/p' "$WORK/tcpdump.err")
received=$(sed -n 's/^\([0-9]*\) packets\? received by filter.*/\1/p' "$WORK/tcpdump.err")
[ -n "$captured" ] && [ "$captured" = "$received" ] || { echo "tcpdump captured $captured of $received" >&2; exit 1; }
cp "$WORK/vxlan.pcap" "$HERE/vxlan.pcap"
python3 - "$WORK/client.json" "$WORK/server.json" "$HERE/vxlan.json" <<'PY'
import json, sys
cli, srv = (json.load(open(p)) for p in sys.argv[1:3])
assert cli["sha256"] == srv["sha256"] and cli["sent"] == srv["received"], (cli, srv)
json.dump({"file": "vxlan.pcap", "c2s_bytes": cli["sent"], "c2s_sha256": cli["sha256"],
           "server_received_sha256": srv["sha256"],
           "subflows": [{"vni": 100, "outer": ["203.0.113.1", "203.0.113.2"], "inner_client": "192.0.2.1"},
                        {"vni": 200, "outer": ["203.0.113.3", "203.0.113.4"], "inner_client": "198.51.100.1"}]},
          open(sys.argv[3], "w"), indent=1)
open(sys.argv[3], "a").write("\n")
PY
echo "wrote $HERE/vxlan.pcap ($(stat -c %s "$HERE/vxlan.pcap") bytes), $HERE/vxlan.json"
