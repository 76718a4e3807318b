"""The notification's link in a real browser (Debian's chromium, headless,
through Playwright) against the app served by uvicorn: the conversation page
renders on a phone-sized screen, shows a client's new text within five
seconds without a reload, shows a script as text and runs none of it, and
axe-core finds no serious or critical violation."""

from __future__ import annotations

import re

from tests.console.browser import check_accessible, csp_violations


def _link_path(live, phone: str) -> str:
    notes = [m for m in live.outbox(to_number=phone) if "/plan/" in m.body]
    assert notes, "no notification with a link was queued"
    return re.search(r"(/plan/[A-Za-z0-9_-]+)", notes[0].body).group(1)


def _wait_for_link(live, phone: str, page) -> str:
    # The worker routes the text in the background: wait for its notification.
    for _ in range(100):
        if any("/plan/" in m.body for m in live.outbox(to_number=phone)):
            break
        page.wait_for_timeout(100)
    return _link_path(live, phone)


def test_the_conversation_page_updates_itself_and_escapes_what_clients_write(phone_page, live):
    page = phone_page
    assert (
        live.post_sms(live.client_phone, "I can't sleep and the voices are back").status_code == 200
    )
    path = _wait_for_link(live, live.people["oncall"].phone, page)

    page.goto(path)
    assert page.get_by_role("heading", name=re.compile(r"#\d+ Sam")).is_visible()
    assert page.get_by_text("the voices are back").is_visible()
    assert page.get_by_role("heading", name=re.compile("Crisis plan")).is_visible()
    check_accessible(page)
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    live.post_sms(live.client_phone, "<script>window.pwned = 1</script>are you there?")
    shown = page.get_by_text("<script>window.pwned = 1</script>are you there?")
    shown.wait_for(timeout=5_000)
    assert shown.is_visible()
    assert page.evaluate("window.loadedOnce") is True
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator(".conversation script").count() == 0
    check_accessible(page)
    assert csp_violations(page) == []


def test_a_dead_link_shows_nothing_in_the_browser(page, live):
    response = page.goto("/plan/not-a-live-token-at-all")
    assert response.status == 404
    assert page.get_by_role("heading", name=re.compile("expired or was revoked")).is_visible()
    check_accessible(page)
