"""Reopening a decided competition round (撤销本轮结果): the decision is undone exactly (entries,
results, the engine's round, the next round's preparation, the final's awards), then decided again;
refused after publication and once the next round scores; audited; the confirmation page needs
``competitions.manage``, CSRF and a reason. Real database (SQLite and PostgreSQL), real engine rows
and score sheets, real outbox rows — no mocks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.competitions import services as comp
from eventhub.competitions.models import AdvanceMode, Award, CompetitionRound, CompetitionStatus, EntryStatus, RoundResult, RoundStatus
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment, JudgingItem
from tests.concurrency import run_concurrently
from tests.factories import PASSWORD, login, make_user
from tests.test_competitions import add_entry, finished_competition, make_competition, reviewers, run_round


def _tied_first_round(organiser):  # noqa: ANN001, ANN202
    """One track, top 2 advance; scores 9, 8, 8, 5 — a tie at the cut."""
    c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("初赛", AdvanceMode.TOP_N.value, advance_n=2), comp.RoundSpec("决赛")])
    e = [add_entry(c, i) for i in range(1, 5)]
    first = c.rounds[0]
    run_round(first, {e[0].id: 9, e[1].id: 8, e[2].id: 8, e[3].id: 5}, organiser)
    return c, e


def test_decide_reopen_and_decide_again_with_another_tie_policy(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = _tied_first_round(organiser)
        first, final = c.rounds
        comp.decide_round(first, organiser)  # 同分并列晋级: three go through
        assert {r.entry_id for r in comp.results_of(first) if r.advanced} == {e[0].id, e[1].id, e[2].id}
        # the next round was prepared and judges assigned before the mistake was noticed
        comp.prepare_round(final, organiser)
        comp.auto_assign_judges(final, reviewers(2), 2, organiser)
        next_jr = comp.judging_round(final)
        next_jr_id = next_jr.id
        db.session.commit()

        plan = comp.reopen_plan(first)
        assert plan.allowed and len(plan.results) == 4 and [x.id for x in plan.back_to_active] == [e[3].id]
        assert plan.next_items == 3 and plan.next_assignments == 6 and plan.next_judges == 2

        with pytest.raises(comp.CompetitionError) as exc:
            comp.reopen_round(first, organiser, "   ")
        assert "reason" in exc.value.errors
        db.session.rollback()
        assert first.status == RoundStatus.DECIDED.value  # nothing changed

        comp.reopen_round(first, organiser, "并列处理方式选错，应严格按名额晋级")
        db.session.commit()
        # exactly what the decision did is undone
        assert first.status == RoundStatus.SCORING.value and first.decided_at is None
        assert comp.judging_round(first).status == "scoring"
        assert db.session.scalar(select(func.count()).select_from(RoundResult)) == 0
        assert all(x.status == EntryStatus.ACTIVE.value and x.reached_round_id == first.id for x in e)
        assert {x.id for x in comp.entries_in_round(final)} == set()
        # the next round's preparation is gone; its rubric (the engine's round) stays for later
        assert final.judging_round_id is None
        assert db.session.scalar(select(func.count()).select_from(JudgingItem).where(JudgingItem.round_id == next_jr_id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 4  # only the first round's (one judge × 4 entries)
        assert judging.round_by_key(comp.ROUND_KEY.format(round_id=final.id)).criteria

        # decided again, strictly N by the engine's tie rule: a different result
        comp.decide_round(first, organiser, tie_policy="tie_break")
        db.session.commit()
        results = {r.entry_id: r for r in comp.results_of(first)}
        assert [results[x.id].advanced for x in e] == [True, True, False, False]
        assert e[2].status == EntryStatus.ELIMINATED.value and e[1].reached_round_id == final.id
        comp.prepare_round(final, organiser)
        assert {i.ref_id for i in judging.active_items(comp.judging_round(final))} == {e[0].id, e[1].id}
        assert comp.judging_round(final).id == next_jr_id  # the same engine round (rubric kept)
        # only the entrant whose outcome changed is told again, under a new key
        keys = set(db.session.scalars(select(MailMessage.key).where(MailMessage.key.like(f"competition-round-result:{first.id}:%"))))
        assert keys == {f"competition-round-result:{first.id}:{x.id}" for x in e} | {f"competition-round-result:{first.id}:{e[2].id}:1"}
        corrected = db.session.scalar(select(MailMessage).where(MailMessage.key == f"competition-round-result:{first.id}:{e[2].id}:1"))
        assert corrected.subject.startswith("【更正】") and "已更正" in corrected.body and "未能在" in corrected.body
        original = db.session.scalar(select(MailMessage).where(MailMessage.key == f"competition-round-result:{first.id}:{e[2].id}"))
        assert "更正" not in original.subject + original.body


def test_reopen_is_audited_with_the_undone_decision(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = _tied_first_round(organiser)
        first = c.rounds[0]
        comp.decide_round(first, organiser)
        comp.reopen_round(first, organiser, "有一份评分表迟交")
        db.session.commit()
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "competition_round.reopen"))
        assert row.object_type == "CompetitionRound" and row.object_id == str(first.id) and row.actor_id == organiser.id
        assert row.before["status"] == "decided" and row.after["status"] == "scoring"
        assert row.after["reason"] == "有一份评分表迟交" and row.after["active_again"] == [e[3].id]
        undone = {r["entry_id"]: r for r in row.before["results"]}
        assert undone[e[0].id]["rank"] == 1 and undone[e[2].id]["advanced"] and undone[e[2].id]["tie_note"]
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "judging.reopen")) is not None


def test_final_round_reopen_removes_awards_and_is_refused_after_publication(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = finished_competition(organiser)
        final = c.rounds[0]
        comp.save_awards(c, {e[0].id: "一等奖", e[1].id: "二等奖"}, organiser)
        db.session.commit()
        plan = comp.reopen_round(final, organiser, "决赛有评委评分表迟交")
        assert len(plan.awards) == 2 and plan.reopens_competition
        db.session.commit()
        assert c.status == CompetitionStatus.JUDGING.value and final.status == RoundStatus.SCORING.value
        assert db.session.scalar(select(func.count()).select_from(Award)) == 0
        assert all(x.status == EntryStatus.ACTIVE.value for x in e)
        comp.decide_round(final, organiser)
        comp.save_awards(c, {e[0].id: "一等奖"}, organiser)
        comp.publish_results(c, organiser)
        db.session.commit()
        with pytest.raises(comp.CompetitionError) as exc:
            comp.reopen_round(final, organiser, "想再改一次")
        assert "已于" in str(exc.value) and "公布" in str(exc.value)
        assert final.status == RoundStatus.DECIDED.value and db.session.scalar(select(func.count()).select_from(Award)) == 1


def test_reopen_refused_once_the_next_round_has_score_sheets(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = _tied_first_round(organiser)
        first, final = c.rounds
        comp.decide_round(first, organiser)
        run_round(final, {e[0].id: 9}, organiser)  # the final scores: one sheet submitted
        db.session.commit()
        plan = comp.reopen_plan(first)
        assert not plan.allowed
        with pytest.raises(comp.CompetitionError) as exc:
            comp.reopen_round(first, organiser, "并列处理方式选错")
        message = str(exc.value)
        assert "决赛" in message and "已开始评分" in message and "已提交 1 份评分表" in message
        db.session.rollback()
        assert first.status == RoundStatus.DECIDED.value and len(comp.results_of(first)) == 4
        assert e[3].status == EntryStatus.ELIMINATED.value and final.judging_round_id is not None


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_reopen_page_needs_the_permission_csrf_and_a_reason(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = _tied_first_round(organiser)
        first = c.rounds[0]
        comp.decide_round(first, organiser)
        host = make_user(Role.HOST)
        db.session.commit()
        rid, org_email, host_email, eliminated = first.id, organiser.email, host.email, e[3].project_name
    url = f"/competitions/manage/rounds/{rid}/reopen"

    def log_in(email: str) -> None:
        nonlocal client
        token = _csrf(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302

    log_in(host_email)
    assert client.get(url).status_code == 403
    token = _csrf(client.get("/").get_data(as_text=True))
    assert client.post(url, data={"reason": "x", "csrf_token": token}).status_code == 403
    client = app.test_client()  # a new browser session for the organiser
    log_in(org_email)
    assert 'id="reopen-link"' in client.get(f"/competitions/manage/rounds/{rid}").get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "1 个已淘汰的项目恢复为“参赛中”" in page and eliminated in page and "删除本轮 4 个项目" in page
    token = _csrf(page)
    assert client.post(url, data={"reason": "并列处理方式选错"}).status_code == 400  # no CSRF token
    response = client.post(url, data={"reason": "  ", "csrf_token": token})
    assert response.status_code == 400 and "请说明撤销本轮结果的原因" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CompetitionRound, rid).status == RoundStatus.DECIDED.value
    response = client.post(url, data={"reason": "并列处理方式选错", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/competitions/manage/rounds/{rid}")
    with app.app_context():
        assert db.session.get(CompetitionRound, rid).status == RoundStatus.SCORING.value
    blocked = client.get(url).get_data(as_text=True)
    assert 'id="reopen-blocked"' in blocked and 'id="reopen-form"' not in blocked


def test_reopen_page_for_an_unknown_round_is_404(app, client):
    with app.app_context():
        make_user(Role.ORGANISER, email="org-reopen@example.com")
        db.session.commit()
    login(client, "org-reopen@example.com")
    assert client.get("/competitions/manage/rounds/999/reopen").status_code == 404


def test_two_decisions_of_one_round_at_once_decide_it_once(make_app, backend):  # noqa: ANN001
    """A double click on 确定晋级结果: the round row is locked, the second waits and is refused."""
    app = make_app()
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, _entries = _tied_first_round(organiser)
        db.session.commit()
        round_id, organiser_id = c.rounds[0].id, organiser.id

    def decide() -> str:
        comp.decide_round(db.session.get(CompetitionRound, round_id), db.session.get(User, organiser_id))
        db.session.commit()
        return "decided"

    results, errors = run_concurrently(app, [decide, decide], expected=(comp.CompetitionError,))
    assert not errors, errors
    assert sorted(r if isinstance(r, str) else "refused" for r in results) == ["decided", "refused"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RoundResult)) == 4
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "competition_round.decide")) == 1
