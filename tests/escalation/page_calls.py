"""Answering a page call as Twilio would: signed posts to the URLs the
service gave Twilio's Calls API (recorded by tests/world.py's stand-in)."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

from tests.twilio_signing import post_signed

_call_sids = itertools.count(1)


def path_of(url: str) -> str:
    """The path and query Twilio would post to, from a URL we gave it."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pick_up(client, call):
    """The paged phone answers: Twilio fetches the call's TwiML."""
    return post_signed(
        client,
        path_of(call.url),
        {"CallSid": call.sid, "AccountSid": "AC", "CallStatus": "in-progress", "To": call.to},
    )


def press(client, call, digits: str):
    """The <Gather> action, as Twilio posts it (empty Digits when nothing was pressed)."""
    result = path_of(call.url).replace("/twilio/voice/page?", "/twilio/voice/page-result?")
    return post_signed(
        client,
        result,
        {"CallSid": call.sid, "AccountSid": "AC", "Digits": digits, "CallStatus": "in-progress"},
    )


def call_ends(client, call, status: str, duration: str = "12"):
    return post_signed(
        client,
        path_of(call.status_callback),
        {"CallSid": call.sid, "AccountSid": "AC", "CallStatus": status, "CallDuration": duration},
    )
