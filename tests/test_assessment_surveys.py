"""Satisfaction-survey services on SQLite and PostgreSQL: who is invited, links, one answer per
person (also under a real concurrent double submit), editing until close, reminders once each,
questionnaire versions, and the figures the score reads."""

from __future__ import annotations

import secrets
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from eventhub.assessment import surveys
from eventhub.assessment.models import Questionnaire, QuestionnaireStatus, SurveyInvitation, SurveyResponse
from eventhub.campaigns.models import Campaign
from eventhub.checkin import services as checkin
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import OrgType, Registration
from tests.concurrency import other_commits_before_read
from tests.event_helpers import make_event
from tests.factories import make_user
from tests.test_checkin_services import make_registration, ticketed

LAST_DAY = date(2025, 5, 20)
INVITE_AT = shanghai(2025, 5, 21, 9)  # 09:00 Beijing the day after


def check_in(event: Event, payload: str) -> None:
    staff = db.session.scalar(select(checkin.User).where(checkin.User.role == Role.ORGANISER.value)) or make_user(Role.ORGANISER)
    result = checkin.checkin_ticket(event, payload, staff=staff, scan_id=secrets.token_hex(8))
    assert result.result == "ok", result


def people(event: Event) -> dict[str, int]:
    """Attended SME, start-up and university; an SME with a ticket who never came; an unticketed SME."""
    out = {}
    for label, org_type, came in [
        ("sme", OrgType.SME, True),
        ("startup", OrgType.STARTUP, True),
        ("university", OrgType.UNIVERSITY, True),
        ("absent", OrgType.SME, False),
    ]:
        registration, payload = ticketed(event, org_type=org_type.value, name=f"{label}人")
        if came:
            check_in(event, payload)
        out[label] = registration.id
    out["noticket"] = make_registration(event, org_type=OrgType.SME.value).id
    db.session.commit()
    return out


@pytest.fixture
def ended(app):  # noqa: ANN001, ANN201
    with app.app_context():
        event = make_event("华润", start=LAST_DAY - timedelta(days=1), days=2)
        ids = people(event)
        db.session.commit()
        yield {"event_id": event.id, "campaign_id": event.campaign_id, **ids}


def invitations(event_id: int) -> list[SurveyInvitation]:
    return list(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.event_id == event_id).order_by(SurveyInvitation.registration_id)))


def token_of(invitation: SurveyInvitation) -> str:
    return surveys.link_token(invitation.event_id, db.session.get(Registration, invitation.registration_id))


def full_answers(questionnaire: Questionnaire, **overrides: object) -> MultiDict:
    by_key = {q.key: q for q in questionnaire.questions}
    data = {"overall": "4", "matchmaking": "5", "roadshow": "3", "nps": "9", "continue": "是", "improve": "茶歇可以更丰富"}
    data.update({k: str(v) for k, v in overrides.items()})
    return MultiDict({surveys.field_name(by_key[k]): v for k, v in data.items() if k in by_key})


def mails(template: str) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.template == template).order_by(MailMessage.id)))


def test_only_checked_in_participants_of_invited_types_get_links_once(app, ended):  # noqa: ANN001
    with app.app_context():
        # Before 09:00 the day after the last day nothing goes out.
        assert "0 invitation" in surveys.send_invitations(INVITE_AT - timedelta(minutes=1))
        assert invitations(ended["event_id"]) == []

        summary = surveys.send_invitations(INVITE_AT)
        assert "2 invitation(s) sent" in summary
        rows = invitations(ended["event_id"])
        assert {r.registration_id for r in rows} == {ended["sme"], ended["startup"]}  # not the university, not the absent, not the unticketed
        campaign = db.session.get(Campaign, ended["campaign_id"])
        default = surveys.published(campaign)
        assert (
            default is not None
            and default.version == 1
            and [q.key for q in default.questions]
            == [
                "overall",
                "matchmaking",
                "roadshow",
                "nps",
                "continue",
                "improve",
            ]
        )
        assert default.questions[4].choices == ["是", "否", "不确定"] and not default.questions[5].required
        first = rows[0]
        assert first.closes_at == shanghai(2025, 6, 19, 23, 59, 59)  # 30 days after the last day, end of the Beijing day
        assert first.questionnaire_id == default.id
        # Personal link: only the SHA-256 of the token is stored, and the token finds the invitation.
        token = token_of(first)
        assert len(token) == 43 and first.token_hash != token
        assert surveys.find_invitation(token).id == first.id
        assert surveys.find_invitation(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        sent = mails("assessment_survey_invitation")
        assert len(sent) == 2 and token in sent[0].body + sent[1].body
        assert {m.key for m in sent} == {f"survey-invitation:{ended['event_id']}:{ended['sme']}", f"survey-invitation:{ended['event_id']}:{ended['startup']}"}

        # A second run creates and mails nothing more.
        assert "0 invitation(s) sent" in surveys.send_invitations(INVITE_AT + timedelta(hours=1))
        assert len(invitations(ended["event_id"])) == 2 and len(mails("assessment_survey_invitation")) == 2

        # The organiser adds universities in a new version: the next run invites the university with v2.
        draft = surveys.new_version(campaign)
        surveys.update_settings(draft, {"title": draft.title, "invite_org_types": ["university"], "open_days": 30, "reminder_days": "7, 21"})
        surveys.publish(draft)
        db.session.commit()
        assert "1 invitation(s) sent" in surveys.send_invitations(INVITE_AT + timedelta(hours=2))
        rows = {r.registration_id: r for r in invitations(ended["event_id"])}
        assert rows[ended["university"]].questionnaire_id == draft.id
        assert rows[ended["sme"]].questionnaire_id == default.id  # invitations keep the version they were sent with

        # After the close nobody new is invited.
        late = make_registration(db.session.get(Event, ended["event_id"]), org_type=OrgType.SME.value)
        from eventhub.registration import tickets

        check_in(db.session.get(Event, ended["event_id"]), tickets.ticket_payload(tickets.issue_ticket(late)))
        db.session.commit()
        assert "0 invitation(s) sent" in surveys.send_invitations(shanghai(2025, 6, 20, 9))


def test_concurrent_invitation_runs_create_one_row_each(make_app, backend):  # noqa: ANN001
    app = make_app()
    with app.app_context():
        event = make_event("国网", start=LAST_DAY)
        people(event)
        event_id = event.id
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                surveys.send_invitations(INVITE_AT)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with app.app_context():
        assert not errors, errors
        assert len(invitations(event_id)) == 2
        assert len(mails("assessment_survey_invitation")) == 2
        assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 1


@pytest.mark.parametrize("before_read", [1, 2, 3])
def test_first_use_racing_another_commit_keeps_one_published_version(make_app, backend, before_read):  # noqa: ANN001
    """The interleaving that once made two published questionnaires, forced rather than hoped for:
    another worker creates and commits the default just before this worker's first, second or
    third read of the campaign's questionnaires (or after it finished, if it reads fewer times)."""
    app = make_app()
    with app.app_context():
        campaign_id = make_event("国网", start=LAST_DAY).campaign_id
        db.session.commit()
    other: list[int] = []

    def other_first_use() -> None:
        other.append(surveys.ensure_questionnaire(db.session.get(Campaign, campaign_id)).id)

    with other_commits_before_read(app, "questionnaires", before_read, other_first_use) as run_other_if_not_yet, app.app_context():
        mine = surveys.ensure_questionnaire(db.session.get(Campaign, campaign_id)).id
        db.session.commit()
        run_other_if_not_yet()
        assert other == [mine]
        rows = db.session.scalars(select(Questionnaire)).all()
        assert [(q.version, q.status) for q in rows] == [(1, QuestionnaireStatus.PUBLISHED.value)]


def test_one_response_per_person_edit_until_close(app, ended):  # noqa: ANN001
    with app.app_context():
        surveys.send_invitations(INVITE_AT)
        db.session.commit()
        invitation = invitations(ended["event_id"])[0]
        questionnaire = invitation.questionnaire

        # Validation: required questions, ranges, choices — Chinese messages per field.
        with pytest.raises(surveys.SurveyError) as refused:
            surveys.submit_response(invitation, MultiDict({surveys.field_name(questionnaire.questions[0]): "6"}), now=INVITE_AT)
        errors = refused.value.errors
        assert errors[surveys.field_name(questionnaire.questions[0])] == "请选择 1 到 5 之间的分数。"
        assert errors[surveys.field_name(questionnaire.questions[1])] == "请选择一项。"
        assert surveys.field_name(questionnaire.questions[5]) not in errors  # optional text
        with pytest.raises(surveys.SurveyError) as refused:
            surveys.submit_response(invitation, full_answers(questionnaire, nps="11", **{"continue": "也许"}), now=INVITE_AT)
        assert set(refused.value.errors) == {surveys.field_name(questionnaire.questions[3]), surveys.field_name(questionnaire.questions[4])}
        db.session.rollback()

        response, created = surveys.submit_response(invitation, full_answers(questionnaire), now=INVITE_AT)
        db.session.commit()
        assert created and response.answers[str(questionnaire.questions[0].id)] == 4
        # A second submit edits the same row.
        again, created = surveys.submit_response(invitation, full_answers(questionnaire, overall=2, improve=""), now=INVITE_AT + timedelta(days=3))
        db.session.commit()
        assert not created and again.id == response.id
        assert again.answers[str(questionnaire.questions[0].id)] == 2 and str(questionnaire.questions[5].id) not in again.answers
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1

        # Until closes_at (to the second), then refused.
        surveys.submit_response(invitation, full_answers(questionnaire, overall=3), now=invitation.closes_at)
        db.session.commit()
        with pytest.raises(surveys.SurveyError) as refused:
            surveys.submit_response(invitation, full_answers(questionnaire, overall=5), now=invitation.closes_at + timedelta(seconds=1))
        assert refused.value.closed and "关闭" in str(refused.value)
        db.session.rollback()
        assert db.session.get(SurveyResponse, response.id).answers[str(questionnaire.questions[0].id)] == 3


def test_concurrent_double_submit_leaves_one_row(make_app, backend):  # noqa: ANN001
    app = make_app()
    with app.app_context():
        event = make_event("中石油", start=LAST_DAY)
        people(event)
        surveys.send_invitations(INVITE_AT)
        db.session.commit()
        invitation_id = invitations(event.id)[0].id
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def submit(score: int) -> None:
        try:
            with app.app_context():
                invitation = db.session.get(SurveyInvitation, invitation_id)
                form = full_answers(invitation.questionnaire, overall=score)
                barrier.wait()
                surveys.submit_response(invitation, form, now=INVITE_AT)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with app.app_context():
        assert not errors, errors
        rows = list(db.session.scalars(select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)))
        assert len(rows) == 1


def test_reminders_once_each_none_to_respondents_none_after_close(app, ended):  # noqa: ANN001
    with app.app_context():
        surveys.send_invitations(INVITE_AT)
        db.session.commit()
        sme, startup = invitations(ended["event_id"])
        surveys.submit_response(startup, full_answers(startup.questionnaire), now=INVITE_AT)
        db.session.commit()

        assert "0 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=6, hours=23))
        assert "1 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=7))
        assert "0 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=7, hours=1))  # idempotent
        sent = mails("assessment_survey_reminder")
        assert [m.key for m in sent] == [f"survey-reminder:{sme.id}:1"] and sent[0].recipient == db.session.get(Registration, sme.registration_id).email
        assert token_of(sme) in sent[0].body  # the same personal link again
        db.session.refresh(sme)
        assert sme.reminders_sent == 1 and sme.last_reminded_at is not None

        assert "1 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=21))
        assert "0 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=22))
        assert [m.key for m in mails("assessment_survey_reminder")] == [f"survey-reminder:{sme.id}:1", f"survey-reminder:{sme.id}:2"]
        assert "0 open invitation" in surveys.send_reminders(sme.closes_at + timedelta(seconds=1))


def test_reminders_after_downtime_and_after_close(app, ended):  # noqa: ANN001
    with app.app_context():
        surveys.send_invitations(INVITE_AT)
        db.session.commit()
        # Down for three weeks: only the latest due reminder goes out, once.
        assert "2 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=25))
        assert {m.key.rsplit(":", 1)[1] for m in mails("assessment_survey_reminder")} == {"2"}
        assert "0 reminded" in surveys.send_reminders(INVITE_AT + timedelta(days=26))
        # Nothing at all after close, even if a reminder day would fall there.
        campaign = db.session.get(Campaign, ended["campaign_id"])
        for row in invitations(ended["event_id"]):
            row.reminders_sent = 0
        db.session.commit()
        assert surveys.send_reminders(shanghai(2025, 6, 20)) == "0 open invitation(s) without an answer, 0 reminded"
        assert surveys.published(campaign).reminder_days == [7, 21]


def test_versions_frozen_new_version_and_old_answers_readable(app, ended):  # noqa: ANN001
    with app.app_context():
        campaign = db.session.get(Campaign, ended["campaign_id"])
        v1 = surveys.ensure_questionnaire(campaign)
        assert surveys.ensure_questionnaire(campaign).id == v1.id
        surveys.send_invitations(INVITE_AT)
        db.session.commit()
        sme = invitations(ended["event_id"])[0]
        surveys.submit_response(sme, full_answers(v1, overall=5, nps=10), now=INVITE_AT)
        db.session.commit()

        with pytest.raises(surveys.SurveyError):
            surveys.add_question(v1, {"label": "新题", "kind": "text"})
        with pytest.raises(surveys.SurveyError):
            surveys.update_question(v1.questions[0], {"label": "改", "kind": "scale5"})
        with pytest.raises(surveys.SurveyError):
            surveys.remove_question(v1.questions[0])

        v2 = surveys.new_version(campaign)
        assert surveys.new_version(campaign).id == v2.id  # one draft at a time
        assert (v2.version, v2.status, len(v2.questions)) == (2, "draft", 6)
        assert {q.id for q in v2.questions}.isdisjoint({q.id for q in v1.questions})
        surveys.update_question(v2.questions[0], {"label": "总体而言，您对本次活动满意吗？", "kind": "scale5", "key": "overall", "required": "y"})
        surveys.add_question(v2, {"label": "您最感兴趣的环节", "kind": "multiple", "choices": "路演\n对接会\n展览", "required": ""})
        surveys.remove_question(next(q for q in v2.questions if q.key == "roadshow"))
        last = v2.questions[-1]
        assert surveys.move_question(last, -1) and not surveys.move_question(v2.questions[0], -1)
        # Well-known keys keep their kind; keys are unique in a version; choice questions need two choices.
        with pytest.raises(surveys.SurveyError) as refused:
            surveys.add_question(v2, {"label": "x", "kind": "scale5", "key": "nps"})
        assert "key" in refused.value.errors
        with pytest.raises(surveys.SurveyError) as refused:
            surveys.add_question(v2, {"label": "x", "kind": "single", "key": "overall", "choices": "是"})
        assert set(refused.value.errors) == {"key", "choices"}
        db.session.commit()
        assert v1.questions[0].label == "您对本次主题日活动的总体满意度"  # the published version did not move

        retired = surveys.publish(v2)
        db.session.commit()
        assert retired.id == v1.id and v1.status == QuestionnaireStatus.RETIRED.value and v2.status == QuestionnaireStatus.PUBLISHED.value
        assert surveys.published(campaign).id == v2.id

        # The old answer is still read against v1; the score reads "overall" and "nps" by key across versions.
        event = db.session.get(Event, ended["event_id"])
        assert [q.version for q in surveys.event_questionnaires(event)] == [1]
        old = surveys.question_results(event, v1)
        assert old[0].n == 1 and old[0].rows[4] == ("5", 1, 1.0)
        startup = invitations(ended["event_id"])[1]
        assert startup.questionnaire_id == v1.id  # sent before the change: stays on v1
        surveys.submit_response(startup, full_answers(v1, overall=2, nps=3), now=INVITE_AT)
        db.session.commit()
        figures = surveys.survey_figures(event)
        assert figures["overall_mean"] == 3.5 and figures["nps"] == 0.0 and figures["n"]["overall"] == 2


def test_figures_and_distributions(app):  # noqa: ANN001
    """A hand-computed example: 5 invited, 4 answered; overall 5,4,4,2 → 3.75; NPS 10,9,7,3 → 50% − 25% = 25."""
    with app.app_context():
        event = make_event("招商", start=LAST_DAY)
        payloads = []
        for _i in range(5):
            _reg, payload = ticketed(event, org_type=OrgType.SME.value)
            check_in(event, payload)
            payloads.append(payload)
        db.session.commit()
        surveys.send_invitations(INVITE_AT)
        rows = invitations(event.id)
        questionnaire = rows[0].questionnaire
        for row, (overall, nps, cont, improve) in zip(
            rows, [(5, 10, "是", "很好"), (4, 9, "是", ""), (4, 7, "不确定", "=cmd"), (2, 3, "否", "")], strict=False
        ):
            surveys.submit_response(row, full_answers(questionnaire, overall=overall, nps=nps, improve=improve, **{"continue": cont}), now=INVITE_AT)
        db.session.commit()
        figures = surveys.survey_figures(event)
        assert (figures["invited"], figures["responded"], figures["response_rate"]) == (5, 4, 0.8)
        assert figures["overall_mean"] == 3.75 and figures["nps"] == 25.0
        assert (figures["promoters"], figures["passives"], figures["detractors"]) == (2, 1, 1)
        assert figures["n"] == {"continue": 4, "improve": 2, "matchmaking": 4, "nps": 4, "overall": 4, "roadshow": 4}

        results = {r.question.key: r for r in surveys.question_results(event, questionnaire)}
        assert [c for _v, c, _s in results["overall"].rows] == [0, 1, 0, 2, 1] and results["overall"].mean == 3.75
        assert len(results["nps"].rows) == 11 and results["nps"].nps == 25.0
        assert results["continue"].rows == [("是", 2, 0.5), ("否", 1, 0.25), ("不确定", 1, 0.25)]
        assert sorted(results["improve"].texts) == ["=cmd", "很好"]
        hidden = {r.question.key: r for r in surveys.question_results(event, questionnaire, include_text=False)}
        assert hidden["improve"].texts == [] and hidden["improve"].n == 2
        campaign_wide = surveys.question_results(event.campaign, questionnaire)
        assert campaign_wide[0].n == 4

        # Non-respondents: the one without an answer.
        pending = list(db.session.scalars(surveys.non_respondents_query(event)))
        assert [inv.id for inv in pending] == [rows[4].id]
        assert list(surveys.registrations_of(pending)) == [rows[4].registration_id]

        # The export neutralises formula-looking answers; the host's version has no answers sheet.
        from io import BytesIO

        from openpyxl import load_workbook

        full = load_workbook(BytesIO(surveys.export_xlsx(event, full=True)))
        assert len(full.sheetnames) == 3
        cells = [c.value for row in full[full.sheetnames[2]].iter_rows() for c in row]
        assert "'=cmd" in cells and "=cmd" not in cells
        aggregate = load_workbook(BytesIO(surveys.export_xlsx(event, full=False)))
        assert len(aggregate.sheetnames) == 2
        all_cells = [str(c.value) for ws in aggregate for row in ws.iter_rows() for c in row]
        assert not any("cmd" in v or "很好" in v for v in all_cells)
        assert not any(reg_name in v for v in all_cells for reg_name in ("参会人",))
