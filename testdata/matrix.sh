#!/usr/bin/env bash
# Record the capture matrix in testdata/matrix/ (real Linux-kernel MPTCP, with
# truth files written from the applications, tcpdump, nstat and ip mptcp monitor).
#
#   sudo bash testdata/matrix.sh                      # all scenarios
#   sudo bash testdata/matrix.sh window-probe loss-both   # only some
#
# The testbed (namespaces mpt-cli / mpt-srv, two veth paths, tbf shaping) and the
# helpers come from capture.sh, which this file sources. For every scenario NAME
# it writes testdata/matrix/NAME.{pcap,truth.json,monitor-client.txt,
# monitor-server.txt,nstat-client.txt,nstat-server.txt}. A scenario is recorded
# again (up to 3 attempts) when tcpdump did not write every packet it received
# (captured != received by filter, or dropped by kernel != 0) or when an
# application-level check fails; after 3 failed attempts the script fails.
set -euo pipefail
# shellcheck source=capture.sh
source "$(cd "$(dirname "$0")" && pwd)/capture.sh"

OUT="$HERE/matrix"
# own namespace names, so that a capture.sh run elsewhere cannot collide
CLI=mx-cli
SRV=mx-srv
# smaller default transfers than capture.sh (keeps the files small)
C2S=150000
S2C=100000

mxc() { echo "client: $*" >>"$WORK/setup.txt"; inc "$@"; }   # logged setup command
mxs() { echo "server: $*" >>"$WORK/setup.txt"; ins "$@"; }

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

mx_setup() { # fresh namespaces (all counters 0) + monitors
    setup_testbed
    rm -f "$WORK"/setup.txt "$WORK"/cap.pcap "$WORK"/client*.json "$WORK"/server.json
    echo "both: ip mptcp limits set subflows 4 add_addr_accepted 4; tbf rate $RATE per veth egress" >"$WORK/setup.txt"
    start_monitors
}

loss_rules() { # percent: random drop on the input of both paths in both netns
    local pct=$1
    mxs nft add table inet t
    mxs nft add chain inet t input '{ type filter hook input priority 0; }'
    mxs nft add rule inet t input iifname '{ vA-srv, vB-srv }' numgen random mod 100 '<' "$pct" drop
    mxc nft add table inet t
    mxc nft add chain inet t input '{ type filter hook input priority 0; }'
    mxc nft add rule inet t input iifname '{ vA-cli, vB-cli }' numgen random mod 100 '<' "$pct" drop
}

# mx_finish scenario notes [truth-args...] [-- clientjson...]
# stops the monitors, takes nstat, writes the truth file into $WORK.
mx_finish() {
    local scen=$1 notes=$2
    shift 2
    local targs=() clients=() c
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do targs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    for c in "${@:-client}"; do clients+=(--client "$WORK/$c.json"); done
    stop_monitors
    # -a absolute counters (no history file), -s do not write the history file,
    # -z include zero counters; the namespaces are fresh, so counters start at 0
    inc nstat -asz 'MPTcp*' >"$WORK/nstat-client.txt"
    ins nstat -asz 'MPTcp*' >"$WORK/nstat-server.txt"
    "$PY" "$HERE/matrix_truth.py" --out "$WORK/truth.json" --pcap "$WORK/$scen.pcap" \
        --scenario "$scen" --server "$WORK/server.json" "${clients[@]}" \
        --tcpdump-stderr "$WORK/cap.err" --nstat-client "$WORK/nstat-client.txt" \
        --nstat-server "$WORK/nstat-server.txt" --events "$WORK/events.jsonl" \
        --setup "$(cat "$WORK/setup.txt")" --notes "$notes" "${targs[@]}"
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

# ---------------------------------------------------------------- scenarios
# Each m_<name> records $WORK/<name>.pcap and ends with mx_finish.

two_paths() { mxc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow; }

m_upload_only() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/upload-only.pcap" -i any
    srv --addr 0.0.0.0 --send 0
    begin
    cli client --addr 192.0.2.2 --send 200000
    wait_apps 30
    stop_capture
    mx_finish upload-only "Client sends 200000 bytes (seed c2s), the server application sends nothing: it calls shutdown(SHUT_WR) right after accept, so the s2c data-level stream is empty and carries only a DATA_FIN (DSN = server IDSN+1). The client has a subflow endpoint on B, but the server's MPTCP socket has already left ESTABLISHED (its DATA_FIN went out right after the handshake), so the server kernel rejects the MP_JOIN: SYN, SYN/ACK, third ACK, then RST with MP_TCPRST from the server (nstat MPTcpExtMPJoinRejected on the server); all data uses the initial subflow. Single data subflow."
}

m_download_only() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/download-only.pcap" -i any
    srv --addr 0.0.0.0 --send 200000
    begin
    cli client --addr 192.0.2.2 --send 0
    wait_apps 30
    stop_capture
    mx_finish download-only "Server sends 200000 bytes (seed s2c), the client application sends nothing: it calls shutdown(SHUT_WR) right after connect, so the c2s data-level stream is empty and carries only a DATA_FIN. The client has a subflow endpoint on B, but because its MPTCP socket left ESTABLISHED at once the client path manager never starts the MP_JOIN: one subflow only."
}

m_server_first() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/server-first.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2 --wait-rx-before-send
    wait_apps 30
    stop_capture
    mx_finish server-first "The server writes first (100000 bytes, seed s2c); the client application starts its sender (150000 bytes, seed c2s) only after its first recv() returned server bytes, so the first payload on the wire is s2c. Two subflows."
}

m_window_probe() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/window-probe.pcap" -i any
    # slow reader: tiny receive buffer on the server, 512-byte reads every 100 ms.
    # The server also sends a little (1000 B every 200 ms): a server that shuts
    # down its write side at once makes the kernel reject the MP_JOIN.
    # shellcheck disable=SC2086
    srv --addr 0.0.0.0 ${WP_SRV:---send 20000 --chunk 1000 --interval 0.2 --rcvbuf 2048 --read-size 512 --read-pause 0.1}
    begin
    # shellcheck disable=SC2086
    cli client --addr 192.0.2.2 ${WP_CLI:---send 50000 --chunk 1000 --interval 0}
    wait_apps 60
    stop_capture
    mx_finish window-probe "Slow reader: the server sets SO_RCVBUF 2048 on the listener (the accepted socket inherits it) and reads 512 bytes every 100 ms (~5 KB/s); the client writes 50000 bytes (seed c2s) in 1000-byte sendall()s without pause; the server sends 20000 bytes (seed s2c) in 1000-byte chunks every 200 ms. The MPTCP-level receive window fills; whenever all data is data-acked and the window is zero the client kernel sends a data-level zero-window probe: a 1-byte segment whose DSS mapping (data-level length 1) re-sends the last already-acked data byte (DSN = data_ack - 1), counted by MPTcpExtWinProbe on the client and MPTcpExtDuplicateData on the server. Two subflows." \
        --require client:MPTcpExtWinProbe
}

m_four_subflows() {
    mx_setup
    # no 'dev' on the path-A endpoint: a subflow bound to vA-cli towards
    # 198.51.100.2 would leave on A while the reply comes back on B (-> RST)
    mxc ip mptcp endpoint add 192.0.2.1 subflow fullmesh
    mxc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow fullmesh
    mxs ip mptcp endpoint add 198.51.100.2 dev vB-srv signal
    start_tcpdump "$CLI" "$WORK/four-subflows.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    sleep 0.6; snapshot_ss; cp "$WORK/ss.txt" "$WORK/ss-four.txt" 2>/dev/null || true
    wait_apps 30
    stop_capture
    mx_finish four-subflows "Four subflows in one connection: client endpoints 192.0.2.1 (vA-cli) and 198.51.100.1 (vB-cli), both 'subflow fullmesh'; server 'signal' endpoint 198.51.100.2 (ADD_ADDR). Subflows: 192.0.2.1->192.0.2.2 (initial, MP_CAPABLE), 198.51.100.1->192.0.2.2, 192.0.2.1->198.51.100.2, 198.51.100.1->198.51.100.2 (MP_JOINs). Routing: traffic to 198.51.100.0/24 and from 198.51.100.x leaves on path B, so three subflows share path B." \
        --require server:MPTcpExtMPJoinAckRx=3
}

m_add_addr_port() {
    mx_setup
    mxs ip mptcp endpoint add 198.51.100.2 dev vB-srv port 5202 signal
    start_tcpdump "$CLI" "$WORK/add-addr-port.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    wait_apps 30
    stop_capture
    mx_finish add-addr-port "Server 'signal' endpoint 198.51.100.2 port 5202: the ADD_ADDR carries the port (option length 18 with HMAC, the echo 10) and the kernel listens on 5202 for joins only; the client (no endpoints) joins 198.51.100.1 -> 198.51.100.2:5202. The application listens on 5201 only." \
        --require server:MPTcpExtMPJoinPortAckRx
}

m_twenty_conns() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/twenty-conns.pcap" -i any
    srv --addr 0.0.0.0 --conns 20 --send 10000 --chunk 1000 --interval 0.1
    begin
    cli client --addr 192.0.2.2 --conns 20 --send 20000 --chunk 2000 --interval 0.1
    wait_apps 60
    stop_capture
    mx_finish twenty-conns "20 MPTCP connections at once from one client process (20 threads, seeds c2s-0..c2s-19, 20000 bytes each in 2000-byte writes every 100 ms); the server sends 10000 bytes per connection in 1000-byte writes every 100 ms with seeds s2c-0..s2c-19 in accept order (match connections by the client addr:port of the initial subflow, conns[].client). Each connection has a path-B MP_JOIN from the client subflow endpoint 198.51.100.1." \
        --min-conns 20 --require server:MPTcpExtMPJoinAckRx=20
}

m_reused_tuple() {
    mx_setup; two_paths
    mxc sysctl -qw net.ipv4.tcp_tw_reuse=1
    start_tcpdump "$CLI" "$WORK/reused-tuple.pcap" -i any
    srv --addr 0.0.0.0 --conns 2 --send 60000
    begin
    cli client1 --addr 192.0.2.2 --send 80000 --bind 192.0.2.1:40000 --seed c2s-a
    wait "${CLI_PIDS[0]}"
    event "first connection finished (client side)"
    sleep 1.5
    cli client2 --addr 192.0.2.2 --send 80000 --bind 192.0.2.1:40000 --seed c2s-b
    wait_apps 30
    stop_capture
    mx_finish reused-tuple "Two MPTCP connections one after the other with the same initial-subflow 4-tuple 192.0.2.1:40000 -> 192.0.2.2:5201 (client binds the port with SO_REUSEADDR; net.ipv4.tcp_tw_reuse=1 in the client netns lets connect() reuse the tuple that is in TIME_WAIT; second connect ~1.5 s after the first finished). Seeds: c2s-a / s2c-0 (first), c2s-b / s2c-1 (second). Each has a path-B MP_JOIN with an ephemeral port. The two connections differ by keys/tokens, not by the initial 4-tuple." \
        --min-conns 2 -- client1 client2
}

m_sequential() {
    mx_setup; two_paths
    start_tcpdump "$CLI" "$WORK/sequential.pcap" -i any
    srv --addr 0.0.0.0 --conns 30 --send 3000 --chunk 1000 --interval 0.02
    begin
    local i names=()
    for i in $(seq 0 29); do
        cli "client$i" --addr 192.0.2.2 --send 4000 --chunk 1000 --interval 0.02 --seed "c2s-$i"
        wait "${CLI_PIDS[-1]}"
        names+=("client$i")
        sleep 0.3
    done
    wait_apps 30
    stop_capture
    mx_finish sequential "30 MPTCP connections one after the other (30 client processes, each started ~0.3 s after the previous one exited; seeds c2s-0..c2s-29, 4000 bytes each in 1000-byte writes every 20 ms); the server sends 3000 bytes per connection with seeds s2c-0..s2c-29 in accept order. Each connection has a path-B MP_JOIN from the client subflow endpoint 198.51.100.1. At most one or two connections are open at any time: for the test that finished connections are reported and freed (issue 12)." \
        --min-conns 30 -- "${names[@]}"
}

m_loss_both() {
    mx_setup; two_paths
    loss_rules 4
    start_tcpdump "$CLI" "$WORK/loss-both.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    wait_apps 60
    stop_capture
    mx_finish loss-both "Two subflows; nftables drops ~4% of packets at random (numgen random mod 100 < 4) at the input of both paths in both netns, so both directions of both subflows lose packets. The capture is in the client netns: packets the client sends and the server drops are in the file once and then retransmitted; packets dropped at the client's input ARE in the file (the tap runs before the nft input hook) although the client never got them."
}

m_checksum_loss() {
    mx_setup; two_paths
    mxc sysctl -qw net.mptcp.checksum_enabled=1
    mxs sysctl -qw net.mptcp.checksum_enabled=1
    loss_rules 4
    start_tcpdump "$CLI" "$WORK/checksum-loss.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    wait_apps 60
    stop_capture
    mx_finish checksum-loss "net.mptcp.checksum_enabled=1 on both sides (MP_CAPABLE flag A, every DSS mapping carries a DSS checksum) plus ~4% random loss on the input of both paths in both netns (as loss-both). Two subflows. Packets dropped at the client's input are in the file although the client never got them."
}

m_ipv6_add_addr() {
    mx_setup
    mxs ip mptcp endpoint add 2001:db8:b::2 dev vB-srv signal
    start_tcpdump "$CLI" "$WORK/ipv6-add-addr.pcap" -i any
    srv --addr :: --family 6
    begin
    cli client --addr 2001:db8:a::2 --family 6
    wait_apps 30
    stop_capture
    mx_finish ipv6-add-addr "IPv6 only: initial subflow [2001:db8:a::1] -> [2001:db8:a::2]:5201; the server 'signal' endpoint 2001:db8:b::2 sends an IPv6 ADD_ADDR (option length 28 with HMAC, the echo 20); the client (no endpoints) joins [2001:db8:b::1] -> [2001:db8:b::2]:5201." \
        --require client:MPTcpExtAddAddr
}

m_syn_blackhole() {
    mx_setup; two_paths
    mxs nft add table inet t
    mxs nft add chain inet t input '{ type filter hook input priority 0; }'
    mxs nft add rule inet t input 'tcp flags syn tcp option mptcp exists counter drop'
    start_tcpdump "$CLI" "$WORK/syn-blackhole.pcap" -i any
    srv --addr 0.0.0.0
    begin
    cli client --addr 192.0.2.2
    wait_apps 60
    ins nft list ruleset >>"$WORK/setup.txt"
    stop_capture
    mx_finish syn-blackhole "The server netns drops every incoming SYN that carries an MPTCP option (nft: tcp flags syn tcp option mptcp exists drop). The client's MP_CAPABLE SYN and its retransmissions go unanswered; after net.mptcp.syn_retrans_before_tcp_fallback (default 2) MPTCP SYN retransmissions the kernel retransmits the SYN without MPTCP option and the connection continues as plain TCP (the client socket is still protocol 262). No MP_CAPABLE SYN/ACK, no DSS, no MP_JOIN (the client's subflow endpoint is not used). The apps exchange 150000/100000 bytes over one TCP connection. The server's accepted socket reports SO_PROTOCOL 6 (the MPTCP listener hands out a plain TCP socket for a SYN without MP_CAPABLE) and MPTCP_INFO fails with EOPNOTSUPP on both sides. The client monitor shows only a CLOSED event (no CREATED/ESTABLISHED), the server monitor no connection event at all; the server's MPTcp counters stay 0. The SYN retransmissions are 1 s apart (not exponential)." \
        --require client:MPTcpExtBlackhole
}

long_transfer() { # mid-start / early-stop: ~4 s of c2s at 1 mbit per path
    C2S=1000000
    S2C=300000
    SRV_SLOW=(--interval 0.2)   # s2c 16 KiB every 200 ms: ~3.7 s, still running at the cut
}

m_mid_start() {
    RATE=1mbit mx_setup; two_paths
    long_transfer
    srv --addr 0.0.0.0 "${SRV_SLOW[@]}"
    begin
    cli client --addr 192.0.2.2
    sleep 1.5
    start_tcpdump "$CLI" "$WORK/mid-start.pcap" -i any
    event "tcpdump started (connection established, data flowing)"
    wait_apps 60
    stop_capture
    mx_finish mid-start "tcpdump is started ~1.5 s after the client connected, while data flows on both subflows (1 mbit tbf per veth, c2s 1000000 bytes seed c2s, s2c 300000 bytes seed s2c in 16 KiB writes every 200 ms, both ~4 s): the file has no SYN, no MP_CAPABLE, no MP_JOIN, and starts in the middle of both data-level streams (and mid-mapping). It holds only part of each stream; since stream(seed) is deterministic, a test can locate the captured bytes in it. The capture runs to the end (DATA_FINs, FINs)." \
        --window starts-mid-connection
}

m_early_stop() {
    RATE=1mbit mx_setup; two_paths
    long_transfer
    # --immediate-mode: frames reach tcpdump at once instead of per ring block,
    # so fewer are still in the ring (counted "received", not written) at SIGINT
    start_tcpdump "$CLI" "$WORK/early-stop.pcap" -i any --immediate-mode
    srv --addr 0.0.0.0 "${SRV_SLOW[@]}"
    begin
    cli client --addr 192.0.2.2
    sleep 0.5
    event "stopping tcpdump (SIGINT follows 2 s later, while data still flows)"
    stop_capture
    event "tcpdump stopped"
    wait_apps 60
    event "apps finished"
    mx_finish early-stop "tcpdump is stopped (SIGINT ~2.5 s after the client connected) while the transfer still runs (1 mbit tbf per veth, c2s 1000000 bytes, s2c 300000 bytes in 16 KiB writes every 200 ms, both ~4 s): the file has the handshakes and the first part of both data-level streams, but no DATA_FIN and no FIN/RST. Recorded with tcpdump --immediate-mode (without it, frames still in the TPACKET_V3 ring at SIGINT are counted as received but not written: 704/942, 890/899, 993/994 in earlier tries); the script retries if the counts differ. The connection completes after the capture (the app hashes describe the full streams)." \
        --window ends-mid-connection
}

MATRIX=(upload-only download-only server-first window-probe four-subflows add-addr-port
        twenty-conns reused-tuple loss-both checksum-loss ipv6-add-addr syn-blackhole
        mid-start early-stop sequential)

run_one() { # name -> 0 when committed to $OUT
    local s=$1 fn="m_${1//-/_}" attempt rc
    for attempt in $(seq "${MX_ATTEMPTS:-3}"); do
        log "=== matrix scenario $s (attempt $attempt)"
        set +e
        ( trap teardown EXIT; set -e; "$fn" )
        rc=$?
        set -e
        teardown
        if [ "$rc" -eq 0 ]; then
            cp "$WORK/$s.pcap" "$OUT/$s.pcap"
            cp "$WORK/truth.json" "$OUT/$s.truth.json"
            local f
            for f in monitor-client monitor-server nstat-client nstat-server; do
                cp "$WORK/$f.txt" "$OUT/$s.$f.txt"
            done
            chmod 644 "$OUT/$s".*
            return 0
        fi
        log "scenario $s attempt $attempt failed (rc=$rc: 3 = tcpdump lost packets, 4 = app/nstat check)"
        cp "$WORK/truth.json" "$WORK/$s.failed-$attempt.truth.json" 2>/dev/null || true
    done
    log "FAILED: $s after ${MX_ATTEMPTS:-3} attempts"
    return 1
}

[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 1; }
mkdir -p "$OUT"
if [ $# -eq 0 ]; then set -- "${MATRIX[@]}"; fi
for s in "$@"; do
    declare -F "m_${s//-/_}" >/dev/null || { echo "unknown scenario: $s (known: ${MATRIX[*]})" >&2; exit 2; }
done
failed=()
for s in "$@"; do
    run_one "$s" || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
    log "FAILED scenarios: ${failed[*]}"
    exit 1
fi
log "done: $OUT"
