#!/bin/sh
# Record every output of every command on every capture in testdata, to show that a change
# (a refactoring) changed none of them.
# usage: scripts/identity.sh BIN OUTDIR        -- writes OUTDIR/<capture>.<view>
#        diff -r OLD NEW                        -- compares two recordings
# Binary outputs (PNG, Parquet) and large ones (HTML, streams) are recorded by their sha256.
# Each file ends with the command's exit status.
set -u
BIN=$(realpath "$1"); OUT=$(realpath -m "$2"); mkdir -p "$OUT"
cd "$(dirname "$0")/.."
TMP=$(mktemp -d /tmp/mptcp-trace-identity.XXXXXX); trap 'rm -rf "$TMP"' EXIT
n=0
rec() { # rec NAME CMD...: stdout and stderr of CMD, then its exit status
  name=$1; shift
  "$@" > "$OUT/$b.$name" 2>&1; echo "rc=$?" >> "$OUT/$b.$name"; n=$((n+1))
}
sha() { # sha NAME FILE CMD...: the sha256 of FILE written by CMD, its messages, its exit status
  name=$1; file=$2; shift 2
  rm -rf "$file"
  "$@" > "$OUT/$b.$name" 2>&1; echo "rc=$?" >> "$OUT/$b.$name"
  # The scratch folder is unique per run (runs may overlap): name it as one fixed path.
  sed -i "s|$TMP|/tmp/mptcp-trace-identity|g" "$OUT/$b.$name"
  if [ -d "$file" ]; then (cd "$file" && find . -type f | sort | xargs sha256sum) >> "$OUT/$b.$name"
  elif [ -e "$file" ]; then sha256sum < "$file" >> "$OUT/$b.$name"; fi
  n=$((n+1))
}
for f in $(find testdata -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.*' | sort); do
  b=$(echo "$f" | tr / _)
  rec dissect.txt "$BIN" dissect --all "$f"
  rec dissect.jsonl "$BIN" dissect --all --format jsonl "$f"
  rec analyze.txt "$BIN" analyze --sha256 "$f"
  rec analyze.all.txt "$BIN" analyze --all "$f"
  rec analyze.json "$BIN" analyze --format json "$f"
  rec analyze.jsonl "$BIN" analyze --format jsonl "$f"
  rec events.jsonl "$BIN" events --format jsonl "$f"
  rec events.client "$BIN" events --side client --timestamps "$f"
  rec events.server "$BIN" events --side server "$f"
  rec verify.txt "$BIN" verify "$f"
  rec verify.json "$BIN" verify --format json "$f"
  rec verify.junit "$BIN" verify --format junit "$f"
  rec throughput.json "$BIN" throughput --format json "$f"
  rec throughput.csv "$BIN" throughput --format csv "$f"
  sha stream.c2s "$TMP/c2s" "$BIN" stream -d c2s -o "$TMP/c2s" "$f"
  sha stream.s2c "$TMP/s2c" "$BIN" stream --connection 0 -d s2c -o "$TMP/s2c" "$f"
  sha report.html "$TMP/r.html" "$BIN" report -o "$TMP/r.html" "$f"
  sha export "$TMP/tables" "$BIN" export --segments -o "$TMP/tables" "$f"
  for k in throughput sequence rtt subflows hol reorder; do
    sha "plot.$k.svg" "$TMP/p.svg" "$BIN" plot -k "$k" -o "$TMP/p.svg" "$f"
  done
  sha plot.throughput.png "$TMP/p.png" "$BIN" plot -k throughput -o "$TMP/p.png" "$f"
done
for d in pair pair-nat; do
  b=$d
  rec pair.txt "$BIN" pair "testdata/$d/client-any.pcap" "testdata/$d/server-any.pcap"
  rec pair.json "$BIN" pair --format json "testdata/$d/client-any.pcap" "testdata/$d/server-any.pcap"
  sha plot.owd.svg "$TMP/o.svg" "$BIN" plot -k owd "testdata/$d/client-any.pcap" --server "testdata/$d/server-any.pcap" -o "$TMP/o.svg"
done
echo "$n outputs in $OUT"
