#!/usr/bin/env bash
# Records testdata/plain/plain-tcp.pcap: three plain TCP connections (no MPTCP anywhere), for the
# "plain TCP in sight" tests of `analyze` and `verify` (issue 15).
#
#   sudo bash testdata/plain/plain-tcp.sh
#
# Two network namespaces (h15b-cli, h15b-srv) joined by one veth pair, documentation addresses
# only (192.0.2.1/24 <-> 192.0.2.2/24), TSO/GSO/GRO off so every segment is captured as sent.
# The client opens 3 connections one after the other, each sends 50000 bytes and reads 20000
# back; the app's view (bytes, sha256 per direction) goes to plain-tcp.truth.json, with
# tcpdump's own counts (a drop fails the script).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=h15b-cli SRV=h15b-srv
WORK=$(mktemp -d /tmp/h15b-plain.XXXXXX)
CAP_PID= SRV_PID=
cleanup() {
    [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null || true
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$CLI"
ip netns add "$SRV"
ip link add v15b-cli netns "$CLI" type veth peer name v15b-srv netns "$SRV"
ip -n "$CLI" addr add 192.0.2.1/24 dev v15b-cli
ip -n "$SRV" addr add 192.0.2.2/24 dev v15b-srv
for ns in "$CLI" "$SRV"; do
    ip -n "$ns" link set lo up
    dev=$([ "$ns" = "$CLI" ] && echo v15b-cli || echo v15b-srv)
    ip -n "$ns" link set "$dev" up
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
done
ip netns exec "$CLI" tcpdump -i v15b-cli -s 0 -w "$WORK/cap.pcap" -U 'tcp' 2>"$WORK/tcpdump.log" &
CAP_PID=$!
sleep 1
cat >"$WORK/app.py" <<'PY'
import hashlib, json, socket, sys
role, n = sys.argv[1], int(sys.argv[2])
C2S, S2C = 50000, 20000
def recv_all(s, k):
    b = bytearray()
    while len(b) < k:
        d = s.recv(65536)
        if not d:
            break
        b += d
    return bytes(b)
if role == "server":
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # plain TCP, never IPPROTO_MPTCP
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("192.0.2.2", 7000)); l.listen(8)
    for i in range(n):
        c, _ = l.accept()
        recv_all(c, C2S)
        c.sendall(bytes((i * 7 + j) % 251 for j in range(S2C)))
        c.shutdown(socket.SHUT_WR); recv_all(c, 1); c.close()
else:
    out = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("192.0.2.2", 7000))
        sport = s.getsockname()[1]
        data = bytes((i * 13 + j) % 253 for j in range(C2S))
        s.sendall(data); s.shutdown(socket.SHUT_WR)
        back = recv_all(s, S2C + 1); s.close()
        out.append({"client": "192.0.2.1:%d" % sport, "server": "192.0.2.2:7000", "c2s_bytes": len(data),
                    "c2s_sha256": hashlib.sha256(data).hexdigest(), "s2c_bytes": len(back),
                    "s2c_sha256": hashlib.sha256(back).hexdigest()})
    print(json.dumps(out))
PY
ip netns exec "$SRV" python3 "$WORK/app.py" server 3 &
SRV_PID=$!
sleep 0.5
ip netns exec "$CLI" python3 "$WORK/app.py" client 3 >"$WORK/conns.json"
wait "$SRV_PID"; SRV_PID=
sleep 1
kill -INT "$CAP_PID"; wait "$CAP_PID" || true; CAP_PID=
cat "$WORK/tcpdump.log" >&2
captured=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$WORK/tcpdump.log")
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.log")
[ "$dropped" = 0 ] || { echo "tcpdump dropped $dropped packets" >&2; exit 1; }
python3 - "$WORK/conns.json" "$captured" "$HERE/plain-tcp.truth.json" <<'PY'
import json, sys
conns = json.load(open(sys.argv[1]))
json.dump({"format": "mptcp-trace-plain-tcp-truth/1", "tcpdump_packets_captured": int(sys.argv[2]),
           "tcpdump_packets_dropped": 0, "connections": conns}, open(sys.argv[3], "w"), indent=1)
PY
cp "$WORK/cap.pcap" "$HERE/plain-tcp.pcap"
echo "wrote $HERE/plain-tcp.pcap ($captured packets)" >&2
