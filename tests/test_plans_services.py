"""Preliminary plan services on real databases: drafts, the 4-of-5 rule, 字数, deadline, versions."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.bases.models import BaseType
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import end_of_day, shanghai
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.plans import calls, review, services
from eventhub.plans.models import ContentType, PlanStatus, PreliminaryPlan
from tests.concurrency import run_concurrently
from tests.factories import make_base, make_user

BEFORE = shanghai(2027, 6, 1, 10, 0, 0)
LAST_SECOND = shanghai(2027, 6, 30, 23, 59, 59)
NEXT_DAY = shanghai(2027, 7, 1, 0, 0, 0)
BODY = "融通创新" * 100  # 400 字


def make_campaign(year: int = 2027, **kw: object) -> Campaign:
    campaign = Campaign(
        year=year,
        title=f"{year} 年“融通创新”主题日",
        plan_deadline=end_of_day(date(year, 6, 30)),
        status=CampaignStatus.PLANNING.value,
        zishu_target=kw.pop("zishu_target", 800),
        zishu_min=kw.pop("zishu_min", 300),
        zishu_max=kw.pop("zishu_max", 1000),
        **kw,
    )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def complete_data(partner_ids: list[int], **overrides: object) -> dict:
    data = {
        "theme": "能源装备产业链融通创新",
        "field": "新能源装备",
        "content_types": {c.value: f"{c.value} 的具体安排" for c in list(ContentType)[:4]},
        "participants": [{"base_id": pid, "reason": "上游零部件供应商，供应链耦合"} for pid in partner_ids],
        "windows": [{"earliest_start": "2027-09-01", "latest_start": "2027-10-20", "duration_days": "2"}],
        "event_format": "hybrid",
        "prevention_measures": "分时段入场，设置应急预案",
        "body": BODY,
        "contact_name": "张三",
        "contact_phone": "+86 138-1234-5678",
        "contact_email": "Zhang@Example.com",
    }
    data.update(overrides)
    return data


@pytest.fixture
def world(app):
    with app.app_context():
        campaign = make_campaign()
        host_base = make_base("中国华润有限公司", short_name="华润")
        partner = make_base("深圳市南山区", BaseType.REGION, short_name="南山区")
        host = make_user(Role.HOST, base=host_base)
        db.session.commit()
        yield {"campaign": campaign, "base": host_base, "partner": partner, "host": host}


def _plan(world) -> PreliminaryPlan:
    return services.get_or_create_plan(world["campaign"], world["base"])


def test_non_enterprise_base_is_refused(world):
    university = make_base("清华大学", BaseType.UNIVERSITY, short_name="清华")
    with pytest.raises(services.PlanError, match="企业类示范基地"):
        services.get_or_create_plan(world["campaign"], university)
    with pytest.raises(services.PlanError):
        services.get_or_create_plan(world["campaign"], None)
    assert services.hosting_refusal(world["base"]) is None


def test_one_plan_per_base_and_campaign(world):
    first = _plan(world)
    db.session.commit()
    assert services.get_or_create_plan(world["campaign"], world["base"]).id == first.id
    assert db.session.query(PreliminaryPlan).count() == 1


def test_draft_keeps_everything_typed_even_when_invalid(world):
    plan = _plan(world)
    data = complete_data(
        [world["base"].id],  # the host itself: invalid for submission, kept in the draft
        theme="",
        content_types={"resources": "开放实验室", "roadshow": ""},
        windows=[{"earliest_start": "2027-10-30", "latest_start": "2027-10-01", "duration_days": "99"}],
        body="太短了",
        contact_phone="12345",
        contact_email="not-an-email",
    )
    notes = services.save_draft(plan, data, world["host"], now=BEFORE)
    db.session.commit()
    db.session.expire_all()
    plan = db.session.get(PreliminaryPlan, plan.id)
    assert notes == []
    assert plan.status == PlanStatus.DRAFT.value
    assert plan.content_types == {"resources": "开放实验室", "roadshow": ""}
    assert [(p.base_id, p.reason) for p in plan.participants] == [(world["base"].id, "上游零部件供应商，供应链耦合")]
    window = plan.windows[0]
    assert (window.earliest_start, window.latest_start, window.duration_days) == (date(2027, 10, 30), date(2027, 10, 1), 99)
    assert (plan.body, plan.contact_phone, plan.contact_email) == ("太短了", "12345", "not-an-email")
    errors = services.validation_errors(plan)
    assert {"theme", "content_types", "participants", "windows", "body", "contact_phone", "contact_email"} <= set(errors)
    assert any("承办基地本身" in m for m in errors["participants"])
    with pytest.raises(services.PlanValidationError):
        services.submit(plan, world["host"], now=BEFORE)
    assert plan.versions == []


def test_draft_reports_rows_it_cannot_store(world):
    plan = _plan(world)
    notes = services.save_draft(
        plan,
        {"participants": [{"base_id": "", "reason": "还没选基地"}], "windows": [{"earliest_start": "明年", "duration_days": "3"}], "theme": "主" * 300},
        world["host"],
        now=BEFORE,
    )
    assert len(notes) == 3
    assert len(plan.theme) == 200


@pytest.mark.parametrize(
    ("count", "ok"),
    [(3, False), (4, True), (5, True)],
)
def test_at_least_four_of_five_content_types(world, count, ok):
    plan = _plan(world)
    types = {c.value: "具体安排" for c in list(ContentType)[:count]}
    services.save_draft(plan, complete_data([world["partner"].id], content_types=types), world["host"], now=BEFORE)
    errors = services.validation_errors(plan)
    assert ("content_types" not in errors) is ok
    if not ok:
        assert "至少涵盖 5 类中的 4 类，当前勾选 3 类" in errors["content_types"][0]


def test_a_checked_type_needs_its_sentence(world):
    plan = _plan(world)
    types = {c.value: "具体安排" for c in list(ContentType)[:3]} | {ContentType.MATCHMAKING.value: "  "}
    services.save_draft(plan, complete_data([world["partner"].id], content_types=types), world["host"], now=BEFORE)
    errors = services.validation_errors(plan)["content_types"]
    assert any("创新主体深度对接" in m for m in errors)


@pytest.mark.parametrize(
    ("body", "expected", "message"),
    [
        ("我们在2026年举办AI大会。", 11, None),  # Chinese, digits, Latin, punctuation
        ("我们在2026年举办AI大会。🎉👍🏽", 13, "超过上限 12 字"),  # two emoji, one with a skin tone
        ("COVID-19 防控 Wi-Fi 6 全覆盖 👨‍👩‍👧🇨🇳", 10, None),  # a family and a flag are one each
        ("Hello world 融通", 4, "少于下限 10 字"),
        ("１２３ 中文 ，", 6, "少于下限 10 字"),  # full-width digits count one each, as does the comma
    ],
)
def test_zishu_limits_mixed_scripts(world, body, expected, message):
    campaign = world["campaign"]
    campaign.zishu_min, campaign.zishu_target, campaign.zishu_max = 10, 11, 12
    db.session.flush()
    assert count_zishu(body) == expected
    plan = _plan(world)
    services.save_draft(plan, complete_data([world["partner"].id], body=body), world["host"], now=BEFORE)
    errors = services.validation_errors(plan).get("body", [])
    if message is None:
        assert errors == []
        services.submit(plan, world["host"], now=BEFORE)
        assert plan.versions[-1].snapshot["zishu"] == expected
    else:
        assert len(errors) == 1 and message in errors[0] and f"正文字数为 {expected}" in errors[0]


def test_deadline_boundary_in_beijing_time(world):
    plan = _plan(world)
    services.save_draft(plan, complete_data([world["partner"].id]), world["host"], now=LAST_SECOND)
    version = services.submit(plan, world["host"], now=LAST_SECOND)
    assert version.number == 1 and not version.late and plan.status == "submitted"
    db.session.commit()
    with pytest.raises(services.PlanError) as refused:
        services.submit(plan, world["host"], now=NEXT_DAY)
    assert "截止时间为 2027-06-30 23:59（北京时间）" in str(refused.value)
    with pytest.raises(services.PlanError, match="截止时间为 2027-06-30 23:59"):
        services.save_draft(plan, complete_data([world["partner"].id], theme="改"), world["host"], now=NEXT_DAY)
    assert services.is_open(plan, LAST_SECOND) and not services.is_open(plan, NEXT_DAY)
    # 15:59:59 UTC is the last second; midnight UTC on 1 July is already 08:00 in Beijing.
    assert LAST_SECOND.hour == 15 and LAST_SECOND.minute == 59


def test_extension_lets_one_base_submit_late(world):
    organiser = make_user(Role.ORGANISER)
    other_base = make_base("中国石油天然气集团有限公司", short_name="中国石油")
    plan = _plan(world)
    other = services.get_or_create_plan(world["campaign"], other_base)
    key = services.call_key(world["campaign"])
    with pytest.raises(calls.CallError, match="延期理由"):
        calls.grant_extension(key, world["base"].id, shanghai(2027, 7, 5, 23, 59, 59), "  ", organiser, now=BEFORE)
    calls.grant_extension(key, world["base"].id, shanghai(2027, 7, 5, 23, 59, 59), "汛期抢险，材料延迟", organiser, now=BEFORE)
    db.session.commit()
    assert calls.effective_deadline(key, world["base"].id, world["campaign"].plan_deadline) == shanghai(2027, 7, 5, 23, 59, 59)
    assert calls.effective_deadline(key, other_base.id, world["campaign"].plan_deadline) == world["campaign"].plan_deadline

    on_extension = shanghai(2027, 7, 3, 9, 0, 0)
    services.save_draft(plan, complete_data([world["partner"].id]), world["host"], now=on_extension)
    version = services.submit(plan, world["host"], now=on_extension)
    assert version.late and plan.late and services.status_key(plan) == "late"
    with pytest.raises(services.PlanError, match="截止时间为 2027-06-30 23:59"):
        services.save_draft(other, {"theme": "晚了"}, world["host"], now=on_extension)
    with pytest.raises(services.PlanError, match="截止时间为 2027-07-05 23:59"):
        services.submit(plan, world["host"], now=shanghai(2027, 7, 6, 0, 0, 0))
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "deadline.extend"))
    assert entry.after["reason"] == "汛期抢险，材料延迟" and entry.actor_id == organiser.id
    rows = services.list_plans(world["campaign"], services.PlanFilters(status="late"))
    assert [r.plan.id for r in rows] == [plan.id]


def test_versions_diff_withdraw_and_resubmit(world):
    plan = _plan(world)
    services.save_draft(plan, complete_data([world["partner"].id]), world["host"], now=BEFORE)
    services.submit(plan, world["host"], now=BEFORE)
    assert plan.contact_phone == "13812345678" and plan.contact_email == "zhang@example.com"
    services.save_draft(plan, complete_data([world["partner"].id], body=BODY + "新增路演环节", theme="能源装备融通创新"), world["host"], now=BEFORE)
    assert services.has_unsubmitted_changes(plan)
    services.submit(plan, world["host"], now=BEFORE)
    assert [v.number for v in plan.versions] == [1, 2]
    assert not services.has_unsubmitted_changes(plan)

    diff = {d.label: d for d in services.diff_versions(plan.versions[0].snapshot, plan.versions[1].snapshot)}
    assert diff["计划正文"].changed and "<ins>新增路演环节</ins>" in str(diff["计划正文"].html)
    assert diff["主题"].changed and "<del>产业链</del>" in str(diff["主题"].html)
    assert not diff["专业领域"].changed

    services.withdraw(plan, world["host"], now=BEFORE)
    assert plan.status == PlanStatus.WITHDRAWN.value
    with pytest.raises(services.PlanError):
        services.withdraw(plan, world["host"], now=BEFORE)
    services.submit(plan, world["host"], now=BEFORE)
    assert [v.number for v in plan.versions] == [1, 2, 3]
    db.session.commit()
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "PreliminaryPlan").order_by(AuditLog.id)))
    assert actions == ["plan.submit", "plan.submit", "plan.withdraw", "plan.submit"]


def test_diff_escapes_html():
    html = str(services.inline_diff("<b>旧</b>", "<b>新</b>"))
    assert "<b>" not in html and "&lt;b&gt;" in html and "<del>旧</del><ins>新</ins>" in html


def test_read_and_edit_rights(world):
    plan = _plan(world)
    db.session.commit()
    colleague = make_user(Role.HOST, base=world["base"])
    stranger = make_user(Role.HOST)
    organiser = make_user(Role.ORGANISER)
    reviewer = make_user(Role.REVIEWER)
    assessor = make_user(Role.ASSESSOR)
    assert services.can_read_plan(world["host"], plan) and services.can_read_plan(colleague, plan)
    assert services.can_edit_plan(colleague, plan)
    assert not services.can_read_plan(stranger, plan) and not services.can_edit_plan(stranger, plan)
    assert services.can_read_plan(organiser, plan) and not services.can_edit_plan(organiser, plan)
    assert not services.can_read_plan(reviewer, plan)
    assert not services.can_read_plan(assessor, plan)


def test_assigned_reviewer_reads_the_plan(world):
    organiser = make_user(Role.ORGANISER)
    reviewer = make_user(Role.REVIEWER)
    other_reviewer = make_user(Role.REVIEWER)
    plan = _plan(world)
    services.save_draft(plan, complete_data([world["partner"].id]), world["host"], now=BEFORE)
    services.submit(plan, world["host"], now=BEFORE)
    rnd = review.open_review(world["campaign"], organiser)
    db.session.commit()
    item = rnd.items[0]
    assert (item.ref_type, item.ref_id) == ("plan", plan.id)
    assert sorted(item.conflict_base_ids) == sorted([world["base"].id, world["partner"].id])
    judging.assign(item, reviewer, organiser)
    db.session.commit()
    assert services.can_read_plan(reviewer, plan)
    assert not services.can_read_plan(other_reviewer, plan)


def test_open_review_syncs_submitted_plans_only(world):
    organiser = make_user(Role.ORGANISER)
    plan = _plan(world)
    draft_only = services.get_or_create_plan(world["campaign"], make_base(short_name="草稿基地"))
    services.save_draft(plan, complete_data([world["partner"].id]), world["host"], now=BEFORE)
    services.submit(plan, world["host"], now=BEFORE)
    rnd = review.open_review(world["campaign"], organiser)
    assert rnd.key == f"plan-review:{world['campaign'].id}"
    assert [i.ref_id for i in rnd.items] == [plan.id]
    assert draft_only.id not in [i.ref_id for i in rnd.items]
    assert [c.name for c in rnd.criteria] == ["活动内容特色", "示范带动作用", "项目对接周期"]
    services.withdraw(plan, world["host"], now=BEFORE)
    again = review.open_review(world["campaign"], organiser)
    assert again.id == rnd.id
    assert [i.active for i in again.items] == [False]


def test_completeness_warnings_and_filters(world):
    plan = _plan(world)
    services.save_draft(plan, {"content_types": {"resources": "实验室"}, "body": "短"}, world["host"], now=BEFORE)
    warnings = services.completeness_warnings(plan)
    assert len(warnings) == 3
    assert "主题内容仅 1 类" in warnings[0] and "没有参与基地" in warnings[1] and "字数 1 不在 300–1000" in warnings[2]
    good = services.get_or_create_plan(world["campaign"], make_base(short_name="好基地"))
    services.save_draft(good, complete_data([world["partner"].id]), world["host"], now=BEFORE)
    assert services.completeness_warnings(good) == []
    assert [r.plan.id for r in services.list_plans(world["campaign"], services.PlanFilters(warnings="yes"))] == [plan.id]
    assert [r.plan.id for r in services.list_plans(world["campaign"], services.PlanFilters(warnings="no"))] == [good.id]
    assert [r.plan.id for r in services.list_plans(world["campaign"], services.PlanFilters(base_id=good.base_id))] == [good.id]


def test_export_xlsx(world):
    plan = _plan(world)
    services.save_draft(plan, complete_data([world["partner"].id], theme="=HYPERLINK(1)"), world["host"], now=BEFORE)
    services.submit(plan, world["host"], now=BEFORE)
    services.save_draft(plan, complete_data([world["partner"].id], theme="未提交的修改"), world["host"], now=BEFORE)
    db.session.commit()
    sheet = load_workbook(io.BytesIO(services.export_xlsx(world["campaign"]))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "基地" and "主题" in rows[0]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["基地"] == "中国华润有限公司" and row["状态"] == "已提交" and row["版本"] == 1
    assert row["主题"] == "'=HYPERLINK(1)"  # the submitted version, and never a formula
    assert row["字数"] == 400 and "南山区" in row["参与基地"]


def test_a_double_click_on_submit_freezes_one_version(make_app, backend):
    """Four submissions of one unchanged plan at the same instant: one version, one audit entry;
    every click is answered with that version (the plan row is locked, the repeats see it)."""
    app = make_app()
    with app.app_context():
        campaign = make_campaign()
        base = make_base("中国华润有限公司", short_name="华润")
        partner = make_base("深圳市南山区", BaseType.REGION, short_name="南山区")
        host = make_user(Role.HOST, base=base)
        plan = services.get_or_create_plan(campaign, base)
        services.save_draft(plan, complete_data([partner.id]), host, now=BEFORE)
        db.session.commit()
        plan_id, host_id = plan.id, host.id

    def click() -> int:
        version = services.submit(db.session.get(PreliminaryPlan, plan_id), db.session.get(User, host_id), now=BEFORE)
        db.session.commit()
        return version.number

    results, errors = run_concurrently(app, [click] * 4)
    assert not errors, errors
    assert results == [1, 1, 1, 1]
    with app.app_context():
        assert [v.number for v in db.session.get(PreliminaryPlan, plan_id).versions] == [1]
        assert db.session.scalars(select(AuditLog.action).where(AuditLog.action == "plan.submit")).all() == ["plan.submit"]
