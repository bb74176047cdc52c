#!/usr/bin/env python3
"""Apache Spark job: `mptcp-trace export` on the executors, then the shipped SQL (issue 16).

    spark-submit contrib/spark/mptcp_export_job.py \\
        --binary /path/to/mptcp-trace --out /shared/tables --results results.json \\
        /shared/captures/probe-a.pcap /shared/captures/probe-b.pcap ...
    # or, with pyspark from PyPI and no cluster:
    python3 contrib/spark/mptcp_export_job.py --master 'local[2]' --binary ... --out ... CAPTURE...

One Spark task per capture: the task runs the mptcp-trace binary shipped with the job
(SparkContext.addFile) on its capture and writes the tables to --out, which every executor
must see (a shared file system; object stores would need a copy step). The driver then reads
each table directory as one dataset (`spark.read.parquet(OUT/<table>)`), registers the
views the SQL expects, runs sql/common.sql and the queries of sql/ (the same files DuckDB
runs: sql/run_duckdb.py) and writes their rows as JSON (64-bit and DECIMAL values as exact
integers), the same shape as the DuckDB runner's output.
"""
import argparse
import decimal
import json
import os
import stat
import subprocess
import sys

from pyspark import SparkFiles
from pyspark.sql import SparkSession

HERE = os.path.dirname(os.path.abspath(__file__))
SQL = os.path.join(HERE, "..", "..", "sql")
TABLES = ["connections", "subflows", "mappings", "data_acks", "events", "checks", "segments"]
QUERIES = ["connections_by_token", "subflow_bytes", "reinjected", "multi_probe"]


def export_one(binary_name, out, extra):
    def run(path):
        exe = SparkFiles.get(binary_name)
        os.chmod(exe, os.stat(exe).st_mode | stat.S_IXUSR)
        p = subprocess.run([exe, "--jobs", "1", "export", path, "-o", out] + extra, capture_output=True, text=True)
        return path, p.returncode, p.stdout, p.stderr
    return run


def plain(v):
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def statements(text):
    # the SQL files keep semicolons out of their comments
    for stmt in text.split(";"):
        if any(l.strip() and not l.strip().startswith("--") for l in stmt.splitlines()):
            yield stmt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--binary", required=True, help="the mptcp-trace executable to ship")
    ap.add_argument("--out", required=True, help="table directory (shared by all executors)")
    ap.add_argument("--results", help="write the query results here (default: stdout)")
    ap.add_argument("--master", help="e.g. local[2] when run with plain python3")
    ap.add_argument("--segments", action="store_true", help="also the segments table")
    a = ap.parse_args()

    b = SparkSession.builder.appName("mptcp-trace export")
    if a.master:
        b = b.master(a.master)
        if a.master.startswith("local"):
            # Local mode needs no network name: without this Spark resolves the host's own name
            # and stops when the machine cannot (a fresh container's hostname not in /etc/hosts).
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = b.config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    sc = spark.sparkContext
    sc.addFile(os.path.abspath(a.binary))
    out = os.path.abspath(a.out)
    extra = ["--segments"] if a.segments else []
    paths = [os.path.abspath(p) for p in a.captures]
    done = sc.parallelize(paths, len(paths)).map(export_one(os.path.basename(a.binary), out, extra)).collect()
    failed = [d for d in done if d[1] != 0]
    for path, rc, _, err in failed:
        sys.stderr.write("export of %s failed (exit %d): %s\n" % (path, rc, err.strip()))

    for t in TABLES:
        d = os.path.join(out, t)
        if os.path.isdir(d) and any(f.endswith(".parquet") for f in os.listdir(d)):
            spark.read.parquet(d).createOrReplaceTempView(t)
    with open(os.path.join(SQL, "common.sql")) as f:
        for stmt in statements(f.read()):
            spark.sql(stmt)
    res = {}
    for q in QUERIES:
        with open(os.path.join(SQL, q + ".sql")) as f:
            df = spark.sql(f.read().strip().rstrip(";"))
        res[q] = [{k: plain(v) for k, v in r.asDict().items()} for r in df.collect()]
    res["exports"] = [{"capture": p, "exit": rc} for p, rc, _, _ in done]
    text = json.dumps(res, indent=1) + "\n"
    if a.results:
        with open(a.results, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
