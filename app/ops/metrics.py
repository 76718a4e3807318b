"""Prometheus metrics. Under `serve` the web process and its worker child
share them through prometheus_client's multiprocess mode (see app/cli/processes.py)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "crisisroute_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "crisisroute_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)
WEBHOOKS = Counter("crisisroute_webhooks_total", "Twilio webhooks", ["kind", "result"])
CONTACTS_OPENED = Counter(
    "crisisroute_contacts_opened_total", "Crisis contacts opened", ["channel"]
)
ESCALATIONS = Counter("crisisroute_escalations_total", "Escalation steps taken", ["reason"])
UNANSWERED = Counter(
    "crisisroute_contacts_unanswered_total", "Contacts that reached the end of their plan"
)
OUTBOUND = Counter(
    "crisisroute_outbound_messages_total", "Outbound message dispatch results", ["result"]
)
OUTBOX_PENDING = Gauge(
    "crisisroute_outbox_pending",
    "Outbound messages waiting to be handed to Twilio",
    multiprocess_mode="livemax",
)
CARRIER_UNREACHABLE = Gauge(
    "crisisroute_carrier_unreachable_seconds",
    "How long every send has failed for the carrier's reasons (network, timeout, 5xx, 429); "
    "0 until that has lasted 2 minutes, and again once a send is accepted",
    multiprocess_mode="livemax",
)
STUCK_TEXTS = Gauge(
    "crisisroute_stuck_texts",
    "Accepted texts that neither routing nor the minimal plan could open yet "
    "(retried every minute; GET /v1/teams/{id}/stuck lists them)",
    multiprocess_mode="livemax",
)
TICK_SECONDS = Histogram("crisisroute_tick_seconds", "Duration of one escalation tick")
INBOX_ROUTED = Counter(
    "crisisroute_inbox_routed_total", "Recorded inbound SMS routed, by outcome", ["outcome"]
)
