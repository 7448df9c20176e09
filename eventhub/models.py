"""Import every model so metadata is complete (Alembic autogenerate, ``create_all``)."""

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
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
from eventhub.selection.models import CalendarDay, SelectionDecision, SelectionSettings

__all__ = [
    "Assignment",
    "AuditLog",
    "CalendarDay",
    "Campaign",
    "Criterion",
    "DeadlineExtension",
    "DemonstrationBase",
    "DetailPlan",
    "DetailPlanAttachment",
    "DetailPlanBase",
    "DetailPlanVersion",
    "Event",
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
    "Score",
    "ScoreSheet",
    "SelectionDecision",
    "SelectionSettings",
    "SharedResource",
    "StoredFile",
    "TechNeed",
    "TechNeedResponse",
    "User",
]
