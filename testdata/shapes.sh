#!/usr/bin/env bash
# Record special-shape MPTCP captures in testdata/shapes/ (real Linux-kernel MPTCP).
#
#   sudo bash testdata/shapes.sh                        # all shapes (idle-gap takes ~7 min)
#   sudo bash testdata/shapes.sh mpfail-multi tfo       # only some
#   NSTAG=idle sudo bash testdata/shapes.sh idle-gap    # other namespace names (s22-idle-*),
#                                                       # so two runs can go in parallel
#
# Shapes: mpfail-multi mpfail-single mpfail-single-down tfo router-any idle-gap eight-subflows snaplen-cut
# (see testdata/shapes/README.md). For every shape NAME it writes testdata/shapes/NAME.pcap,
# NAME.truth.json (matrix_truth.py format plus the keys of shapes_truth.py),
# NAME.monitor-{client,server}.txt (ip mptcp monitor in each end host's namespace),
# NAME.nstat-{client,server}[,-router].txt (nstat -asz, ALL counters; fresh namespaces) and,
# where nftables acts, NAME.nft-<ns>.txt (ruleset with counters after the run).
# A shape is recorded again (up to 3 attempts) when tcpdump did not write every packet it
# received (captured != received by filter, or dropped by kernel != 0) or a shape check fails.
#
# Two-host testbed: capture.sh's (two veth paths A/B, tbf per veth egress, offloads off),
# namespaces s22-cli / s22-srv. router-any: three namespaces s22-cli / s22-rtr / s22-srv
# like receiver.sh. Only documentation addresses.
set -euo pipefail
# the real interpreter, not a wrapper (a pyenv shim forks: a SIGTERM to the shim's pid
# would leave the app running)
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
export PYTHON
# shellcheck source=capture.sh
source "$(cd "$(dirname "$0")" && pwd)/capture.sh"

OUT="$HERE/shapes"
NSP="s22-${NSTAG:+$NSTAG-}"
CLI=${NSP}cli
SRV=${NSP}srv
RTR=${NSP}rtr
C2S=150000
S2C=100000
CORRUPT_HEX=deadbeef
CORRUPT_TH_OFF=120     # bytes from the start of the TCP header (> 60: always payload)
CORRUPT_SKIP=${CORRUPT_SKIP:-20000}   # the first ~20000 bytes of matching packets pass untouched (nft quota)
THREE=                 # set by setup_router: the router namespace exists

inr() { ip netns exec "$RTR" "$@"; }
shc() { echo "client: $*" >>"$WORK/setup.txt"; inc "$@"; }
shs() { echo "server: $*" >>"$WORK/setup.txt"; ins "$@"; }
shr() { echo "router: $*" >>"$WORK/setup.txt"; inr "$@"; }

teardown() { # replaces capture.sh's (also used by its EXIT trap)
    local p
    for p in $CAP_PID $SRV_PID "${CLI_PIDS[@]}" "${BG_PIDS[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    CAP_PID= SRV_PID= CLI_PIDS=() BG_PIDS=()
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
    ip netns del "$RTR" 2>/dev/null || true
}

wait_apps() { # timeout-seconds; as capture.sh's, but on timeout SIGTERM goes to the app itself
    # (`ip netns exec` forks here: killing its pid would leave the app running)
    local deadline=$(($(date +%s) + ${1:-30})) p c kids
    for p in "${CLI_PIDS[@]}" $SRV_PID; do
        while kill -0 "$p" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                kids=$(ps -o pid= --ppid "$p" || true)
                log "timeout: SIGTERM to ${kids:-$p} (app of pid $p)"
                for c in ${kids:-$p}; do kill "$c" 2>/dev/null || true; done
                sleep 1
            fi
            sleep 0.05
        done
        wait "$p" 2>/dev/null || log "pid $p exited with $?"
    done
    CLI_PIDS=() SRV_PID=
    cat "$WORK"/server.log "$WORK"/client*.log >&2 || true
}

start_monitors() {
    ip netns exec "$CLI" stdbuf -oL ip mptcp monitor >"$WORK/monitor-client.txt" 2>&1 &
    BG_PIDS+=($!)
    ip netns exec "$SRV" stdbuf -oL ip mptcp monitor >"$WORK/monitor-server.txt" 2>&1 &
    BG_PIDS+=($!)
    sleep 0.3
}

stop_monitors() {
    local p
    sleep 0.5
    for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    BG_PIDS=()
}

sh_setup() { # two-host testbed (fresh namespaces: all counters 0) + monitors
    THREE=
    setup_testbed
    rm -f "$WORK"/setup.txt "$WORK"/*.pcap "$WORK"/client*.json "$WORK"/server.json "$WORK"/nft-*.json \
        "$WORK"/nft-*.txt "$WORK"/nstat-*.txt "$WORK"/truth.json
    {
        echo "testbed: capture.sh setup_testbed (namespaces $CLI / $SRV, paths A 192.0.2.0/24 and B 198.51.100.0/24)"
        echo "all veths: ethtool -K DEV tso off gso off gro off tx off rx off; tc qdisc add dev DEV root tbf rate $RATE burst 8kb limit 1mb"
        echo "both: ip mptcp limits set subflows 4 add_addr_accepted 4"
    } >"$WORK/setup.txt"
    start_monitors
}

# three namespaces: client -- router -- server (as receiver.sh), two paths through the router
#   client vA-cli 192.0.2.1/24    <-> vA-rc 192.0.2.254/24    router vA-rs 203.0.113.1/25   <-> vA-srv 203.0.113.2/25
#   client vB-cli 198.51.100.1/24 <-> vB-rc 198.51.100.254/24 router vB-rs 203.0.113.129/25 <-> vB-srv 203.0.113.130/25
setup_router() {
    local ns d
    teardown
    THREE=1
    rm -f "$WORK"/setup.txt "$WORK"/*.pcap "$WORK"/client*.json "$WORK"/server.json "$WORK"/nft-*.json \
        "$WORK"/nft-*.txt "$WORK"/nstat-*.txt "$WORK"/truth.json "$WORK"/events.jsonl "$WORK"/ready
    for ns in "$CLI" "$RTR" "$SRV"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip netns exec "$ns" ip link set lo up
    done
    echo "all: ip netns add; sysctl disable_ipv6=1 rp_filter=0; ip link set lo up" >>"$WORK/setup.txt"
    shr sysctl -qw net.ipv4.ip_forward=1
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1 net.mptcp.checksum_enabled=0
        ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
    done
    echo "client, server: sysctl net.mptcp.enabled=1 checksum_enabled=0; ip mptcp limits set subflows 4 add_addr_accepted 4" >>"$WORK/setup.txt"
    ip link add vA-cli netns "$CLI" type veth peer name vA-rc netns "$RTR"
    ip link add vB-cli netns "$CLI" type veth peer name vB-rc netns "$RTR"
    ip link add vA-rs netns "$RTR" type veth peer name vA-srv netns "$SRV"
    ip link add vB-rs netns "$RTR" type veth peer name vB-srv netns "$SRV"
    shc ip addr add 192.0.2.1/24 dev vA-cli
    shc ip addr add 198.51.100.1/24 dev vB-cli
    shr ip addr add 192.0.2.254/24 dev vA-rc
    shr ip addr add 198.51.100.254/24 dev vB-rc
    shr ip addr add 203.0.113.1/25 dev vA-rs
    shr ip addr add 203.0.113.129/25 dev vB-rs
    shs ip addr add 203.0.113.2/25 dev vA-srv
    shs ip addr add 203.0.113.130/25 dev vB-srv
    echo "all 8 veths: ethtool -K DEV tso off gso off gro off tx off rx off; ip link set DEV up" >>"$WORK/setup.txt"
    for d in vA-cli vB-cli; do inc ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null; inc ip link set "$d" up; done
    for d in vA-rc vB-rc vA-rs vB-rs; do inr ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null; inr ip link set "$d" up; done
    for d in vA-srv vB-srv; do ins ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null; ins ip link set "$d" up; done
    for d in vA-rc vB-rc vA-rs vB-rs; do shr tc qdisc add dev "$d" root tbf rate "$RATE" burst 8kb limit 1mb; done
    shc ip route add default via 192.0.2.254 dev vA-cli
    shc ip route add 203.0.113.128/25 via 198.51.100.254 dev vB-cli src 198.51.100.1
    shc ip rule add from 198.51.100.1 table 100
    shc ip route add default via 198.51.100.254 dev vB-cli table 100
    shr ip rule add iif vB-rc table 100
    shr ip route add default via 203.0.113.130 dev vB-rs table 100
    shs ip route add 192.0.2.0/24 via 203.0.113.1 dev vA-srv
    shs ip route add 198.51.100.0/24 via 203.0.113.129 dev vB-srv
    local i
    for i in $(seq 50); do
        if inc ping -c1 -W1 -q -I 192.0.2.1 203.0.113.2 >/dev/null 2>&1 &&
           inc ping -c1 -W1 -q -I 198.51.100.1 203.0.113.130 >/dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    echo "connectivity check: one ping 192.0.2.1->203.0.113.2 and 198.51.100.1->203.0.113.130 before the capture (ICMP/IP counters include it)" >>"$WORK/setup.txt"
    start_monitors
}

# sh_finish NAME notes [matrix_truth-args...] [-- clientjson...] [--- shapes_truth-args...]
sh_finish() {
    local name=$1 notes=$2
    shift 2
    local targs=() clients=() xargs=() c ns
    while [ $# -gt 0 ] && [ "$1" != "--" ] && [ "$1" != "---" ]; do targs+=("$1"); shift; done
    if [ "${1:-}" = "--" ]; then shift; while [ $# -gt 0 ] && [ "$1" != "---" ]; do clients+=(--client "$WORK/$1.json"); shift; done; fi
    if [ "${1:-}" = "---" ]; then shift; xargs=("$@"); fi
    [ ${#clients[@]} -gt 0 ] || clients=(--client "$WORK/client.json")
    stop_monitors
    # -a absolute counters (no history file), -s do not write one, -z include zeros;
    # fresh namespaces, so the counters are this run's
    inc nstat -asz >"$WORK/nstat-client.txt"
    ins nstat -asz >"$WORK/nstat-server.txt"
    local nst=(--nstat "client=$WORK/nstat-client.txt" --nstat "server=$WORK/nstat-server.txt") nfts=()
    if [ -n "$THREE" ]; then
        inr nstat -asz >"$WORK/nstat-router.txt"
        nst+=(--nstat "router=$WORK/nstat-router.txt")
    fi
    for ns in client server router; do
        local nsname
        case $ns in client) nsname=$CLI ;; server) nsname=$SRV ;; router) [ -n "$THREE" ] || continue; nsname=$RTR ;; esac
        if [ -n "$(ip netns exec "$nsname" nft list ruleset 2>/dev/null)" ]; then
            ip netns exec "$nsname" nft list ruleset >"$WORK/nft-$ns.txt"
            ip netns exec "$nsname" nft -j list ruleset >"$WORK/nft-$ns.json"
            nfts+=(--nft "$ns=$WORK/nft-$ns.json")
        fi
    done
    "$PY" "$HERE/matrix_truth.py" --out "$WORK/truth.json" --pcap "$WORK/$name.pcap" \
        --scenario "$name" --server "$WORK/server.json" "${clients[@]}" \
        --tcpdump-stderr "$WORK/cap.err" --nstat-client "$WORK/nstat-client.txt" \
        --nstat-server "$WORK/nstat-server.txt" --events "$WORK/events.jsonl" \
        --setup "$(cat "$WORK/setup.txt")" --notes "$notes" "${targs[@]}" || return $?
    "$PY" "$HERE/shapes_truth.py" --truth "$WORK/truth.json" --shape "$name" "${nst[@]}" "${nfts[@]}" "${xargs[@]}" || return $?
}

# start the apps and log their full command lines into the truth file's "setup"
srv() {
    echo "server app: mptcp_app.py server --port $PORT --send $S2C --chunk $CHUNK --interval $INTERVAL --seed s2c $*" >>"$WORK/setup.txt"
    start_server "$@"
}
cli() { # name args...
    local n=$1
    shift
    echo "client app ($n): mptcp_app.py client --port $PORT --send $C2S --chunk $CHUNK --interval $INTERVAL --seed c2s $*" >>"$WORK/setup.txt"
    start_client "$n" "$@"
}
cap() { # ns args...: tcpdump -i any ... into $WORK/$SHAPE.pcap
    local ns=$1
    shift
    echo "capture: ip netns exec $ns tcpdump -n -Z root -B 32768 $* -w $SHAPE.pcap" >>"$WORK/setup.txt"
    start_tcpdump "$ns" "$WORK/$SHAPE.pcap" "$@"
}
require_nstat() { # file counter min
    local v
    v=$(awk -v c="$2" '$1 == c { print $2 }' "$1")
    [ "${v:-0}" -ge "$3" ] || { log "CHECK FAILED: $2=${v:-0} < $3 in $(basename "$1")"; return 4; }
}
require_tshark() { # file filter min-count what
    local n
    n=$(tshark -r "$1" -Y "$2" 2>/dev/null | wc -l)
    [ "$n" -ge "$3" ] || { log "CHECK FAILED: $4: tshark -Y '$2' -> $n frames < $3"; return 4; }
    log "check: $4: $n frames"
}

# ---------------------------------------------------------------- shapes

# corruption rule: nft postrouting in the SERVER namespace, s2c, on DEV, exactly one packet
# (limit burst 1 per hour), payload > 500 B; @th writes make nft fix the TCP checksum.
corrupt_rule() { # dev
    shs nft add table inet s22
    shs nft add chain inet s22 post '{ type filter hook postrouting priority 0; policy accept; }'
    shs nft add rule inet s22 post oifname "$1" tcp sport "$PORT" meta length '>' 500 \
        quota over "$CORRUPT_SKIP" bytes limit rate 1/hour burst 1 packets counter "@th,$((CORRUPT_TH_OFF * 8)),32" set "0x$CORRUPT_HEX" \
        comment '"corrupt one s2c data segment"'
}

s_mpfail_multi() {
    S2C=200000
    sh_setup
    shc sysctl -qw net.mptcp.checksum_enabled=1
    shs sysctl -qw net.mptcp.checksum_enabled=1
    shc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    corrupt_rule vB-srv
    cap "$CLI" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    wait_apps 60
    stop_capture
    sh_finish mpfail-multi "net.mptcp.checksum_enabled=1 on both ends, two subflows (initial 192.0.2.1->192.0.2.2 on path A, MP_JOIN 198.51.100.1->192.0.2.2 over path B), both directions carry data (c2s $C2S B seed c2s, s2c $S2C B seed s2c). An nft rule in the server's postrouting hook (quota over $CORRUPT_SKIP bytes, then limit rate 1/hour burst 1 packets) overwrites 4 payload bytes ($CORRUPT_HEX at TCP header offset $CORRUPT_TH_OFF) of exactly one s2c data segment on path B (nft counter = 1), after the DSS checksum was computed; nft fixes the TCP checksum, so the client's TCP accepts the segment and its MPTCP layer finds the DSS checksum wrong (MPTcpExtDataCsumErr). The client sends MP_FAIL + RST with MP_TCPRST (reason 6, middlebox interference) on that subflow only; the connection stays MPTCP (no infinite mapping) and the server reinjects the data of the failed mapping on path A. Captured with tcpdump -i any in the client namespace (the receiver of the corrupted direction): the corrupted frame is in the file as the client got it (key 'corrupted')." \
        -- client --- --corrupt "$CORRUPT_HEX:$CORRUPT_TH_OFF:s2c:$S2C" || return $?
    require_nstat "$WORK/nstat-client.txt" MPTcpExtDataCsumErr 1 || return $?
    require_nstat "$WORK/nstat-client.txt" MPTcpExtMPFailTx 1 || return $?
    require_tshark "$WORK/mpfail-multi.pcap" "tcp.options.mptcp.subtype == 6" 1 "MP_FAIL" || return $?
}

mpfail_single() { # name c2s-bytes
    local name=$1
    S2C=200000
    C2S=$2
    sh_setup
    shc sysctl -qw net.mptcp.checksum_enabled=1
    shs sysctl -qw net.mptcp.checksum_enabled=1
    corrupt_rule vA-srv
    cap "$CLI" -i any
    srv --addr 0.0.0.0 --dump-on-term
    begin
    cli client --addr 192.0.2.2 --dump-on-term
    wait_apps 25
    event "apps finished or were stopped (SIGTERM after 25 s; --dump-on-term writes what they read so far)"
    stop_capture
    local dirs="both directions carry data (c2s $C2S B seed c2s, s2c $S2C B seed s2c)"
    [ "$C2S" -gt 0 ] || dirs="only the server sends (s2c $S2C B seed s2c); the client sends nothing (shutdown(SHUT_WR) at once: its DATA_FIN goes out right after the handshake)"
    sh_finish "$name" "net.mptcp.checksum_enabled=1 on both ends, ONE subflow (no endpoints; 192.0.2.1->192.0.2.2 on path A); $dirs. An nft rule in the server's postrouting hook (quota over $CORRUPT_SKIP bytes, then limit rate 1/hour burst 1 packets) overwrites 4 payload bytes ($CORRUPT_HEX at TCP header offset $CORRUPT_TH_OFF) of exactly one s2c data segment (nft counter = 1); nft fixes the TCP checksum. The client's DSS checksum check fails and it sends MP_FAIL (RFC 8684 §3.7: single subflow -> fall back with an infinite mapping). Captured in the client namespace (the receiver of the corrupted direction); key 'corrupted' names the frame. The apps run with --dump-on-term and are stopped with SIGTERM if they have not finished after 25 s: conns[].*_received_* is then what they had read (client_errors/server_errors: 'terminated'); corrupted[0].stream_sha256_with_corruption is the hash of the s2c stream with the 4 written bytes in place. What the kernel did is in testdata/shapes/README.md." \
        --expect-match "" -- client --- --corrupt "$CORRUPT_HEX:$CORRUPT_TH_OFF:s2c:$S2C" || return $?
    require_nstat "$WORK/nstat-client.txt" MPTcpExtDataCsumErr 1 || return $?
    require_tshark "$WORK/$name.pcap" "tcp.options.mptcp.subtype == 6" 1 "MP_FAIL" || return $?
}

s_mpfail_single() { mpfail_single mpfail-single 150000; }

s_mpfail_single_down() {
    mpfail_single mpfail-single-down 0 || return $?
    require_tshark "$WORK/mpfail-single-down.pcap" "tcp.options.mptcp.datalvllen == 0" 1 "infinite mapping (DSS data-level length 0)" || return $?
    require_nstat "$WORK/nstat-client.txt" MPTcpExtInfiniteMapRx 1 || return $?
}

s_tfo() {
    sh_setup
    shc sysctl -qw net.ipv4.tcp_fastopen=1
    shs sysctl -qw net.ipv4.tcp_fastopen=2
    shc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    cap "$CLI" -i any
    srv --addr 0.0.0.0 --conns 2 --fastopen 16
    begin
    cli client1 --addr 192.0.2.2 --seed c2s-a --fastopen 1000
    wait "${CLI_PIDS[0]}"
    event "first connection finished (client side): the client has the server's TFO cookie"
    sleep 1
    cli client2 --addr 192.0.2.2 --seed c2s-b --fastopen 1000
    wait_apps 60
    stop_capture
    sh_finish tfo "TCP Fast Open on MPTCP sockets (protocol 262): client net.ipv4.tcp_fastopen=1, server =2 (cookies required), listener setsockopt TCP_FASTOPEN 16. Two connections one after the other, each started with sendto(first 1000 bytes, MSG_FASTOPEN) instead of connect(): the first SYN carries MP_CAPABLE and a TFO cookie request (no payload; the 1000 bytes go after the handshake), the SYN/ACK returns the cookie; the second SYN (~1 s after the first connection ended) carries MP_CAPABLE, the cookie and 1000 bytes of payload, which the server accepts (TcpExtTCPFastOpenPassive). Per net/mptcp/fastopen.c the SYN payload is outside the MPTCP data sequence space (the first DSN after it is IDSN+1), yet the server application reads it first. Seeds c2s-a / s2c-0 (first), c2s-b / s2c-1 (second); each connection has a path-B MP_JOIN (client subflow endpoint 198.51.100.1). Key 'tfo' lists the SYNs with payload." \
        --min-conns 2 -- client1 client2 --- --tfo || return $?
    require_nstat "$WORK/nstat-server.txt" TcpExtTCPFastOpenPassive 1 || return $?
    require_tshark "$WORK/tfo.pcap" "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.len>0 && tcp.options.mptcp.subtype == 0" 1 "SYN with payload and MP_CAPABLE" || return $?
}

s_router_any() {
    setup_router
    shs ip mptcp endpoint add 203.0.113.130 dev vB-srv signal
    local p
    shr nft add table inet s22
    shr nft add chain inet s22 pass '{ type filter hook forward priority 0; policy accept; }'
    for p in vA-rc vB-rc vA-rs vB-rs; do
        shr nft add rule inet s22 pass iifname "$p" meta l4proto tcp counter comment "\"fwd in $p\""
        shr nft add rule inet s22 pass iifname "$p" meta l4proto tcp numgen random mod 100 '<' "$LOSS" counter drop comment "\"drop in $p\""
    done
    cap "$RTR" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 203.0.113.2
    wait_apps 90
    stop_capture
    sh_finish router-any "Three namespaces client ($CLI) -- router ($RTR) -- server ($SRV), two paths through the router (A: 192.0.2.1 <-> 192.0.2.254 | 203.0.113.1 <-> 203.0.113.2, B: 198.51.100.1 <-> 198.51.100.254 | 203.0.113.129 <-> 203.0.113.130), tbf $RATE on the router's four egresses. Captured with tcpdump -i any IN THE ROUTER: every forwarded packet is in the file twice (in on vX-rc/vX-rs, out on the other side, TTL one lower, same TCP segment: not a retransmission); a packet the router drops is there once (ingress only). The router drops ~$LOSS% of forwarded TCP packets at random in its forward hook (nft numgen, per input interface, counters in key 'nft'), so real retransmissions exist: their truth is nstat TcpRetransSegs of client and server. The server has a 'signal' endpoint 203.0.113.130: ADD_ADDR (ANNOUNCED event in the client monitor), the client joins 198.51.100.1 -> 203.0.113.130 over path B. Apps: c2s $C2S B (seed c2s), s2c $S2C B (seed s2c), both directions at once." \
        -- client --- || return $?
    require_tshark "$WORK/router-any.pcap" "tcp.options.mptcp.subtype == 3" 1 "ADD_ADDR" || return $?
    require_nstat "$WORK/nstat-client.txt" MPTcpExtAddAddr 1 || return $?
}

s_idle_gap() {
    sh_setup
    shc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    cap "$CLI" -i any
    srv --addr 0.0.0.0 --send 200000 --chunk 20000 --interval 0.05 --pause-after 100000 --pause "$IDLE"
    begin
    cli client --addr 192.0.2.2 --send 200000 --chunk 20000 --interval 0.05 --pause-after 100000 --pause "$IDLE"
    wait_apps $((IDLE + 120))
    stop_capture
    local cs ss
    cs=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; print(json.dumps({k: r.get(k) for k in ("paused_at","pause_start_epoch","pause_end_epoch","pause_start_t","pause_end_t","t_end")}))' "$WORK/client.json")
    ss=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; print(json.dumps({k: r.get(k) for k in ("paused_at","pause_start_epoch","pause_end_epoch","pause_start_t","pause_end_t","t_end")}))' "$WORK/server.json")
    sh_finish idle-gap "One MPTCP connection, two subflows (initial on path A, MP_JOIN 198.51.100.1->192.0.2.2 over path B). Each side sends 100000 bytes (5 x 20000 B every 50 ms), then its sender sleeps $IDLE s (no SO_KEEPALIVE: the connection is silent), then sends 100000 bytes more and shuts down (200000 B each way, seeds c2s / s2c). The receivers read all along. Pause start/end times of both apps (epoch and seconds since app start) in key 'idle'; the quiet gap on the wire is from the later of the last first-half ACKs to the first second-half segment." \
        -- client --- --set "idle={\"seconds\": $IDLE, \"client\": $cs, \"server\": $ss}" || return $?
}

s_eight_subflows() {
    sh_setup
    local d
    for d in "$CLI" "$SRV"; do ip netns exec "$d" ip mptcp limits set subflows 8 add_addr_accepted 8; done
    echo "both: ip mptcp limits set subflows 8 add_addr_accepted 8" >>"$WORK/setup.txt"
    shc ip addr add 192.0.2.3/24 dev vA-cli
    shc ip addr add 198.51.100.3/24 dev vB-cli
    shc ip rule add from 198.51.100.3 table 100
    shc tc qdisc change dev vA-cli root tbf rate 4mbit burst 8kb limit 1mb
    shc tc qdisc change dev vB-cli root tbf rate 1500kbit burst 8kb limit 1mb
    # no 'dev' on the path-A endpoints: a subflow bound to vA-cli towards
    # 198.51.100.2 would leave on A while the reply comes back on B
    shc ip mptcp endpoint add 192.0.2.1 subflow fullmesh
    shc ip mptcp endpoint add 192.0.2.3 subflow fullmesh
    shc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow fullmesh
    shc ip mptcp endpoint add 198.51.100.3 dev vB-cli subflow fullmesh
    shs ip mptcp endpoint add 198.51.100.2 dev vB-srv signal
    cap "$SRV" -i any
    S2C=1 srv --addr 0.0.0.0 --pause-after 1 --pause 2
    begin
    C2S=1500000 CHUNK=65536 INTERVAL=0 cli client --addr 192.0.2.2
    sleep 1; snapshot_ss
    wait_apps 90
    stop_capture
    sh_finish eight-subflows "Eight subflows in one connection, bulk upload captured at the RECEIVER (tcpdump -i any in the server namespace). Client addresses 192.0.2.1, 192.0.2.3 (vA-cli) and 198.51.100.1, 198.51.100.3 (vB-cli), all 'subflow fullmesh' endpoints; server 'signal' endpoint 198.51.100.2 (ADD_ADDR); limits subflows 8 add_addr_accepted 8. Subflows: 4 local x 2 remote addresses (192.0.2.2 initial, 198.51.100.2 announced) = 8: 192.0.2.1->192.0.2.2 (initial, MP_CAPABLE), the others MP_JOIN. Routing: 192.0.2.x->192.0.2.2 on path A (2 subflows), everything else on path B (6 subflows). Client egress shaped so the paths differ: vA-cli tbf 4mbit, vB-cli 1500kbit (server egress 2mbit). No loss. The client writes 1500000 bytes (seed c2s) in 64 KiB sendall()s without pause; the server sends 1 byte (seed s2c), waits 2 s, then DATA_FIN. Truth for reordering: the receiver's (server's) nstat MPTcpExtOFOQueue, MPTcpExtOFOQueueTail, MPTcpExtOFOMerge, TcpExtTCPOFOQueue, TcpExtTCPRcvCoalesce." \
        --require server:MPTcpExtMPJoinAckRx=7 -- client --- || return $?
}

s_snaplen_cut() {
    sh_setup
    shc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    cap "$SRV" -i any -s 128
    S2C=1 srv --addr 0.0.0.0 --pause-after 1 --pause 2
    begin
    C2S=2000000 CHUNK=65536 INTERVAL=0 cli client --addr 192.0.2.2
    wait_apps 90
    stop_capture
    sh_finish snaplen-cut "Two subflows (initial 192.0.2.1->192.0.2.2 on path A, MP_JOIN 198.51.100.1->192.0.2.2 over path B, tbf $RATE each way), bulk upload of 2000000 bytes (seed c2s, 64 KiB sendall()s without pause); the server sends 1 byte (seed s2c), waits 2 s, then DATA_FIN. Captured at the receiver (server namespace) with tcpdump -i any -s 128: each frame is cut at 128 bytes (20 SLL2 + 20 IPv4 + the whole TCP header with options (<= 60) + the first >= 28 payload bytes); frame.len is the real length. Only sequence-level analysis and the first payload bytes of each segment are possible (expect_complete=false)." \
        --window full -- client --- || return $?
}

LOSS=${LOSS:-3}
IDLE=${IDLE:-400}
SHAPES=(mpfail-multi mpfail-single mpfail-single-down tfo router-any eight-subflows snaplen-cut idle-gap)

run_one() { # name -> 0 when copied to $OUT
    local s=$1 fn="s_${1//-/_}" attempt rc f
    for attempt in $(seq "${SH_ATTEMPTS:-3}"); do
        log "=== shape $s (attempt $attempt)"
        set +e
        ( trap teardown EXIT; set -e; SHAPE=$s; "$fn" )
        rc=$?
        set -e
        teardown
        if [ "$rc" -eq 0 ]; then
            cp "$WORK/$s.pcap" "$OUT/$s.pcap"
            cp "$WORK/truth.json" "$OUT/$s.truth.json"
            for f in monitor-client monitor-server nstat-client nstat-server nstat-router nft-client nft-server nft-router; do
                [ -e "$WORK/$f.txt" ] && cp "$WORK/$f.txt" "$OUT/$s.$f.txt"
            done
            chmod 644 "$OUT/$s".*
            return 0
        fi
        log "shape $s attempt $attempt failed (rc=$rc: 3 = tcpdump lost packets, 4 = app/nstat/tshark check, 5 = corruption check)"
        cp "$WORK/truth.json" "/tmp/s22-$s.failed-$attempt.truth.json" 2>/dev/null || true
        cp "$WORK/$s.pcap" "/tmp/s22-$s.failed-$attempt.pcap" 2>/dev/null || true
    done
    log "FAILED: $s after ${SH_ATTEMPTS:-3} attempts"
    return 1
}

[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 1; }
command -v ethtool >/dev/null || { echo "ethtool is required (offloads off)" >&2; exit 1; }
mkdir -p "$OUT"
if [ $# -eq 0 ]; then set -- "${SHAPES[@]}"; fi
for s in "$@"; do
    declare -F "s_${s//-/_}" >/dev/null || { echo "unknown shape: $s (known: ${SHAPES[*]})" >&2; exit 2; }
done
failed=()
for s in "$@"; do
    run_one "$s" || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
    log "FAILED shapes: ${failed[*]}"
    exit 1
fi
log "done: $OUT"
