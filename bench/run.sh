#!/usr/bin/env bash
# Benchmark mptcp-trace against tshark on real full-payload MPTCP captures.
#
#   sudo bash bench/run.sh                 # make captures (if missing), run everything
#   RUNS=7 BIG_MB=500 sudo bash bench/run.sh
#   REGEN=1 ...                            # remake the captures
#   sudo bash bench/run.sh captures        # only make the captures
#   sudo bash bench/run.sh speed           # only the speed runs (real captures, tshark)
#   bash bench/run.sh scale                # only bench/scale.sh (generated captures, no root)
#
# `all` (the default) also runs bench/scale.sh at the end: mptcp-gen's synthetic captures of up
# to a million connections piped into `analyze --format jsonl` (connections reported vs generated,
# peak RSS; see bench/README.md).
#
# Makes (not committed, in $BENCH_DIR, default /tmp/mptcp-bench) two captures with the testbed of
# testdata/capture.sh (two namespaces, two veth paths, client "subflow" endpoint on path B):
# an unpaced bulk MPTCP transfer of BIG_MB (default 260) and SMALL_MB (default 60) megabytes,
# recorded with `tcpdump -i any -s 0` in the client namespace (two subflows, full payload).
# Then, page cache warm, RUNS times each (median printed):
#   mptcp-trace analyze F                    (release build)
#   mptcp-trace analyze --sha256 F
#   mptcp-trace dissect --format jsonl F     (packets/s: the count from capinfos)
#   tshark -r F -q -z conv,mptcp
#   tshark -r F -2 -o mptcp.analyze_mappings:TRUE -o mptcp.intersubflows_retransmission:TRUE -q -z conv,mptcp
#                                            (once, killed after TSHARK_TIMEOUT s, default 600)
#   cat F > /dev/null                        (the I/O limit)
# and peak RSS (/usr/bin/time -v "Maximum resident set size") of analyze at both sizes.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-5}
BIG_MB=${BIG_MB:-260}
SMALL_MB=${SMALL_MB:-60}
BENCH_DIR=${BENCH_DIR:-/tmp/mptcp-bench}
TSHARK_TIMEOUT=${TSHARK_TIMEOUT:-600}
RATE=${RATE:-400mbit}   # per path: both subflows stay busy, and tcpdump keeps up
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/mptcp-trace
CLI=mpt-bench-cli
SRV=mpt-bench-srv
PORT=5301

log() { echo "[bench $(date +%T)] $*" >&2; }
inc() { ip netns exec "$CLI" "$@"; }
ins() { ip netns exec "$SRV" "$@"; }

teardown() {
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}

# The minimal part of testdata/capture.sh's setup_testbed: two paths, path B source-routed,
# offloads off so the capture holds MTU-sized segments as on a real link.
setup_testbed() {
    # Without ethtool the offloads stay on and the capture holds 20-60 KB GSO segments, not the
    # MSS-sized packets a vantage point sees (seen: 23 KB a packet).
    command -v ethtool >/dev/null || { echo "bench/run.sh: ethtool is needed (apt-get install ethtool)" >&2; exit 2; }
    teardown
    ip netns add "$CLI"
    ip netns add "$SRV"
    ip link add vA-cli netns "$CLI" type veth peer name vA-srv netns "$SRV"
    ip link add vB-cli netns "$CLI" type veth peer name vB-srv netns "$SRV"
    local ns d
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
        ip netns exec "$ns" ip mptcp endpoint flush
    done
    inc ip addr add 192.0.2.1/24 dev vA-cli
    inc ip addr add 198.51.100.1/24 dev vB-cli
    ins ip addr add 192.0.2.2/24 dev vA-srv
    ins ip addr add 198.51.100.2/24 dev vB-srv
    for d in vA-cli vB-cli; do
        inc ethtool -K "$d" tso off gso off gro off >/dev/null
        inc ip link set "$d" up
        inc tc qdisc add dev "$d" root tbf rate "$RATE" burst 256kb latency 50ms
    done
    for d in vA-srv vB-srv; do
        ins ethtool -K "$d" tso off gso off gro off >/dev/null
        ins ip link set "$d" up
    done
    inc ip rule add from 198.51.100.1 table 100
    inc ip route add default via 198.51.100.2 dev vB-cli table 100
    ins ip rule add from 198.51.100.2 table 100
    ins ip route add default via 198.51.100.1 dev vB-srv table 100
    inc ip mptcp endpoint add 198.51.100.1 dev vB-cli subflow
    local i
    for i in $(seq 50); do
        inc ping -c1 -W1 -q 192.0.2.2 >/dev/null 2>&1 && inc ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 && break
        sleep 0.1
    done
}

# Unpaced bulk sender/receiver over IPPROTO_MPTCP (262); the payload is a fixed 1 MiB pattern.
APP='
import socket, sys
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "server":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1)
    open(sys.argv[4], "w").close()
    c, _ = s.accept()
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    c.close()
    print("server received", n, file=sys.stderr)
else:
    total = int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    s.connect((addr, port))
    buf = bytes(range(256)) * 4096
    sent = 0
    while sent < total:
        n = min(len(buf), total - sent)
        s.sendall(buf[:n]); sent += n
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
    s.close()
'

make_capture() { # file megabytes
    local file=$1 mb=$2 work
    work=$(mktemp -d)
    setup_testbed
    # the payload bytes on the wire come to ~ the file size (headers add ~6 %)
    local bytes=$((mb * 1000 * 1000 * 94 / 100))
    ip netns exec "$SRV" python3 -c "$APP" server 192.0.2.2 "$PORT" "$work/ready" 2>"$work/srv.log" &
    local srv=$!
    for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.05; done
    ip netns exec "$CLI" tcpdump -n -Z root -i any -s 0 -B 262144 -w "$file" "tcp port $PORT" 2>"$work/cap.err" &
    local cap=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/cap.err" 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    inc python3 -c "$APP" client 192.0.2.2 "$PORT" "$bytes"
    wait "$srv" || true
    sleep 1.5
    kill -INT "$cap" 2>/dev/null || true
    wait "$cap" 2>/dev/null || true
    cat "$work/cap.err" "$work/srv.log" >&2
    teardown
    rm -rf "$work"
}

# N distinct MP_CAPABLE v1 SYNs (raw IPv4 pcap, 10.x.y.z:port -> 192.0.2.2:80), for the state caps.
make_syn_flood() { # file count
    python3 - "$1" "$2" <<'PY'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    out = []
    for i in range(n):
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 44, 0, 0x4000, 64, 6, 0,
                         struct.pack(">I", 0x0A000000 | (i >> 8)), bytes([192, 0, 2, 2]))
        tcp = struct.pack(">HHIIBBHHH", 1024 + (i & 0xFF), 80, i, 0, 0x60, 0x02, 0xFFFF, 0, 0) + bytes([30, 4, 0x01, 0x81])
        out.append(struct.pack("<IIII", i // 1000, 0, 44, 44) + ip + tcp)
        if len(out) == 65536:
            f.write(b"".join(out)); out = []
    f.write(b"".join(out))
PY
}

# Runs a command, prints "wall_seconds max_rss_kb exit_code cpu_seconds". Wall time from date
# (ns); RSS and user+system CPU time from GNU time. The CPU time is the steadier figure on a
# shared machine (other jobs steal wall time, not CPU time).
measure() {
    local t0 t1 rc=0 tv
    tv=$(mktemp)
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$tv" "$@" >/dev/null 2>>"$BENCH_DIR/stderr.log" || rc=$?
    t1=$(date +%s.%N)
    local rss cpu
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s + 0 }' "$tv")
    rm -f "$tv"
    awk -v a="$t0" -v b="$t1" -v r="${rss:-0}" -v c="$rc" -v u="$cpu" 'BEGIN { printf "%.4f %d %d %.2f\n", b - a, r, c, u }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench NAME FILE RUNS CMD... -> sets MED_S (wall), MED_CPU (user+sys) and MAX_RSS_KB; prints one line
bench() {
    local name=$1 file=$2 runs=$3
    shift 3
    local times=() cpus=() rss=0 out rc=0 i r c
    for i in $(seq "$runs"); do
        out=$(measure "$@")
        times+=("$(echo "$out" | cut -d' ' -f1)")
        cpus+=("$(echo "$out" | cut -d' ' -f4)")
        r=$(echo "$out" | cut -d' ' -f2)
        c=$(echo "$out" | cut -d' ' -f3)
        [ "$r" -gt "$rss" ] && rss=$r
        [ "$c" != 0 ] && rc=$c
    done
    MED_S=$(printf '%s\n' "${times[@]}" | median)
    MED_CPU=$(printf '%s\n' "${cpus[@]}" | median)
    MAX_RSS_KB=$rss
    local size_mb
    size_mb=$(stat -c %s "$file" | awk '{ printf "%.1f", $1 / 1e6 }')
    awk -v n="$name" -v s="$MED_S" -v u="$MED_CPU" -v m="$size_mb" -v r="$rss" -v c="$rc" -v k="$runs" 'BEGIN {
        printf "  %-32s median wall %8.3f s  cpu %7.2f s  (%d runs)  %8.1f MB/s  peak RSS %7.1f MB%s\n",
            n, s, u, k, m / s, r / 1024, (c == 0 ? "" : (c == 124 ? "  TIMED OUT" : "  exit " c)) }'
}

captures() {
    mkdir -p "$BENCH_DIR"
    local f
    for f in "$BENCH_DIR/bulk-${BIG_MB}MB.pcap:$BIG_MB" "$BENCH_DIR/bulk-${SMALL_MB}MB.pcap:$SMALL_MB"; do
        if [ "${REGEN:-0}" = 1 ] || [ ! -s "${f%%:*}" ]; then
            log "making ${f%%:*}"
            make_capture "${f%%:*}" "${f##*:}"
        fi
    done
}

main() {
    mkdir -p "$BENCH_DIR"
    : >"$BENCH_DIR/stderr.log"
    log "building release binary ($BIN)"
    (cd "$ROOT" && cargo build --release -q -p mptcp-trace)
    local big=$BENCH_DIR/bulk-${BIG_MB}MB.pcap small=$BENCH_DIR/bulk-${SMALL_MB}MB.pcap
    captures
    trap teardown EXIT

    echo "== captures"
    for f in "$big" "$small"; do
        printf '  %s: %s bytes, %s\n' "$f" "$(stat -c %s "$f")" \
            "$(capinfos -c -M "$f" | awk -F': *' '/Number of packets/ { print $2 " packets" }')"
    done
    "$BIN" analyze "$big" | grep -iE 'subflow|connection' | head -8 | sed 's/^/  /'

    echo "== $big ($RUNS runs each, page cache warm)"
    cat "$big" >/dev/null
    bench "cat F > /dev/null" "$big" "$RUNS" cat "$big"; local cat_s=$MED_S cat_cpu=$MED_CPU
    bench "mptcp-trace analyze F" "$big" "$RUNS" "$BIN" analyze "$big"; local an_s=$MED_S an_cpu=$MED_CPU an_rss=$MAX_RSS_KB
    bench "mptcp-trace analyze --sha256 F" "$big" "$RUNS" "$BIN" analyze --sha256 "$big"; local sha_s=$MED_S sha_cpu=$MED_CPU
    bench "mptcp-trace dissect --format jsonl" "$big" "$RUNS" "$BIN" dissect --format jsonl "$big"; local dis_s=$MED_S dis_cpu=$MED_CPU
    bench "tshark -q -z conv,mptcp" "$big" "$RUNS" tshark -r "$big" -q -z conv,mptcp; local ts_s=$MED_S ts_cpu=$MED_CPU
    bench "tshark -2 analyze_mappings conv" "$big" 1 timeout "$TSHARK_TIMEOUT" tshark -r "$big" -2 \
        -o mptcp.analyze_mappings:TRUE -o mptcp.intersubflows_retransmission:TRUE -q -z conv,mptcp
    local ts2_s=$MED_S ts2_cpu=$MED_CPU
    echo "== $small"
    cat "$small" >/dev/null
    bench "mptcp-trace analyze F" "$small" "$RUNS" "$BIN" analyze "$small"; local an_small_rss=$MAX_RSS_KB

    local flood=$BENCH_DIR/syn-flood-1M.pcap
    [ -s "$flood" ] || make_syn_flood "$flood" 1000000
    echo "== $flood (1,000,000 distinct MP_CAPABLE SYNs: state caps)"
    bench "mptcp-trace analyze F" "$flood" 1 "$BIN" analyze "$flood"; local flood_rss=$MAX_RSS_KB
    "$BIN" analyze --format json "$flood" | python3 -c 'import json, sys; d = json.load(sys.stdin); s = d["stats"]
print("  flows_dropped", s["flows_dropped"], "connections_dropped", s["connections_dropped"], "anomalies", sorted({a["kind"] for a in d["anomalies"]}))'

    local pkts
    pkts=$(capinfos -c -M "$big" | awk -F': *' '/Number of packets/ { print $2 }')
    echo "== summary"
    awk -v c="$cat_s" -v a="$an_s" -v s="$sha_s" -v d="$dis_s" -v p="$pkts" -v cc="$cat_cpu" -v sc="$sha_cpu" -v dc="$dis_cpu" 'BEGIN {
        printf "  analyze                 %.2fx the time of cat   (target <= 2x, issue 12)\n", a / c
        printf "  analyze --sha256        %.2fx the time of cat   (target <= 3x; cpu %.2f s vs cat %.2f s)\n", s / c, sc, cc
        printf "  dissect --format jsonl  %.2f M packets/s wall, %.2f M packets/s cpu   (target >= 2 M/s)\n", p / d / 1e6, p / dc / 1e6
    }'
    awk -v c="$cat_s" -v a="$an_s" -v t="$ts_s" -v t2="$ts2_s" -v to="$TSHARK_TIMEOUT" \
        -v cc="$cat_cpu" -v ac="$an_cpu" -v tc="$ts_cpu" -v t2c="$ts2_cpu" \
        -v sz="$(stat -c %s "$big")" -v rb="$an_rss" -v rs="$an_small_rss" -v rf="$flood_rss" 'BEGIN {
        printf "  analyze throughput      %.2f GB/s   (target >= 1 GB/s)\n", sz / a / 1e9
        printf "  cat throughput          %.2f GB/s   (analyze takes %.1fx the time of cat)\n", sz / c / 1e9, a / c
        printf "  analyze CPU throughput  %.2f GB/s   (user+sys %.2f s; cat %.2f s)\n", sz / ac / 1e9, ac, cc
        printf "  tshark conv,mptcp       %.1fx slower than analyze (wall), %.1fx (cpu)   (target >= 15x)\n", t / a, tc / ac
        printf "  tshark -2 mappings      %s%.1fx slower than analyze (wall), %.1fx (cpu)\n", (t2 >= to ? "timed out: > " : ""), t2 / a, t2c / ac
        printf "  peak RSS analyze        %.1f MB (big) / %.1f MB (small)   (target <= 64 MB, flat)\n", rb / 1024, rs / 1024
        printf "  peak RSS 1M SYN flood   %.1f MB\n", rf / 1024
    }'
}

case "${1:-all}" in
    captures) captures ;;   # only make the captures
    speed) main ;;          # only the speed runs on the real captures
    scale) bash "$HERE/scale.sh" ;;   # only the synthetic scale runs (bench/scale.sh)
    *) main; echo "== scale (bench/scale.sh: generated captures, memory follows the open connections)"; bash "$HERE/scale.sh" ;;
esac
