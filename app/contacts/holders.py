"""Who holds a contact: always a person.

Every front door that changes who holds a contact (the API's acknowledge and
resolve, the console) asks `holder_for` for the staff member first, so a key
that is not a person (a supervisor's script, an admin) must name one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.models import Role
from app.auth.service import Principal
from app.contacts.models import Contact
from app.contacts.schemas import ContactPublic, HolderPublic
from app.errors import Forbidden, Invalid
from app.teams.models import Staff


def holder_for(
    *, session: Session, principal: Principal, team_id: int, staff_id: int | None
) -> Staff:
    """The active staff member of `team_id` who will hold the contact: the one
    named in the body, else the one the key is bound to. 422 naming `staff_id`
    when neither names an active member of the team."""
    if staff_id is None:
        staff_id = principal.staff_id
    elif (
        principal.role == Role.CASE_MANAGER
        and principal.staff_id is not None
        and staff_id != principal.staff_id
    ):
        # A case manager's key takes contacts for its own person only.
        raise Forbidden("a case manager's key acknowledges for its own staff member only")
    if staff_id is None:
        raise Invalid(
            "staff_id",
            "required: this key is not bound to a staff member, so name the person "
            "who takes the contact",
        )
    staff = session.get(Staff, staff_id)
    if staff is None or staff.team_id != team_id:
        raise Invalid("staff_id", f"no staff member {staff_id} on this contact's team")
    if not staff.active:
        raise Invalid("staff_id", f"staff member {staff_id} is deactivated")
    return staff


def holder_names(*, session: Session, staff_ids: Iterable[int | None]) -> dict[int, str]:
    """Staff id -> name for the holders of a page of contacts (one query)."""
    ids = {i for i in staff_ids if i is not None}
    if not ids:
        return {}
    return dict(
        session.execute(select(col(Staff.id), col(Staff.name)).where(col(Staff.id).in_(ids))).all()
    )


def present(*, session: Session, rows: list[Contact]) -> list[ContactPublic]:
    """Contacts as the API shows them, each with its `holder` (id and name)."""
    names = holder_names(session=session, staff_ids=(c.acknowledged_by for c in rows))
    return [
        ContactPublic.model_validate(c, from_attributes=True).model_copy(
            update={
                "holder": HolderPublic(id=c.acknowledged_by, name=names[c.acknowledged_by])
                if c.acknowledged_by in names
                else None
            }
        )
        for c in rows
    ]
