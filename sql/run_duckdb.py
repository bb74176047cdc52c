#!/usr/bin/env python3
"""Run the shipped SQL (sql/*.sql) in DuckDB over `mptcp-trace export` tables.

    python3 sql/run_duckdb.py TABLES_DIR [QUERY ...]     # prints one JSON object

TABLES_DIR is an export's --out directory (TABLES_DIR/<table>/*.parquet, any
number of captures). Needs the duckdb Python package (pip install duckdb); no
DuckDB is compiled into mptcp-trace. Output: {"query name": [row, ...]}, rows
as objects, DECIMAL/64-bit values as Python ints (exact).
"""
import decimal
import json
import os
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ["connections", "subflows", "mappings", "data_acks", "events", "checks", "segments"]
QUERIES = ["connections_by_token", "subflow_bytes", "reinjected", "multi_probe"]


def plain(v):
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def run(tables_dir, queries=QUERIES):
    con = duckdb.connect()
    for t in TABLES:
        d = os.path.join(tables_dir, t)
        if os.path.isdir(d) and any(f.endswith(".parquet") for f in os.listdir(d)):
            glob = os.path.join(d, "*.parquet").replace("'", "''")
            con.execute("CREATE VIEW %s AS SELECT * FROM read_parquet('%s')" % (t, glob))
    with open(os.path.join(HERE, "common.sql")) as f:
        for stmt in f.read().split(";"):
            if stmt.strip() and not all(l.strip().startswith("--") or not l.strip() for l in stmt.splitlines()):
                con.execute(stmt)
    out = {}
    for q in queries:
        with open(os.path.join(HERE, q + ".sql")) as f:
            cur = con.execute(f.read())
        cols = [c[0] for c in cur.description]
        out[q] = [{c: plain(v) for c, v in zip(cols, row)} for row in cur.fetchall()]
    return out


if __name__ == "__main__":
    json.dump(run(sys.argv[1], sys.argv[2:] or QUERIES), sys.stdout, indent=1)
    sys.stdout.write("\n")
