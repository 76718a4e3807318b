"""X-Twilio-Signature edge cases against the real app (in process).

Every negative case is paired with the positive control it differs from, so
a test fails if the webhook stops accepting genuine requests as well as if it
starts accepting forged ones. A refused request must change nothing.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.contacts.models import Contact, ContactEvent
from app.main import create_app
from app.messaging.models import InboxMessage
from app.ops.rate_limits import RateLimiter
from tests.conftest import PUBLIC_BASE_URL, TWILIO_SID, TWILIO_TOKEN, make_settings
from tests.factories import make_team
from tests.world import route_inbox

LINE = "+19735550188"
SMS_URL = PUBLIC_BASE_URL + "/twilio/sms"


@pytest.fixture
def line(session, twilio_api) -> str:
    make_team(session, crisis_line_number=LINE, fallback_number="+19085550111")
    session.commit()
    return LINE


def sms(**extra) -> dict:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": "+12015550150",
        "To": LINE,
        "Body": "I need to talk",
        "NumMedia": "0",
        **extra,
    }


def sign(url: str, params, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(client, params, signature: str | None, path: str = "/twilio/sms"):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    if isinstance(params, list):  # repeated keys: encode them ourselves
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return client.post(path, content=urlencode(params), headers=headers)
    return client.post(path, data=params, headers=headers)


def recorded(session) -> tuple[int, int]:
    """(texts in the inbox, contact events): what a webhook wrote."""
    session.expire_all()
    return (
        session.execute(select(func.count()).select_from(InboxMessage)).scalar_one(),
        session.execute(select(func.count()).select_from(ContactEvent)).scalar_one(),
    )


def test_genuine_request_is_accepted_and_recorded(client, session, line):
    params = sms()
    r = post(client, params, sign(SMS_URL, params))
    assert r.status_code == 200, r.text
    assert recorded(session) == (1, 0)
    route_inbox(client.app)
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Contact)).scalar_one() == 1
    assert recorded(session)[1] >= 1


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong_token",
        "altered_body",
        "altered_from",
        "extra_param",
        "removed_param",
        "repeated_param",
        "missing",
        "empty",
        "garbage",
        "other_path",
        "http_url_the_app_sees",
    ],
)
def test_forged_requests_are_refused_and_change_nothing(client, session, line, tamper):
    params = sms()
    signature = sign(SMS_URL, params)
    if tamper == "wrong_token":
        signature = sign(SMS_URL, params, token="not-the-" + TWILIO_TOKEN)
    elif tamper == "altered_body":
        params = {**params, "Body": "I need to talk!"}
    elif tamper == "altered_from":
        params = {**params, "From": "+12015550151"}
    elif tamper == "extra_param":
        params = {**params, "Injected": "1"}
    elif tamper == "removed_param":
        params = {k: v for k, v in params.items() if k != "NumMedia"}
    elif tamper == "repeated_param":
        params = [*params.items(), ("To", "+19735550100")]
    elif tamper == "missing":
        signature = None
    elif tamper == "empty":
        signature = ""
    elif tamper == "garbage":
        signature = "not base64 at all"
    elif tamper == "other_path":
        signature = sign(PUBLIC_BASE_URL + "/twilio/status", params)
    elif tamper == "http_url_the_app_sees":
        signature = sign(SMS_URL.replace("https://", "http://"), params)
    r = post(client, params, signature)
    assert r.status_code == 403, (tamper, r.status_code, r.text)
    assert recorded(session) == (0, 0)


def test_parameters_twilio_adds_without_notice_are_signed_and_accepted(client, session, line):
    params = sms(FromCity="NEWARK", SmsMessageSid="SM1", SomethingNew2031="yes")
    assert post(client, params, sign(SMS_URL, params)).status_code == 200
    assert recorded(session)[0] == 1


@pytest.mark.parametrize(
    "signed_url",
    [
        "https://crisis.example.org:443/twilio/sms",  # Twilio sometimes signs with the default port
        "https://crisis.example.org/twilio/sms",
    ],
)
def test_url_with_or_without_default_port(client, session, line, signed_url):
    params = sms()
    assert post(client, params, sign(signed_url, params)).status_code == 200
    assert recorded(session)[0] == 1


def test_public_base_url_with_explicit_port_accepts_twilio_signing_without_it(db, session, line):
    app = create_app(
        make_settings(public_base_url="https://crisis.example.org:443"),
        db=db,
        run_worker=False,
        configure_logs=False,
    )
    with TestClient(app, base_url=PUBLIC_BASE_URL) as c:
        params = sms()
        assert post(c, params, sign(SMS_URL, params)).status_code == 200
        forged = sms()
        assert post(c, forged, sign(SMS_URL, forged, token="x" + TWILIO_TOKEN)).status_code == 403


def test_behind_a_tls_proxy_the_public_https_url_is_what_counts(app, session, line):
    """PUBLIC_BASE_URL is https; the request reaches the app as plain http."""
    with TestClient(app, base_url="http://crisis.example.org") as c:
        params = sms()
        assert post(c, params, sign(SMS_URL, params)).status_code == 200
        params = sms()
        assert (
            post(c, params, sign("http://crisis.example.org/twilio/sms", params)).status_code == 403
        )
    assert recorded(session)[0] == 1


def test_query_string_is_part_of_what_is_signed(client, session, line):
    params = sms()
    path = "/twilio/sms?team=north"
    assert post(client, params, sign(PUBLIC_BASE_URL + path, params), path=path).status_code == 200
    params = sms()
    assert post(client, params, sign(SMS_URL, params), path=path).status_code == 403
    assert recorded(session)[0] == 1


def test_replayed_request_changes_nothing(client, session, line):
    params = sms()
    signature = sign(SMS_URL, params)
    assert post(client, params, signature).status_code == 200
    before = recorded(session)
    for _ in range(3):
        assert post(client, params, signature).status_code == 200
    assert recorded(session) == before


def test_no_token_configured_refuses_everything(db, session, line):
    """Fail closed: without TWILIO_AUTH_TOKEN nothing can be verified, so nothing is trusted
    (not even a request "signed" with an empty key)."""
    settings = make_settings(
        twilio_auth_token=None, twilio_account_sid=None, messaging_transport="outbox"
    )
    app = create_app(settings, db=db, run_worker=False, configure_logs=False)
    with TestClient(app, base_url=PUBLIC_BASE_URL) as c:
        params = sms()
        assert post(c, params, sign(SMS_URL, params, token="")).status_code == 403
        assert post(c, params, None).status_code == 403
    assert recorded(session) == (0, 0)


def twilio_webhook_paths(app) -> list[str]:
    return sorted(
        path
        for path, methods in app.openapi()["paths"].items()
        if path.startswith("/twilio/") and "post" in methods
    )


def test_every_twilio_webhook_refuses_unsigned_and_wrongly_signed_requests(
    app, client, session, line
):
    paths = twilio_webhook_paths(app)
    assert {"/twilio/sms", "/twilio/status", "/twilio/fallback"} <= set(paths)
    # Two refusals per webhook from one address: more than the refusal rate
    # limit allows (its 429 is tested on its own); this test is about the 403.
    app.state.rate_limiter = RateLimiter(links="30/minute", webhook_refusals="1000/minute")
    for path in paths:
        params = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": TWILIO_SID,
            "From": "+12015550150",
            "To": LINE,
            "MessageStatus": "delivered",
            "Digits": "1",
            "DialCallStatus": "completed",
            "CallStatus": "ringing",
        }
        assert post(client, params, None, path=path).status_code == 403, path
        bad = sign(PUBLIC_BASE_URL + path, params, token="wrong")
        assert post(client, params, bad, path=path).status_code == 403, path
    assert recorded(session) == (0, 0)
