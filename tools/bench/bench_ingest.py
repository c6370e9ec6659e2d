"""Benchmark: the contract load vs a bare DuckDB CTAS vs pandas, and `check` over 10,000 unchanged files.

Measured side by side in one run, each variant in its own child process (so peak memory is its own),
on the same generated sales CSV (tools/generate_sales.py --single-file, lab 1's column order):

* bare     : ``CREATE TABLE AS SELECT * FROM read_csv(...)`` with explicit types into a file database
             (DuckDB's default settings);
* contract : the Load step itself (``ingest.load.load_file``: header check, lab 1's sales contract
             types + rejects + rules, the file's ledger entry, one transaction), with the runner's
             ``preserve_insertion_order=false``;
* pandas   : ``pandas.read_csv`` with the same dtypes, then inserted into a file database;
* parser   : DuckDB's CSV parser alone (a typed scan aggregated in memory), for scale;
* check    : ``CSVMonitor.check`` over 10,000 small files already in the ledger (no content read).

Usage::

    python tools/bench/bench_ingest.py             # 10M rows (~750 MB; generated once, cached)
    python tools/bench/bench_ingest.py --rows 500000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB1 = ROOT / "labs" / "lab1_sales_performance"


def _child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh Python; return its JSON result plus its own peak RSS in MB."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark child failed: {code.splitlines()[0]}")
    result = json.loads(out.strip().splitlines()[-1])
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    result["peak_mb"] = usage.ru_maxrss * scale / 1e6
    return result


_TYPES = """
from buildcpg_shared.config import load_lab_config
columns = load_lab_config(__import__('pathlib').Path(sys.argv[2]) / 'lab.yaml').sources['sales'].duckdb_columns
cols = '{' + ', '.join(f"'{c}': '{t}'" for c, t in columns.items()) + '}'
scan = f"read_csv('{sys.argv[1]}', columns={cols}, header=true, auto_detect=false)"
"""

BARE = (
    "import duckdb, json, sys, time"
    + _TYPES
    + """
con = duckdb.connect(sys.argv[3])
start = time.perf_counter()
con.execute(f"create table sales as select * from {scan}")
n = con.execute('select count(*) from sales').fetchone()[0]
con.close()
print(json.dumps({'seconds': time.perf_counter() - start, 'rows': n}))
"""
)

PARSER = (
    "import duckdb, json, sys, time"
    + _TYPES
    + """
con = duckdb.connect()
start = time.perf_counter()
n = con.execute(f"select count(*), sum(units), max(sale_date), sum(revenue) from {scan}").fetchone()[0]
print(json.dumps({'seconds': time.perf_counter() - start, 'rows': n}))
"""
)

CONTRACT = """
import duckdb, json, sys, time
from pathlib import Path
from buildcpg_shared.config import load_lab_config
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import RawFile, file_sha256
from buildcpg_shared.ingest.load import ensure_tables, load_file
source = load_lab_config(Path(sys.argv[2]) / 'lab.yaml').sources['sales'].model_copy(update={'files': 'sales.csv'})
path = Path(sys.argv[1])
stat = path.stat()
t0 = time.perf_counter()
raw = RawFile('sales', path, 'sales.csv', stat.st_size, stat.st_mtime_ns, file_sha256(path))
hashed = time.perf_counter() - t0
con = duckdb.connect(sys.argv[3])
con.execute('set preserve_insertion_order = false')
start = time.perf_counter()
ledger.ensure_ledger(con)
ensure_tables(con, 'sales', source)
loaded = load_file(con, raw, source, 'bench')
con.close()
seconds = time.perf_counter() - start
print(json.dumps({'seconds': seconds, 'rows': loaded.rows, 'rejected': loaded.rejected, 'hash_seconds': hashed}))
"""

PANDAS = (
    "import duckdb, json, sys, time, pandas as pd"
    + _TYPES
    + """
dtypes = {'transaction_id': 'string', 'store_id': 'string', 'sku': 'string', 'promo_id': 'string',
          'units': 'Int32', 'unit_price': 'float64', 'discount_pct': 'float64', 'revenue': 'float64'}
start = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=dtypes, parse_dates=['sale_date'])
con = duckdb.connect(sys.argv[3])
con.register('df', df)
con.execute('create table sales as select * from df')
n = con.execute('select count(*) from sales').fetchone()[0]
con.close()
print(json.dumps({'seconds': time.perf_counter() - start, 'rows': n}))
"""
)

CHECK = """
import duckdb, json, sys, time
from pathlib import Path
from buildcpg_shared.config import LabConfig
from buildcpg_shared.ingest import check, ledger
from buildcpg_shared.ingest.monitor import CSVMonitor
raw_dir = Path(sys.argv[1])
raw_dir.mkdir(parents=True, exist_ok=True)
sources = {'s': {'files': 'f_*.csv', 'columns': {'a': 'INTEGER'}}}
config = LabConfig.model_validate({'name': 'lab9_bench', 'sources': sources})
con = duckdb.connect(sys.argv[2])
ledger.ensure_ledger(con)
con.execute('begin')
for i in range(10000):
    p = raw_dir / f'f_{i:05d}.csv'
    p.write_text(f'a\\n{i}\\n')
    st = p.stat()
    ledger.record(con, ledger.LedgerEntry('s', p.name, st.st_size, st.st_mtime_ns, check.file_sha256(p), 1, 0), 'b')
con.execute('commit')
hashed = []
real_hash = check.file_sha256
check.file_sha256 = lambda path, chunk=0: hashed.append(path) or real_hash(path)
start = time.perf_counter()
known = ledger.read_ledger(con)
plan = CSVMonitor(raw_dir, config).check(known)
seconds = time.perf_counter() - start
print(json.dumps({'seconds': seconds, 'unchanged': len(plan.unchanged), 'hashed': len(hashed)}))
"""


def ensure_csv(rows: int, cache: Path) -> Path:
    """The generated single-file sales CSV for ``rows`` (generated once, then reused)."""
    folder = cache / f"sales_{rows}"
    path = folder / "sales.csv"
    if not path.exists():
        print(f"generating {rows:,} sales rows into {folder} (once) …", flush=True)
        generator = [sys.executable, str(ROOT / "tools" / "generate_sales.py"), "--out", str(folder)]
        subprocess.run([*generator, "--rows", str(rows), "--single-file", "--no-dirty"], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="sales rows to generate and load")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "buildcpg-bench", help="where the CSV is kept"
    )
    args = parser.parse_args()
    csv_path = ensure_csv(args.rows, args.cache)
    size_mb = csv_path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        db = lambda name: str(work / f"{name}.duckdb")  # noqa: E731
        bare = _child(BARE, str(csv_path), str(LAB1), db("bare"))
        contract = _child(CONTRACT, str(csv_path), str(LAB1), db("contract"))
        pandas = _child(PANDAS, str(csv_path), str(LAB1), db("pandas"))
        parser_only = _child(PARSER, str(csv_path), str(LAB1), db("unused"))
        check = _child(CHECK, str(work / "raw10k"), db("check"))
    rows = int(bare["rows"])
    assert int(contract["rows"]) + int(contract["rejected"]) == rows == int(pandas["rows"]), "row counts differ"

    def line(name: str, result: dict[str, float], note: str = "") -> str:
        rate = rows / result["seconds"] / 1e6
        return f"  {name:<34} {result['seconds']:7.2f} s  {rate:5.2f} M rows/s  peak {result['peak_mb']:7.0f} MB{note}"

    print(f"bench_ingest: {rows:,} rows, {size_mb:,.0f} MB CSV ({csv_path})")
    print(line("bare typed CTAS (DuckDB defaults)", bare))
    print(line("contract load (types+rejects+rules", contract, f"  + hash {contract['hash_seconds']:.2f} s"))
    print(line("pandas read_csv + insert", pandas))
    print(line("DuckDB parser alone", parser_only))
    ratio = contract["seconds"] / bare["seconds"]
    vs_pandas = contract["seconds"] / pandas["seconds"]
    memory = contract["peak_mb"] / pandas["peak_mb"]
    print(f"  contract / bare time      = {ratio:.2f}x  (target <= 1.00x)  {'OK' if ratio <= 1.0 else 'MISSED'}")
    print(f"  contract / pandas time    = {vs_pandas:.2f}x  (target < 1.00x)  {'OK' if vs_pandas < 1.0 else 'MISSED'}")
    print(f"  contract / pandas memory  = {memory:.2f}x  (target <= 0.33x)  {'OK' if memory <= 1 / 3 else 'MISSED'}")
    print(
        f"  check over {int(check['unchanged']):,} unchanged files = {check['seconds']:.3f} s, "
        f"{int(check['hashed'])} file(s) read  (target < 1 s, none read)  "
        f"{'OK' if check['seconds'] < 1 and not check['hashed'] else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
