"""Small builders for routing contexts (pure values, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.routing import RotaOnCallInfo, RoutingContext, StaffInfo

NOW = datetime(2026, 6, 3, 3, 0, tzinfo=UTC)
FALLBACK = "+12015550199"


def cm(staff_id: int, *, active=True, sms_ok=True, available=True, on_leave=False) -> StaffInfo:
    return StaffInfo(
        id=staff_id,
        role="case_manager",
        active=active,
        sms_ok=sms_ok,
        available=available and not on_leave,
        on_leave=on_leave,
    )


def sup(staff_id: int, *, active=True, sms_ok=True, available=False, on_leave=False) -> StaffInfo:
    return StaffInfo(
        id=staff_id,
        role="supervisor",
        active=active,
        sms_ok=sms_ok,
        available=available and not on_leave,
        on_leave=on_leave,
    )


def rota(rota_id: int, priority: int, staff_id: int | None) -> RotaOnCallInfo:
    return RotaOnCallInfo(rota_id=rota_id, priority=priority, staff_id=staff_id)


def context(
    *,
    staff=(),
    assigned=None,
    backup=None,
    on_call=(),
    policy=None,
    ack=300,
    priority_timeout=120,
    high_priority=False,
    channel="sms",
    fallback=FALLBACK,
) -> RoutingContext:
    return RoutingContext(
        client_assigned_id=assigned,
        client_backup_id=backup,
        staff={s.id: s for s in staff},
        on_call=tuple(on_call),
        policy=policy,
        ack_timeout_seconds=ack,
        priority_timeout_seconds=priority_timeout,
        high_priority=high_priority,
        fallback_number=fallback,
        channel=channel,
    )


def summary(levels) -> list[tuple[str, tuple[int, ...]]]:
    return [(level.kind, level.staff_ids) for level in levels]
