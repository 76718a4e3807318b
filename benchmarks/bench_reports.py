"""The summary report over many contacts on PostgreSQL (goal: < 1 s for 1,000,000).

Builds its own database (crisisroute_bench_reports on 127.0.0.1:5432 unless
BENCH_DATABASE_URL is set), fills it with INSERT … SELECT generate_series,
then times `app.reports.service.summary` for a one-year window.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NAME = "crisisroute_bench_reports"


def _database_url() -> str | None:
    from sqlalchemy import text

    from app.db import make_engine

    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    try:
        admin = make_engine(ADMIN_URL)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {NAME}"))
        admin.dispose()
    except Exception as exc:  # no PostgreSQL here
        print(f"# report benchmark skipped: PostgreSQL not reachable ({type(exc).__name__})")
        return None
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + NAME


SEED = """
INSERT INTO contact (team_id, channel, from_number, client_id, candidate_client_ids, status, priority, plan, level,
                     acknowledged_by, needs_callback, outcome, risk_level, caller_type, acknowledged_at, first_response_at, created_at, updated_at,
                     after_hours, repeat_within_7d)
SELECT 1,
       CASE WHEN g % 4 = 0 THEN 'voice' ELSE 'sms' END,
       '+1201555' || lpad((g % 5000)::text, 4, '0'),
       NULL, '[]', (ARRAY['resolved','resolved','acknowledged','unanswered'])[1 + g % 4], 'normal', '[]', 1 + g % 3,
       1, false,
       (ARRAY['resolved_by_phone','safety_plan_used','er_visit','non_crisis',NULL])[1 + g % 5],
       (ARRAY['low','moderate','high','imminent'])[1 + g % 4],
       (ARRAY['self','family','other'])[1 + g % 3],
       ts + ((g % 900) || ' seconds')::interval,
       ts + ((g % 600) || ' seconds')::interval,
       ts, ts,
       extract(isodow from timezone('America/New_York', ts)) > 5
         OR extract(hour from timezone('America/New_York', ts)) NOT BETWEEN 9 AND 16,
       g > 5000
FROM (SELECT g, timestamptz '2026-01-01 00:00+00' + (((g - 1) * 31.536)::int || ' seconds')::interval AS ts
      FROM generate_series(1, :n) AS g) AS s
"""


def run(quick: bool = False) -> dict[str, float]:
    from sqlalchemy import text

    from app import migrations
    from app.db import Database
    from app.reports.service import summary
    from app.teams.models import Staff, Team

    url = _database_url()
    if url is None:
        return {}
    n = 50_000 if quick else 1_000_000
    db = Database.from_url(url)
    try:
        migrations.upgrade(db.engine)
        with db.session() as session:
            session.add(
                Team(
                    name="Bench",
                    timezone="America/New_York",
                    crisis_line_number="+19735550100",
                    fallback_number="+19085550111",
                )
            )
            session.flush()
            # An acknowledged contact is held by a person: staff 1 holds them all.
            session.add(Staff(team_id=1, name="Holder", phone="+12015550180", role="supervisor"))
        t0 = time.perf_counter()
        with db.engine.begin() as c:
            # The app's engine caps statements at 10 s; seeding a million rows may take longer.
            c.execute(text("SET LOCAL statement_timeout = 0"))
            c.execute(text(SEED), {"n": n})
        # Steady state, as autovacuum leaves a live table: hint bits set, statistics fresh.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE contact"))
        seed_s = time.perf_counter() - t0
        start, end = (
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        )
        timings = []
        for _ in range(3):
            with db.session() as session:
                team = session.get(Team, 1)
                t0 = time.perf_counter()
                report = summary(session=session, team=team, start=start, end=end)
                timings.append((time.perf_counter() - t0) * 1000)
        assert report["contacts"] == n, report["contacts"]
        return {
            "report_contacts": n,
            "report_seed_s": round(seed_s, 1),
            "report_summary_ms": round(statistics.median(timings), 1),
        }
    finally:
        db.engine.dispose()
        if not os.environ.get("BENCH_DATABASE_URL"):
            _drop_database()  # a million rows are not left behind on the server


def _drop_database() -> None:
    from sqlalchemy import text

    from app.db import make_engine

    admin = make_engine(ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
    admin.dispose()


if __name__ == "__main__":
    for name, value in run(quick="--quick" in sys.argv).items():
        print(f"{name}: {value}")
