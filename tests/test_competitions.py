"""Competition services: eligibility, entries and carry-over, judges and conflicts through the real
judging engine, advancement with ties, awards and publication. Real database (SQLite and
PostgreSQL), real engine rows and score sheets, real outbox rows — no mocks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.competitions import services as comp
from eventhub.competitions.models import (
    AdvanceMode,
    Competition,
    CompetitionEntry,
    CompetitionStatus,
    EntryStatus,
    RoundResult,
    RoundStatus,
)
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import AssignmentStatus
from eventhub.roadshow.models import ApplicationStatus, ProjectApplication, ProjectCall
from tests.event_helpers import VALID_USCC, make_event
from tests.factories import make_base, make_user

SUMMARY = "本项目研发面向中小制造企业的工业视觉质检平台，采用轻量化深度学习模型，可在普通工控机上实时检测表面缺陷，已在三家企业试点应用。" * 2


# ---- helpers (also used by the page and recommendation tests) ---------------------------------


def entry_data(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "org_name": f"苏州智检科技有限公司{n}",
        "org_type": "sme",
        "uscc": VALID_USCC,
        "contact_name": "王工",
        "contact_mobile": f"1381234{n:04d}",
        "contact_email": f"wang{n}@zhijian.example.com",
        "presenters": [{"name": "王工", "mobile": f"1381234{n:04d}", "email": f"wang{n}@zhijian.example.com", "position": "总经理"}],
        "project_name": f"工业视觉质检平台{n}",
        "field": "智能制造",
        "stage": "prototype",
        "seeking": "寻求天使轮融资 500 万元及产线试点合作。",
        "summary": SUMMARY,
        "founded_on": "2021-05-01",
        "region": "江苏省",
    }
    data.update(overrides)
    return data


def make_competition(
    *, tracks: tuple[str, ...] = ("先进制造", "数字经济"), rounds: list[comp.RoundSpec] | None = None, open_it: bool = True, **rules: Any
) -> Competition:
    organiser = make_user(Role.ORGANISER)
    now = utcnow()
    competition = comp.save_competition(
        {
            "name": "2026 创客中国区域赛",
            "organiser_name": "示范基地联盟",
            "description": "面向中小企业的创新创业大赛。",
            "entry_opens_at": now - timedelta(days=1),
            "entry_closes_at": now + timedelta(days=10),
            "org_types": rules.get("org_types", []),
            "founded_after": rules.get("founded_after"),
            "regions": rules.get("regions", []),
        },
        organiser,
    )
    comp.save_tracks(competition, list(tracks), organiser)
    comp.save_rounds(
        competition,
        rounds or [comp.RoundSpec("初赛", AdvanceMode.TOP_N.value, advance_n=2), comp.RoundSpec("决赛")],
        organiser,
    )
    if open_it:
        comp.open_entries(competition, organiser)
    db.session.flush()
    return competition


def add_entry(competition: Competition, n: int, track_index: int = 0, **overrides: Any) -> CompetitionEntry:
    entry, _token = comp.submit_entry(competition, entry_data(n, track_id=competition.tracks[track_index].id, **overrides))
    return entry


def make_application(*, status: ApplicationStatus = ApplicationStatus.SHORTLISTED, event: Any = None, n: int = 1) -> ProjectApplication:
    event = event or make_event("国网")
    call = db.session.scalar(select(ProjectCall).where(ProjectCall.event_id == event.id))
    if call is None:
        call = ProjectCall(event_id=event.id, opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=5), fields=["智能制造"])
        db.session.add(call)
        db.session.flush()
    data = entry_data(100 + n)
    application = ProjectApplication(
        call_id=call.id,
        event_id=event.id,
        status=status.value,
        token_hash=comp.hash_token(comp.new_token()),
        unavailable=[],
        **{k: data[k] for k in ("org_name", "org_type", "uscc", "contact_name", "contact_mobile", "contact_email", "presenters")},
        **{k: data[k] for k in ("project_name", "field", "stage", "seeking", "summary")},
    )
    db.session.add(application)
    db.session.flush()
    return application


def reviewers(n: int) -> list[Any]:
    return [make_user(Role.REVIEWER) for _ in range(n)]


def score(round_: Any, judge: Any, values: dict[int, float]) -> None:
    """``judge`` submits a sheet for every entry in ``values`` (the same value on every criterion)."""
    jr = comp.judging_round(round_)
    for item in jr.items:
        if item.ref_id not in values:
            continue
        for assignment in item.assignments:
            if assignment.judge_id == judge.id and assignment.status == AssignmentStatus.ASSIGNED.value:
                judging.save_sheet(assignment, {c.id: values[item.ref_id] for c in jr.criteria}, {}, None, True, judge)


def run_round(round_: Any, scores: dict[int, float], actor: Any) -> Any:
    """Prepare, assign one judge to everything, start and score: normalised score == given value."""
    comp.prepare_round(round_, actor)
    (judge,) = reviewers(1)
    result = comp.auto_assign_judges(round_, [judge], 1, actor)
    assert result.complete
    comp.start_scoring(round_, actor)
    score(round_, judge, scores)
    return judge


# ---- eligibility ---------------------------------------------------------------------------------


def test_eligibility_each_rule_gives_its_own_reason(app):
    with app.app_context():
        c = make_competition(org_types=["sme", "startup"], founded_after="2018-01-01", regions=["江苏省", "浙江省"])
        ok = comp.eligibility_failures(c, org_type="sme", founded_on=date(2020, 1, 1), region="江苏省")
        assert ok == []
        (reason,) = comp.eligibility_failures(c, org_type="university", founded_on=date(2020, 1, 1), region="江苏省")
        assert "高校" in reason and "中小企业、初创企业" in reason
        (reason,) = comp.eligibility_failures(c, org_type="sme", founded_on=date(2018, 1, 1), region="江苏省")
        assert "2018-01-01 之后成立" in reason  # founded on the day itself is not "after"
        (reason,) = comp.eligibility_failures(c, org_type="sme", founded_on=None, region="江苏省")
        assert "未填写成立日期" in reason
        (reason,) = comp.eligibility_failures(c, org_type="sme", founded_on=date(2020, 1, 1), region="广东省")
        assert "广东省" in reason and "江苏省、浙江省" in reason
        assert len(comp.eligibility_failures(c, org_type="large", founded_on=date(2000, 1, 1), region="北京市")) == 3


def test_ineligible_entry_is_stored_marked_and_can_be_overridden(app):
    with app.app_context():
        c = make_competition(regions=["江苏省"])
        organiser = make_user(Role.ORGANISER)
        good = add_entry(c, 1)
        bad = add_entry(c, 2, region="广东省")
        assert good.status == EntryStatus.SUBMITTED.value and good.ineligible_reason == ""
        assert bad.status == EntryStatus.INELIGIBLE.value and "广东省" in bad.ineligible_reason
        with pytest.raises(comp.CompetitionError):
            comp.override_eligibility(bad, "  ", organiser)
        comp.override_eligibility(bad, "总部已迁至苏州，提供了迁址证明", organiser)
        assert bad.status == EntryStatus.SUBMITTED.value and comp.is_overridden(bad)
        assert "迁址证明" in comp.override_note(bad)
        # a rule change re-checks the others but leaves the overridden entry alone
        comp.save_competition(
            {
                "name": c.name,
                "organiser_name": c.organiser_name,
                "entry_opens_at": c.entry_opens_at,
                "entry_closes_at": c.entry_closes_at,
                "regions": ["浙江省"],
            },
            organiser,
            c,
        )
        assert good.status == EntryStatus.INELIGIBLE.value and "浙江省" in good.ineligible_reason
        assert bad.status == EntryStatus.SUBMITTED.value


def test_entry_validation_window_and_duplicates(app):
    with app.app_context():
        c = make_competition()
        with pytest.raises(comp.CompetitionError) as exc:
            comp.submit_entry(c, entry_data(1, track_id="", uscc="91350100M000100Y3X", summary="太短", region="火星"))
        assert {"track_id", "uscc", "summary", "region"} <= set(exc.value.errors)
        entry, token = comp.submit_entry(c, entry_data(1, track_id=c.tracks[0].id), locale="zh_Hans_CN")
        db.session.commit()
        assert comp.find_by_token(token) is entry and entry.token_hash != token and len(token) == 43
        assert comp.find_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"competition-entry-received:{entry.id}"))
        assert mail is not None and token in mail.body
        with pytest.raises(comp.CompetitionError) as exc:
            comp.submit_entry(c, entry_data(1, track_id=c.tracks[0].id))
        assert exc.value.duplicate
        with pytest.raises(comp.CompetitionError) as exc:
            comp.submit_entry(c, entry_data(3, track_id=c.tracks[0].id), at=c.entry_closes_at + timedelta(seconds=1))
        assert exc.value.closed


# ---- carry-over ----------------------------------------------------------------------------------


def test_carry_over_copies_project_fields_from_a_shortlisted_application(app):
    with app.app_context():
        c = make_competition(regions=["江苏省"])
        organiser = make_user(Role.ORGANISER)
        application = make_application()
        entry, token = comp.carry_over(application, c, c.tracks[1], organiser, founded_on=date(2020, 3, 1), region="江苏省")
        db.session.commit()
        assert entry.application_id == application.id and entry.track_id == c.tracks[1].id
        for name in ("org_name", "org_type", "uscc", "contact_mobile", "project_name", "field", "stage", "seeking", "summary", "presenters"):
            assert getattr(entry, name) == getattr(application, name), name
        assert entry.status == EntryStatus.SUBMITTED.value
        assert comp.find_by_token(token) is entry
        assert db.session.scalar(select(MailMessage).where(MailMessage.key == f"competition-entry-received:{entry.id}")) is not None
        with pytest.raises(comp.CompetitionError) as exc:
            comp.carry_over(application, c, c.tracks[0], organiser)
        assert exc.value.duplicate
        declined = make_application(status=ApplicationStatus.DECLINED, event=application.event, n=2)
        with pytest.raises(comp.CompetitionError):
            comp.carry_over(declined, c, c.tracks[0], organiser)
        # without the region a region rule cannot be met: marked, with what is missing
        other = make_application(event=application.event, n=3)
        entry2, _t = comp.carry_over(other, c, c.tracks[0], organiser)
        assert entry2.status == EntryStatus.INELIGIBLE.value and "未填写" in entry2.ineligible_reason


# ---- judges and conflicts ---------------------------------------------------------------------------


def test_affiliated_judge_is_never_assigned_and_declared_conflict_is_reassigned(app):
    with app.app_context():
        c = make_competition()
        organiser = make_user(Role.ORGANISER)
        application = make_application()
        carried, _t = comp.carry_over(application, c, c.tracks[0], organiser, founded_on=date(2020, 1, 1), region="江苏省")
        plain = add_entry(c, 1)
        # a base that *is* the entrant: its people may not judge the entry either
        own_base = make_base(plain.org_name)
        first = c.rounds[0]
        comp.prepare_round(first, organiser)
        host_judge = make_user(Role.REVIEWER, email="host-judge@example.com")
        judging.set_affiliations(host_judge, [application.event.host_base_id], organiser)
        own_judge = make_user(Role.REVIEWER)
        judging.set_affiliations(own_judge, [own_base.id], organiser)
        a, b = reviewers(2)
        result = comp.auto_assign_judges(first, [host_judge, own_judge, a, b], 2, organiser)
        assert result.complete
        live = comp.live_assignments(first)
        assert host_judge.id not in {x.judge_id for x in live[carried.id]}
        assert own_judge.id not in {x.judge_id for x in live[plain.id]}
        with pytest.raises(comp.CompetitionError):
            comp.assign_judge(first, carried, host_judge, organiser)
        # a judge declares a conflict on an entry: recorded, and the entry goes to another judge
        assignment = next(x for x in live[plain.id] if x.judge_id in (a.id, b.id))
        outcome = comp.record_conflict(first, assignment, "曾为该企业提供咨询服务", organiser, candidates=[host_judge, own_judge, a, b])
        assert assignment.status == AssignmentStatus.CONFLICT.value
        assert outcome.replacement is not None and outcome.replacement.judge_id not in (assignment.judge_id, own_judge.id)
        with pytest.raises(comp.CompetitionError):
            comp.assign_judge(first, plain, db.session.get(type(a), assignment.judge_id), organiser)


# ---- advancement and ties ---------------------------------------------------------------------------


def test_top_n_with_a_tie_at_the_cut_all_tied_advance(app):
    with app.app_context():
        c = make_competition()
        organiser = make_user(Role.ORGANISER)
        e = [add_entry(c, i) for i in range(1, 5)]  # track 0
        other = [add_entry(c, i, track_index=1) for i in range(5, 8)]  # track 1
        first, final = c.rounds
        run_round(first, {e[0].id: 9, e[1].id: 8, e[2].id: 8, e[3].id: 5, other[0].id: 7, other[1].id: 6, other[2].id: 4}, organiser)
        table = comp.standings(first)
        assert table[0].tie_at_cut and not table[1].tie_at_cut
        comp.decide_round(first, organiser)
        db.session.commit()
        results = {r.entry_id: r for r in comp.results_of(first)}
        assert [results[x.id].rank for x in e] == [1, 2, 2, 4]
        assert [results[x.id].advanced for x in e] == [True, True, True, False]
        assert results[e[1].id].tie_note and results[e[2].id].tie_note and not results[e[0].id].tie_note
        assert "晋级 3 个" in results[e[1].id].tie_note
        assert [results[x.id].advanced for x in other] == [True, True, False]  # top 2 per track
        assert e[3].status == EntryStatus.ELIMINATED.value and other[2].status == EntryStatus.ELIMINATED.value
        assert first.status == RoundStatus.DECIDED.value and comp.judging_round(first).status == "closed"
        assert {x.id for x in comp.entries_in_round(final)} == {e[0].id, e[1].id, e[2].id, other[0].id, other[1].id}
        # the next round's judging items are exactly the advanced entries
        comp.prepare_round(final, organiser)
        assert {i.ref_id for i in judging.active_items(comp.judging_round(final))} == {e[0].id, e[1].id, e[2].id, other[0].id, other[1].id}
        keys = set(db.session.scalars(select(MailMessage.key).where(MailMessage.key.like(f"competition-round-result:{first.id}:%"))))
        assert len(keys) == 7


def test_top_n_tie_broken_by_the_engine_rule_when_the_organiser_chooses(app):
    with app.app_context():
        c = make_competition(tracks=("先进制造",))
        organiser = make_user(Role.ORGANISER)
        e = [add_entry(c, i) for i in range(1, 5)]
        first = c.rounds[0]
        run_round(first, {e[0].id: 9, e[1].id: 8, e[2].id: 8, e[3].id: 5}, organiser)
        comp.decide_round(first, organiser, tie_policy="tie_break")
        results = {r.entry_id: r for r in comp.results_of(first)}
        assert sum(r.advanced for r in results.values()) == 2
        # equal everything: the engine's last criterion (lower item id) decides; both carry a note
        assert results[e[1].id].advanced and not results[e[2].id].advanced
        assert "晋级" in results[e[1].id].tie_note and "未晋级" in results[e[2].id].tie_note


def test_threshold_advances_everyone_at_or_above_it(app):
    with app.app_context():
        c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("初赛", AdvanceMode.THRESHOLD.value, threshold=7.5), comp.RoundSpec("决赛")])
        organiser = make_user(Role.ORGANISER)
        e = [add_entry(c, i) for i in range(1, 5)]
        first = c.rounds[0]
        run_round(first, {e[0].id: 9, e[1].id: 7.5, e[2].id: 7.5, e[3].id: 7}, organiser)
        comp.decide_round(first, organiser)
        results = {r.entry_id: r for r in comp.results_of(first)}
        assert [results[x.id].advanced for x in e] == [True, True, True, False]
        assert all(r.tie_note == "" for r in results.values())


def test_decision_refused_while_an_entry_is_unscored(app):
    with app.app_context():
        c = make_competition(tracks=("先进制造",))
        organiser = make_user(Role.ORGANISER)
        e = [add_entry(c, i) for i in range(1, 3)]
        first = c.rounds[0]
        run_round(first, {e[0].id: 9}, organiser)
        with pytest.raises(comp.CompetitionError) as exc:
            comp.decide_round(first, organiser)
        assert e[1].project_name in str(exc.value)
        assert db.session.scalar(select(func.count()).select_from(RoundResult)) == 0


# ---- awards and publication ---------------------------------------------------------------------------


def finished_competition(organiser: Any) -> tuple[Competition, list[CompetitionEntry]]:
    c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("决赛")])
    e = [add_entry(c, i) for i in range(1, 4)]
    final = c.rounds[0]
    run_round(final, {e[0].id: 9, e[1].id: 8, e[2].id: 6}, organiser)
    comp.decide_round(final, organiser)
    return c, e


def test_final_round_awards_and_publication(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c, e = finished_competition(organiser)
        assert c.status == CompetitionStatus.FINISHED.value
        assert all(x.status == EntryStatus.ACTIVE.value for x in e)  # the final round eliminates nobody
        with pytest.raises(comp.CompetitionError):
            comp.publish_results(c, organiser)  # no awards yet
        comp.save_awards(c, {e[0].id: "一等奖", e[1].id: "二等奖", e[2].id: ""}, organiser)
        assert comp.public_results(c) == []  # nothing public before publication
        comp.publish_results(c, organiser)
        db.session.commit()
        ((track, winners),) = comp.public_results(c)
        assert [(w.title, w.rank, w.project_name) for w in winners] == [("一等奖", 1, e[0].project_name), ("二等奖", 2, e[1].project_name)]
        with pytest.raises(comp.CompetitionError):
            comp.save_awards(c, {e[2].id: "优胜奖"}, organiser)


def test_rounds_editor_keeps_started_rounds(app):
    with app.app_context():
        c = make_competition()
        organiser = make_user(Role.ORGANISER)
        add_entry(c, 1)
        first, final = c.rounds
        comp.prepare_round(first, organiser)
        with pytest.raises(comp.CompetitionError):
            comp.save_rounds(c, [comp.RoundSpec("决赛", id=final.id)], organiser)  # cannot drop a started round
        comp.save_rounds(
            c,
            [
                comp.RoundSpec("初赛", AdvanceMode.TOP_N.value, advance_n=2, id=first.id),
                comp.RoundSpec("复赛", AdvanceMode.THRESHOLD.value, threshold=7.0),
                comp.RoundSpec("决赛", id=final.id),
            ],
            organiser,
        )
        assert [(r.name, r.position) for r in c.rounds] == [("初赛", 1), ("复赛", 2), ("决赛", 3)]
        with pytest.raises(comp.CompetitionError):
            comp.save_tracks(c, ["数字经济"], organiser)  # 先进制造 has an entry
