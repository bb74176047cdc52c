#!/usr/bin/env bash
# Records testdata/fast/fast-6mb.pcap: one MPTCP connection (IPPROTO_MPTCP on both ends) moving
# 6,000,000 bytes client -> server over an unshaped veth, a transfer of a few tenths of a
# second: the case a fixed 100 ms throughput interval draws as a few bars (issue 15).
#
#   sudo bash testdata/fast/fast-transfer.sh
#
# Namespaces h15b-cli / h15b-srv, one veth pair, documentation addresses (192.0.2.1/24 <->
# 192.0.2.2/24), TSO/GSO/GRO off, tcpdump with a 128-byte snaplen (headers and options only, so
# the file stays small; payload bytes are counted from the headers). fast-6mb.truth.json holds
# what the applications saw (bytes, sha256) and tcpdump's counts (a drop fails the script).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=h15b-cli SRV=h15b-srv
WORK=$(mktemp -d /tmp/h15b-fast.XXXXXX)
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
    ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
done
ip netns exec "$CLI" tcpdump -i v15b-cli -s 128 -w "$WORK/cap.pcap" -U 'tcp' 2>"$WORK/tcpdump.log" &
CAP_PID=$!
sleep 1
cat >"$WORK/app.py" <<'PY'
import hashlib, json, socket, sys, time
IPPROTO_MPTCP = 262
N = 6_000_000
data = bytes((j * 31 + 7) % 251 for j in range(N))
if sys.argv[1] == "server":
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("192.0.2.2", 7001)); l.listen(1)
    c, _ = l.accept()
    b = bytearray()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        b += d
    c.close()
    json.dump({"c2s_received_bytes": len(b), "c2s_received_sha256": hashlib.sha256(b).hexdigest()}, open(sys.argv[2], "w"))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.connect(("192.0.2.2", 7001))
    t0 = time.monotonic(); s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); t1 = time.monotonic()
    s.close()
    print(json.dumps({"c2s_bytes": N,
                      "c2s_sha256": hashlib.sha256(data).hexdigest(), "client_send_seconds": round(t1 - t0, 4)}))
PY
ip netns exec "$SRV" python3 "$WORK/app.py" server "$WORK/server.json" &
SRV_PID=$!
sleep 0.5
ip netns exec "$CLI" python3 "$WORK/app.py" client >"$WORK/client.json"
wait "$SRV_PID"; SRV_PID=
sleep 1
kill -INT "$CAP_PID"; wait "$CAP_PID" || true; CAP_PID=
cat "$WORK/tcpdump.log" >&2
captured=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$WORK/tcpdump.log")
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.log")
[ "$dropped" = 0 ] || { echo "tcpdump dropped $dropped packets" >&2; exit 1; }
python3 - "$WORK/client.json" "$WORK/server.json" "$captured" "$HERE/fast-6mb.truth.json" <<'PY'
import json, sys
t = {"format": "mptcp-trace-fast-truth/1", **json.load(open(sys.argv[1])), **json.load(open(sys.argv[2])),
     "tcpdump_packets_captured": int(sys.argv[3]), "tcpdump_packets_dropped": 0}
json.dump(t, open(sys.argv[4], "w"), indent=1)
PY
cp "$WORK/cap.pcap" "$HERE/fast-6mb.pcap"
echo "wrote $HERE/fast-6mb.pcap ($captured packets)" >&2
