"""The assessment's periodic jobs, registered in ``eventhub.core.scheduler.JOBS``.

Thin entry points: the rules (who is due, keyed mails so a second run sends nothing) live in
:mod:`eventhub.assessment.mechanisms` and :mod:`eventhub.assessment.surveys`; the imports are
inside the functions so the registry can be read without loading those modules.
"""

from __future__ import annotations

from datetime import datetime


def mechanism_followups(now: datetime | None = None) -> str:
    """Ask mechanism members, 3 and 6 months after the event, whether it is still active."""
    from eventhub.assessment import mechanisms

    return mechanisms.send_due_checks(now)


def survey_invitations(now: datetime | None = None) -> str:
    """Send the personal survey links of events that have ended to their checked-in participants."""
    from eventhub.assessment import surveys

    return surveys.send_invitations(now)


def survey_reminders(now: datetime | None = None) -> str:
    """Remind non-respondents on the questionnaire's reminder days (each reminder once)."""
    from eventhub.assessment import surveys

    return surveys.send_reminders(now)
