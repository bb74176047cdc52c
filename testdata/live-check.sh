#!/usr/bin/env bash
# Live end-to-end check of the data-level reassembly (root, a kernel with MPTCP):
# records fresh captures with capture.sh in a scratch copy of testdata/ (the committed captures
# are not touched), then asks `mptcp-trace verify` for each connection's sha256 both ways, as the
# receiving application computed it, plus each scenario's expectations.
#
#   sudo bash testdata/live-check.sh                        # every scenario
#   sudo bash testdata/live-check.sh two-subflows path-cut  # some
#
# MPTCP_TRACE=path/to/mptcp-trace picks the binary (default: target/release/mptcp-trace).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${MPTCP_TRACE:-$HERE/../target/release/mptcp-trace}
[ -x "$BIN" ] || { echo "build it first: cargo build --release (or set MPTCP_TRACE)" >&2; exit 2; }
T=$(mktemp -d /tmp/mptcp-live.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$HERE"/capture.sh "$HERE"/mptcp_app.py "$HERE"/update_manifest.py "$T"/
[ -f "$HERE/summarize.py" ] && cp "$HERE/summarize.py" "$T"/
echo '[]' > "$T/manifest.json"
bash "$T/capture.sh" "$@"
python3 - "$T" "$BIN" <<'PY'
import json, subprocess, sys
t, bin_ = sys.argv[1], sys.argv[2]
fails = checks = 0
for e in json.load(open(f"{t}/manifest.json")):
    pcap = f"{t}/{e['file']}"
    for conn in e.get("conns", []):
        rules = []
        for d in ("c2s", "s2c"):
            if e.get(f"expect_complete_{d}", e.get("expect_complete")) and conn.get(f"{d}_match", True):
                rules += ["--expect", f"{d}-sha256={conn[d + '_received_sha256']}"]
        if not rules:
            continue
        r = subprocess.run([bin_, "verify", pcap, *rules], capture_output=True, text=True)
        checks += 1
        ok = r.returncode == 0
        fails += not ok
        print(f"{'PASS' if ok else 'FAIL'} {e['file']} {conn['client']}: verify exit {r.returncode}")
        if not ok:
            print(r.stdout[-2000:])
print(f"{checks - fails} passed, {fails} failed")
sys.exit(1 if fails or not checks else 0)
PY
