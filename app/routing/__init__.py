"""Routing: who is tried, in what order. Pure — no database, no I/O; `now` is an argument."""

from app.routing.availability import (
    in_working_hours,
    is_available,
    is_on_leave,
    parse_working_hours,
    validate_working_hours,
)
from app.routing.plan import (
    FALLBACK_LABEL,
    Level,
    PolicyLevel,
    RotaOnCallInfo,
    RoutingContext,
    StaffInfo,
    Target,
    fallback_plan,
    parse_policy,
    plan,
    plan_from_json,
    plan_to_json,
    rota_label,
)

__all__ = [
    "FALLBACK_LABEL",
    "Level",
    "PolicyLevel",
    "RotaOnCallInfo",
    "RoutingContext",
    "StaffInfo",
    "Target",
    "fallback_plan",
    "in_working_hours",
    "is_available",
    "is_on_leave",
    "parse_policy",
    "parse_working_hours",
    "plan",
    "plan_from_json",
    "plan_to_json",
    "rota_label",
    "validate_working_hours",
]
