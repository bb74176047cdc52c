#!/bin/sh
# Record (or compare) the CLI outputs that depend on the tracker, for every capture in testdata.
# usage: scripts/identity.sh BIN OUTDIR        -- writes OUTDIR/<capture>.<view>
#        diff -r OLD NEW                        -- compares two recordings
set -u
BIN=$1; OUT=$2; mkdir -p "$OUT"
cd "$(dirname "$0")/.."
n=0
for f in testdata/*.pcap* testdata/matrix/*.pcap; do
  b=$(echo "$f" | tr / _)
  "$BIN" analyze --format json "$f" > "$OUT/$b.analyze.json" 2>&1; echo "rc=$?" >> "$OUT/$b.analyze.json"
  "$BIN" analyze --sha256 "$f" > "$OUT/$b.analyze.txt" 2>&1; echo "rc=$?" >> "$OUT/$b.analyze.txt"
  "$BIN" events --format jsonl "$f" > "$OUT/$b.events.jsonl" 2>&1; echo "rc=$?" >> "$OUT/$b.events.jsonl"
  "$BIN" events --side client --timestamps "$f" > "$OUT/$b.events.client" 2>&1; echo "rc=$?" >> "$OUT/$b.events.client"
  "$BIN" events --side server "$f" > "$OUT/$b.events.server" 2>&1; echo "rc=$?" >> "$OUT/$b.events.server"
  "$BIN" verify --format json "$f" > "$OUT/$b.verify.json" 2>&1; echo "rc=$?" >> "$OUT/$b.verify.json"
  "$BIN" throughput --format json "$f" > "$OUT/$b.throughput.json" 2>&1; echo "rc=$?" >> "$OUT/$b.throughput.json"
  "$BIN" stream -c 0 -d s2c -o - "$f" 2>&1 | sha256sum > "$OUT/$b.stream.s2c"
  n=$((n+8))
done
echo "$n outputs in $OUT"
