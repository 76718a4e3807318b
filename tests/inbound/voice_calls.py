"""Voice tests reuse the SMS world (team, staff, rota, client, clock, Twilio
stub) and follow TwiML the way Twilio does: post the call, parse the answer,
post to each action/url with Twilio's parameters and a valid signature."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from tests.conftest import PUBLIC_BASE_URL, TWILIO_SID
from tests.twilio_signing import post_signed

_legs = itertools.count(1)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return root


def path_of(url: str) -> str:
    """Twilio posts to the absolute URL it was given; the test client wants the path (with its query)."""
    assert url.startswith(PUBLIC_BASE_URL + "/twilio/voice"), url
    return url[len(PUBLIC_BASE_URL) :]


def call_in(client, world, from_number: str, sid: str, to: str | None = None):
    params = {
        "CallSid": sid,
        "AccountSid": TWILIO_SID,
        "From": from_number,
        "To": to or world.team.crisis_line_number,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    return post_signed(client, "/twilio/voice", params)


def the_dial(root: ET.Element) -> ET.Element:
    [dial] = root.findall("Dial")
    return dial


def numbers(root: ET.Element) -> list[str]:
    return [n.text for n in the_dial(root).findall("Number")]


def number_el(root: ET.Element, phone: str) -> ET.Element:
    [el] = [n for n in the_dial(root).findall("Number") if n.text == phone]
    return el


def answer(client, root: ET.Element, phone: str, parent_sid: str, leg_sid: str | None = None):
    """A staff phone picks up: Twilio runs the Number's url on the child leg. Returns (leg_sid, response)."""
    leg_sid = leg_sid or f"CAleg{next(_legs):027d}"
    url = number_el(root, phone).get("url")
    params = {
        "CallSid": leg_sid,
        "ParentCallSid": parent_sid,
        "AccountSid": TWILIO_SID,
        "To": phone,
        "From": "+19735550100",
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }
    return leg_sid, post_signed(client, path_of(url), params)


def press(client, screen_root: ET.Element, leg_sid: str, parent_sid: str, digits: str | None):
    """The Gather's action, as Twilio posts it (actionOnEmptyResult: no Digits when nothing was pressed)."""
    [gather] = screen_root.findall("Gather")
    params = {
        "CallSid": leg_sid,
        "ParentCallSid": parent_sid,
        "AccountSid": TWILIO_SID,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }
    if digits is not None:
        params["Digits"] = digits
    return post_signed(client, path_of(gather.get("action")), params)


def dial_ended(
    client, root: ET.Element, parent_sid: str, dial_status: str, call_status: str = "in-progress"
):
    """The Dial's action with the parent CallSid, as Twilio posts it when the dialled leg ends."""
    params = {
        "CallSid": parent_sid,
        "AccountSid": TWILIO_SID,
        "DialCallStatus": dial_status,
        "DialCallSid": f"CAdial{next(_legs):026d}",
        "CallStatus": call_status,
        "Direction": "inbound",
    }
    return post_signed(client, path_of(the_dial(root).get("action")), params)


def call_status(client, parent_sid: str, status: str, duration: str = "42"):
    params = {
        "CallSid": parent_sid,
        "AccountSid": TWILIO_SID,
        "CallStatus": status,
        "CallDuration": duration,
        "Direction": "inbound",
    }
    return post_signed(client, "/twilio/voice/status", params)
