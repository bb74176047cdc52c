#!/usr/bin/env bash
# Runs every fuzz target for a while, one after the other (one core), logging to fuzz/logs/.
#   OPTION_S=240 DECODE_S=300 PIPELINE_S=900 bash fuzz/scripts/run_all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
mkdir -p logs
[ -d corpus ] || python3 scripts/seed_corpus.py
run() { # target seconds extra-libfuzzer-args...
    local t=$1 s=$2
    shift 2
    cargo fuzz run -O --debug-assertions "$t" "corpus/$t" -- -max_total_time="$s" -print_final_stats=1 "$@" \
        >"logs/$t.log" 2>&1
    echo "$t exit $?" >>logs/summary.txt
}
run mptcp_option "${OPTION_S:-240}" -max_len=64
run packet_decode "${DECODE_S:-300}" -max_len=512
run pipeline "${PIPELINE_S:-900}" -max_len=65536 -timeout=10
