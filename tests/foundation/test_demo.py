"""`crisisroute demo` seeds a team a new user can try Spanish on: the team
offers it, Rosa (a client) writes in it, Nia (on call) speaks it and reads
her own texts in it. Then a text from Rosa's phone, end to end: signed
webhook in, Twilio's REST API (respx) out."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact
from app.demo import (
    DEMO_LINE,
    DEMO_SPANISH_CLIENT_PHONE,
    DEMO_SPANISH_STAFF_PHONE,
    seed,
)
from app.teams.models import Staff
from tests.world import clock, text_in, twilio  # noqa: F401 (fixtures)


def test_the_demo_team_offers_spanish_with_a_speaker_and_a_spanish_client(session):
    team, key = seed(session)
    session.commit()
    assert key is not None
    assert team.languages == ["en", "es"] and team.page_speakers_first
    nia = session.execute(select(Staff).where(Staff.phone == DEMO_SPANISH_STAFF_PHONE)).scalar_one()
    assert (nia.language, nia.languages_spoken) == ("es", ["en", "es"])
    others = session.execute(select(Staff).where(Staff.id != nia.id)).scalars().all()
    assert all("es" not in s.languages_spoken for s in others)
    assert seed(session) == (team, None)  # a second run adds nothing


def test_a_text_from_the_demos_spanish_client_is_answered_and_paged_in_spanish(
    client,
    app,
    session,
    twilio,  # noqa: F811 (the fixture imported above)
    clock,  # noqa: F811
):
    seed(session)
    session.commit()
    # Night: the client's own case managers keep office hours, so the on-call
    # levels come first, and the Spanish speaker before the other.
    clock.advance(hours=12)
    text_in(client, DEMO_LINE, DEMO_SPANISH_CLIENT_PHONE, "necesito hablar con alguien")
    [reply] = twilio.to(DEMO_SPANISH_CLIENT_PHONE)
    assert reply.body.startswith("Recibimos su mensaje.") and "988" in reply.body
    session.expire_all()
    contact = session.execute(select(Contact)).scalar_one()
    assert contact.language == "es"
    [note] = twilio.to(DEMO_SPANISH_STAFF_PHONE)
    assert note.body.startswith(f"CRISIS #{contact.id} N1 ES Rosa")  # Spanish, for Nia
