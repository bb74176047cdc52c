#!/usr/bin/env bash
# Scale benchmark: mptcp-trace analyze on synthetic captures of many connections (issue 12).
#
#   bash bench/scale.sh                       # every scenario below
#   bash bench/scale.sh seq-10k open-10k      # only these scenarios
#   FORMAT=json bash bench/scale.sh seq-10k   # today's whole-document --format json
#   SEED=42 TIMEOUT=3600 KEEP=1 bash bench/scale.sh
#
# Builds mptcp-gen (bench/gen) and mptcp-trace in release, then for each scenario pipes the
# generator's capture (classic pcap, streamed: nothing is written to disk) into
#   mptcp-trace analyze --format $FORMAT -          (FORMAT: jsonl, the default, or json)
# under /usr/bin/time -v. The report goes to $SCALE_DIR (default /tmp/mptcp-scale) and is counted
# afterwards, so the counting does not slow the analyzer down; it is deleted unless KEEP=1.
# jsonl: one JSON object per line, connection records {"type":"connection", ...the fields of a
# --format json `connections` entry...}, last line {"type":"summary", "stats": {...}, ...}; it is
# read one line at a time (constant memory). json: the whole document is loaded (small runs only;
# today's analyzer stops tracking connections past its cap, expect `connection_cap`).
#
# Scenarios (mptcp-gen modes, see bench/README.md):
#   seq-10k          sequential 10000         10 packets per connection, 1000 bytes each way
#   seq-1m           sequential 1000000       10 M packets, 2.9 GB of pcap
#   open-10k         open 10000               10000 connections open at once
#   never-end-2k     never-end 2000 --packets 2000000   2000 connections that never close
#   syn-flood-1m     syn-flood 1000000        1 M unanswered MP_CAPABLE SYNs
#
# Prints one line per scenario:
#   scenario, connections generated (mptcp-gen's truth), connections reported by the analyzer,
#   connections complete both ways (c2s and s2c `complete`), connections whose c2s and s2c `bytes`
#   are the generated ones (bytes_ok), the analyzer's connections_dropped stat, its exit status, peak RSS (MB), wall time
#   and CPU time (user+sys, s; the machine's cores may be shared).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
FORMAT=${FORMAT:-jsonl}
SEED=${SEED:-}
TIMEOUT=${TIMEOUT:-1800}
SCALE_DIR=${SCALE_DIR:-/tmp/mptcp-scale}
KEEP=${KEEP:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
GEN=$CARGO_TARGET_DIR/release/mptcp-gen
BIN=$CARGO_TARGET_DIR/release/mptcp-trace

case $FORMAT in
    jsonl | json) ;;
    *) echo "FORMAT must be jsonl or json" >&2; exit 2 ;;
esac

SCENARIOS=(
    "seq-10k|sequential 10000"
    "seq-1m|sequential 1000000"
    "open-10k|open 10000"
    "never-end-2k|never-end 2000 --packets 2000000"
    "syn-flood-1m|syn-flood 1000000"
)

log() { echo "[scale $(date +%T)] $*" >&2; }

# Counts a report read from stdin: connections, complete both ways, with the truth's byte counts
# both ways, connections_dropped. Streams jsonl line by line.
COUNT='
import json, sys
fmt, truth = sys.argv[1], json.load(open(sys.argv[2]))
want = (truth["c2s_bytes_per_conn"], truth["s2c_bytes_per_conn"])
n = complete = exact = 0
stats = {}
def conn(c):
    global n, complete, exact
    n += 1
    if c["c2s"]["complete"] and c["s2c"]["complete"]:
        complete += 1
    if (c["c2s"]["bytes"], c["s2c"]["bytes"]) == want:
        exact += 1
if fmt == "jsonl":
    for line in sys.stdin:
        if not line.strip():
            continue
        o = json.loads(line)
        t = o.get("type")
        if t == "connection":
            conn(o)
        elif t == "summary":
            stats = o.get("stats", {})
else:
    doc = json.load(sys.stdin)
    for c in doc["connections"]:
        conn(c)
    stats = doc.get("stats", {})
print(n, complete, exact, stats.get("connections_dropped", "?"))
'

# "h:mm:ss" or "m:ss.ss" (time -v) to seconds.
to_seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }

run_scenario() { # name, generator arguments
    local name=$1 args=$2 d=$SCALE_DIR/$1
    mkdir -p "$d"
    local seed_arg=()
    [ -n "$SEED" ] && seed_arg=(--seed "$SEED")
    log "$name: mptcp-gen $args | mptcp-trace analyze --format $FORMAT -"
    local rc=0
    # shellcheck disable=SC2086 # $args is a list of words
    "$GEN" $args "${seed_arg[@]}" --truth "$d/truth.json" 2>"$d/gen.err" |
        /usr/bin/time -v -o "$d/time.txt" timeout "$TIMEOUT" "$BIN" analyze --format "$FORMAT" - >"$d/report" 2>"$d/analyze.err" ||
        rc=$?
    # pipefail: a failed generator shows up here too (its stderr is in gen.err).
    if [ ! -s "$d/truth.json" ]; then
        log "$name: mptcp-gen failed: $(tail -1 "$d/gen.err")"
        return 1
    fi
    local generated rss wall cpu counts
    generated=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["connections"])' "$d/truth.json")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$d/time.txt")
    wall=$(to_seconds "$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$d/time.txt")")
    cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$d/time.txt")
    if [ -s "$d/report" ]; then
        counts=$(python3 -c "$COUNT" "$FORMAT" "$d/truth.json" <"$d/report" 2>"$d/count.err") || counts="? ? ? ?"
    else
        counts="0 0 0 ?"
    fi
    read -r reported complete exact dropped <<<"$counts"
    printf '%-14s %10s %10s %10s %10s %10s %4s %9s %8s %8s\n' \
        "$name" "$generated" "$reported" "$complete" "$exact" "$dropped" "$rc" "$rss" "$wall" "$cpu"
    [ "$rc" -ne 0 ] && log "$name: exit status $rc: $(tail -2 "$d/analyze.err" | tr '\n' ' ')"
    [ "$KEEP" = 1 ] || rm -f "$d/report"
    return 0
}

main() {
    log "building mptcp-gen and mptcp-trace (release, $CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release -q -p mptcp-gen -p mptcp-trace)
    mkdir -p "$SCALE_DIR"
    local want=("$@") s name
    if [ ${#want[@]} -gt 0 ]; then
        for name in "${want[@]}"; do
            printf '%s\n' "${SCENARIOS[@]}" | grep -q "^$name|" || { echo "unknown scenario $name" >&2; exit 2; }
        done
    fi
    printf '%-14s %10s %10s %10s %10s %10s %4s %9s %8s %8s\n' \
        scenario generated reported complete bytes_ok dropped rc rss_mb wall_s cpu_s
    for s in "${SCENARIOS[@]}"; do
        name=${s%%|*}
        if [ ${#want[@]} -gt 0 ] && ! printf '%s\n' "${want[@]}" | grep -qx "$name"; then
            continue
        fi
        run_scenario "$name" "${s#*|}"
    done
}

main "$@"
