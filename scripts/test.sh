#!/usr/bin/env bash
# The README's test command: installs on a fresh Debian machine what the tests need, then runs
# every test of the workspace. .ci/run calls it after its formatting and lint checks.
#
# What each package is for (tests fail, not skip, without them):
#   tshark          the oracle of the option-field comparison tests
#   tcpdump         the oracle of the -f/-c tests (cli/tests/capture_options.rs); it brings
#                   libpcap0.8, which mptcp-trace loads at run time for -f (nothing links it)
#   jq, python3     the JSON round trips (cli/tests/json_lossless.rs) and testdata/tools
#   chromium        loads `report`'s HTML page headless (cli/tests/report_browser.rs)
#   groff-base      renders the man pages (cli/tests/completions_man.rs)
#   bzip2           makes the bzip2 capture that must be named as such (cli/tests/messages_cli.rs)
#   a Java runtime, duckdb, pyspark   export's tests run the shipped SQL in DuckDB and Spark
#   iproute2, ethtool   the live capture test bed (cli/tests/live_cli.rs: network namespaces,
#                   veth pairs, tbf; run as root, as CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
tshark --version 2>/dev/null | head -1
tcpdump --version 2>&1 | head -2
# Debian's own python3 refuses pip installs outside a virtual environment (PEP 668): then the
# packages go in anyway, as root on a machine that exists to run these tests.
if ! python3 -c 'import duckdb, pyspark' 2>/dev/null; then
    python3 -m pip install -q --root-user-action=ignore duckdb==2.0.1 pyspark==4.3.0 ||
        python3 -m pip install -q --root-user-action=ignore --break-system-packages duckdb==2.0.1 pyspark==4.3.0
fi
java -version 2>&1 | head -1
python3 -c 'import duckdb, pyspark; print("duckdb", duckdb.__version__, "pyspark", pyspark.__version__)'

cargo test --workspace --release 2>&1
