"""Import every model so metadata is complete (Alembic autogenerate, ``create_all``)."""

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage

__all__ = ["AuditLog", "Campaign", "DemonstrationBase", "MailMessage", "User"]
