"""Import every model so metadata is complete (Alembic autogenerate, ``create_all``)."""

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.checkin.models import ApiToken, Checkin, CheckinList, CheckinScan, CheckinStaff
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailAttachment, MailMessage
from eventhub.core.scheduler_models import JobRun
from eventhub.core.uploads import StoredFile
from eventhub.events.models import (
    DetailPlan,
    DetailPlanAttachment,
    DetailPlanBase,
    DetailPlanVersion,
    Event,
    EventSession,
    SharedResource,
    TechNeed,
    TechNeedResponse,
)
from eventhub.judging.models import Assignment, Criterion, JudgeAffiliation, JudgingItem, JudgingRound, Score, ScoreSheet
from eventhub.plans.models import DeadlineExtension, PlanParticipant, PlanVersion, PlanWindow, PreliminaryPlan
from eventhub.registration.models import EventKey, Registration, RegistrationQuestion, RegistrationQuota, Ticket, TicketRevocation
from eventhub.selection.models import CalendarDay, SelectionDecision, SelectionSettings

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditLog",
    "CalendarDay",
    "Campaign",
    "Checkin",
    "CheckinList",
    "CheckinScan",
    "CheckinStaff",
    "Criterion",
    "DeadlineExtension",
    "DemonstrationBase",
    "DetailPlan",
    "DetailPlanAttachment",
    "DetailPlanBase",
    "DetailPlanVersion",
    "Event",
    "EventKey",
    "EventSession",
    "JobRun",
    "JudgeAffiliation",
    "JudgingItem",
    "JudgingRound",
    "MailAttachment",
    "MailMessage",
    "PlanParticipant",
    "PlanVersion",
    "PlanWindow",
    "PreliminaryPlan",
    "Registration",
    "RegistrationQuestion",
    "RegistrationQuota",
    "Score",
    "ScoreSheet",
    "SelectionDecision",
    "SelectionSettings",
    "SharedResource",
    "StoredFile",
    "TechNeed",
    "TechNeedResponse",
    "Ticket",
    "TicketRevocation",
    "User",
]
