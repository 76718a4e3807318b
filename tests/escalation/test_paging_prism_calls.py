"""Page calls against a Prism mock of Twilio's own OpenAPI spec
(shared/twilio/twilio_api_v2010.yaml): Prism refuses a Calls.json request
the real API would refuse, so this checks our request, not our own mock."""

from __future__ import annotations

import httpx

from app.messaging.senders import PAGE_RING_SECONDS, TwilioSender
from tests.conftest import TWILIO_SID
from tests.messaging.test_prism_contract import prism_url  # noqa: F401  (fixture)


def test_our_page_call_is_valid_for_twilios_spec(prism_url):  # noqa: F811
    sender = TwilioSender(account_sid=TWILIO_SID, auth_token="token", api_base_url=prism_url)
    try:
        result = sender.call(
            to="+12015550181",
            from_="+19735550100",
            url="https://crisis.example.org/twilio/voice/page?contact=1&level=1&staff=2&purpose=notify",
            status_callback="https://crisis.example.org/twilio/voice/page-status?contact=1&level=1&staff=2&purpose=notify",
            timeout=PAGE_RING_SECONDS,
        )
    finally:
        sender.close()
    assert result.ok, result
    assert result.provider_sid and result.provider_sid.startswith("CA")


def test_prism_refuses_a_call_without_its_twiml_so_the_check_is_real(prism_url):  # noqa: F811
    response = httpx.post(
        f"{prism_url}/2010-04-01/Accounts/{TWILIO_SID}/Calls.json",
        data={"From": "+19735550100"},
        auth=(TWILIO_SID, "token"),
    )
    assert response.status_code >= 400
