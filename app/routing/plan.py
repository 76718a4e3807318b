"""The route plan: who is tried, in what order, for one crisis contact.

Kept whole: the rules below and the one `_Planner` that applies
them read together; a plan's values live in `levels`, a team's policy in
`policy`.

A pure function of a `RoutingContext` (built by the escalation engine from the
client, the team's policy, staff availability and the on-call snapshot) and
`now`. No database, no I/O. The result is stored as JSON in `Contact.plan`
(`plan_to_json` / `plan_from_json`).

Default plan:

1. the client's assigned case manager, if active and available now;
2. the client's backup case manager, if active and available now;
3. the team's rotas by priority (1 "primary on-call", 2 "backup on-call", …),
   each rota's current on-call person; rotas with nobody are skipped;
4. all of the team's active supervisors, in one level;
5. the external fallback, always last, never skipped.

A team policy replaces steps 1–4 with its own levels; the fallback is still
appended.

A team may page a speaker of the contact's language first
(`speakers_first`): in the default plan, the on-call levels (step 3) whose
person speaks it come before the others. Only their order changes: the
client's own case managers stay first, and nobody is added or dropped. A
team policy's order is the team's own and is kept. An unknown caller (no client) has no assigned/backup case manager,
so starts at step 3.

Rules applied to every level:

- Nobody is notified twice: the first level a person appears at wins; a level
  left with nobody is dropped and the level numbers stay consecutive.
- Inactive staff, staff on leave and ids not in `context.staff` never appear.
- SMS channel: staff who opted out of SMS are skipped (the caller alerts the
  supervisors about them separately). Voice keeps them: a call never depends on
  SMS consent.
- "Available now" (working hours, not on leave) is required only of the
  assigned and backup case managers (and of `assigned`/`backup` policy
  targets). Being on call *is* availability for rota staff, and supervisors
  are the program's 24/7 backstop, so their working hours are not consulted.
  Leave, though, excludes anyone.

High priority (imminent-risk words) only ever raises urgency:

- the levels and the people in them are exactly those of the normal plan;
- each level's timeout is ``min(normal timeout, priority_timeout_seconds)``
  (so a misconfigured priority timeout longer than the team default, or a
  policy level already shorter than it, never slows a level down);
- the supervisors are copied at level 1 (`copy_staff_ids`): they are told at
  once, by SMS, whatever the channel, so copies only go to active supervisors
  not on leave who accept SMS and who are not already in level 1's
  `staff_ids`. Copies are extra and do not count for "nobody twice": the
  supervisors keep their own later level, since a copy is information while
  their level is the request to respond.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.routing.availability import unreachable_reason
from app.routing.levels import Level, Plan, SkippedLevel, fallback_level
from app.routing.policy import PolicyLevel, Target, positive_int

ROLES = ("case_manager", "supervisor")
CHANNELS = ("sms", "voice")


def rota_label(priority: int) -> str:
    if priority == 1:
        return "primary on-call"
    if priority == 2:
        return "backup on-call"
    return f"on-call (priority {priority})"


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class StaffInfo:
    id: int
    role: str  # "case_manager" | "supervisor"
    active: bool
    sms_ok: bool  # not opted out of SMS
    available: bool  # is_available(...) now: working hours and not on leave
    # On leave now. `available` already implies not on leave; this extra flag lets
    # leave also exclude rota staff and supervisors, whose hours are not consulted.
    on_leave: bool = False
    # A notification rule calls them: reachable without SMS consent.
    call_rule: bool = False
    languages_spoken: tuple[str, ...] = ()

    def unreachable_reason(self, channel: str) -> str | None:
        """Why they cannot be reached now (None: they can); see
        app.routing.availability.unreachable_reason."""
        return unreachable_reason(
            active=self.active,
            on_leave=self.on_leave,
            sms_ok=self.sms_ok,
            call_rule=self.call_rule,
            needs_sms=channel == "sms",
        )


@dataclass(frozen=True)
class RotaOnCallInfo:
    rota_id: int
    priority: int
    staff_id: int | None


@dataclass(frozen=True)
class RoutingContext:
    client_assigned_id: int | None  # None for unknown / ambiguous callers
    client_backup_id: int | None
    staff: Mapping[int, StaffInfo]  # everyone in the team, by id
    on_call: tuple[RotaOnCallInfo, ...]  # the team's rotas right now, any order
    policy: tuple[PolicyLevel, ...] | None  # the team's own policy, or None for the default
    ack_timeout_seconds: int  # team default per level (the dial timeout for voice)
    priority_timeout_seconds: int  # the cap used when high_priority
    high_priority: bool
    fallback_number: str
    channel: str = "sms"  # "sms" | "voice"
    # The contact's language, and the team's option to page an on-call
    # person who speaks it first (see `plan`).
    language: str | None = None
    speakers_first: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel: {self.channel!r} is not one of {', '.join(CHANNELS)}")
        positive_int(self.ack_timeout_seconds, name="ack_timeout_seconds")
        positive_int(self.priority_timeout_seconds, name="priority_timeout_seconds")
        for key, info in self.staff.items():
            if key != info.id:
                raise ValueError(f"staff: key {key!r} holds StaffInfo(id={info.id!r})")


# ---------------------------------------------------------------- planning


class _Planner:
    def __init__(self, context: RoutingContext) -> None:
        self.context = context
        self.notified: set[int] = set()
        self.levels: list[Level] = []
        self.skipped: list[SkippedLevel] = []
        # Sorted so the plan never depends on the order rows were loaded in.
        self.rotas = sorted(context.on_call, key=lambda r: (r.priority, r.rota_id))

    # who may be notified at all
    def reachable(self, staff_id: int | None, *, needs_available: bool = False) -> bool:
        info = self.context.staff.get(staff_id) if staff_id is not None else None
        if info is None or info.unreachable_reason(self.context.channel) is not None:
            return False
        return info.available or not needs_available

    def note_skipped(self, *, kind: str, label: str, candidates: Iterable[int | None]) -> None:
        """A level whose known people are all unreachable (not merely away
        from their working hours, nor already tried) is recorded as skipped."""
        reasons = []
        for staff_id in dict.fromkeys(candidates):
            if staff_id is None or staff_id in self.notified:
                continue
            info = self.context.staff.get(staff_id)
            if info is None:
                continue
            reason = info.unreachable_reason(self.context.channel)
            if reason is None:
                return
            reasons.append((staff_id, reason))
        if reasons:
            self.skipped.append(SkippedLevel(kind=kind, label=label, unreachable=tuple(reasons)))

    def supervisors(self) -> list[int]:
        return sorted(s.id for s in self.context.staff.values() if s.role == "supervisor")

    def timeout(self, normal: int) -> int:
        if self.context.high_priority:
            return min(normal, self.context.priority_timeout_seconds)
        return normal

    def add(
        self,
        *,
        kind: str,
        label: str,
        candidates: Iterable[int | None],
        normal_timeout: int,
        needs_available: bool = False,
        rota_id: int | None = None,
    ) -> None:
        candidates = list(candidates)
        staff_ids: list[int] = []
        for staff_id in candidates:
            if staff_id is None or staff_id in self.notified or staff_id in staff_ids:
                continue
            if self.reachable(staff_id, needs_available=needs_available):
                staff_ids.append(staff_id)
        if not staff_ids:
            self.note_skipped(kind=kind, label=label, candidates=candidates)
            return
        self.notified.update(staff_ids)
        self.levels.append(
            Level(
                number=len(self.levels) + 1,
                kind=kind,
                staff_ids=tuple(staff_ids),
                timeout_seconds=self.timeout(normal_timeout),
                label=label,
                rota_id=rota_id,
            )
        )

    def default_levels(self) -> None:
        ctx = self.context
        default = ctx.ack_timeout_seconds
        self.add(
            kind="assigned",
            label="assigned case manager",
            candidates=[ctx.client_assigned_id],
            normal_timeout=default,
            needs_available=True,
        )
        self.add(
            kind="backup",
            label="backup case manager",
            candidates=[ctx.client_backup_id],
            normal_timeout=default,
            needs_available=True,
        )
        for rota in self.rotas_for_language():
            self.add(
                kind="rota",
                label=rota_label(rota.priority),
                candidates=[rota.staff_id],
                normal_timeout=default,
                rota_id=rota.rota_id,
            )
        self.add(
            kind="supervisors",
            label="supervisors",
            candidates=self.supervisors(),
            normal_timeout=default,
        )

    def speaks(self, staff_id: int | None) -> bool:
        info = self.context.staff.get(staff_id) if staff_id is not None else None
        return info is not None and self.context.language in info.languages_spoken

    def rotas_for_language(self) -> list[RotaOnCallInfo]:
        """The on-call rotas in the order their levels are tried: by
        priority, except that with `speakers_first` the rotas whose on-call
        person speaks the contact's language come first (each group keeps
        its priority order). Nobody is added or dropped."""
        if not self.context.speakers_first or not self.context.language:
            return self.rotas
        speakers = [r for r in self.rotas if self.speaks(r.staff_id)]
        return speakers + [r for r in self.rotas if r not in speakers]

    def resolve(
        self, target: Target
    ) -> tuple[Sequence[int | None], list[RotaOnCallInfo], bool, str]:
        """(candidates, rotas used, availability required, label) for one policy target."""
        ctx = self.context
        if target.kind == "assigned":
            return [ctx.client_assigned_id], [], True, "assigned case manager"
        if target.kind == "backup":
            return [ctx.client_backup_id], [], True, "backup case manager"
        if target.kind == "supervisors":
            return self.supervisors(), [], False, "supervisors"
        if target.kind == "staff":
            return [target.id], [], False, "staff member"
        if target.kind == "rota":
            rotas = [r for r in self.rotas if r.rota_id == target.id]
            label = rota_label(rotas[0].priority) if rotas else f"rota {target.id}"
        else:  # rota_priority
            assert target.id is not None  # Target.__post_init__: a rota_priority has an id
            rotas = [r for r in self.rotas if r.priority == target.id]
            label = rota_label(target.id)
        return [r.staff_id for r in rotas], rotas, False, label

    def policy_levels(self, policy: tuple[PolicyLevel, ...]) -> None:
        for policy_level in policy:
            normal = policy_level.timeout_seconds or self.context.ack_timeout_seconds
            staff_ids: list[int] = []
            labels: list[str] = []
            rota_ids: set[int] = set()
            everyone: list[int | None] = []
            for target in policy_level.targets:
                candidates, rotas, needs_available, label = self.resolve(target)
                everyone.extend(candidates)
                found = [
                    s
                    for s in candidates
                    if s is not None
                    and s not in self.notified
                    and s not in staff_ids
                    and self.reachable(s, needs_available=needs_available)
                ]
                staff_ids.extend(found)
                if found and label not in labels:
                    labels.append(label)
                rota_ids.update(r.rota_id for r in rotas if r.staff_id in found)
            rota_id = (
                next(iter(rota_ids))
                if len(rota_ids) == 1 and len(policy_level.targets) == 1
                else None
            )
            if not staff_ids:
                self.note_skipped(kind="policy", label="policy level", candidates=everyone)
                continue
            # add() re-checks reachability and repeats; here it only builds the level.
            self.add(
                kind="policy",
                label=" + ".join(labels),
                candidates=staff_ids,
                normal_timeout=normal,
                rota_id=rota_id,
            )

    def copy_supervisors_at_level_1(self) -> None:
        first = self.levels[0]
        copies = tuple(
            s
            for s in self.supervisors()
            if s not in first.staff_ids
            and self.context.staff[s].active
            and not self.context.staff[s].on_leave
            and self.context.staff[s].sms_ok  # copies are texts, whatever the channel
        )
        if copies:
            self.levels[0] = replace(first, copy_staff_ids=copies)

    def fallback(self) -> None:
        self.levels.append(fallback_level(len(self.levels) + 1, self.context.fallback_number))


def minimal_plan(
    *,
    on_call: Iterable[RotaOnCallInfo],
    supervisor_ids: Iterable[int],
    timeout_seconds: int,
    fallback_number: str,
) -> Plan:
    """The plan of a text whose routing kept failing: who each rota has on
    call now (priority order, a person once), then the supervisors, then the
    fallback. It needs no client, crisis plan, working hours or policy, the
    data most likely to be what routing tripped on; who cannot be reached is
    skipped when their level comes (`engine.notify_level`)."""
    levels: list[Level] = []
    seen: set[int] = set()
    for rota in sorted(on_call, key=lambda r: r.priority):
        if rota.staff_id is None or rota.staff_id in seen:
            continue
        seen.add(rota.staff_id)
        levels.append(
            Level(
                number=len(levels) + 1,
                kind="rota",
                staff_ids=(rota.staff_id,),
                timeout_seconds=timeout_seconds,
                label=rota_label(rota.priority),
                rota_id=rota.rota_id,
            )
        )
    supervisors = tuple(sorted(set(supervisor_ids) - seen))
    if supervisors:
        levels.append(
            Level(
                number=len(levels) + 1,
                kind="supervisors",
                staff_ids=supervisors,
                timeout_seconds=timeout_seconds,
                label="supervisors",
            )
        )
    levels.append(fallback_level(len(levels) + 1, fallback_number))
    return Plan(levels)


def plan(context: RoutingContext, now: datetime) -> Plan:
    """The ordered levels to notify for one contact; the fallback is always last.

    `now` must be timezone-aware. Availability and the on-call snapshot in
    `context` are already evaluated at `now` by the caller.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    planner = _Planner(context)
    if context.policy is None:
        planner.default_levels()
    else:
        planner.policy_levels(context.policy)
    planner.fallback()
    if context.high_priority:
        planner.copy_supervisors_at_level_1()
    return Plan(planner.levels, planner.skipped)


def speakers_first_after(
    levels: Sequence[Level], *, after: int, speakers: Collection[int]
) -> tuple[Level, ...]:
    """The levels with the on-call (rota) levels after level `after` in a new
    order: those whose person is among `speakers` first, each group in its
    old order, renumbered. For a conversation whose language became known
    once levels up to `after` were already told: those, and every level that
    is not an on-call one (the client's own case managers, the supervisors,
    the fallback, a team policy's levels), keep their place."""
    later = [i for i, level in enumerate(levels) if level.number > after and level.kind == "rota"]
    speaking = [i for i in later if levels[i].staff_ids[0] in speakers]
    order = speaking + [i for i in later if i not in speaking]
    moved = list(levels)
    for place, source in zip(later, order, strict=True):
        moved[place] = levels[source]
    return tuple(replace(level, number=n) for n, level in enumerate(moved, start=1))
