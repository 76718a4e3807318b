"""Every table, imported once so SQLModel.metadata (and Alembic) sees them all."""

import app.contacts.derived  # noqa: F401  (sets derived fields on every new contact)
from app.auth.models import ApiKey, AuditLog, ConsoleSession, SignInCode  # noqa: F401
from app.clients.models import Client, ClientEvent, ClientPhone, CrisisPlan, PlanLink  # noqa: F401
from app.contacts.models import Contact, ContactEvent  # noqa: F401
from app.escalation.models import PageStep  # noqa: F401
from app.messaging.models import OutboundMessage, SentNotice, SmsOptOut  # noqa: F401
from app.oncall.models import Rota, RotaOverride  # noqa: F401
from app.teams.models import Leave, Staff, Team  # noqa: F401
