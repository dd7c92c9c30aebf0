#!/usr/bin/env python3
"""Runs the warehouse query set with DuckDB and Polars on the very files and SQL that
`parterre bench warehouse` wrote, and prints the time of each engine and the ratio
DataFusion / other per query.

    cargo run --release -- bench warehouse --scale 10 --dir /tmp/pb
    python3 benches/compare.py /tmp/pb/warehouse [--runs 5] [--max-ratio 1.5]

DuckDB and Polars are installed by the script into a virtual environment under
~/.cache/parterre-bench-venv (nothing is installed system-wide). With --max-ratio, the exit
status is 1 when DataFusion is slower than that ratio of DuckDB on any query.
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
TABLES = ["dim_show", "dim_performance", "dim_contact", "fact_ticket", "fact_order", "fact_payment", "events"]


def ensure_venv():
    """Re-runs this script inside a virtual environment that has DuckDB and Polars."""
    if os.environ.get("PARTERRE_BENCH_VENV") == "1":
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"Installation de DuckDB et Polars dans {VENV}…", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    env = dict(os.environ, PARTERRE_BENCH_VENV="1")
    sys.exit(subprocess.run([str(py), __file__, *sys.argv[1:]], env=env).returncode)


def best_of(fn, runs):
    fn()  # unmeasured: caches warm, as for DataFusion
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return min(times)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__)
        sys.exit(2)
    root = pathlib.Path(args[0]).resolve()
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
    max_ratio = float(args[args.index("--max-ratio") + 1]) if "--max-ratio" in args else None
    ensure_venv()
    import duckdb
    import polars as pl

    queries = sorted((root / "queries").glob("*.sql"))
    datafusion = {t["name"]: t for t in json.loads((root / "datafusion.json").read_text())}
    tables = [t for t in TABLES if (root / t).is_dir() and any((root / t).glob("season=*/*.parquet"))]

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

    print(f"{'requête':<36} {'DataFusion':>11} {'DuckDB':>10} {'ratio':>6} {'Polars':>10} {'ratio':>6}")
    worst = 0.0
    for q in queries:
        name = q.stem
        sql = q.read_text()
        df_ms = datafusion[name]["best_ms"]
        duck_rows = con.execute(sql).fetchall()
        duck_ms = best_of(lambda: con.execute(sql).fetchall(), runs)
        if len(duck_rows) != datafusion[name]["rows"]:
            print(f"  attention : {name} rend {len(duck_rows)} lignes avec DuckDB, {datafusion[name]['rows']} avec DataFusion")
        try:
            pol_ms = best_of(lambda: ctx.execute(sql).collect(), runs)
            pol = f"{pol_ms:>7.1f} ms {df_ms / pol_ms:>6.2f}"
        except Exception as e:  # Polars SQL lacks some constructs: say so, do not hide it
            pol = f"{'n/a':>10} {'':>6}  ({type(e).__name__}: {str(e).splitlines()[0][:60]})"
        ratio = df_ms / duck_ms
        worst = max(worst, ratio)
        print(f"{name:<36} {df_ms:>8.1f} ms {duck_ms:>7.1f} ms {ratio:>6.2f} {pol}")
    print(f"pire rapport DataFusion / DuckDB : {worst:.2f}")
    if max_ratio is not None and worst > max_ratio:
        sys.exit(1)


if __name__ == "__main__":
    main()
