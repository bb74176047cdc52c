#!/usr/bin/env bash
# Record one MPTCP transfer at two points at once (issue 13): client and server
# namespaces with a router namespace between them that drops packets (nftables,
# forward hook), so loss happens BETWEEN the capture points.
#
#   sudo bash testdata/pair.sh        # writes testdata/pair/
#
# Topology (documentation addresses only, namespaces p13-cli / p13-rtr / p13-srv):
#
#   p13-cli                        p13-rtr                               p13-srv
#   vA-cli 192.0.2.1/24    <-> vA-rc 192.0.2.254/24   vA-rs 203.0.113.1/25   <-> vA-srv 203.0.113.2/25
#   vB-cli 198.51.100.1/24 <-> vB-rc 198.51.100.254/24 vB-rs 203.0.113.129/25 <-> vB-srv 203.0.113.130/25
#
# Path A = the vA-* veths, path B = the vB-* veths. The client connects to
# 203.0.113.2 from 192.0.2.1 (path A, MP_CAPABLE); its 'subflow' endpoint
# 198.51.100.1 dev vB-cli joins the same server address over path B (source
# routing in the client, iif routing in the router, destination routing in the
# server). The router forwards without NAT; tbf shapes the router's egress
# (path A 1.5 mbit, path B 1 mbit) and nft drops ~LOSS% of the forwarded TCP
# packets at random in both directions of both paths, with one counter per
# path, direction and packet category.
#
# One run records, at the same time:
#   client-any.pcap  tcpdump -i any    in p13-cli (LINUX_SLL2, microseconds)
#   client-vA.pcap   tcpdump -i vA-cli in p13-cli (EN10MB, microseconds)
#   client-vB.pcap   tcpdump -i vB-cli in p13-cli (EN10MB, NANOSECONDS)
#   server-any.pcap  tcpdump -i any    in p13-srv (LINUX_SLL2, microseconds)
# and writes pair.truth.json (apps, tcpdump counts, nft counters, tbf stats,
# nstat, setup commands) and pair.match.json (testdata/tools/pair_match.py on
# client-any.pcap / server-any.pcap, checked against the nft counters).
# The run is repeated (up to 6 attempts) when a tcpdump did not write every
# packet it received, a direction's app hashes differ, tbf dropped a packet,
# pair_match.py does not agree with the nft counters, or the random drops
# missed the payload of some subflow direction (a run without a lost data
# segment in each of the 4 subflow directions is not kept).
set -euo pipefail
# shellcheck source=capture.sh
source "$(cd "$(dirname "$0")" && pwd)/capture.sh"

# NAT=1: the router also masquerades what it forwards to the server (source
# address AND port rewritten: 'masquerade random'), so the two captures see
# different 4-tuples; written to testdata/pair-nat/
NAT=${NAT:-0}
OUT="$HERE/pair"
[ "$NAT" = 1 ] && OUT="$HERE/pair-nat"
CLI=p13-cli
RTR=p13-rtr
SRV=p13-srv
SRV_ADDR=203.0.113.2
C2S=${C2S_BYTES:-300000}
S2C=${S2C_BYTES:-200000}
# Large writes: a write is more than one subflow's cwnd, so both subflows get
# data in both directions (with 8 KiB writes nearly everything went on path A;
# with 32 KiB server writes path B carried almost no s2c data)
CHUNK=${CHUNK_BYTES:-32768}
INTERVAL=${CLI_INTERVAL:-0.2}      # client: 32 KiB every 200 ms (~1.8 s of writes)
SRV_CHUNK=${SRV_CHUNK_BYTES:-65536}
SRV_INTERVAL=${SRV_INTERVAL:-0.6}  # server: 64 KiB every 600 ms (~1.8 s of writes)
RATE_A=${RATE_A:-1500kbit}
RATE_B=${RATE_B:-1mbit}
LOSS=${LOSS:-3}        # percent, per forwarded TCP packet, each path and direction
TD_NAMES=(client-any client-vA client-vB server-any)
TD_PIDS=()

inr() { ip netns exec "$RTR" "$@"; }
# logged setup commands (they go into the truth file's "setup")
pc() { echo "client: $*" >>"$WORK/setup.txt"; inc "$@"; }
pr() { echo "router: $*" >>"$WORK/setup.txt"; inr "$@"; }
pv() { echo "server: $*" >>"$WORK/setup.txt"; ins "$@"; }

teardown() { # replaces capture.sh's (also called by its EXIT trap)
    local p
    for p in "${TD_PIDS[@]}" $SRV_PID "${CLI_PIDS[@]}" "${BG_PIDS[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    TD_PIDS=() SRV_PID= CLI_PIDS=() BG_PIDS=()
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$RTR" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}

setup_pair() {
    teardown
    rm -f "$WORK"/*
    local ns d
    for ns in "$CLI" "$RTR" "$SRV"; do
        echo "all: ip netns add $ns" >>"$WORK/setup.txt"
        ip netns add "$ns"
    done
    for ns in "$CLI" "$RTR" "$SRV"; do
        # no IPv6 at all (no MLD / router solicitations in the files); no
        # reverse-path filter (path B replies arrive from an address whose
        # route points to path A); sysctls set before the veths exist so that
        # the per-device copies inherit 'default'
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip netns exec "$ns" ip link set lo up
    done
    echo "all: sysctl net.ipv6.conf.{all,default}.disable_ipv6=1 net.ipv4.conf.{all,default}.rp_filter=0; ip link set lo up" >>"$WORK/setup.txt"
    pr sysctl -qw net.ipv4.ip_forward=1
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1 net.mptcp.checksum_enabled=0
        ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
        ip netns exec "$ns" ip mptcp endpoint flush
    done
    echo "client+server: sysctl net.mptcp.enabled=1 net.mptcp.checksum_enabled=0; ip mptcp limits set subflows 4 add_addr_accepted 4" >>"$WORK/setup.txt"
    echo "all: ip link add vA-cli netns $CLI type veth peer name vA-rc netns $RTR (and vB-cli/vB-rc, vA-rs/vA-srv, vB-rs/vB-srv)" >>"$WORK/setup.txt"
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
    for d in vA-cli vB-cli; do
        inc ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        inc ip link set "$d" up
    done
    for d in vA-rc vB-rc vA-rs vB-rs; do
        inr ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        inr ip link set "$d" up
    done
    for d in vA-srv vB-srv; do
        ins ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ins ip link set "$d" up
    done
    # shaping on the router's egress only: the queue (and the delay) sits
    # between the capture points; limit 1mb never fills (checked: tbf drops = 0)
    pr tc qdisc add dev vA-rc root tbf rate "$RATE_A" burst 8kb limit 1mb
    pr tc qdisc add dev vA-rs root tbf rate "$RATE_A" burst 8kb limit 1mb
    pr tc qdisc add dev vB-rc root tbf rate "$RATE_B" burst 8kb limit 1mb
    pr tc qdisc add dev vB-rs root tbf rate "$RATE_B" burst 8kb limit 1mb
    # client: default via path A; anything from the path-B address leaves on B
    pc ip route add default via 192.0.2.254 dev vA-cli
    pc ip rule add from 198.51.100.1 table 100
    pc ip route add default via 198.51.100.254 dev vB-cli table 100
    # router: what comes in on B from the client goes out on B to the server
    pr ip rule add iif vB-rc table 100
    pr ip route add default via 203.0.113.130 dev vB-rs table 100
    # server: answers each client address over its own path
    pv ip route add 192.0.2.0/24 via 203.0.113.1 dev vA-srv
    pv ip route add 198.51.100.0/24 via 203.0.113.129 dev vB-srv
    # reachability over both paths (no ping on this machine): a TCP connect
    # from each client address to a closed server port must be refused (RST)
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
    # nft only after that check (made before any capture starts).
    # Per path and direction: a counter of every forwarded TCP packet, then a
    # random LOSS% go to a drop chain that counts them by category:
    #   synfinrst  SYN, FIN or RST flag set
    #   len81plus  IP total length > 80 (the TCP header is at most 60 bytes, so: carries payload)
    #   short      the rest (IP length <= 80: pure ACKs; a payload of < 21 bytes would be here too)
    local p dir iif
    pr nft add table inet p13
    pr nft add chain inet p13 pass '{ type filter hook forward priority 0; policy accept; }'
    for p in A B; do
        for dir in c2s s2c; do
            [ "$dir" = c2s ] && iif="v$p-rc" || iif="v$p-rs"
            pr nft add chain inet p13 "drop_${p}_$dir"
            pr nft add rule inet p13 "drop_${p}_$dir" tcp flags '&' '(syn|fin|rst)' '!=' 0 counter drop comment "\"drop $p $dir synfinrst\""
            pr nft add rule inet p13 "drop_${p}_$dir" ip length '>' 80 counter drop comment "\"drop $p $dir len81plus\""
            pr nft add rule inet p13 "drop_${p}_$dir" counter drop comment "\"drop $p $dir short\""
            pr nft add rule inet p13 pass iifname "$iif" meta l4proto tcp counter comment "\"fwd $p $dir\""
            pr nft add rule inet p13 pass iifname "$iif" meta l4proto tcp numgen random mod 100 '<' "$LOSS" jump "drop_${p}_$dir"
        done
    done
    if [ "$NAT" = 1 ]; then
        pr nft add table ip p13nat
        pr nft add chain ip p13nat post '{ type nat hook postrouting priority 100; policy accept; }'
        pr nft add rule ip p13nat post oifname '{ "vA-rs", "vB-rs" }' counter masquerade random
    fi
}

start_tds() {
    local n ns dev extra i f
    TD_PIDS=()
    for n in "${TD_NAMES[@]}"; do
        extra=()
        case $n in
            client-any) ns=$CLI dev=any ;;
            client-vA)  ns=$CLI dev=vA-cli ;;
            client-vB)  ns=$CLI dev=vB-cli extra=(--time-stamp-precision=nano) ;;
            server-any) ns=$SRV dev=any ;;
        esac
        echo "capture $n: ip netns exec $ns tcpdump -n -Z root -B 32768 --immediate-mode -i $dev ${extra[*]} -w $n.pcap" >>"$WORK/setup.txt"
        ip netns exec "$ns" tcpdump -n -Z root -B 32768 --immediate-mode -i "$dev" "${extra[@]}" \
            -w "$WORK/$n.pcap" 2>"$WORK/$n.tcpdump.txt" &
        TD_PIDS+=($!)
    done
    for n in "${TD_NAMES[@]}"; do
        f="$WORK/$n.tcpdump.txt"
        for i in $(seq 100); do
            grep -q "listening on" "$f" 2>/dev/null && break
            sleep 0.05
        done
        grep -q "listening on" "$f" || { log "tcpdump $n did not start"; cat "$f" >&2; return 1; }
    done
    sleep 0.3
}

stop_tds() {
    local p
    sleep 1.5   # the close handshake is long written (immediate mode), but be generous
    for p in "${TD_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${TD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    TD_PIDS=()
}

run_pair() {
    setup_pair
    pc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tds
    echo "server app: mptcp_app.py server --port $PORT --send $S2C --chunk $SRV_CHUNK --interval $SRV_INTERVAL --seed s2c --addr 0.0.0.0" >>"$WORK/setup.txt"
    start_server --addr 0.0.0.0 --chunk "$SRV_CHUNK" --interval "$SRV_INTERVAL"
    begin
    echo "client app: mptcp_app.py client --port $PORT --send $C2S --chunk $CHUNK --interval $INTERVAL --seed c2s --addr $SRV_ADDR" >>"$WORK/setup.txt"
    start_client client --addr "$SRV_ADDR"
    wait_apps 60
    event "apps finished"
    stop_tds
    event "tcpdumps stopped"
    inr nft list ruleset >"$WORK/nft.txt"
    inr nft -j list ruleset >"$WORK/nft.json"
    inr tc -s -j qdisc show >"$WORK/tc.json"
    inr tc -s qdisc show >"$WORK/tc.txt"
    inc nstat -asz >"$WORK/nstat-client.txt"
    ins nstat -asz >"$WORK/nstat-server.txt"
    inr nstat -asz >"$WORK/nstat-router.txt"
    local n tds=()
    for n in "${TD_NAMES[@]}"; do tds+=(--tcpdump "$n=$WORK/$n.pcap=$WORK/$n.tcpdump.txt"); done
    "$PY" "$HERE/pair_truth.py" --out "$WORK/pair.truth.json" "${tds[@]}" \
        --server "$WORK/server.json" --client "$WORK/client.json" \
        --nft-json "$WORK/nft.json" --nft-text "$WORK/nft.txt" --tc-json "$WORK/tc.json" \
        --nstat client="$WORK/nstat-client.txt" --nstat server="$WORK/nstat-server.txt" \
        --nstat router="$WORK/nstat-router.txt" --events "$WORK/events.jsonl" \
        --setup "$WORK/setup.txt" --rate-a "$RATE_A" --rate-b "$RATE_B" --loss "$LOSS"
    "$PY" "$HERE/tools/pair_match.py" "$WORK/client-any.pcap" "$WORK/server-any.pcap" \
        --truth "$WORK/pair.truth.json" --pretty --strict >"$WORK/pair.match.json"
    # keep only runs where the random drops hit payload in every direction of
    # both subflows (and both subflows carried payload both ways)
    "$PY" - "$WORK/pair.match.json" <<'PYEOF' || return 6
import json, sys
d = json.load(open(sys.argv[1]))
bad = [(s["subflow"], k) for s in d["subflows"] for k in ("c2s", "s2c")
       if s[k]["lost_count"] < 1 or s[k]["received_segments"] < 10]
if len(d["subflows"]) != 2 or bad:
    sys.exit("not every subflow direction has payload and a lost segment: %s" % bad)
PYEOF
}

[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 1; }
mkdir -p "$OUT"
for attempt in 1 2 3 4 5 6; do
    log "=== pair (attempt $attempt)"
    set +e
    ( trap teardown EXIT; set -e; run_pair )
    rc=$?
    set -e
    teardown
    if [ "$rc" -eq 0 ]; then
        for n in "${TD_NAMES[@]}"; do cp "$WORK/$n.pcap" "$OUT/$n.pcap"; done
        cp "$WORK/pair.truth.json" "$WORK/pair.match.json" "$OUT/"
        chmod 644 "$OUT"/*
        log "done: $OUT"
        ls -l "$OUT" >&2
        exit 0
    fi
    log "attempt $attempt failed (rc=$rc: 3 = tcpdump lost packets, 4 = app/tbf check, 5 = pair_match vs nft, 6 = no loss in some subflow direction)"
    cp "$WORK/pair.truth.json" "/tmp/p13-failed-$attempt.truth.json" 2>/dev/null || true
done
log "FAILED after 6 attempts"
exit 1
