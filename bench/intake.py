"""Intake of a large list: time and peak memory, to show that rows are streamed.

Each size runs in its own child process on a fresh database, which reads a GB18030 CSV
with messy numbers through `campaigns.intake` and `services.submit_request`, exactly as
`outbound submit --no-check` does. If rows were held in memory, peak RSS would grow with
the list; streamed, it stays flat.

    .venv/bin/python bench/intake.py                      # 200,000 and 2,000,000 rows, SQLite
    .venv/bin/python bench/intake.py --rows 100000 500000 --database postgresql+psycopg2://...
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def _write_list(path: Path, rows: int) -> None:
    with path.open("w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "手机号码", "姓名"])
        for i in range(rows):
            local = f"138{i % 100_000_000:08d}"
            style = i % 4
            raw = (
                local
                if style == 0
                else f"+86 {local[:3]} {local[3:7]} {local[7:]}"
                if style == 1
                else f"{local[:3]}-{local[3:7]}-{local[7:]}"
                if style == 2
                else f"'{local}"
            )
            w.writerow([i + 1, raw, f"客户{i}"])


def _run(rows: int, database: str | None, out: Any) -> None:
    from campaigns import services
    from campaigns.intake import ListLimits, open_list
    from campaigns.model import CampaignRequestDraft
    from campaigns.storage.bulk import load_reference
    from flows import migrate
    from flows.bootstrap import bootstrap
    from flows.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{tmp}/bench.db"
        app = bootstrap(Settings(database_url=url, data_dir=Path(tmp)))
        migrate.downgrade(app.engine, "base")
        migrate.upgrade(app.engine)
        now = datetime.now(UTC)
        with app.engine.begin() as conn:
            load_reference(conn, now=now, quota=None)
        path = Path(tmp) / "list.csv"
        _write_list(path, rows)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        limits = ListLimits(max_rows=rows + 1, max_bytes=2 << 30)
        lf = open_list(path, limits=limits)
        today = services.branch_today(uow=app.uow(), branch_code="GZ", now=now)
        result = services.submit_request(
            uow=app.uow(),
            draft=CampaignRequestDraft(
                "GZ",
                "5G_PLUS_59",
                "bench",
                rows,
                1,
                today,
                today + timedelta(days=5),
                today.strftime("%Y-%m"),
            ),
            rows=lf,
            file_digest=lf.digest,
            list_filename=path.name,
            now=now,
            limits=limits,
        )
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.put(
            {
                "rows": result.rows,
                "seconds": elapsed,
                "base_mb": base_rss / 1024,
                "peak_mb": peak / 1024,
                "file_mb": path.stat().st_size / 1e6,
            }
        )
        if database:
            migrate.downgrade(app.engine, "base")


def main() -> None:
    """Run each size in a child process and print time, rows/s and peak RSS."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--database", help="SQLAlchemy URL; a temporary SQLite file if absent")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    results = []
    for rows in args.rows:
        queue = ctx.Queue()
        child = ctx.Process(target=_run, args=(rows, args.database, queue))
        child.start()
        results.append(queue.get())
        child.join()
    print(
        f"{'rows':>10} {'file MB':>8} {'seconds':>8} {'rows/s':>8} {'RSS before':>10} "
        f"{'peak RSS':>9}"
    )
    for r in results:
        print(
            f"{r['rows']:>10,} {r['file_mb']:>8.0f} {r['seconds']:>8.1f} "
            f"{r['rows'] / r['seconds']:>8,.0f} {r['base_mb']:>8.0f} MB {r['peak_mb']:>6.0f} MB"
        )
    growth = results[-1]["peak_mb"] - results[0]["peak_mb"]
    print(
        json.dumps(
            {
                "peak_rss_growth_mb": round(growth, 1),
                "rows_ratio": results[-1]["rows"] / results[0]["rows"],
            }
        )
    )


if __name__ == "__main__":
    main()
