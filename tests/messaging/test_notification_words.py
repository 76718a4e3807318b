"""The client's words in a notification, cut to two segments."""

from __future__ import annotations

from app.messaging import texts


def test_a_long_first_text_is_cut_without_measuring_every_shorter_cut(monkeypatch):
    """Found by the conversation model (tests/model): cutting a 2,000-character
    text measured all 2,000 cuts, a second of CPU for each notification."""
    measured = []
    real = texts.sms_length

    def counting(text):
        measured.append(text)
        return real(text)

    monkeypatch.setattr(texts, "sms_length", counting)
    words = " ".join(f"story-{i:04d}" for i in range(200))[:2000]
    body = texts.with_words("CRISIS #12 L1 Sam +12015550150 texted.", words)
    assert body.startswith('CRISIS #12 L1 Sam +12015550150 texted. Said: "story-0000 story-0001')
    assert body.endswith('..."') and texts.sms_length(body)[0] <= texts.TWO_SEGMENTS_GSM7
    assert len(measured) < 400
