#!/usr/bin/env python3
"""Check bytecount.py against testdata/manifest.json and print a compact table.

    python3 testdata/tools/check_bytecount.py            # shipped captures (runs bytecount.py)
    python3 testdata/tools/check_bytecount.py --table DIR_OR_JSON...   # table only

For every shipped capture whose manifest entry says the capture is complete in a
direction (expect_complete_c2s / expect_complete_s2c), the number of distinct
data bytes that bytecount.py finds in that direction must equal the number of
bytes the receiving application got (conns[].c2s_received_bytes /
s2c_received_bytes, matched by client address:port).  Ends with the line
'N passed, N failed'.
"""

import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)


def table_rows(res):
    rows = []
    for i, c in enumerate(res["connections"]):
        for d in ("c2s", "s2c"):
            x = c[d]
            dist = x["distinct"] if x["distinct"] is not None else "skip(%s)" % x.get("subflow_level_distinct")
            rows.append((res["file"], i, c["client"] if d == "c2s" else c["server"], d, dist,
                         x["new"], x["retransmitted"], x["reinjected"], x["probe"], x["unmapped"],
                         len(c["subflows"])))
    return rows


def print_table(results):
    print("| file | conn | sender | dir | distinct | new | retrans | reinjected | probe | unmapped | subflows |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        for r in table_rows(res):
            print("| " + " | ".join(str(v) for v in r) + " |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--table":
        results = []
        for arg in sys.argv[2:]:
            files = sorted(glob.glob(os.path.join(arg, "*.json"))) if os.path.isdir(arg) else [arg]
            for f in files:
                with open(f) as fh:
                    results.append(json.load(fh))
        print_table(results)
        return 0
    with open(os.path.join(TESTDATA, "manifest.json")) as fh:
        manifest = json.load(fh)
    passed = failed = 0
    results = []
    for e in manifest:
        path = os.path.join(TESTDATA, e["file"])
        out = subprocess.run([sys.executable, os.path.join(HERE, "bytecount.py"), path],
                             check=True, capture_output=True, text=True).stdout
        res = json.loads(out)
        results.append(res)
        # manifest writes IPv6 endpoints without brackets (2001:db8:a::1:49252)
        by_client = {c["client"].replace("[", "").replace("]", ""): c for c in res["connections"]}
        for mc in e["conns"]:
            c = by_client.get(mc["client"])
            for d in ("c2s", "s2c"):
                if not e.get("expect_complete_" + d, e.get("expect_complete")):
                    continue
                want = mc[d + "_received_bytes"]
                if c is None:
                    got = "no connection with client %s" % mc["client"]
                else:
                    got = c[d]["distinct"]
                    if got is None:  # fallback: data level skipped, use the subflow level
                        got = c[d].get("subflow_level_distinct")
                ok = got == want
                passed += ok
                failed += not ok
                print("%-6s %-24s %-22s %s distinct=%s app=%s" % (
                    "ok" if ok else "FAIL", e["file"], mc["client"], d, got, want))
    print()
    print_table(results)
    print()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
