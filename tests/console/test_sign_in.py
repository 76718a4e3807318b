"""Signing in to the console with a code texted from the crisis line, and
what a session is: hashed, HttpOnly, idle-limited, revocable."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import ConsoleSession, SignInCode
from app.messaging.models import OutboundMessage
from tests.conftest import PUBLIC_BASE_URL
from tests.console.conftest import ask_code, csrf_of, enter_code, last_code_to, sign_in
from tests.factories import make_key


def _outbox_count(db) -> int:
    with db.session() as s:
        return s.execute(select(func.count()).select_from(OutboundMessage)).scalar_one()


def test_a_code_texted_from_the_crisis_line_signs_staff_in(client, db, world):
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    response = ask_code(client, "(201) 555-0183")  # Owen, written as people write it
    assert response.status_code == 200 and 'name="code"' in response.text
    with db.session() as s:
        sent = s.execute(
            select(OutboundMessage).where(OutboundMessage.purpose == "sign_in_code")
        ).scalar_one()
    assert sent.to_number == world.oncall.phone
    assert sent.from_number == world.team.crisis_line_number

    response = enter_code(client, last_code_to(db, world.oncall.phone))
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"].lower()
    assert "cr_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" in cookie  # PUBLIC_BASE_URL is https in the tests
    token = client.cookies.get("cr_session")
    with db.session() as s:
        stored = s.execute(select(ConsoleSession.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1  # only a hash is kept

    board = client.get("/console")
    assert board.status_code == 200 and "Owen Call" in board.text


def test_the_code_is_texted_in_the_staff_members_language(client, db, world, session):
    world.oncall.language = "es"
    session.add(world.oncall)
    session.commit()
    assert ask_code(client, world.oncall.phone).status_code == 200
    with db.session() as s:
        sent = s.execute(
            select(OutboundMessage).where(OutboundMessage.purpose == "sign_in_code")
        ).scalar_one()
    code = last_code_to(db, world.oncall.phone)
    assert sent.body == (
        f"{code} es su código para entrar a crisisroute. Vence en 10 minutos. "
        "No lo comparta con nadie."
    )
    assert enter_code(client, code).status_code == 303


def test_an_unknown_number_gets_the_same_answer_and_no_text(client, db, world):
    known = ask_code(client, world.oncall.phone)
    client.cookies.clear()
    before = _outbox_count(db)
    unknown = ask_code(client, "+12015550199")
    assert unknown.status_code == known.status_code == 200
    assert csrf_of(unknown.text) and unknown.text.replace(
        csrf_of(unknown.text), ""
    ) == known.text.replace(csrf_of(known.text), "")
    assert _outbox_count(db) == before
    # and no code works for it
    assert enter_code(client, "000000").status_code == 422


def test_an_invalid_number_is_named_next_to_the_field_and_nothing_is_recorded(client, db, world):
    response = ask_code(client, "12")
    assert response.status_code == 422
    assert 'id="phone-error"' in response.text and 'aria-invalid="true"' in response.text
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(SignInCode)).scalar_one() == 0


def test_five_wrong_codes_lock_the_number_for_fifteen_minutes(client, db, world, clock):
    ask_code(client, world.oncall.phone)
    code = last_code_to(db, world.oncall.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        response = enter_code(client, wrong)
        assert response.status_code == 422 and f"{tries_left} tr" in response.text
    assert "Too many wrong codes" in enter_code(client, wrong).text
    # the right code no longer works, nor does asking for a new one
    assert enter_code(client, code).status_code == 422
    assert ask_code(client, world.oncall.phone).status_code == 429
    clock.advance(minutes=15, seconds=1)
    assert ask_code(client, world.oncall.phone).status_code == 200
    sign_in_code = last_code_to(db, world.oncall.phone)
    assert enter_code(client, sign_in_code).status_code == 303


def test_a_code_lasts_ten_minutes(client, db, world, clock):
    ask_code(client, world.oncall.phone)
    code = last_code_to(db, world.oncall.phone)
    clock.advance(minutes=10)
    response = enter_code(client, code)
    assert response.status_code == 422 and "expired" in response.text


def test_codes_are_rate_limited_per_number_and_per_address(client, db, world, clock):
    for _ in range(3):
        assert ask_code(client, world.oncall.phone).status_code == 200
    limited = ask_code(client, world.oncall.phone)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    # other numbers from the same address: 10 requests in 15 minutes in all
    for n in range(7):
        assert ask_code(client, f"+1201555{170 + n:04d}").status_code == 200
    assert ask_code(client, "+12015550178").status_code == 429
    clock.advance(minutes=16)
    assert ask_code(client, world.oncall.phone).status_code == 200


def test_a_form_without_its_csrf_token_changes_nothing(client, db, world):
    client.get("/console/login")
    response = client.post("/console/login", data={"phone": world.oncall.phone})
    assert response.status_code == 403
    forged = client.post(
        "/console/login", data={"phone": world.oncall.phone, "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert _outbox_count(db) == 0


def test_a_session_ends_after_twelve_idle_hours(client, db, world, clock):
    sign_in(client, db, world.supervisor)
    clock.advance(hours=11, minutes=59)
    assert client.get("/console").status_code == 200  # use refreshes the idle clock
    clock.advance(hours=11, minutes=59)
    assert client.get("/console").status_code == 200
    clock.advance(hours=12)
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_polling_the_board_does_not_keep_an_idle_session_alive(client, db, world, clock):
    sign_in(client, db, world.supervisor)
    for _ in range(13):
        clock.advance(hours=1)
        client.get("/console/board")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_logout_revokes_the_session_server_side(client, db, world):
    sign_in(client, db, world.supervisor)
    token = client.cookies.get("cr_session")
    page = client.get("/console")
    response = client.post(
        "/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    client.cookies.set("cr_session", token, domain=PUBLIC_BASE_URL.split("//")[1], path="/console")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_deactivating_a_person_ends_their_session(client, db, world, session):
    sign_in(client, db, world.oncall)
    assert client.get("/console").status_code == 200
    world.oncall.active = False
    session.add(world.oncall)
    session.commit()
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_an_admin_signs_in_with_an_api_key_and_revoking_it_ends_the_session(
    client, db, world, session, clock
):
    key = make_key(session, "admin")
    supervisor_key = world.supervisor_key
    session.commit()
    page = client.get("/console/login")
    refused = client.post(
        "/console/login", data={"api_key": supervisor_key, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 422 and 'id="api_key-error"' in refused.text
    response = client.post(
        "/console/login",
        data={"api_key": key, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/console").status_code == 200
    from app.auth.models import ApiKey

    row = session.execute(select(ApiKey).where(ApiKey.role == "admin")).scalars().one()
    row.revoked_at = clock.now
    session.add(row)
    session.commit()
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_docs_work_offline_from_vendored_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert (
        "cdn" not in page.text.lower() and "/console/static/docs/swagger-ui-bundle.js" in page.text
    )
    assert client.get("/console/static/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/console/static/docs/swagger-ui.css").status_code == 200
    redoc = client.get("/redoc")
    assert "cdn" not in redoc.text.lower() and "fonts.googleapis" not in redoc.text
    assert client.get("/console/static/docs/redoc.standalone.js").status_code == 200
