#!/usr/bin/env bash
# Issue 25's targets on one capture: each command's best wall time of RUNS against the best of
# `cat FILE > /dev/null` (page cache warm), as a ratio, and its peak RSS. Prints a Markdown table.
#
#   bash bench/targets.sh FILE            # e.g. /tmp/mptcp-bench/bulk-260MB.pcap (bench/run.sh captures)
#   RUNS=5 BIN=target/release/mptcp-trace bash bench/targets.sh FILE
#
# Targets (issue 25): peak RSS <= 64 MB and time <= 3x cat for every command, analyze <= 2x cat
# on a bulk capture, --sha256 <= analyze + 1.1x `openssl dgst -sha256` of the stream bytes.
# Run it on a quiet machine: on a loaded one the ratios say little.
set -euo pipefail
FILE=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$HERE/../target/release/mptcp-trace}
RUNS=${RUNS:-3}
TMP=$(mktemp -d /tmp/mptcp-targets.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# best wall seconds and the peak RSS (KB) of that run: `measure CMD...`
measure() {
    local best="" rss=""
    for _ in $(seq "$RUNS"); do
        rm -rf "$TMP/out"
        /usr/bin/time -f "%e %M" -o "$TMP/t" "$@" > /dev/null 2> "$TMP/err" || true
        read -r t m < <(tail -1 "$TMP/t")
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
    done
    echo "$best $rss"
}

cat "$FILE" > /dev/null # warm the page cache
read -r cat_s _ < <(measure cat "$FILE")
echo "| command | best of $RUNS | × cat | peak RSS |"
echo "|---|---|---|---|"
echo "| \`cat\` | ${cat_s} s | 1.0 | |"
row() {
    local name=$1; shift
    read -r s kb < <(measure "$@")
    printf '| `%s` | %s s | %.1f | %.1f MB |\n' "$name" "$s" "$(awk "BEGIN{print $s / ($cat_s > 0 ? $cat_s : 0.01)}")" "$(awk "BEGIN{print $kb / 1000}")"
}
row "analyze" "$BIN" analyze "$FILE"
row "analyze --format jsonl" "$BIN" analyze --format jsonl "$FILE"
row "analyze --sha256" "$BIN" analyze --sha256 "$FILE"
row "verify" "$BIN" verify "$FILE"
row "events" "$BIN" events "$FILE"
row "dissect --format jsonl" "$BIN" dissect --format jsonl "$FILE"
row "throughput" "$BIN" throughput "$FILE"
row "stream -d c2s -o FILE" "$BIN" stream -d c2s -o "$TMP/out" "$FILE"
row "export -o DIR" "$BIN" export -o "$TMP/out" "$FILE"
row "report -o FILE" "$BIN" report -o "$TMP/out" "$FILE"
row "plot --kind throughput -o FILE.svg" "$BIN" plot --kind throughput -o "$TMP/out.svg" "$FILE"
# The stream's own bytes through openssl: the single-core SHA-256 limit --sha256 is held to.
"$BIN" stream -d c2s -o "$TMP/c2s" "$FILE" 2> /dev/null
read -r ssl_s _ < <(measure openssl dgst -sha256 "$TMP/c2s")
echo
echo "openssl dgst -sha256 of the c2s stream ($(stat -c %s "$TMP/c2s") bytes): ${ssl_s} s"
