"""How long a CSV import holds SQLite's write lock (the router needs it for
every text): `crisisroute import clients` of N rows into a fresh database,
each transaction timed from its BEGIN IMMEDIATE to its COMMIT or ROLLBACK.

    .venv/bin/python benchmarks/bench_csv_import.py --rows 30000

Prints `name: value` lines: rows, seconds in all, transactions, the longest
hold and the 99th percentile of holds (ms).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30000)
    args = parser.parse_args()

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from typer.testing import CliRunner

    from app import migrations
    from app.cli import cli
    from app.db import Database, make_engine
    from app.teams.models import Team

    workdir = Path(tempfile.mkdtemp(prefix="crisisroute-csv-bench-"))
    url = f"sqlite:///{workdir}/bench.db"
    os.environ["DATABASE_URL"] = url
    os.environ.pop("MESSAGING_TRANSPORT", None)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    database = Database.from_url(url)
    with database.session() as session:
        team = Team(
            name="Bench",
            timezone="America/New_York",
            region="US",
            crisis_line_number="+19735550100",
            fallback_number="988",
        )
        session.add(team)
        session.flush()
        team_id = team.id
    database.engine.dispose()

    path = workdir / "clients.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["preferred_name", "phones"])
        for n in range(args.rows):
            area = 201 + n // 1_000_000
            writer.writerow([f"Client {n}", f"+1{area}{2000000 + n % 1_000_000:07d}:self"])

    holds: list[float] = []
    started: dict[int, float] = {}

    @event.listens_for(Engine, "begin")
    def _begin(connection):
        started[id(connection)] = time.perf_counter()

    def _end(connection):
        t0 = started.pop(id(connection), None)
        if t0 is not None:
            holds.append(time.perf_counter() - t0)

    event.listen(Engine, "commit", _end)
    event.listen(Engine, "rollback", _end)

    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["import", "clients", str(path), "--team", str(team_id)])
    elapsed = time.perf_counter() - t0
    if result.exit_code != 0:
        print(result.output[-2000:], file=sys.stderr)
        raise SystemExit(1)
    holds.sort()
    print(f"csv_import_rows: {args.rows}")
    print(f"csv_import_seconds: {elapsed:.1f}")
    print(f"csv_import_transactions: {len(holds)}")
    print(f"csv_import_longest_lock_hold_ms: {holds[-1] * 1000:.0f}")
    print(f"csv_import_p99_lock_hold_ms: {holds[int(len(holds) * 0.99)] * 1000:.0f}")


if __name__ == "__main__":
    main()
