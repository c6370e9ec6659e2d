"""Benchmark: DataInspector's full profile vs one bare aggregate pass, DuckDB SUMMARIZE and pandas.

On one table of N rows (default 10M) generated directly in DuckDB (range + random expressions),
in a file database, measured side by side in one run:

* **bare pass**: one ``select`` with count, nulls, approx distinct, min and max of every column —
  the least any profile can do.
* **inspector**: ``DataInspector.profile`` — the bare pass plus mean, and top values of the
  low-cardinality columns (one narrow second pass).
* **SUMMARIZE**: DuckDB's ``SUMMARIZE`` (quantiles, exact-ish stats).
* **pandas**: fetch the table into a DataFrame, then ``describe(include='all')``; peak memory of
  that child process is reported.

Targets: inspector ≤ 1.5× the bare pass; SUMMARIZE and pandas both far behind the inspector.
Each variant runs ``--trials`` times in alternating order; medians are compared.

    uv run --locked python tools/bench/bench_inspector.py [--rows 10000000] [--trials 3] [--no-pandas]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from buildcpg_shared.inspect import DataInspector

TABLE = "gold.sales"
COLUMNS_SQL = """
    i as line_id,
    'T' || lpad(i::varchar, 10, '0') as transaction_id,
    date '2024-01-01' + (i % 730)::int as sale_date,
    'S' || lpad((i % 200)::varchar, 3, '0') as store_id,
    ['North', 'South', 'East', 'West', 'Central'][1 + (i % 5)::int] as region,
    case when random() < 0.02 then null else (random() * 40 + 1)::int end as units,
    round(random() * 100, 2)::decimal(10, 2) as unit_price,
    random() as score,
    case when random() < 0.3 then 'P' || (i % 50)::varchar end as promo_id
"""

PANDAS_CHILD = r"""
import resource, sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set enable_progress_bar = false")
start = time.perf_counter()
frame = con.execute("select * from gold.sales").df()
frame.describe(include="all")
took = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(took, peak_kb * (1 if sys.platform == "darwin" else 1024))
"""


def build(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("set preserve_insertion_order = false")
        con.execute("create schema gold")
        con.execute(f"create table {TABLE} as select {COLUMNS_SQL} from range({rows}) r(i)")


def bare_pass(con: duckdb.DuckDBPyConnection) -> float:
    cols = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = 'sales' order by ordinal_position"
        ).fetchall()
    ]
    exprs = ["count(*)"]
    for c in cols:
        exprs += [f"count({c})", f"approx_count_distinct({c})", f"min({c})", f"max({c})"]
    start = time.perf_counter()
    con.execute(f"select {', '.join(exprs)} from {TABLE}").fetchall()
    return time.perf_counter() - start


def inspector(con: duckdb.DuckDBPyConnection) -> float:
    start = time.perf_counter()
    profile = DataInspector(con).profile("gold", "sales")
    assert profile.rows > 0
    return time.perf_counter() - start


def summarize(con: duckdb.DuckDBPyConnection) -> float:
    start = time.perf_counter()
    con.execute(f"summarize {TABLE}").fetchall()
    return time.perf_counter() - start


def pandas_describe(path: Path) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", PANDAS_CHILD, str(path)], capture_output=True, text=True, check=True)
    took, peak = out.stdout.split()[-2:]
    return float(took), int(float(peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas variant (needs ~4 GB at 10M rows)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inspector-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        start = time.perf_counter()
        build(path, args.rows)
        print(f"table {TABLE}: {args.rows:,} rows, 9 columns, built in {time.perf_counter() - start:.1f}s")
        times: dict[str, list[float]] = {"bare pass": [], "inspector": [], "SUMMARIZE": []}
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("set enable_progress_bar = false")
            bare_pass(con)  # warm the buffer pool once so every variant reads from memory
            variants = [("bare pass", bare_pass), ("inspector", inspector), ("SUMMARIZE", summarize)]
            for trial in range(args.trials):
                order = variants if trial % 2 == 0 else list(reversed(variants))
                took = {name: fn(con) for name, fn in order}
                for name, value in took.items():
                    times[name].append(value)
                print(f"trial {trial + 1}: " + ", ".join(f"{n} {took[n]:.2f}s" for n, _ in variants))
        peak = 0
        if not args.no_pandas:
            took, peak = pandas_describe(path)  # once: it is the slow, memory-hungry baseline
            times["pandas"] = [took]
            print(f"pandas fetch + describe: {took:.2f}s, peak memory {peak / 2**30:.2f} GiB")
        med = {name: statistics.median(v) for name, v in times.items()}
        base = med["bare pass"]
        print("\nmedians: " + ", ".join(f"{n} {v:.2f}s" for n, v in med.items()))
        ratio = med["inspector"] / base
        print(f"inspector / bare pass  = {ratio:5.2f}x  (target <= 1.5x): {'PASS' if ratio <= 1.5 else 'MISS'}")
        for name in ("SUMMARIZE", "pandas"):
            if name in med:
                behind = med[name] / med["inspector"]
                print(
                    f"{name:<9} / inspector = {behind:5.2f}x  ({name} / bare pass = {med[name] / base:.1f}x): "
                    f"{'PASS' if behind >= 3 else 'MISS'} (the inspector must be far ahead: >= 3x)"
                )
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        print(
            f"peak memory: this process (bare, inspector, SUMMARIZE) {own / 2**30:.2f} GiB"
            + (f", pandas child {peak / 2**30:.2f} GiB" if peak else "")
        )


if __name__ == "__main__":
    main()
