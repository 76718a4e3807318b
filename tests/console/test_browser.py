"""The console in a real browser (Debian's chromium, headless, through
Playwright) against the app served by uvicorn: sign-in by keyboard with the
texted code, the board updating by itself, a phone-sized screen, axe-core on
every page and no CSP violation."""

from __future__ import annotations

import re

from tests.console.browser import check_accessible, csp_violations, sign_in


def test_sign_in_by_keyboard_with_the_code_texted_from_the_line(page, live):
    page.goto("/console/login")
    check_accessible(page)
    # The skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "phone"
    page.keyboard.type("(201) 555-0180")
    page.keyboard.press("Enter")
    page.get_by_label("Code from the text message").wait_for()
    check_accessible(page)
    sent = live.outbox(purpose="sign_in_code")
    assert [(m.to_number, m.from_number) for m in sent] == [
        (live.people["supervisor"].phone, live.team.crisis_line_number)
    ]
    assert page.evaluate("document.activeElement.id") == "code"  # autofocus
    page.keyboard.type(live.code_for(live.people["supervisor"].phone))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console$"))
    assert page.get_by_role("heading", name="Live contacts").is_visible()
    assert "Sue Visor" in page.inner_text("header")
    check_accessible(page)
    assert csp_violations(page) == []


def test_the_board_shows_a_new_text_within_five_seconds_without_a_reload(page, live):
    sign_in(page, live, live.people["supervisor"])
    assert page.get_by_text("No open, waiting or unanswered contacts.").is_visible()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    response = live.post_sms(live.client_phone, "I can't sleep and the voices are back")
    assert response.status_code == 200

    card = page.locator(".card", has_text="Sam")
    card.wait_for(timeout=5_000)
    text = card.inner_text()
    assert "sms" in text and "Owen Call" in text  # paged, by name
    assert "the voices are back" in text
    assert page.evaluate("window.loadedOnce") is True
    check_accessible(page)
    assert csp_violations(page) == []


def test_answering_a_contact_from_its_page_by_keyboard(page, live):
    live.post_sms(live.client_phone, "Nobody is picking up")
    owen = live.people["oncall"]  # the on-call rota is paged (nobody is in office hours)
    sign_in(page, live, owen)
    link = page.get_by_role("link", name=re.compile(r"#\d+ Sam"))
    link.wait_for(timeout=5_000)
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/contacts/\d+$"))
    assert page.get_by_text("Nobody is picking up").is_visible()
    check_accessible(page)

    page.get_by_label(re.compile("Reply to the caller")).focus()
    page.keyboard.type("This is Owen from your care team. I'm here.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send reply"
    page.keyboard.press("Enter")
    page.get_by_text("Your message is queued from the crisis line.").wait_for()
    relays = live.outbox(purpose="relay")
    assert [(m.to_number, m.from_number, m.body) for m in relays] == [
        (
            live.client_phone,
            live.team.crisis_line_number,
            "This is Owen from your care team. I'm here.",
        )
    ]
    assert "Held by" in page.inner_text("main") and "Owen Call" in page.inner_text("main")
    check_accessible(page)
    # the caller answers: their words appear on the open page by themselves
    live.post_sms(live.client_phone, "yes I'm home now")
    page.locator(".message.in", has_text="yes I'm home now").wait_for(timeout=5_000)
    assert csp_violations(page) == []


def test_a_phone_sized_screen_needs_no_sideways_scrolling(phone_page, live):
    page = phone_page
    live.post_sms(live.client_phone, "x" * 300)  # a long text must wrap
    sign_in(page, live, live.people["supervisor"])
    page.locator(".card", has_text="Sam").wait_for(timeout=5_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    check_accessible(page)
    page.locator(".card a").first.click()
    page.wait_for_url(re.compile(r".*/console/contacts/\d+$"))
    page.locator("summary", has_text="Resolve").click()  # open the outcome form
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    check_accessible(page)
    page.goto("/console/login")  # signed in: back to the board
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_signing_out_by_keyboard_ends_the_session(page, live):
    sign_in(page, live, live.people["oncall"])
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/login")
    page.goto("/console")
    page.wait_for_url("**/console/login")
