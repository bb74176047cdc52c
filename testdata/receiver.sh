#!/usr/bin/env bash
# Record MPTCP uploads at the RECEIVER (issue 14): data-level reordering,
# head-of-line delay, and the receiving kernel's own MPTCP counters as truth.
#
#   bash testdata/receiver.sh                 # all scenarios (as root)
#   bash testdata/receiver.sh equal slow      # only some
#
# Topology (documentation addresses only; namespaces h14-snd / h14-rtr / h14-rcv):
#
#   h14-snd (client, sender)      h14-rtr                                h14-rcv (server, receiver)
#   vA-cli 192.0.2.1/24    <-> vA-rc 192.0.2.254/24    vA-rs 203.0.113.1/25   <-> vA-srv 203.0.113.2/25
#   vB-cli 198.51.100.1/24 <-> vB-rc 198.51.100.254/24 vB-rs 203.0.113.129/25 <-> vB-srv 203.0.113.130/25
#
# Why a router: the loss must happen where neither the sender's stack nor the
# receiver's capture sees it. A drop in the sender's own output/postrouting
# hook (or its qdisc) returns an error to tcp_transmit_skb, which keeps the
# segment unsent and tries again later: a local send failure, not a loss. A
# drop in the receiver's namespace happens after tcpdump's tap. So the router
# drops (nftables, forward hook, c2s on path B only) and shapes (tbf on its
# egress towards the receiver); tcpdump -i any runs in h14-rcv, and every
# packet in the capture is a packet the receiving kernel got.
#
# The client (sender) uploads UP bytes as fast as the socket takes them; the
# server (receiver) reads everything. Scenarios:
#   equal   path A and B 2 mbit, no loss
#   slow    path A 2 mbit, path B 250 kbit, no loss      (HOL: B's bytes wait)
#   loss    path A 2 mbit, path B 1 mbit, ~LOSS% of c2s packets on B dropped
#   probe   path A and B 2 mbit, 100000 bytes; the receiver reads 1 KiB every
#           20 ms with a 4 KiB SO_RCVBUF: the window closes, the sender probes
# Each writes testdata/receiver/NAME.pcap and NAME.truth.json: apps' results
# (bytes, sha256), tcpdump counts (captured == received by filter is required,
# else the run is repeated), nstat -asz of sender and receiver namespaces (the
# namespaces are fresh: absolute counters are this run's), nft counters.
set -euo pipefail
# shellcheck source=capture.sh
source "$(cd "$(dirname "$0")" && pwd)/capture.sh"

OUT="$HERE/receiver"
CLI=h14-snd
RTR=h14-rtr
SRV=h14-rcv
SRV_ADDR=203.0.113.2
C2S=${UP_BYTES:-300000}
# the receiver sends one byte, then waits 1 s before its DATA_FIN: the in-kernel
# path manager creates no subflow on a connection that is closing (with
# --send 0 the server's immediate DATA_FIN left the join endpoint unused)
S2C=1
SRV_HOLD=(--pause-after 1 --pause 1)
LOSS=${LOSS:-3}
TD_PID=

inr() { ip netns exec "$RTR" "$@"; }
pc() { echo "sender: $*" >>"$WORK/setup.txt"; inc "$@"; }
pr() { echo "router: $*" >>"$WORK/setup.txt"; inr "$@"; }
pv() { echo "receiver: $*" >>"$WORK/setup.txt"; ins "$@"; }

teardown() { # replaces capture.sh's (also called by its EXIT trap)
    local p
    for p in $TD_PID $SRV_PID "${CLI_PIDS[@]}" "${BG_PIDS[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    TD_PID= SRV_PID= CLI_PIDS=() BG_PIDS=()
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$RTR" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}

setup_rcv() { # rate-A rate-B loss-percent-on-B
    local rate_a=$1 rate_b=$2 loss=$3 ns d
    teardown
    rm -f "$WORK"/*
    for ns in "$CLI" "$RTR" "$SRV"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip netns exec "$ns" ip link set lo up
    done
    echo "all: ip netns add; sysctl disable_ipv6=1 rp_filter=0; ip link set lo up" >>"$WORK/setup.txt"
    pr sysctl -qw net.ipv4.ip_forward=1
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1 net.mptcp.checksum_enabled=0
        ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
        ip netns exec "$ns" ip mptcp endpoint flush
    done
    ip link add vA-cli netns "$CLI" type veth peer name vA-rc netns "$RTR"
    ip link add vB-cli netns "$CLI" type veth peer name vB-rc netns "$RTR"
    ip link add vA-rs netns "$RTR" type veth peer name vA-srv netns "$SRV"
    ip link add vB-rs netns "$RTR" type veth peer name vB-srv netns "$SRV"
    pc ip addr add 192.0.2.1/24 dev vA-cli
    pc ip addr add 198.51.100.1/24 dev vB-cli
    pr ip addr add 192.0.2.254/24 dev vA-rc
    pr ip addr add 198.51.100.254/24 dev vB-rc
    pr ip addr add 203.0.113.1/25 dev vA-rs
    pr ip addr add 203.0.113.129/25 dev vB-rs
    pv ip addr add 203.0.113.2/25 dev vA-srv
    pv ip addr add 203.0.113.130/25 dev vB-srv
    echo "all: ethtool -K DEV tso off gso off gro off tx off rx off; ip link set DEV up (all 8 veths)" >>"$WORK/setup.txt"
    for d in vA-cli vB-cli; do inc ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; inc ip link set "$d" up; done
    for d in vA-rc vB-rc vA-rs vB-rs; do inr ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; inr ip link set "$d" up; done
    for d in vA-srv vB-srv; do ins ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; ins ip link set "$d" up; done
    # shaping on the router's egress towards the receiver (limit 1mb never fills)
    pr tc qdisc add dev vA-rs root tbf rate "$rate_a" burst 8kb limit 1mb
    pr tc qdisc add dev vB-rs root tbf rate "$rate_b" burst 8kb limit 1mb
    pc ip route add default via 192.0.2.254 dev vA-cli
    pc ip rule add from 198.51.100.1 table 100
    pc ip route add default via 198.51.100.254 dev vB-cli table 100
    pr ip rule add iif vB-rc table 100
    pr ip route add default via 203.0.113.130 dev vB-rs table 100
    pv ip route add 192.0.2.0/24 via 203.0.113.1 dev vA-srv
    pv ip route add 198.51.100.0/24 via 203.0.113.129 dev vB-srv
    inc "$PY" - "$SRV_ADDR" <<'PYEOF' || { log "no connectivity over both paths"; return 1; }
import socket, sys, time
for src in ("192.0.2.1", "198.51.100.1"):
    for i in range(50):
        s = socket.socket()
        s.settimeout(0.5)
        s.bind((src, 0))
        try:
            s.connect((sys.argv[1], 9))
        except ConnectionRefusedError:
            break
        except OSError:
            time.sleep(0.1)
        finally:
            s.close()
    else:
        sys.exit("no path from %s" % src)
PYEOF
    # the connectivity check's SYN/RSTs must not count: fresh counters from here
    inc nstat -n >/dev/null 2>&1 || true
    pr nft add table inet h14
    pr nft add chain inet h14 pass '{ type filter hook forward priority 0; policy accept; }'
    pr nft add rule inet h14 pass iifname vB-rc meta l4proto tcp counter comment '"fwd B c2s"'
    if [ "$loss" -gt 0 ]; then
        pr nft add rule inet h14 pass iifname vB-rc meta l4proto tcp numgen random mod 100 '<' "$loss" counter drop comment '"drop B c2s"'
    fi
}

run_one() { # name rate-A rate-B loss [server-app-args...]
    local name=$1 ra=$2 rb=$3 loss=$4
    shift 4
    setup_rcv "$ra" "$rb" "$loss"
    # counters of the connectivity check are subtracted: snapshot now
    inc nstat -asz >"$WORK/nstat-sender-before.txt"
    ins nstat -asz >"$WORK/nstat-receiver-before.txt"
    echo "capture: ip netns exec $SRV tcpdump -n -Z root -B 32768 --immediate-mode -i any -w $name.pcap" >>"$WORK/setup.txt"
    ip netns exec "$SRV" tcpdump -n -Z root -B 32768 --immediate-mode -i any -w "$WORK/$name.pcap" 2>"$WORK/td.txt" &
    TD_PID=$!
    local i
    for i in $(seq 100); do grep -q "listening on" "$WORK/td.txt" 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    echo "receiver app: mptcp_app.py server --send $S2C ${SRV_HOLD[*]} --addr 0.0.0.0 $*" >>"$WORK/setup.txt"
    start_server --addr 0.0.0.0 "${SRV_HOLD[@]}" "$@"
    begin
    echo "sender app: mptcp_app.py client --send $C2S --chunk 16384 --interval 0 --pause-after 16384 --pause 0.5 --addr $SRV_ADDR" >>"$WORK/setup.txt"
    CHUNK=16384 INTERVAL=0 start_client client --addr "$SRV_ADDR" --pause-after 16384 --pause 0.5
    # the join must wait until the receiver is fully established (it has
    # received data): a join before that is rejected (MPTcpExtMPJoinRejected)
    for i in $(seq 200); do grep -q "accepted" "$WORK/server.log" 2>/dev/null && break; sleep 0.01; done
    sleep 0.1
    pc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    [ -z "${DEBUG:-}" ] || { sleep 0.2; inc ip mptcp endpoint show >&2; inc ss -tniM >&2; inc nstat -az | grep -i mptcp >&2; }
    wait_apps 120
    sleep 1.5
    kill -INT "$TD_PID" 2>/dev/null || true
    wait "$TD_PID" 2>/dev/null || true
    TD_PID=
    inc nstat -asz >"$WORK/nstat-sender.txt"
    ins nstat -asz >"$WORK/nstat-receiver.txt"
    inr nft -j list ruleset >"$WORK/nft.json"
    inr tc -s -j qdisc show >"$WORK/tc.json"
    "$PY" - "$WORK" "$name" "$ra" "$rb" "$loss" "$OUT/$name.truth.json" <<'PYEOF' || return 3
import json, re, sys, hashlib
work, name, ra, rb, loss, out = sys.argv[1:7]
def nstat(path):
    d = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            d[f[0]] = int(f[1])
    return d
def delta(a, b):
    return {k: v - a.get(k, 0) for k, v in b.items() if v - a.get(k, 0)}
td = open(f"{work}/td.txt").read()
cap = int(re.search(r"(\d+) packets? captured", td).group(1))
rcv = int(re.search(r"(\d+) packets? received by filter", td).group(1))
drop = int(re.search(r"(\d+) packets? dropped by kernel", td).group(1))
if cap != rcv or drop:
    sys.exit(f"tcpdump lost packets: captured {cap} received {rcv} dropped {drop}")
srv = json.load(open(f"{work}/server.json"))
cli = json.load(open(f"{work}/client.json"))
def conns(j):
    if isinstance(j, list):
        return j
    return j.get("connections", [j])
s, c = conns(srv)[0], conns(cli)[0]
if s["recv_sha256"] != c["sent_sha256"] or s["recv_bytes"] != c["sent_bytes"]:
    sys.exit("apps disagree")
tc = json.load(open(f"{work}/tc.json"))
tbf_drops = sum(q.get("drops", 0) for q in tc if q.get("kind") == "tbf")
if tbf_drops:
    sys.exit(f"tbf dropped {tbf_drops}")
nft = json.load(open(f"{work}/nft.json"))
counters = {}
for e in nft["nftables"]:
    r = e.get("rule")
    if not r:
        continue
    for x in r["expr"]:
        if "counter" in x:
            counters[r.get("comment", "?")] = x["counter"]["packets"]
truth = {
    "format": "mptcp-trace receiver truth 1",
    "scenario": name,
    "capture_point": "receiver (server namespace h14-rcv, tcpdump -i any)",
    "direction": "c2s upload: client 192.0.2.1 sends, server 203.0.113.2 receives",
    "rate_a": ra, "rate_b": rb, "loss_percent_b_c2s": int(loss),
    "tcpdump": {"captured": cap, "received_by_filter": rcv, "dropped_by_kernel": drop},
    "apps": {"sender": {"sent_bytes": c["sent_bytes"], "sent_sha256": c["sent_sha256"]},
             "receiver": {"recv_bytes": s["recv_bytes"], "recv_sha256": s["recv_sha256"]}},
    "nstat": {
        "sender": delta(nstat(f"{work}/nstat-sender-before.txt"), nstat(f"{work}/nstat-sender.txt")),
        "receiver": delta(nstat(f"{work}/nstat-receiver-before.txt"), nstat(f"{work}/nstat-receiver.txt")),
    },
    "nft_counters": counters,
    "setup": open(f"{work}/setup.txt").read().splitlines(),
}
json.dump(truth, open(out, "w"), indent=1, sort_keys=True)
print(json.dumps({k: truth["nstat"]["receiver"].get(k, 0) for k in
    ["MPTcpExtOFOQueue", "MPTcpExtOFOQueueTail", "MPTcpExtOFOMerge", "MPTcpExtDuplicateData"]}),
    "WinProbe", truth["nstat"]["sender"].get("MPTcpExtWinProbe", 0), file=sys.stderr)
PYEOF
    cp "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap" "$OUT/$name.truth.json"
}

scenario() {
    case $1 in
        equal) run_one equal 2mbit 2mbit 0 ;;
        slow)  run_one slow 2mbit 250kbit 0 ;;
        loss)  run_one loss 2mbit 1mbit "$LOSS" ;;
        probe) C2S=${PROBE_BYTES:-100000} run_one probe 2mbit 2mbit 0 --rcvbuf 4096 --read-size 1024 --read-pause 0.02 ;;
        *) echo "unknown scenario $1" >&2; return 2 ;;
    esac
}

[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 1; }
mkdir -p "$OUT"
for s in "${@:-equal slow loss probe}"; do
    for s1 in $s; do
        ok=
        for attempt in 1 2 3 4; do
            log "=== $s1 (attempt $attempt)"
            set +e
            ( trap teardown EXIT; set -e; scenario "$s1" )
            rc=$?
            set -e
            teardown
            [ "$rc" -eq 0 ] && { ok=1; break; }
            log "attempt $attempt failed (rc=$rc)"
        done
        [ -n "$ok" ] || { log "FAILED: $s1"; exit 1; }
    done
done
log "done: $OUT"
ls -l "$OUT" >&2
