"""A rota's page: its week or month calendar in the team's time zone (the
final schedule and its gaps from app.oncall.service, gaps in red and named
in words) and, for supervisors, a form to edit its layers.

The layers form is turned into the body PUT /v1/rotas/{id} takes, checked
by the same schema (RotaIn) and saved by the same service
(app.oncall.service.replace_rota): a primary rota with holes in the next 14
days is refused with the holes listed, and published only when the person
presses "Publish with these gaps" (allow_gaps, as the API's parameter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.deps import SessionDep, load_owned, require_role
from app.auth.models import Role
from app.console import calendar
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import Conflict, Invalid
from app.oncall import service
from app.oncall.models import Rota
from app.oncall.schemas import RotaIn
from app.oncall.service import DAY_NAMES
from app.teams.models import Staff, Team

router = APIRouter(prefix="/console", include_in_schema=False)

UNITS = ("hours", "days", "weeks")
DAY_LABELS = dict(zip(DAY_NAMES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
# Empty slots shown after a layer's participants and restrictions, and empty
# layers after the rota's, so a person can add one without any script.
SPARE_PARTICIPANTS, SPARE_RESTRICTIONS, SPARE_LAYERS = 2, 1, 1
MAX_SLOTS = 60  # more than any form this page renders; bounds what a post may claim


@dataclass
class RestrictionForm:
    days: list[str] = field(default_factory=list)
    start: str = ""
    end: str = ""

    @property
    def blank(self) -> bool:
        return not (self.days or self.start or self.end)


@dataclass
class LayerForm:
    name: str = ""
    unit: str = "weeks"
    length: str = "1"
    start: str = ""
    participants: list[str] = field(default_factory=list)
    restrictions: list[RestrictionForm] = field(default_factory=list)
    remove: bool = False

    @property
    def blank(self) -> bool:
        return not (self.name or self.start or any(self.participants))

    def padded(self) -> LayerForm:
        people = [p for p in self.participants if p]
        rules = [r for r in self.restrictions if not r.blank]
        return LayerForm(
            name=self.name,
            unit=self.unit,
            length=self.length,
            start=self.start,
            participants=people + [""] * max(SPARE_PARTICIPANTS, 3 - len(people)),
            restrictions=rules + [RestrictionForm() for _ in range(SPARE_RESTRICTIONS)],
            remove=self.remove,
        )


def layers_of(rota: Rota) -> list[LayerForm]:
    """The stored layers (the API's JSON) as the form shows them."""
    forms = []
    for layer in rota.layers:
        turn = layer.get("turn") or {}
        forms.append(
            LayerForm(
                name=str(layer.get("name") or ""),
                unit=str(turn.get("unit") or "weeks"),
                length=str(turn.get("length") or ""),
                start=str(layer.get("start") or ""),
                participants=[str(p) for p in layer.get("participants") or ()],
                restrictions=[
                    RestrictionForm(
                        days=list(r.get("days") or ()),
                        start=str(r.get("start") or ""),
                        end=str(r.get("end") or ""),
                    )
                    for r in layer.get("restrictions") or ()
                ],
            )
        )
    return forms


def _slots(form, name: str) -> int:
    value = str(form.get(name) or "0")
    return min(int(value), MAX_SLOTS) if value.isdigit() else 0


def layers_from_form(form) -> list[LayerForm]:
    layers = []
    for i in range(_slots(form, "layer_slots")):
        prefix = f"layer-{i}-"
        restrictions = [
            RestrictionForm(
                days=[str(d) for d in form.getlist(f"{prefix}r{j}-days")],
                start=str(form.get(f"{prefix}r{j}-start") or "").strip(),
                end=str(form.get(f"{prefix}r{j}-end") or "").strip(),
            )
            for j in range(_slots(form, f"{prefix}restriction_slots"))
        ]
        layers.append(
            LayerForm(
                name=str(form.get(f"{prefix}name") or "").strip(),
                unit=str(form.get(f"{prefix}unit") or "").strip(),
                length=str(form.get(f"{prefix}length") or "").strip(),
                start=str(form.get(f"{prefix}start") or "").strip(),
                participants=[str(p).strip() for p in form.getlist(f"{prefix}participant")],
                restrictions=restrictions,
                remove=bool(form.get(f"{prefix}remove")),
            )
        )
    return layers


@dataclass
class Body:
    """The API's body and, for each of its layers and restrictions, the
    form slot it came from (errors are shown next to that slot)."""

    data: dict[str, Any]
    layer_slots: list[int]
    restriction_slots: list[list[int]]


def body_of(rota: Rota, name: str, layers: list[LayerForm]) -> Body:
    out: list[dict[str, Any]] = []
    layer_slots: list[int] = []
    restriction_slots: list[list[int]] = []
    for i, layer in enumerate(layers):
        if layer.remove or layer.blank:
            continue
        kept = [(j, r) for j, r in enumerate(layer.restrictions) if not r.blank]
        out.append(
            {
                "name": layer.name or f"layer {len(out) + 1}",
                "turn": {"unit": layer.unit, "length": layer.length or None},
                "start": layer.start,
                "participants": [p for p in layer.participants if p],
                "restrictions": [{"days": r.days, "start": r.start, "end": r.end} for _, r in kept],
            }
        )
        layer_slots.append(i)
        restriction_slots.append([j for j, _ in kept])
    data = {"name": name, "priority": rota.priority, "timezone": rota.timezone, "layers": out}
    return Body(data, layer_slots, restriction_slots)


def field_of(loc: list | tuple, body: Body) -> str:
    """Where in the form an error of the body at `loc` belongs."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    if not parts:
        return "form"
    if parts[0] != "layers" or len(parts) < 2 or not isinstance(parts[1], int):
        return str(parts[0]) if parts[0] in ("name", "layers") else "form"
    k = parts[1]
    if k >= len(body.layer_slots):
        return "layers"
    prefix = f"layer-{body.layer_slots[k]}"
    rest = parts[2:]
    if not rest:
        return prefix
    head = rest[0]
    if head == "turn":
        return f"{prefix}-{rest[1] if len(rest) > 1 and rest[1] == 'unit' else 'length'}"
    if head == "participants":
        return f"{prefix}-participants"
    if head == "restrictions" and len(rest) > 1 and isinstance(rest[1], int):
        slots = body.restriction_slots[k]
        j = slots[rest[1]] if rest[1] < len(slots) else 0
        what = rest[2] if len(rest) > 2 and rest[2] in ("days", "start", "end") else "days"
        return f"{prefix}-r{j}-{what}"
    if head in ("name", "start"):
        return f"{prefix}-{head}"
    return prefix


def _errors(exc: ValidationError | Invalid, body: Body) -> dict[str, str]:
    errors: dict[str, str] = {}
    items = exc.errors() if isinstance(exc, ValidationError) else exc.detail
    for item in items:
        message = "is required" if item.get("input", "") is None else item["msg"]
        if item.get("type") == "missing":
            message = "is required"
        errors.setdefault(field_of(item.get("loc") or (), body), message)
    return errors


def _view(value: str | None) -> calendar.View:
    return "month" if value == "month" else "week"


def _context(
    session: Session, rota: Rota, now: datetime, view: calendar.View, around: date | None
) -> dict[str, Any]:
    team = session.get_one(Team, rota.team_id)
    zone = ZoneInfo(team.timezone)
    today = now.astimezone(zone).date()
    _, _, start, end = calendar.window(view, around or today, zone)
    shifts = service.shifts(session=session, rota=rota, start=start, end=end)
    gaps = service.rota_gaps(session=session, rota=rota, start=start, end=end)
    cal = calendar.build(
        view=view,
        around=around or today,
        today=today,
        zone=zone,
        shifts=[(s.start, s.end, int(s.person), s.source) for s in shifts],  # type: ignore[call-overload]
        gaps=gaps,
    )
    people = list(
        session.execute(
            select(Staff).where(col(Staff.team_id) == rota.team_id).order_by(col(Staff.name))
        ).scalars()
    )
    return {
        "rota": rota,
        "team": team,
        "cal": cal,
        "names": {p.id: p.name for p in people},
        "staff": [p for p in people if p.active],
        "units": UNITS,
        "day_labels": DAY_LABELS,
        "layers": [layer.padded() for layer in layers_of(rota)]
        + [LayerForm().padded() for _ in range(SPARE_LAYERS)],
        "rota_name": rota.name,
        "errors": {},
        "refused_gaps": None,
        "done": None,
    }


@router.get("/oncall/rotas/{rota_id}", response_class=HTMLResponse)
def rota_page(
    rota_id: int,
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    view: Literal["week", "month"] = "week",
    day: date | None = Query(default=None, alias="date"),
    done: str | None = None,
):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rota = load_owned(session, user.principal, Rota, rota_id, what="rota")
    context = _context(session, rota, now_of(request), _view(view), day)
    if done == "layers":
        context["done"] = "Layers saved."
    elif done == "gaps":
        context["done"] = "Layers published with coverage gaps."
    return render(request, "console/rota.html", context)


@router.post(
    "/oncall/rotas/{rota_id}/layers", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def save_layers(rota_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    rota = load_owned(session, user.principal, Rota, rota_id, what="rota")
    form = await request.form()
    name = str(form.get("name") or "").strip()
    layers = layers_from_form(form)
    allow_gaps = form.get("allow_gaps") == "true"
    body = body_of(rota, name, layers)
    now = now_of(request)
    errors: dict[str, str] = {}
    refused_gaps = None
    try:
        service.replace_rota(
            session=session,
            principal=user.principal,
            rota=rota,
            body=RotaIn.model_validate(body.data),
            now=now,
            allow_gaps=allow_gaps,
        )
    except (ValidationError, Invalid) as exc:
        errors = _errors(exc, body)
    except Conflict as exc:
        if isinstance(exc.detail, dict) and "gaps" in exc.detail:
            refused_gaps = [(_parse(g["start"]), _parse(g["end"])) for g in exc.detail["gaps"]]
            errors["form"] = exc.detail["message"]
        else:
            errors["form"] = str(exc.detail)
    if errors:
        session.rollback()
        rota = load_owned(session, user.principal, Rota, rota_id, what="rota")
        context = _context(session, rota, now, "week", None)
        context.update(
            layers=[layer.padded() for layer in layers if not layer.blank or layer.remove]
            + [LayerForm().padded() for _ in range(SPARE_LAYERS)],
            rota_name=name,
            errors=errors,
            refused_gaps=refused_gaps,
        )
        return render(
            request, "console/rota.html", context, status_code=409 if refused_gaps else 422
        )
    session.commit()
    done = "gaps" if allow_gaps and _has_gaps(session, rota, now) else "layers"
    return redirect(f"/console/oncall/rotas/{rota.id}?done={done}", request)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _has_gaps(session: Session, rota: Rota, now: datetime) -> bool:
    return bool(
        service.rota_gaps(session=session, rota=rota, start=now, end=now + service.GAP_HORIZON)
    )
