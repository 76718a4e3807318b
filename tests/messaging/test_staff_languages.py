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


def test_the_conversation_notices_are_in_the_readers_language():
    """The texts a holder reads about a conversation (#21) come from the
    catalog: the client's words, a photo, the carrier's block, a reply that
    did not arrive."""
    assert texts.with_words("CRISIS #12 N1", "tengo miedo", "es").endswith('Dijo: "tengo miedo"')
    assert texts.with_words("CRISIS #12 L1", "I am scared", "en").endswith('Said: "I am scared"')
    photo = [{"url": "https://x", "content_type": "image/jpeg"}]
    pdf = [{"url": "https://y", "content_type": "application/pdf"}]
    assert (
        texts.media_notice(contact_id=12, media=photo + pdf, url="https://l", lang="es")
        == "#12 envió una foto y un archivo PDF: https://l"
    )
    assert (
        texts.media_notice(contact_id=12, media=photo, url="https://l", lang="en")
        == "#12 sent a photo: https://l"
    )
    assert texts.opted_out_notice(
        contact_id=12, word="STOP", from_number="+12015550150", lang="es"
    ) == (
        '#12 escribió "STOP": el operador ahora bloquea los mensajes a esta persona. '
        "Llámele: +12015550150"
    )
    assert (
        texts.relay_not_delivered(contact_id=12, from_number="+12015550150", lang="es")
        == "No se entregó a #12: llámele al +12015550150"
    )
