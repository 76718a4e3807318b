"""Outbound SMS against a Prism mock of Twilio's own OpenAPI spec
(shared/twilio/twilio_api_v2010.yaml): Prism refuses requests the real API
would refuse, so this checks our requests, not a mock we wrote ourselves."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.messaging.senders import TwilioSender
from tests.conftest import TWILIO_SID

ROOT = Path(__file__).resolve().parents[2]
PRISM_DIR = ROOT / "tests" / "prism"
SPEC = ROOT.parent / "shared" / "twilio" / "twilio_api_v2010.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prism_url():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed: the Prism contract test needs node and npm")
    if not SPEC.exists():
        pytest.skip(f"Twilio's OpenAPI spec is not at {SPEC}")
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=PRISM_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "mock", str(SPEC), "--host", "127.0.0.1", "--port", str(port), "--errors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("prism exited: " + process.stdout.read().decode()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.3)  # waiting for a child process to listen, not for our own code
        else:
            pytest.fail("prism did not start listening within 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_our_outbound_sms_is_valid_for_twilios_spec(prism_url):
    sender = TwilioSender(account_sid=TWILIO_SID, auth_token="token", api_base_url=prism_url)
    try:
        result = sender.send(
            to="+12015550150",
            from_="+19735550100",
            body="We got your message.",
            status_callback="https://crisis.example.org/twilio/status",
        )
    finally:
        sender.close()
    assert result.ok, result
    assert result.provider_sid and result.provider_sid.startswith("SM")


def test_prism_rejects_what_twilio_would_so_the_check_is_real(prism_url):
    # Missing To/Body: the spec says 400/422; our sender must count it as permanent.
    response = httpx.post(
        f"{prism_url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
        data={"From": "+19735550100"},
        auth=(TWILIO_SID, "token"),
    )
    assert response.status_code >= 400
