"""Detailed plan (活动方案) services on real databases: title, due time, lateness, every rule with its
Chinese message, the state machine, versions, publication while revising, audit rows, mail, attachments."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import SHANGHAI, local_to_utc, shanghai, to_shanghai
from eventhub.core.uploads import read_bytes
from eventhub.events import content
from eventhub.events import detail_plans as dp
from eventhub.events.models import DetailPlan, DetailPlanStatus, DetailPlanVersion, EventStatus, TechNeedResponse
from eventhub.extensions import db
from eventhub.selection.services import detail_plan_due
from tests.concurrency import run_concurrently
from tests.factories import fill_detail_plan, make_base, make_scheduled_event, make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def ctx(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        partner = make_base("深圳市南山区", short_name="南山区")
        event = make_scheduled_event(date(2027, 3, 31), 2, partners=((partner, "开放检测平台"),))
        host = make_user(Role.HOST, base=event.host_base)
        db.session.commit()
        yield {"event": event, "host": host, "organiser": organiser, "partner": partner}


def _actions(prefix: str = "detail_plan.") -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith(prefix)).order_by(AuditLog.id)))


def _upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/pdf")


# ---- title, short name, pre-fill -------------------------------------------------------------


def test_working_copy_prefills_partners_from_the_preliminary_plan(ctx):
    event, partner = ctx["event"], ctx["partner"]
    plan = dp.ensure_detail_plan(event)
    db.session.commit()
    assert plan.status == DetailPlanStatus.DRAFT.value
    assert [(b.base_id, b.role) for b in plan.bases] == [(partner.id, "开放检测平台")]
    assert dp.ensure_detail_plan(event) is plan  # the second visit finds it
    assert _actions() == ["detail_plan.create"]


def test_title_with_and_without_short_name(ctx):
    event, host = ctx["event"], ctx["host"]
    event.host_base.short_name = "华润"
    assert dp.title_of(event) == "华润融通创新主题日活动方案"

    event.host_base.short_name = None
    assert dp.title_of(event) == "融通创新主题日活动方案"
    plan = fill_detail_plan(event, host)
    problems = dp.validation_problems(plan)
    assert [(p.section, p.message) for p in problems] == [("short-name", "请先填写本基地简称：方案标题为“简称＋融通创新主题日活动方案”")]
    with pytest.raises(dp.PlanIncompleteError) as refused:
        dp.submit(plan, host)
    assert refused.value.problems == problems and str(refused.value) == "活动方案尚不完整，不能提交：请按提示修改"

    with pytest.raises(dp.SectionError) as empty:
        dp.set_short_name(event, "  ", host)
    assert empty.value.errors == {"short_name": ["请填写基地简称"]}
    with pytest.raises(dp.SectionError) as long:
        dp.set_short_name(event, "长" * 51, host)
    assert long.value.errors == {"short_name": ["最多 50 个字符，当前 51 个"]}
    dp.set_short_name(event, " 华润 ", host)
    db.session.commit()
    assert event.host_base.short_name == "华润" and dp.title_of(event) == "华润融通创新主题日活动方案"
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "bases.update"))
    assert row.object_type == "DemonstrationBase" and row.before == {"short_name": None} and row.after == {"short_name": "华润"} and row.actor_id == host.id
    with pytest.raises(dp.DetailPlanError, match="已登记为“华润”"):
        dp.set_short_name(event, "华润集团", host)
    version = dp.submit(plan, host)
    assert version.snapshot["title"] == "华润融通创新主题日活动方案"


def test_filling_the_short_name_renames_the_theme_day_and_raises_its_sequence(ctx):
    event, host = ctx["event"], ctx["host"]
    base = event.host_base
    base.short_name = None
    event.title, event.sequence = f"{base.name}融通创新主题日", 0
    db.session.commit()
    dp.set_short_name(event, "华润", host)
    db.session.commit()
    assert event.title == "华润融通创新主题日" and event.sequence == 1
    assert _actions("event.") == ["event.update"]


# ---- due time and lateness --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due_beijing", "due_utc"),
    [
        (date(2027, 3, 31), date(2027, 2, 28), datetime(2027, 2, 27, 16, 0, tzinfo=UTC)),
        (date(2027, 7, 31), date(2027, 6, 30), datetime(2027, 6, 29, 16, 0, tzinfo=UTC)),
        (date(2028, 3, 31), date(2028, 2, 29), datetime(2028, 2, 28, 16, 0, tzinfo=UTC)),  # leap year
        (date(2027, 3, 1), date(2027, 2, 1), datetime(2027, 1, 31, 16, 0, tzinfo=UTC)),  # UTC is still on 31 January
    ],
)
def test_due_time_is_start_minus_one_month_in_beijing(start, due_beijing, due_utc):
    due = detail_plan_due(start, 1)
    assert due == due_utc
    assert to_shanghai(due) == datetime.combine(due_beijing, time(0, 0), tzinfo=SHANGHAI)


def test_due_time_through_the_selection_publish_path(app):
    from eventhub.campaigns.models import Campaign, CampaignStatus
    from eventhub.core.timeutil import end_of_day
    from eventhub.events.models import Event
    from eventhub.plans.models import PlanStatus, PlanWindow, PreliminaryPlan
    from eventhub.selection import services as selection

    with app.app_context():
        campaign = Campaign(year=2027, title="2027", plan_deadline=end_of_day(date(2026, 6, 30)), status=CampaignStatus.SELECTION.value)
        db.session.add(campaign)
        db.session.flush()
        organiser = make_user(Role.ORGANISER)
        starts = {"华润": date(2027, 3, 31), "中石油": date(2027, 7, 31)}
        for name, start in starts.items():
            base = make_base(f"中国{name}", short_name=name)
            plan = PreliminaryPlan(campaign_id=campaign.id, base_id=base.id, status=PlanStatus.SUBMITTED.value, theme="融通")
            plan.windows = [PlanWindow(earliest_start=start, latest_start=start, duration_days=1)]
            db.session.add(plan)
            db.session.flush()
            decision = selection.decide(campaign, plan, True, "示范带动作用强", organiser)
            selection.set_date(decision, start, 1, organiser)
        selection.publish(campaign, organiser)
        db.session.commit()
        due = {e.title: e.detail_plan_due for e in db.session.scalars(select(Event))}
        assert due["华润融通创新主题日"] == datetime(2027, 2, 27, 16, 0, tzinfo=UTC)
        assert due["中石油融通创新主题日"] == datetime(2027, 6, 29, 16, 0, tzinfo=UTC)


def test_late_marking_on_time_versus_one_second_late(app):
    with app.app_context():
        on_time_event = make_scheduled_event(date(2027, 3, 31))
        late_event = make_scheduled_event(date(2027, 3, 31))
        host_a, host_b = make_user(Role.HOST, base=on_time_event.host_base), make_user(Role.HOST, base=late_event.host_base)
        due = on_time_event.detail_plan_due
        assert due == datetime(2027, 2, 27, 16, 0, tzinfo=UTC)
        a, b = fill_detail_plan(on_time_event, host_a), fill_detail_plan(late_event, host_b)
        assert not dp.due_info(on_time_event, due).overdue and dp.due_info(on_time_event, due + timedelta(seconds=1)).overdue
        first = dp.submit(a, host_a, now=due)
        second = dp.submit(b, host_b, now=due + timedelta(seconds=1))
        db.session.commit()
        assert (first.late, a.late) == (False, False)
        assert (second.late, b.late) == (True, True)
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "detail_plan.submit", AuditLog.object_id == str(b.id)))
        assert row.after == {"status": "submitted", "version": 1, "late": True}
        assert dp.due_info(late_event, due - timedelta(days=3)).remaining_text == "还剩 3 天 0 小时"


# ---- every rule with its message ------------------------------------------------------------------


def _session(**kw) -> dp.SessionData:
    values = {"title": "开幕式", "kind": "opening", "day": date(2027, 3, 31), "start_time": time(9, 0), "end_time": time(10, 0), "venue": "一号厅"}
    values.update(kw)
    return dp.SessionData(**values)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"title": " "}, {"title": ["请填写场次名称"]}),
        ({"kind": "party"}, {"kind": ["请选择场次类型"]}),
        ({"day": None}, {"day": ["请填写日期"]}),
        ({"day": date(2027, 3, 30)}, {"day": ["日期应在活动日期（2027-03-31 至 2027-04-01）之内"]}),
        ({"day": date(2027, 4, 2)}, {"day": ["日期应在活动日期（2027-03-31 至 2027-04-01）之内"]}),
        ({"start_time": None, "end_time": None}, {"start_time": ["请填写开始时间"], "end_time": ["请填写结束时间"]}),
        ({"start_time": time(10, 0), "end_time": time(10, 0)}, {"end_time": ["结束时间应晚于开始时间"]}),
        ({"start_time": time(11, 0), "end_time": time(10, 0)}, {"end_time": ["结束时间应晚于开始时间"]}),
        ({"online_url": "ftp://example.com/live"}, {"online_url": ["线上链接应为以 http:// 或 https:// 开头的完整网址"]}),
        ({"online_url": "https://"}, {"online_url": ["线上链接应为以 http:// 或 https:// 开头的完整网址"]}),
        ({"online_url": "https://exa mple.com"}, {"online_url": ["线上链接应为以 http:// 或 https:// 开头的完整网址"]}),
        ({"venue": "", "online_url": ""}, {"venue": ["请填写会场（房间）或线上链接，至少一项"]}),
        ({"access": "vip"}, {"access": ["请选择参加方式"]}),
        ({"content_types": ["roadshow", "karaoke"]}, {"content_types": ["请选择有效的主题内容类型"]}),
        ({"capacity": 0}, {"capacity": ["本场人数上限应为不小于 1 的整数"]}),
        ({"capacity": 301}, {"capacity": ["本场人数上限不能超过活动报名人数上限（300 人）"]}),
        ({"title": "长" * 201}, {"title": ["最多 200 个字符，当前 201 个"]}),
    ],
)
def test_session_rules(ctx, changes, errors):
    event, host = ctx["event"], ctx["host"]
    plan = dp.ensure_detail_plan(event)
    plan.registration_capacity = 300
    with pytest.raises(dp.SectionError) as refused:
        dp.add_session(plan, _session(**changes), host)
    assert refused.value.errors == errors
    assert plan.sessions == []


def test_valid_sessions_online_only_and_capacity(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    plan.registration_capacity = 300
    online = dp.add_session(
        plan, _session(venue="", online_url="https://live.example.cn/room?id=1", capacity=300, content_types=["roadshow", "joint_rd"]), None
    )
    assert online.content_types == ["joint_rd", "roadshow"]  # canonical order
    last_day = dp.add_session(plan, _session(day=date(2027, 4, 1), start_time=time(14, 0), end_time=time(17, 30)), None)
    assert [s.id for s in plan.sessions] == [online.id, last_day.id]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"title": ""}, {"title": ["请填写需求名称"]}),
        ({"field": ""}, {"field": ["请填写技术领域"]}),
        ({"description": ""}, {"description": ["请填写需求描述"]}),
        ({"budget_min": -1}, {"budget_min": ["预算应为不小于 0 的整数（万元）"]}),
        ({"budget_max": -5}, {"budget_max": ["预算应为不小于 0 的整数（万元）"]}),
        ({"budget_min": 200, "budget_max": 100}, {"budget_max": ["预算上限不能低于下限"]}),
        ({"response_deadline": None}, {"response_deadline": ["请填写揭榜截止日期"]}),
        ({"response_deadline": date(2027, 4, 2)}, {"response_deadline": ["揭榜截止日期不能晚于活动结束日期（2027-04-01）"]}),
    ],
)
def test_need_rules(ctx, changes, errors):
    plan = dp.ensure_detail_plan(ctx["event"])
    values = {"title": "储能材料", "field": "新材料", "description": "寻求方案", "budget_min": 10, "budget_max": 20, "response_deadline": date(2027, 3, 20)}
    values.update(changes)
    with pytest.raises(dp.SectionError) as refused:
        dp.add_need(plan, dp.NeedData(**values), None)
    assert refused.value.errors == errors


def test_need_budget_is_optional_and_deadline_is_end_of_beijing_day(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    need = dp.add_need(plan, dp.NeedData(title="工业软件", field="软件", description="国产化替代", response_deadline=date(2027, 4, 1)), None)
    assert (need.budget_min, need.budget_max) == (None, None) and dp.budget_label(None, None) == "面议"
    assert need.response_deadline == datetime(2027, 4, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 Beijing
    assert dp.budget_label(0, 0) == "0 万元" and dp.budget_label(50, 200) == "50–200 万元" and dp.budget_label(None, 80) == "80 万元以内"


def test_a_need_with_responses_cannot_be_deleted(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    need = dp.add_need(plan, dp.NeedData(title="工业软件", field="软件", description="国产化替代", response_deadline=date(2027, 3, 1)), None)
    other = dp.add_need(plan, dp.NeedData(title="氢能", field="能源", description="储运", response_deadline=date(2027, 3, 1)), None)
    db.session.add(
        TechNeedResponse(
            need_id=need.id,
            event_id=plan.event_id,
            org_name="某科技有限公司",
            uscc="91350100M000100Y43",
            contact_name="李四",
            contact_mobile="13812345678",
            contact_email="li@example.com",
            proposal="方案",
            token_hash="a" * 64,
        )
    )
    db.session.flush()
    with pytest.raises(dp.DetailPlanError) as refused:
        dp.delete_need(need, None)
    assert str(refused.value) == "技术需求“工业软件”已收到 1 份揭榜响应，不能删除；可以修改其内容。"
    dp.delete_need(other, None)
    db.session.commit()
    assert [n.title for n in plan.needs] == ["工业软件"]


def test_resource_rules(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    with pytest.raises(dp.SectionError) as refused:
        dp.add_resource(plan, dp.ResourceData(name="", kind="castle"), None)
    assert refused.value.errors == {"name": ["请填写资源名称"], "kind": ["请选择资源类型"]}
    resource = dp.add_resource(plan, dp.ResourceData(name="国家重点实验室", kind="lab", access_terms="预约使用"), None)
    dp.update_resource(resource, dp.ResourceData(name="国家重点实验室（二期）", kind="lab"), None)
    assert plan.resources[0].name == "国家重点实验室（二期）"
    dp.delete_resource(resource, None)
    assert plan.resources == []


def test_participating_base_rules(ctx):
    event, partner = ctx["event"], ctx["partner"]
    plan = dp.ensure_detail_plan(event)
    cases = [
        (None, "分工", {"base_id": ["请从基地名录中选择参与基地"]}),
        (999999, "分工", {"base_id": ["请从基地名录中选择参与基地"]}),
        (event.host_base_id, "分工", {"base_id": ["承办基地本身不能作为参与基地"]}),
        (partner.id, "分工", {"base_id": ["南山区 已在参与基地名单中"]}),
        (make_base("中关村", short_name="中关村").id, " ", {"role": ["请填写该基地在活动中的分工"]}),
    ]
    for base_id, role, errors in cases:
        with pytest.raises(dp.SectionError) as refused:
            dp.add_base(plan, base_id, role, None)
        assert refused.value.errors == errors
    other = make_base("清华大学", short_name="清华")
    assert other in dp.registry_choices(plan) and partner not in dp.registry_choices(plan)
    row = dp.add_base(plan, other.id, "联合攻关", None)
    dp.update_base_role(row, "联合攻关、成果转化", None)
    with pytest.raises(dp.SectionError):
        dp.update_base_role(row, "", None)
    dp.remove_base(plan.bases[0], None)
    assert [(b.base_id, b.role) for b in plan.bases] == [(other.id, "联合攻关、成果转化")]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"capacity": None}, {"capacity": ["请填写报名人数上限"]}),
        ({"capacity": 0}, {"capacity": ["报名人数上限应为不小于 1 的整数"]}),
        ({"opens_at": None}, {"opens_at": ["请填写报名开始时间"]}),
        ({"closes_at": None}, {"closes_at": ["请填写报名截止时间"]}),
        ({"opens_at": local_to_utc(datetime(2027, 3, 20, 9, 0))}, {"closes_at": ["报名截止时间应晚于开始时间"]}),
        (
            {"closes_at": local_to_utc(datetime(2027, 4, 2, 0, 0))},
            {"closes_at": ["报名截止时间不能晚于活动结束时间（2027-04-01 23:59，北京时间）"]},
        ),
        ({"approval_mode": "lottery"}, {"approval_mode": ["请选择报名审核方式"]}),
    ],
)
def test_registration_rules(ctx, changes, errors):
    plan = dp.ensure_detail_plan(ctx["event"])
    values = {
        "capacity": 200,
        "opens_at": local_to_utc(datetime(2027, 3, 1, 9, 0)),
        "closes_at": local_to_utc(datetime(2027, 3, 20, 9, 0)),
        "approval_mode": "moderated",
    }
    values.update(changes)
    with pytest.raises(dp.SectionError) as refused:
        dp.update_registration(plan, dp.RegistrationData(**values), None)
    assert refused.value.errors == errors


def test_registration_capacity_not_below_a_session_and_closing_at_the_last_second(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    dp.add_session(plan, _session(capacity=250), None)
    data = dp.RegistrationData(200, local_to_utc(datetime(2027, 3, 1, 9, 0)), local_to_utc(datetime(2027, 4, 1, 23, 59, 59)), "automatic")
    with pytest.raises(dp.SectionError) as refused:
        dp.update_registration(plan, data, None)
    assert refused.value.errors == {"capacity": ["报名人数上限不能小于场次“开幕式”的人数上限（250 人）"]}
    data.capacity = 250
    dp.update_registration(plan, data, None)  # closing at 23:59:59 on the last day is allowed
    assert plan.registration_closes_at == datetime(2027, 4, 1, 15, 59, 59, tzinfo=UTC)


def test_submission_lists_every_problem_with_its_section(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    problems = [(p.section, p.message) for p in dp.validation_problems(plan)]
    assert problems == [
        ("goals", "请填写活动目标"),
        ("venue", "请填写主会场地址（仅当全部场次均为线上时可不填）"),
        ("sessions", "议程至少需要安排一场活动"),
        ("emergency", "请填写防控与应急预案"),
        ("registration", "请填写报名人数上限"),
        ("registration", "请填写报名开始时间"),
        ("registration", "请填写报名截止时间"),
    ]
    with pytest.raises(dp.PlanIncompleteError) as refused:
        dp.submit(plan, ctx["host"])
    assert [p.message for p in refused.value.problems] == [m for _s, m in problems]
    assert plan.versions == [] and plan.status == "draft"


def test_submission_rules_on_content_types_venue_and_moved_event(ctx):
    event, host = ctx["event"], ctx["host"]
    plan = fill_detail_plan(event, host, content_types=("resources", "joint_rd", "roadshow"))
    assert [(p.section, p.message) for p in dp.validation_problems(plan)] == [
        ("sessions", "各场次合计至少应涵盖 5 类主题内容中的 4 类，目前涵盖 3 类（未涵盖：创新成果联合转化、创新主体深度对接）"),
    ]
    dp.add_session(plan, _session(title="对接会", content_types=["matchmaking", "roadshow"]), host)
    assert dp.validation_problems(plan) == []

    # No main venue: fine only while every session is online only.
    dp.update_text(plan, "venue", "", host)
    assert [p.section for p in dp.validation_problems(plan)] == ["venue"]
    for session in plan.sessions:
        session.venue, session.online_url = "", "https://live.example.cn/1"
    assert dp.validation_problems(plan) == []

    # The organiser moved the event after the agenda was written: sessions are now outside it.
    event.start_date, event.end_date = date(2027, 5, 10), date(2027, 5, 10)
    messages = [p.message for p in dp.validation_problems(plan) if p.section == "sessions"]
    assert "场次“场次9”的日期 2027-03-31 不在活动日期（2027-05-10）之内" in messages
    assert not any(p.section == "needs" for p in dp.validation_problems(plan))  # the need deadline is before the new end


# ---- state machine, versions, publication, audit, mail -----------------------------------------------


def test_state_machine_versions_publication_and_audit(ctx):
    event, host, organiser = ctx["event"], ctx["host"], ctx["organiser"]
    plan = fill_detail_plan(event, host)
    v1 = dp.submit(plan, host, now=shanghai(2027, 2, 1, 10, 0))
    db.session.commit()
    assert (plan.status, v1.number, v1.late, v1.submitted_by_id) == ("submitted", 1, False, host.id)
    assert v1.snapshot == content.build_snapshot(plan)

    # Locked while submitted: every section refuses with the reason.
    locked = "活动方案已提交，正在等待组织方审核，不能修改。如需修改，请先撤回提交。"
    for change in (
        lambda: dp.update_text(plan, "goals", "新目标", host),
        lambda: dp.add_session(plan, _session(), host),
        lambda: dp.delete_session(plan.sessions[0], host),
        lambda: dp.add_need(plan, dp.NeedData(), host),
        lambda: dp.update_registration(plan, dp.RegistrationData.of(plan), host),
        lambda: dp.add_attachment(plan, _upload(PDF, "a.pdf"), "", host),
    ):
        with pytest.raises(dp.DetailPlanError) as refused:
            change()
        assert str(refused.value) == locked
    # Submitting the same content again (a double click) is the same version, not a second one.
    assert dp.submit(plan, host).id == v1.id and len(plan.versions) == 1

    # Withdraw, edit, resubmit: version 2; version 1 is kept, marked withdrawn.
    dp.withdraw(plan, host)
    assert plan.status == "draft" and v1.decision == "withdrawn"
    with pytest.raises(dp.DetailPlanError, match="只有待审核的活动方案可以撤回"):
        dp.withdraw(plan, host)
    dp.update_text(plan, "goals", "第二版目标：发布技术需求清单。", host)
    v2 = dp.submit(plan, host)
    db.session.commit()

    # Only the organiser decides, only on the latest version; changes need a comment.
    with pytest.raises(dp.DetailPlanError, match="只有组织方可以审核活动方案"):
        dp.approve(plan, 2, host)
    with pytest.raises(dp.DetailPlanError, match="只有组织方可以审核活动方案"):
        dp.approve(plan, 2, make_user(Role.ASSESSOR))
    with pytest.raises(dp.DetailPlanError, match="只能审核最新提交的版本（第 2 版）"):
        dp.approve(plan, 1, organiser)
    with pytest.raises(dp.DetailPlanError) as no_comment:
        dp.request_changes(plan, 2, "  ", organiser)
    assert str(no_comment.value) == "请填写修改意见" and no_comment.value.field == "comment"
    dp.request_changes(plan, 2, "请补充路演项目名单", organiser)
    db.session.commit()
    assert plan.status == "changes_requested" and plan.review_comment == "请补充路演项目名单"
    assert (v2.decision, v2.decision_comment, v2.decided_by_id) == ("changes_requested", "请补充路演项目名单", organiser.id)
    with pytest.raises(dp.DetailPlanError, match="不是待审核状态"):
        dp.approve(plan, 2, organiser)
    assert content.publication(event) is None  # nothing approved yet: nothing public

    dp.add_resource(plan, dp.ResourceData(name="中试基地", kind="scenario"), host)  # editable after changes were requested
    v3 = dp.submit(plan, host)
    dp.approve(plan, 3, organiser, "同意")
    db.session.commit()
    assert (plan.status, plan.approved_version_number, v3.decision) == ("approved", 3, "approved")
    public = content.publication(event)
    assert public.version_number == 3 and public.goals == "第二版目标：发布技术需求清单。" and [r.name for r in public.resources] == ["中试基地"]

    # Revising after approval: the approved version stays public until a newer one is approved.
    with pytest.raises(dp.DetailPlanError, match="已批准"):
        dp.update_text(plan, "goals", "x", host)
    dp.start_revision(plan, host)
    dp.update_text(plan, "goals", "修订中的目标（草稿）", host)
    first = plan.sessions[0]
    dp.update_session(first, _session(title="开幕式（改）", content_types=list(first.content_types)), host)
    db.session.commit()
    public = content.publication(event)
    assert public.version_number == 3 and public.goals == "第二版目标：发布技术需求清单。" and "开幕式（改）" not in [s.title for s in public.sessions]
    v4 = dp.submit(plan, host)
    db.session.commit()
    assert content.publication(event).version_number == 3  # submitted is not approved
    dp.approve(plan, 4, organiser)
    db.session.commit()
    public = content.publication(event)
    assert public.version_number == 4 and public.goals == "修订中的目标（草稿）"
    changed = next(s for s in public.sessions if s.title == "开幕式（改）")
    assert changed.sequence == 1 and first.sequence == 1  # calendar clients update the changed session

    assert [v.number for v in plan.versions] == [1, 2, 3, 4]
    assert db.session.scalar(select(DetailPlanVersion).where(DetailPlanVersion.number == 1)).decision == "withdrawn"
    assert v4.snapshot["sessions"] and v4.decision == "approved"
    flow = [a for a in _actions() if a not in ("detail_plan.edit", "detail_plan.create")]
    assert flow == [
        "detail_plan.submit",
        "detail_plan.withdraw",
        "detail_plan.submit",
        "detail_plan.request_changes",
        "detail_plan.submit",
        "detail_plan.approve",
        "detail_plan.revise",
        "detail_plan.submit",
        "detail_plan.approve",
    ]
    approve = db.session.scalar(select(AuditLog).where(AuditLog.action == "detail_plan.approve").order_by(AuditLog.id))
    assert approve.actor_id == organiser.id and approve.before == {"status": "submitted", "approved_version": None} and approve.after["approved_version"] == 3
    edits = db.session.scalars(select(AuditLog).where(AuditLog.action == "detail_plan.edit")).all()
    assert {e.after["section"] for e in edits} >= {"goals", "sessions", "needs", "registration", "resources"}


def test_mail_to_organisers_on_submit_and_to_the_host_on_decision(ctx):
    event, host, organiser = ctx["event"], ctx["host"], ctx["organiser"]
    second_organiser = make_user(Role.ORGANISER)
    plan = fill_detail_plan(event, host)
    dp.submit(plan, host, now=event.detail_plan_due + timedelta(hours=1))
    db.session.commit()
    mails = db.session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
    assert sorted(m.recipient for m in mails) == sorted([organiser.email, second_organiser.email])
    assert all(m.key.startswith(f"detail-plan-submitted:{plan.id}:1:") for m in mails)
    assert mails[0].subject == "【活动方案待审核·逾期】华润融通创新主题日活动方案 第 1 版"
    assert "已标记为逾期提交" in mails[0].body and f"/events/{event.id}/plan/review" in mails[0].body

    dp.request_changes(plan, 1, "请补充应急预案细节", organiser)
    db.session.commit()
    decision = db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"detail-plan-decision:{plan.id}:1:"))).all()
    assert sorted(m.recipient for m in decision) == sorted([host.email, event.host_base.contact_email])
    assert decision[0].subject == "【活动方案退回修改】华润融通创新主题日活动方案 第 1 版"
    assert "请补充应急预案细节" in decision[0].body and f"/events/{event.id}/plan" in decision[0].body

    dp.submit(plan, host)
    dp.approve(plan, 2, organiser)
    db.session.commit()
    approved = db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"detail-plan-decision:{plan.id}:2:"))).all()
    assert len(approved) == 2 and approved[0].subject == "【活动方案已批准】华润融通创新主题日活动方案 第 2 版"
    assert db.session.query(MailMessage).count() == 2 + 2 + 2 + 2


def test_withdrawn_event_locks_the_plan(ctx):
    event, host = ctx["event"], ctx["host"]
    plan = fill_detail_plan(event, host)
    event.status = EventStatus.WITHDRAWN.value
    with pytest.raises(dp.DetailPlanError, match="活动已撤销"):
        dp.update_text(plan, "goals", "x", host)
    with pytest.raises(dp.DetailPlanError, match="活动已撤销"):
        dp.submit(plan, host)


# ---- attachments --------------------------------------------------------------------------------


def test_attachments_checked_by_content_and_size(ctx):
    plan = dp.ensure_detail_plan(ctx["event"])
    host = ctx["host"]
    with pytest.raises(dp.SectionError) as exe:
        dp.add_attachment(plan, _upload(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "方案.pdf"), "", host)
    assert exe.value.errors == {
        "file": ["“方案.pdf”的内容不是允许的文件类型（仅限 PDF、Word (DOCX)、Excel (XLSX)、PNG、JPEG），文件内容与扩展名无关地被检查。"]
    }
    big = PDF + b"0" * (20 * 1024 * 1024 + 1 - len(PDF))
    assert len(big) == 20 * 1024 * 1024 + 1
    with pytest.raises(dp.SectionError) as too_big:
        dp.add_attachment(plan, _upload(big, "大文件.pdf"), "", host)
    assert too_big.value.errors == {"file": ["“大文件.pdf”超过 20 MB 的上限（20.0 MB）。"]}
    with pytest.raises(dp.SectionError) as missing:
        dp.add_attachment(plan, None, "", host)
    assert missing.value.errors == {"file": ["请选择要上传的文件"]}
    assert plan.attachments == []

    exact = PDF + b"0" * (20 * 1024 * 1024 - len(PDF))
    attachment = dp.add_attachment(plan, _upload(exact, "议程.pdf"), "活动议程", host)
    db.session.commit()
    assert attachment.title == "活动议程" and attachment.file.size == 20 * 1024 * 1024 and attachment.file.kind == "pdf"
    assert read_bytes(attachment.file) == exact
    assert dp.plan_file(plan, attachment.file_id) is attachment.file

    # Submitted versions keep listing the file; deleting it from the working copy keeps it for history.
    file_id = attachment.file_id
    dp.delete_attachment(attachment, host)
    db.session.commit()
    assert plan.attachments == [] and dp.plan_file(plan, file_id) is None
    second = dp.add_attachment(plan, _upload(PDF, "附件.pdf"), "", host)
    fill_detail_plan(ctx["event"], host)
    dp.submit(plan, ctx["host"])
    db.session.commit()
    assert dp.plan_file(plan, second.file_id) is not None
    assert [a["filename"] for a in plan.versions[0].snapshot["attachments"]] == ["附件.pdf"]


def test_a_double_click_on_submit_freezes_one_version_and_mails_once(make_app, backend):
    """Four submissions of one complete plan at the same instant: one version, one audit entry,
    one mail per organiser; every click is answered with that version."""
    app = make_app()
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        event = make_scheduled_event(date(2027, 3, 31), 2)
        host = make_user(Role.HOST, base=event.host_base)
        plan = fill_detail_plan(event, host)
        db.session.commit()
        plan_id, host_id, organiser_email = plan.id, host.id, organiser.email

    def click() -> int:
        version = dp.submit(db.session.get(DetailPlan, plan_id), db.session.get(User, host_id), now=shanghai(2027, 2, 1, 10, 0))
        db.session.commit()
        return version.number

    results, errors = run_concurrently(app, [click] * 4)
    assert not errors, errors
    assert results == [1, 1, 1, 1]
    with app.app_context():
        assert db.session.scalars(select(DetailPlanVersion.number).where(DetailPlanVersion.plan_id == plan_id)).all() == [1]
        assert _actions("detail_plan.submit") == ["detail_plan.submit"]
        assert db.session.scalars(select(MailMessage.recipient).where(MailMessage.template == "detail_plan_submitted")).all() == [organiser_email]
