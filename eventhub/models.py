"""Import every model so metadata is complete (Alembic autogenerate, ``create_all``)."""

from eventhub.assessment.models import (
    AssessmentSettings,
    Deal,
    DealEvidence,
    EventAssessment,
    Mechanism,
    MechanismCheck,
    MechanismMember,
    Questionnaire,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)
from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.checkin.models import ApiToken, Checkin, CheckinList, CheckinScan, CheckinStaff
from eventhub.competitions.models import Award, Competition, CompetitionEntry, CompetitionRound, CompetitionTrack, Recommendation, RoundResult
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
from eventhub.roadshow.models import MatchmakingLead, PanelMember, Placement, ProjectApplication, ProjectCall, RoadshowSession, ScheduleVersion
from eventhub.selection.models import CalendarDay, SelectionDecision, SelectionSettings

__all__ = [
    "ApiToken",
    "AssessmentSettings",
    "Assignment",
    "AuditLog",
    "Award",
    "CalendarDay",
    "Campaign",
    "Checkin",
    "CheckinList",
    "CheckinScan",
    "CheckinStaff",
    "Competition",
    "CompetitionEntry",
    "CompetitionRound",
    "CompetitionTrack",
    "Criterion",
    "DeadlineExtension",
    "Deal",
    "DealEvidence",
    "DemonstrationBase",
    "DetailPlan",
    "DetailPlanAttachment",
    "DetailPlanBase",
    "DetailPlanVersion",
    "Event",
    "EventAssessment",
    "EventKey",
    "EventSession",
    "JobRun",
    "JudgeAffiliation",
    "JudgingItem",
    "JudgingRound",
    "MailAttachment",
    "MailMessage",
    "MatchmakingLead",
    "Mechanism",
    "MechanismCheck",
    "MechanismMember",
    "PanelMember",
    "Placement",
    "PlanParticipant",
    "PlanVersion",
    "PlanWindow",
    "PreliminaryPlan",
    "ProjectApplication",
    "ProjectCall",
    "Questionnaire",
    "Recommendation",
    "Registration",
    "RegistrationQuestion",
    "RegistrationQuota",
    "RoadshowSession",
    "RoundResult",
    "ScheduleVersion",
    "Score",
    "ScoreSheet",
    "SelectionDecision",
    "SelectionSettings",
    "SharedResource",
    "StoredFile",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyResponse",
    "TechNeed",
    "TechNeedResponse",
    "Ticket",
    "TicketRevocation",
    "User",
]
