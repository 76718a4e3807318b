"""Routing: who is tried, in what order. Pure — no database, no I/O; `now` is an argument."""

from app.routing.availability import (
    in_working_hours,
    is_available,
    is_on_leave,
    is_reachable,
    parse_working_hours,
    unreachable_reason,
    validate_working_hours,
)
from app.routing.levels import (
    FALLBACK_LABEL,
    Level,
    Plan,
    SkippedLevel,
    fallback_plan,
    plan_from_json,
    plan_to_json,
)
from app.routing.plan import (
    RotaOnCallInfo,
    RoutingContext,
    StaffInfo,
    minimal_plan,
    plan,
    rota_label,
    speakers_first_after,
)
from app.routing.policy import PolicyLevel, Target, parse_policy

__all__ = [
    "FALLBACK_LABEL",
    "Level",
    "Plan",
    "PolicyLevel",
    "RotaOnCallInfo",
    "RoutingContext",
    "SkippedLevel",
    "StaffInfo",
    "Target",
    "fallback_plan",
    "in_working_hours",
    "is_available",
    "is_on_leave",
    "is_reachable",
    "minimal_plan",
    "parse_policy",
    "parse_working_hours",
    "plan",
    "plan_from_json",
    "plan_to_json",
    "rota_label",
    "speakers_first_after",
    "unreachable_reason",
    "validate_working_hours",
]
