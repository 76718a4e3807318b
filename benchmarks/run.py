"""Run every benchmark and print `name: value` lines.

    python benchmarks/run.py            # full run (a few minutes)
    python benchmarks/run.py --quick    # under a minute on 2 cores
    python benchmarks/run.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

`--postgres` names a server (an admin URL): the benchmarks create and drop
their own databases there (crisisroute_bench_proof*) and the webhook and
escalation runs use PostgreSQL instead of SQLite. `sms_per_s_postgres` always
uses PostgreSQL (127.0.0.1:5432 unless `--postgres` says otherwise) and is
skipped, with the reason printed, when it is not reachable.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def emit(lines) -> None:
    """Lines as (name, value) pairs, a {name: value} dict, or "name: value" strings."""
    if isinstance(lines, dict):
        lines = lines.items()
    for line in lines or []:
        if isinstance(line, str):
            print(line, flush=True)
        else:
            name, value = line
            print(f"{name}: {value}", flush=True)


def section(name: str, func, *args) -> None:
    started = time.monotonic()
    try:
        emit(func(*args))
    except Exception as exc:  # one broken benchmark must not hide the others
        print(
            f"{name}_error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            flush=True,
        )
        traceback.print_exc(file=sys.stderr)
    print(f"# {name} took {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)


def optional(module: str):
    """Another engineer's benchmark module, when it exists."""
    if not (HERE / f"{module}.py").exists():
        return None
    return importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL admin URL for the webhook/escalation runs"
    )
    parser.add_argument(
        "--only",
        choices=["webhook", "escalation", "rotas", "reports", "console"],
        action="append",
        help="run only these (repeatable)",
    )
    args = parser.parse_args(argv)
    only = set(args.only or ["webhook", "escalation", "rotas", "reports", "console"])
    started = time.monotonic()
    print(f"cores: {os.cpu_count()}", flush=True)
    # Other work on the machine skews every figure here: say how busy it was.
    print(f"loadavg_1m_at_start: {os.getloadavg()[0]:.2f}", flush=True)
    print(f"mode: {'quick' if args.quick else 'full'}", flush=True)
    if "webhook" in only:
        import bench_webhook

        section("webhook", bench_webhook.run, args.quick, args.postgres)
    if "escalation" in only:
        import bench_escalation

        section("escalation", bench_escalation.run, args.quick, args.postgres)
    for name in ("rotas", "reports"):
        if name in only:
            module = optional(f"bench_{name}")
            if module is None:
                print(f"# bench_{name}.py not present", file=sys.stderr)
            else:
                section(name, module.run, args.quick)
    if "console" in only:
        import bench_console

        section("console", bench_console.run, args.quick, args.postgres)
    print(f"loadavg_1m_at_end: {os.getloadavg()[0]:.2f}", flush=True)
    print(f"total_seconds: {time.monotonic() - started:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
