"""The read-only crisis-plan page behind a short-lived link (no API key)."""

from __future__ import annotations

from html import escape

from app.clients.models import PLAN_SECTIONS, Client, CrisisPlan

TITLES = {
    "warning_signs": "Warning signs",
    "coping_strategies": "Things I can do on my own",
    "social_supports": "People and places that help me feel better",
    "people_to_call": "People I can ask for help",
    "professionals": "Professionals and agencies (988 Suicide & Crisis Lifeline)",
    "safe_environment": "Making my environment safe",
    "reasons_for_living": "My reasons for living",
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1rem;max-width:40rem;line-height:1.4;color:#1a202c}"
    "h1{font-size:1.3rem}h2{font-size:1.05rem;margin:1.2rem 0 .3rem}li{margin:.2rem 0}"
    ".note{color:#4a5568;font-size:.85rem}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{_STYLE}</style>'
        f"</head><body>{body}</body></html>"
    )


def render_plan(client: Client, plan: CrisisPlan | None, expires_at) -> str:
    if plan is None:
        return _page(
            "Crisis plan", f"<h1>{escape(client.preferred_name)}</h1><p>No crisis plan on file.</p>"
        )
    parts = [
        f"<h1>Safety plan: {escape(client.preferred_name)}</h1>",
        f'<p class="note">Version {plan.version}. Link valid until {escape(expires_at.isoformat())}. '
        "Confidential: do not forward.</p>",
    ]
    for name in PLAN_SECTIONS:
        items = plan.sections.get(name) or []
        parts.append(f"<h2>{escape(TITLES[name])}</h2>")
        parts.append(
            "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"
            if items
            else "<p>—</p>"
        )
    for label, value in (
        ("Preferred hospital", plan.preferred_hospital),
        ("Advance directive", plan.advance_directive_notes),
        ("Notes", plan.notes),
    ):
        if value:
            parts.append(f"<h2>{label}</h2><p>{escape(value)}</p>")
    return _page("Crisis plan", "".join(parts))


def render_gone() -> str:
    return _page(
        "Link expired",
        "<h1>This link has expired or was revoked.</h1>"
        "<p>Ask the crisis line for a new one, or use the crisisroute API.</p>",
    )
