#!/usr/bin/env bash
# Live capture end to end (issue 26): two namespaces joined by two veth pairs (documentation
# addresses only), an MPTCP transfer with two subflows by testdata/mptcp_app.py, and at once, in
# the server's namespace: `mptcp-trace analyze -i vA-srv -i vB-srv` (and the same traffic's
# `tcpdump` on both interfaces). Writes into OUT: live.jsonl (and live.err), a.pcap, b.pcap
# (tcpdump), client.json and server.json (the apps' truth), tcpdump.txt (its counts).
#
#   sudo bash cli/tests/live/run.sh BIN OUT [sigint]
#
# With `sigint`, the live capture gets no -a: it is ended by SIGINT in the middle of the transfer.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$(realpath "$2")
MODE=${3:-}
# The apps pace their chunks: 16 KiB every INTERVAL s (300 KB c2s: 19 chunks). With `sigint`
# the transfer is slowed to about 2 s, so that SIGINT at 0.6 s falls in its middle.
INTERVAL=0.02
[ "$MODE" = sigint ] && INTERVAL=0.1
HERE=$(cd "$(dirname "$0")" && pwd)
APP="$HERE/../../../testdata/mptcp_app.py"
SFX=$$
CLI=mtl-cli-$SFX
SRV=mtl-srv-$SFX
inc() { ip netns exec "$CLI" "$@"; }
ins() { ip netns exec "$SRV" "$@"; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$CLI"
ip netns add "$SRV"
ip link add vA-cli netns "$CLI" type veth peer name vA-srv netns "$SRV"
ip link add vB-cli netns "$CLI" type veth peer name vB-srv netns "$SRV"
for ns in "$CLI" "$SRV"; do
    ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
done
inc ip addr add 192.0.2.1/24 dev vA-cli
inc ip addr add 198.51.100.1/24 dev vB-cli
ins ip addr add 192.0.2.2/24 dev vA-srv
ins ip addr add 198.51.100.2/24 dev vB-srv
for d in vA-cli vB-cli; do
    inc ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    inc ip link set "$d" up
    inc tc qdisc add dev "$d" root tbf rate 4mbit burst 8kb limit 1mb
done
for d in vA-srv vB-srv; do
    ins ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ins ip link set "$d" up
    ins tc qdisc add dev "$d" root tbf rate 4mbit burst 8kb limit 1mb
done
inc ip rule add from 198.51.100.1 table 100
inc ip route add default via 198.51.100.2 dev vB-cli table 100
ins ip rule add from 198.51.100.2 table 100
ins ip route add default via 198.51.100.1 dev vB-srv table 100
inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
for _ in $(seq 50); do
    inc ping -c1 -W1 -q 192.0.2.2 >/dev/null 2>&1 && inc ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 && break
    sleep 0.1
done

ip netns exec "$SRV" tcpdump -i vA-srv -s 0 -U -w "$OUT/a.pcap" 'tcp port 5201' 2>"$OUT/tcpdump-a.txt" &
PIDS+=($!); TA=$!
ip netns exec "$SRV" tcpdump -i vB-srv -s 0 -U -w "$OUT/b.pcap" 'tcp port 5201' 2>"$OUT/tcpdump-b.txt" &
PIDS+=($!); TB=$!
if [ "$MODE" = sigint ]; then
    ip netns exec "$SRV" "$BIN" analyze -i vA-srv -i vB-srv -f 'tcp port 5201' --format jsonl >"$OUT/live.jsonl" 2>"$OUT/live.err" &
else
    ip netns exec "$SRV" "$BIN" analyze -i vA-srv -i vB-srv -f 'tcp port 5201' -a duration:8 --format jsonl --sha256 >"$OUT/live.jsonl" 2>"$OUT/live.err" &
fi
LIVE=$!
PIDS+=($LIVE)
sleep 1 # both captures running
ip netns exec "$SRV" python3 "$APP" server --addr 0.0.0.0 --send 200000 --chunk 16384 --interval "$INTERVAL" --seed s2c --out "$OUT/server.json" --ready "$OUT/ready" 2>"$OUT/server.log" &
PIDS+=($!); SP=$!
for _ in $(seq 100); do [ -e "$OUT/ready" ] && break; sleep 0.05; done
ip netns exec "$CLI" python3 "$APP" client --addr 192.0.2.2 --send 300000 --chunk 16384 --interval "$INTERVAL" --seed c2s --out "$OUT/client.json" 2>"$OUT/client.log" &
CP=$!
if [ "$MODE" = sigint ]; then
    sleep 0.6 # mid-transfer (the transfer takes about 2 s)
    kill -INT "$LIVE"
fi
wait "$CP"
wait "$SP"
set +e
wait "$LIVE"
echo "$?" >"$OUT/live.rc"
set -e
sleep 0.5
kill -INT "$TA" "$TB"
wait "$TA" "$TB" 2>/dev/null || true
cat "$OUT/tcpdump-a.txt" "$OUT/tcpdump-b.txt" >"$OUT/tcpdump.txt"
