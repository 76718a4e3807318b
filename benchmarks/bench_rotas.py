"""Rota engine figures: on_call cost independent of the rota's age, and a
year of final schedule for 5 layers x 20 people with overrides."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rotas import Layer, Override, Restriction, Schedule, Turn, final_schedule, on_call

UTC = UTC
ANCHOR = datetime(2026, 1, 5, 9, 0)


def _schedule() -> Schedule:
    people = [f"p{i}" for i in range(20)]
    layers = (
        Layer("weekly", Turn("weeks", 1), ANCHOR, tuple(people)),
        Layer("daily", Turn("days", 1), ANCHOR, tuple(people[5:])),
        Layer(
            "nights",
            Turn("days", 2),
            ANCHOR.replace(hour=17),
            tuple(people[::2]),
            (Restriction(frozenset(range(5)), 17 * 60, 9 * 60),),
        ),
        Layer(
            "weekends",
            Turn("weeks", 1),
            ANCHOR,
            tuple(people[1::2]),
            (Restriction(frozenset({5, 6}), 0, 1440),),
        ),
        Layer(
            "hourly",
            Turn("hours", 12),
            ANCHOR,
            tuple(people[:7]),
            (Restriction(frozenset({2}), 600, 840),),
        ),
    )
    start = datetime(2026, 1, 5, 14, tzinfo=UTC)
    overrides = tuple(
        Override(
            start + timedelta(days=7 * i + 1),
            start + timedelta(days=7 * i + 1, hours=10),
            f"p{i % 20}",
        )
        for i in range(50)
    )
    return Schedule("America/New_York", layers, overrides)


def _median_us(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(samples)


def _paired_medians_us(first, second, repeat: int) -> tuple[float, float]:
    """Alternate the two calls so background load hits both alike (the ratio matters)."""
    a, b = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        a.append((t1 - t0) * 1e6)
        b.append((t2 - t1) * 1e6)
    return statistics.median(a), statistics.median(b)


def run(quick: bool = False) -> dict[str, float]:
    schedule = _schedule()
    anchor = datetime(2026, 1, 5, 14, tzinfo=UTC)  # the layers' anchor, 09:00 EST
    near_at = anchor + timedelta(days=1, hours=3)
    far_at = anchor + timedelta(days=3652, hours=3)
    for at in (near_at, far_at):
        on_call(schedule, at)  # warm the schedule's derived state (zone, layer clocks)
    near, far = _paired_medians_us(
        lambda: on_call(schedule, near_at),
        lambda: on_call(schedule, far_at),
        300 if quick else 3000,
    )
    year = _median_us(
        lambda: final_schedule(schedule, anchor, anchor + timedelta(days=365)), 7 if quick else 31
    )
    return {
        "rota_on_call_1d_us": round(near, 1),
        "rota_on_call_10y_us": round(far, 1),
        "rota_on_call_ratio": round(far / near, 2),
        "rota_final_schedule_1y_ms": round(year / 1000, 2),
    }


if __name__ == "__main__":
    for name, value in run(quick="--quick" in sys.argv).items():
        print(f"{name}: {value}")
