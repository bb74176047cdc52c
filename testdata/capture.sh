#!/usr/bin/env bash
# Record real Linux-kernel MPTCP (v1, RFC 8684) captures for mptcp-trace tests.
#
#   sudo bash testdata/capture.sh              # all scenarios
#   sudo bash testdata/capture.sh signal loss  # only some (names below, or file names)
#
# Builds two network namespaces (mpt-cli, mpt-srv) joined by two veth pairs:
#   path A: vA-cli 192.0.2.1/24    2001:db8:a::1/64  <->  vA-srv 192.0.2.2/24    2001:db8:a::2/64
#   path B: vB-cli 198.51.100.1/24 2001:db8:b::1/64  <->  vB-srv 198.51.100.2/24 2001:db8:b::2/64
# Only documentation addresses are used, and only inside these namespaces.
# The testbed is torn down and rebuilt for every scenario and removed on exit.
# Results (hashes, events) are merged into testdata/manifest.json.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
APP="$HERE/mptcp_app.py"
MANIFEST="$HERE/manifest.json"
PY=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/mptcp-capture.XXXXXX)
CLI=mpt-cli
SRV=mpt-srv
PORT=5201
# default traffic: c2s 300000 B, s2c 200000 B, 16 KiB chunks every 50 ms
C2S=300000
S2C=200000
CHUNK=${CHUNK:-16384}
INTERVAL=${INTERVAL:-0.05}
# Each veth's egress is shaped with tbf (no netem here): the app sends faster
# than one path can carry, so the kernel scheduler has to use both subflows.
# The tbf queue (limit 1mb) is larger than anything a scenario sends, so the
# qdisc never drops: a qdisc drop would be invisible to tcpdump (the tap sits
# after the qdisc) and show up as "previous segment not captured".
RATE=${RATE:-2mbit}

CAP_PID=
SRV_PID=
CLI_PIDS=()
BG_PIDS=()   # other helpers (e.g. ip mptcp monitor in matrix.sh), killed by teardown

log() { echo "[capture $(date +%T.%3N)] $*" >&2; }
inc() { ip netns exec "$CLI" "$@"; }
ins() { ip netns exec "$SRV" "$@"; }

teardown() {
    local p
    for p in $CAP_PID $SRV_PID "${CLI_PIDS[@]}" "${BG_PIDS[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    CAP_PID= SRV_PID= CLI_PIDS=() BG_PIDS=()
    # deleting the namespaces removes the veths, nft tables and mptcp endpoints
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}

on_exit() {
    teardown
    rm -rf "$WORK"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

setup_testbed() {
    teardown
    ip netns add "$CLI"
    ip netns add "$SRV"
    ip link add vA-cli netns "$CLI" type veth peer name vA-srv netns "$SRV"
    ip link add vB-cli netns "$CLI" type veth peer name vB-srv netns "$SRV"
    local ns
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.autoconf=0 net.ipv6.conf.default.autoconf=0
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
        ip netns exec "$ns" sysctl -qw net.mptcp.checksum_enabled=0
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
        ip netns exec "$ns" ip mptcp endpoint flush
    done
    inc ip addr add 192.0.2.1/24 dev vA-cli
    inc ip addr add 2001:db8:a::1/64 dev vA-cli nodad
    inc ip addr add 198.51.100.1/24 dev vB-cli
    inc ip addr add 2001:db8:b::1/64 dev vB-cli nodad
    ins ip addr add 192.0.2.2/24 dev vA-srv
    ins ip addr add 2001:db8:a::2/64 dev vA-srv nodad
    ins ip addr add 198.51.100.2/24 dev vB-srv
    ins ip addr add 2001:db8:b::2/64 dev vB-srv nodad
    local d
    for d in vA-cli vB-cli; do
        inc ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        inc ip link set "$d" up
        inc tc qdisc add dev "$d" root tbf rate "$RATE" burst 8kb limit 1mb
    done
    for d in vA-srv vB-srv; do
        ins ethtool -K "$d" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ins ip link set "$d" up
        ins tc qdisc add dev "$d" root tbf rate "$RATE" burst 8kb limit 1mb
    done
    # Source routing so that a subflow bound to a path-B address leaves on path B
    # even towards the server's path-A address (default "subflow" endpoint
    # behaviour: connect to the peer's initial address).
    inc ip rule add from 198.51.100.1 table 100
    inc ip route add default via 198.51.100.2 dev vB-cli table 100
    inc ip -6 rule add from 2001:db8:b::1 table 100
    inc ip -6 route add default via 2001:db8:b::2 dev vB-cli table 100
    ins ip rule add from 198.51.100.2 table 100
    ins ip route add default via 198.51.100.1 dev vB-srv table 100
    ins ip -6 rule add from 2001:db8:b::2 table 100
    ins ip -6 route add default via 2001:db8:b::1 dev vB-srv table 100
    # wait until links are up (veth carrier) and v6 addresses usable
    local i
    for i in $(seq 50); do
        if inc ping -c1 -W1 -q 192.0.2.2 >/dev/null 2>&1 &&
           inc ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 &&
           inc ping -6 -c1 -W1 -q 2001:db8:a::2 >/dev/null 2>&1 &&
           inc ping -6 -c1 -W1 -q 2001:db8:b::2 >/dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    rm -f "$WORK"/*.json "$WORK"/events.jsonl "$WORK"/ready
}

event() { # description...
    local now
    now=$(date +%s.%N)
    printf '{"epoch": %s, "t_rel": %s, "action": "%s"}\n' "$now" \
        "$(awk -v a="$now" -v b="$T_START" 'BEGIN { printf "%.3f", a - b }')" "$*" >>"$WORK/events.jsonl"
    log "event: $*"
}

start_tcpdump() { # ns file tcpdump-args...
    local ns=$1 file=$2
    shift 2
    rm -f "$file"
    ip netns exec "$ns" tcpdump -n -Z root -B 32768 -w "$file" "$@" 2>"$WORK/cap.err" &
    CAP_PID=$!
    local i
    for i in $(seq 100); do
        grep -q "listening on" "$WORK/cap.err" 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.2
}

start_dumpcap() { # ns file dumpcap-args...
    local ns=$1 file=$2
    shift 2
    rm -f "$file"
    ip netns exec "$ns" dumpcap -q -w "$file" "$@" 2>"$WORK/cap.err" &
    CAP_PID=$!
    local i
    for i in $(seq 100); do
        grep -q "Capturing on" "$WORK/cap.err" 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.5
}

stop_capture() {
    # libpcap (TPACKET_V3) hands over a ring block only when it is full or its
    # 1 s timeout fires; wait so the close handshake is written before SIGINT
    sleep 2
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PID=
    cat "$WORK/cap.err" >&2 || true
}

start_server() { # app args...
    rm -f "$WORK/ready"
    ins "$PY" "$APP" server --port "$PORT" --send "$S2C" --chunk "$CHUNK" --interval "$INTERVAL" \
        --seed s2c --out "$WORK/server.json" --ready "$WORK/ready" "$@" 2>"$WORK/server.log" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do
        [ -e "$WORK/ready" ] && return 0
        sleep 0.05
    done
    log "server did not start"
    cat "$WORK/server.log" >&2
    return 1
}

start_client() { # name app-args...
    local name=$1
    shift
    inc "$PY" "$APP" client --port "$PORT" --send "$C2S" --chunk "$CHUNK" --interval "$INTERVAL" \
        --seed c2s --out "$WORK/$name.json" "$@" 2>"$WORK/$name.log" &
    CLI_PIDS+=($!)
}

wait_apps() { # timeout-seconds
    local deadline=$(($(date +%s) + ${1:-30})) p
    for p in "${CLI_PIDS[@]}" $SRV_PID; do
        while kill -0 "$p" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                log "timeout: killing $p"
                kill "$p" 2>/dev/null || true
            fi
            sleep 0.05
        done
        wait "$p" 2>/dev/null || log "pid $p exited with $?"
    done
    CLI_PIDS=() SRV_PID=
    cat "$WORK"/server.log "$WORK"/client*.log >&2 || true
}

snapshot_ss() { # save ss -tiM of both namespaces (not committed)
    { echo "== client"; inc ss -tiMn; echo "== server"; ins ss -tiMn; } >>"$WORK/ss.txt" 2>&1 || true
}

record() { # file scenario expect notes [clientjson...]   (EXTRA_RECORD_ARGS: more update_manifest args)
    local file=$1 scen=$2 expect=$3 notes=$4
    shift 4
    local clients=() c
    for c in "${@:-client}"; do clients+=(--client "$WORK/$c.json"); done
    cp "$WORK/$file" "$HERE/$file"
    chmod 644 "$HERE/$file"
    "$PY" "$HERE/update_manifest.py" --manifest "$MANIFEST" --pcap "$HERE/$file" \
        --scenario "$scen" --server "$WORK/server.json" "${clients[@]}" \
        --events "$WORK/events.jsonl" --notes "$notes" --expect-complete "$expect" ${EXTRA_RECORD_ARGS:-}
}

ep_id() { # ns address -> endpoint id
    ip netns exec "$1" ip mptcp endpoint show | awk -v a="$2" '$1 == a { for (i = 1; i < NF; i++) if ($i == "id") print $(i + 1) }'
}

T_START=0
begin() { T_START=$(date +%s.%N); }

# ---------------------------------------------------------------- scenarios

sc_two_subflows() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/two-subflows.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    sleep 0.5; snapshot_ss
    wait_apps 30
    stop_capture
    record two-subflows.pcap two-subflows auto \
        "Initial subflow 192.0.2.1->192.0.2.2 on path A (MP_CAPABLE), client 'subflow' endpoint 198.51.100.1 dev vB-cli -> MP_JOIN 198.51.100.1->192.0.2.2 over path B (kernel joins towards the peer's initial address). Captured with tcpdump -i any in the client netns."
}

sc_signal() {
    setup_testbed
    ins ip mptcp endpoint add 198.51.100.2 dev vB-srv signal
    start_tcpdump "$CLI" "$WORK/signal.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    sleep 0.5; snapshot_ss
    wait_apps 30
    stop_capture
    record signal.pcap signal auto \
        "Server 'signal' endpoint 198.51.100.2 -> ADD_ADDR (and its echo from the client); client has no endpoints and joins 198.51.100.1->198.51.100.2 on path B."
}

sc_checksum() {
    setup_testbed
    inc sysctl -qw net.mptcp.checksum_enabled=1
    ins sysctl -qw net.mptcp.checksum_enabled=1
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/checksum.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    record checksum.pcap checksum auto \
        "net.mptcp.checksum_enabled=1 on both sides: MP_CAPABLE carries the checksum-required flag (A) and every DSS mapping carries a DSS checksum. Two subflows (A initial, B MP_JOIN)."
}

sc_ipv6() {
    setup_testbed
    inc ip mptcp endpoint add 2001:db8:b::1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/ipv6.pcap" -i any
    start_server --addr :: --family 6
    begin
    start_client client --addr 2001:db8:a::2 --family 6
    wait_apps 30
    stop_capture
    record ipv6.pcap ipv6 auto \
        "IPv6 only: initial subflow [2001:db8:a::1]->[2001:db8:a::2] on path A, MP_JOIN from 2001:db8:b::1 (dev vB-cli) to 2001:db8:a::2 over path B."
}

sc_backup_prio() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow backup
    local id
    id=$(ep_id "$CLI" 198.51.100.1)
    start_tcpdump "$CLI" "$WORK/backup-prio.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    sleep 0.35
    inc ip mptcp endpoint change id "$id" nobackup
    event "client: ip mptcp endpoint change id $id nobackup (198.51.100.1, path B)"
    sleep 0.35
    inc ip mptcp endpoint change id "$id" backup
    event "client: ip mptcp endpoint change id $id backup (198.51.100.1, path B)"
    wait_apps 30
    stop_capture
    record backup-prio.pcap backup-prio auto \
        "Client endpoint 198.51.100.1 (id $id) is 'subflow backup': MP_JOIN SYN has the B bit set. ~0.35 s in the endpoint is changed to nobackup (MP_PRIO B=0 sent by the client on the path-B subflow), ~0.35 s later back to backup (MP_PRIO B=1). See events for exact times."
}

sc_remove_addr() {
    setup_testbed
    ins ip mptcp endpoint add 198.51.100.2 dev vB-srv signal
    local id
    id=$(ep_id "$SRV" 198.51.100.2)
    start_tcpdump "$CLI" "$WORK/remove-addr.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    sleep 0.7
    snapshot_ss
    ins ip mptcp endpoint delete id "$id"
    event "server: ip mptcp endpoint delete id $id (198.51.100.2, signal)"
    wait_apps 30
    stop_capture
    record remove-addr.pcap remove-addr auto \
        "Server signal endpoint 198.51.100.2 (id $id) -> ADD_ADDR, client joins 198.51.100.1->198.51.100.2. ~0.7 s into the transfer the server deletes the endpoint: REMOVE_ADDR(id $id) from the server and the path-B subflow is closed; the rest of the data goes over path A."
}

sc_fastclose() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/fastclose.pcap" -i any
    # the server stops reading after 100000 bytes and closes with SO_LINGER{1,0}
    # while unread data sits in its receive queue -> MPTCP fastclose
    start_server --addr 0.0.0.0 --abort-after-rx 100000 --abort-wait 0.3
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    EXTRA_RECORD_ARGS="--complete-s2c true" record fastclose.pcap fastclose false \
        "Server reads 100000 bytes, stops reading for 0.3 s, then close()s with SO_LINGER{1,0} and unread data queued -> kernel sends MP_FASTCLOSE + TCP RST with MP_TCPRST on the subflows. Both directions are cut short: *_bytes are what each sender managed to push into its socket, *_received_* what the peer application read; the wire carries something in between."
}

sc_fallback() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/fallback.pcap" -i any
    start_server --addr 0.0.0.0 --tcp
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    record fallback.pcap fallback auto \
        "Server listens on a plain TCP socket (protocol 0): the client's MP_CAPABLE SYN is answered by a SYN/ACK without MP_CAPABLE, so the connection falls back to plain TCP (no MP_JOIN despite the client's subflow endpoint). Data both ways over one TCP connection on path A."
}

sc_loss() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    ins nft add table inet t
    ins nft add chain inet t input '{ type filter hook input priority 0; }'
    ins nft add rule inet t input iifname vB-srv numgen random mod 100 '<' 5 drop
    inc nft add table inet t
    inc nft add chain inet t input '{ type filter hook input priority 0; }'
    inc nft add rule inet t input iifname vB-cli numgen random mod 100 '<' 5 drop
    start_tcpdump "$CLI" "$WORK/loss.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    wait_apps 60
    stop_capture
    record loss.pcap loss auto \
        "Two subflows; nftables drops ~5% of packets at random on path B in both directions (input of vB-srv in the server netns and of vB-cli in the client netns). Capture is in the client netns: packets the client sends and the server drops appear once on the wire then are retransmitted; packets dropped at the client's input ARE in the capture (the tap is before the nft input hook) yet the client acts as if they were lost."
}

sc_path_cut() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    ins nft add table inet t
    ins nft add chain inet t input '{ type filter hook input priority 0; }'
    inc nft add table inet t
    inc nft add chain inet t input '{ type filter hook input priority 0; }'
    start_tcpdump "$CLI" "$WORK/path-cut.pcap" -i any
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    sleep 0.7
    ins nft add rule inet t input iifname vB-srv drop
    inc nft add rule inet t input iifname vB-cli drop
    event "nft: drop everything arriving on vB-srv (server) and vB-cli (client): path B cut"
    wait_apps 60
    event "apps finished"
    stop_capture
    record path-cut.pcap path-cut auto \
        "Two subflows; ~0.7 s in, all input on path B is dropped in both namespaces (nft). Capture in the client netns sees the client's path-B sends (never acked) and the server's path-B sends (dropped after the tap). The MPTCP layer reinjects the unacked data on path A; the data-level stream completes both ways."
}

sc_ethernet_one_path() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/ethernet-one-path.pcap" -i vA-cli
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    record ethernet-one-path.pcap ethernet-one-path false \
        "Same setup as two-subflows but captured with tcpdump -i vA-cli (Ethernet link type): only path A is visible. The path-B MP_JOIN subflow and the data it carried are not in the file, so the data-level streams cannot be reassembled completely (expect_complete=false); the sha256 values are those of the full streams."
}

sc_dumpcap() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_dumpcap "$CLI" "$WORK/dumpcap.pcapng" -i vA-cli -i vB-cli
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    record dumpcap.pcapng dumpcap auto \
        "Two subflows captured with dumpcap -i vA-cli -i vB-cli: pcapng with two interfaces (IDB 0 = vA-cli, IDB 1 = vB-cli), both Ethernet. Packets of the two interfaces are interleaved in time order."
}

sc_snaplen() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/snaplen.pcap" -i any -s 96
    start_server --addr 0.0.0.0
    begin
    start_client client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    record snaplen.pcap snaplen false \
        "Two subflows captured with tcpdump -i any -s 96: every frame is cut at 96 bytes (20 SLL2 + 20 IPv4 + up to 56 bytes of TCP header/options). Payload is absent; TCP headers with more than 36 bytes of options are truncated inside the options. Hashes describe the real streams; only sequence-level analysis is possible (expect_complete=false: no payload). With SLL2+IPv4 the 60-byte TCP header of data segments (NOP NOP TS + DSS 26 + 2 NOP) is cut after 36 option bytes, i.e. the DSS option of data packets is itself truncated (data-level length missing)."
}

sc_multi_conn() {
    setup_testbed
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    start_tcpdump "$CLI" "$WORK/multi-conn.pcap" -i any
    start_server --addr 0.0.0.0 --conns 2
    begin
    start_client client1 --addr 192.0.2.2 --seed c2s-a
    sleep 0.3
    start_client client2 --addr 192.0.2.2 --seed c2s-b
    wait_apps 30
    stop_capture
    record multi-conn.pcap multi-conn auto \
        "Two concurrent MPTCP connections between the same hosts (second client starts ~0.3 s after the first), each with its own path-B MP_JOIN. Per-connection hashes in conns[] (match by client port); top-level c2s_/s2c_ fields describe the first connection." \
        client1 client2
}

ALL=(two-subflows signal checksum ipv6 backup-prio remove-addr fastclose fallback loss path-cut
     ethernet-one-path dumpcap snaplen multi-conn)

# testdata/matrix.sh sources this file for the testbed and helpers; run the
# scenarios only when executed directly
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 1; }
if [ $# -eq 0 ]; then set -- "${ALL[@]}"; fi
for s in "$@"; do
    s=${s%.pcapng}
    s=${s%.pcap}
    fn="sc_${s//-/_}"
    if ! declare -F "$fn" >/dev/null; then
        echo "unknown scenario: $s (known: ${ALL[*]})" >&2
        exit 2
    fi
    log "=== scenario $s"
    "$fn"
    teardown
done
log "done; manifest: $MANIFEST"
