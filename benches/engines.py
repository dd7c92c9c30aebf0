#!/usr/bin/env python3
"""DuckDB and Polars for `parterre bench warehouse`, which times them alternately with
DataFusion, query by query, in one run (this machine's speed drifts by ±30 % within minutes,
so figures taken minutes apart do not compare).

    python3 benches/engines.py serve WAREHOUSE_DIR

reads one JSON request per line on standard input, {"engine": "duckdb" | "polars", "sql": …},
runs the SQL once on the Parquet files of WAREHOUSE_DIR (every table, Hive-partitioned by
season) and answers one JSON line: {"ms": elapsed, "rows": [[text, …], …]} (NULL as "", every
value as text) or {"error": message}. It does not time itself beyond the query: the caller
takes medians.

DuckDB and Polars are installed by the script into a virtual environment under
~/.cache/parterre-bench-venv (nothing is installed system-wide).
"""
import json
import os
import pathlib
import subprocess
import sys
import time
import venv

VENV = pathlib.Path.home() / ".cache" / "parterre-bench-venv"
PACKAGES = ["duckdb>=1.1", "polars>=1.10"]


def ensure_venv():
    """Re-runs this script inside a virtual environment that has DuckDB and Polars."""
    if os.environ.get("PARTERRE_BENCH_VENV") == "1":
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"Installation de DuckDB et Polars dans {VENV}…", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True, stdout=sys.stderr)
    env = dict(os.environ, PARTERRE_BENCH_VENV="1")
    sys.exit(subprocess.run([str(py), __file__, *sys.argv[1:]], env=env).returncode)


def text(v):
    return "" if v is None else str(v)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    root = pathlib.Path(sys.argv[2]).resolve()
    ensure_venv()
    import duckdb
    import polars as pl

    tables = sorted(
        d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("_") and any(d.glob("season=*/*.parquet"))
    )
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() or 2}")
    ctx = pl.SQLContext()
    for t in tables:
        glob = f"{root}/{t}/season=*/*.parquet"
        con.execute(
            f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
            f"hive_types = {{'season': VARCHAR}})"
        )
        ctx.register(t, pl.scan_parquet(glob, hive_partitioning=True))
    print(json.dumps({"ready": tables}), flush=True)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            sql = req["sql"]
            t = time.perf_counter()
            if req["engine"] == "duckdb":
                rows = con.execute(sql).fetchall()
            elif req["engine"] == "polars":
                rows = ctx.execute(sql).collect().rows()
            else:
                raise ValueError(f"moteur inconnu : {req['engine']}")
            ms = (time.perf_counter() - t) * 1000.0
            out = {"ms": ms, "rows": [[text(v) for v in r] for r in rows]}
        except Exception as e:  # the caller reports it beside the query: never hide it
            out = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
