"""The functions other domains call: oncall_snapshot and schedule_for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

import rotas
from app.oncall import service
from app.oncall.models import Rota, RotaOverride
from tests.oncall.conftest import NOW, weekly

UTC = UTC


def add_rota(session, team, **fields) -> Rota:
    body = weekly(team, **fields)
    rota = Rota(
        team_id=team.team.id,
        name=body["name"],
        priority=body["priority"],
        timezone=body["timezone"],
        layers=body["layers"],
    )
    session.add(rota)
    session.flush()
    return rota


def test_schedule_for_converts_rows_to_engine_types(session, team):
    rota = add_rota(session, team)
    rota.layers[0]["restrictions"] = [{"days": ["sat", "sun"], "start": "22:00", "end": "24:00"}]
    override = RotaOverride(
        rota_id=rota.id, staff_id=team.b.id, start=NOW, end=NOW + timedelta(hours=1)
    )
    session.add(override)
    session.flush()
    schedule = service.schedule_for(rota, [override])
    assert schedule.timezone == "America/New_York"
    layer = schedule.layers[0]
    assert layer.turn == rotas.Turn("weeks", 1)
    assert layer.start == datetime(2026, 1, 5, 9, 0) and layer.start.tzinfo is None
    assert layer.participants == (team.a.id, team.b.id)
    assert layer.restrictions == (rotas.Restriction(frozenset({5, 6}), 22 * 60, 1440),)
    assert schedule.overrides == (
        rotas.Override(NOW, NOW + timedelta(hours=1), team.b.id, ref=override.id),
    )


def test_oncall_snapshot_is_in_priority_order(session, team):
    backup = add_rota(session, team, name="Backup", priority=2)
    backup.layers[0]["participants"] = [team.b.id, team.a.id]  # the other person each week
    primary = add_rota(session, team, name="Primary", priority=1)
    session.flush()
    snapshot = service.oncall_snapshot(session=session, team_id=team.team.id, at=NOW)
    assert [(s.rota_id, s.rota_name, s.priority) for s in snapshot] == [
        (primary.id, "Primary", 1),
        (backup.id, "Backup", 2),
    ]
    assert {s.staff_id for s in snapshot} == {team.a.id, team.b.id}
    assert all(
        s.source == "layer:weekly" and s.until == datetime(2026, 11, 23, 14, tzinfo=UTC)
        for s in snapshot
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot[0].staff_id = None
    assert service.oncall_snapshot(session=session, team_id=team.other.id, at=NOW) == []


def test_on_call_hands_the_engine_only_overrides_near_at(session, team, monkeypatch):
    rota = add_rota(session, team)
    # A year of finished overrides, one running now, and some far ahead.
    for day in range(1, 366):
        start = NOW - timedelta(days=day)
        session.add(
            RotaOverride(
                rota_id=rota.id, staff_id=team.a.id, start=start, end=start + timedelta(hours=2)
            )
        )
    session.add(
        RotaOverride(
            rota_id=rota.id,
            staff_id=team.b.id,
            start=NOW - timedelta(hours=1),
            end=NOW + timedelta(hours=1),
        )
    )
    for day in (30, 60, 90):
        start = NOW + timedelta(days=day)
        session.add(
            RotaOverride(
                rota_id=rota.id, staff_id=team.a.id, start=start, end=start + timedelta(hours=2)
            )
        )
    session.flush()
    seen = []
    real = rotas.on_call
    monkeypatch.setattr(
        rotas,
        "on_call",
        lambda schedule, at: seen.append(len(schedule.overrides)) or real(schedule, at),
    )
    result = service.rota_on_call(session=session, rota=rota, at=NOW)
    assert (result.staff_id, result.source, result.until) == (
        team.b.id,
        "override",
        NOW + timedelta(hours=1),
    )
    assert seen == [1]
