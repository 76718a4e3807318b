"""Staff notifications in the reader's language, down to the shortest form
(when even the name does not fit, e.g. beside a long plan link)."""

from __future__ import annotations

from app.messaging import texts


def notification(lang: str, plan_url: str) -> str:
    return texts.staff_notification(
        contact_id=12,
        level=1,
        label="primary on-call",
        who="Sam",
        from_number="+12015550150",
        plan_url=plan_url,
        lang=lang,
        client_language="es",
    )


def test_the_shortest_notification_is_in_the_readers_language():
    long_link = "https://crisis.example.org/plan/" + "x" * 90
    assert notification("es", long_link) == f"CRISIS #12 N1 ES +12015550150. Plan: {long_link}"
    assert notification("en", long_link) == f"CRISIS #12 L1 ES +12015550150. Plan: {long_link}"


def test_the_usual_notification_names_the_level_in_spanish_too():
    body = notification("es", "https://crisis.example.org/plan/abc")
    assert body.startswith("CRISIS #12 N1 ES Sam +12015550150: SMS.")
