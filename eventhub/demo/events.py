"""Demo theme days of the running campaign: two scheduled ones and one already held.

Dates are counted from the day the demo is loaded, so the public page always shows an upcoming
theme day: 华润 in three weeks (detailed plan submitted on time and approved — its public page,
agenda, technology needs and .ics are live) and 中国石油 in about six weeks (detailed plan still
a draft, due in about two weeks, so the countdown and the reminders have something to show).
中国一重's theme day took place about 100 days ago (approved plan, then registrations, check-in,
deals, mechanisms with their 3-month follow-up and survey answers: ``demo/past.py``), so the
assessment pages are not empty. It is created last, so the upcoming events keep ids 1 and 2.
Everything goes through the same services the pages use (``events.detail_plans``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns import services as campaigns
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core import audit
from eventhub.core.permissions import Role
from eventhub.core.timeutil import as_utc, local_to_utc, to_shanghai, utcnow
from eventhub.demo import past
from eventhub.demo.activity import DECK_PDF, load_activity
from eventhub.events import detail_plans as dp
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db
from eventhub.selection.services import detail_plan_due


@dataclass(frozen=True)
class DemoEvent:
    base_name: str
    days_ahead: int
    duration_days: int
    approved: bool


SESSIONS = (
    # title, kind, (start, end), venue, content types, access
    ("开幕式暨融通创新成果发布", "opening", (time(9, 0), time(9, 40)), "主会场", ["matchmaking"], "open"),
    ("技术需求清单发布与揭榜对接", "forum", (time(9, 50), time(11, 30)), "主会场", ["joint_rd"], "open"),
    ("创新团队对接路演", "roadshow", (time(13, 30), time(15, 30)), "二号厅", ["roadshow"], "open"),
    ("开放实验室与应用场景参观", "exhibition", (time(15, 40), time(16, 40)), "研发中心", ["resources"], "invitation"),
    ("成果转化与合作项目签约", "signing", (time(16, 50), time(17, 30)), "主会场", ["commercialisation"], "open"),
)

NEEDS = (
    dp.NeedData(
        title="医药冷链全程温控与追溯技术",
        field="生物医药",
        description="面向疫苗和生物制剂配送，寻求低成本、可规模部署的全程温度监测与追溯方案，要求数据可接入集团物流平台。",
        expected_result="完成 2 条配送线路试点，温控数据完整率不低于 99.5%。",
        budget_min=100,
        budget_max=300,
    ),
    dp.NeedData(
        title="零售门店能耗智能管理",
        field="节能环保",
        description="面向连锁零售门店的用能监测与空调、照明、冷柜联动优化。",
        expected_result="试点门店综合能耗下降 10% 以上。",
        budget_min=50,
        budget_max=150,
    ),
    dp.NeedData(
        title="低碳混凝土外加剂",
        field="新材料",
        description="降低水泥用量的外加剂配方与工程应用验证。",
        expected_result="在 1 个在建项目完成应用验证。",
    ),
)

RESOURCES = (
    dp.ResourceData("医药研发中试平台", "lab", "化学药与生物药中试放大平台，含制剂与分析检测设备。", "中小企业预约使用，按成本收费；需签署保密协议。"),
    dp.ResourceData("零售门店应用场景", "scenario", "集团旗下便利店与超市开放为新技术、新产品的试用场景。", "经评审后免费试点 3 个月。"),
)

DEMO_EVENTS = (
    DemoEvent("中国华润有限公司", days_ahead=21, duration_days=1, approved=True),
    DemoEvent("中国石油天然气集团有限公司", days_ahead=45, duration_days=2, approved=False),
)

PARTNERS = {
    "中国一重集团有限公司": (
        ("辽宁省大连经济技术开发区", "组织大连装备制造配套中小企业参与对接"),
        ("西安交通大学", "联合发布大型铸锻件技术需求，提供专家评审"),
    ),
    "中国华润有限公司": (("福建省厦门生物医药港", "组织生物医药中小企业参与揭榜与路演"), ("西安交通大学", "联合发布技术需求，提供专家评审")),
    "中国石油天然气集团有限公司": (("黑龙江省大庆高新技术产业开发区", "组织油气装备配套企业对接"), ("中国一重集团有限公司", "重型装备供应链协同")),
}


# The theme day that already happened (``demo/past.py``): its own needs and resources, same agenda.
PAST_EVENT = DemoEvent("中国一重集团有限公司", days_ahead=-past.DAYS_AGO, duration_days=1, approved=True)
PAST_NEEDS = (
    dp.NeedData(
        title="大型筒节锻件近净成形工艺",
        field="高端装备",
        description="面向核电、石化容器用大型筒节锻件，寻求近净成形工艺与模具优化方案，降低加工余量和能耗。",
        expected_result="试验锻件材料利用率提高 15% 以上。",
        budget_min=200,
        budget_max=500,
    ),
    dp.NeedData(
        title="重型装备液压系统关键配套件",
        field="高端装备",
        description="液压站、密封件等关键配套件的国产化替代与稳定供货。",
        expected_result="2 家以上配套企业通过供应商审核。",
        budget_min=100,
        budget_max=300,
    ),
    dp.NeedData(
        title="焊缝缺陷智能检测",
        field="新一代信息技术",
        description="基于相控阵超声和机器视觉的厚壁焊缝缺陷自动识别。",
        expected_result="在 1 条产线完成试用，漏检率低于人工检测。",
    ),
)
PAST_RESOURCES = (
    dp.ResourceData("重型锻压试验平台", "equipment", "万吨级水压机试验时段与锻件理化检测中心。", "配套企业预约使用，按成本收费。"),
    dp.ResourceData("重型装备供应链", "supply_chain", "集团合格供应商名录向中小企业开放申请。", "通过资质与现场审核后纳入名录。"),
)


def running_campaign(now: datetime) -> Campaign:
    """The campaign whose theme days are under way (the year before the one collecting plans)."""
    year = campaigns.next_campaign_year(now) - 1
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == year))
    if campaign is None:
        campaign = campaigns.create_campaign(
            {
                "year": year,
                "title": campaigns.default_title(year),
                "description": "演示数据：已排期的主题日，承办基地提交活动方案、公开页面与揭榜。",
                "status": CampaignStatus.RUNNING.value,
            }
        )
    return campaign


def _event(campaign: Campaign, base: DemonstrationBase, start: date, days: int, organiser: User | None) -> Event:
    event = Event(
        campaign_id=campaign.id,
        host_base_id=base.id,
        title=f"{base.display_short_name}融通创新主题日",
        start_date=start,
        end_date=start + timedelta(days=days - 1),
        status=EventStatus.SCHEDULED.value,
        detail_plan_due=detail_plan_due(start, campaign.detail_lead_months),
    )
    db.session.add(event)
    db.session.flush()
    audit.record("event.create", event, after={"title": event.title, "start_date": start, "demo": True}, actor=organiser)
    return event


def _fill(
    event: Event,
    host: User | None,
    bases: dict[str, DemonstrationBase],
    full: bool,
    now: datetime,
    needs: tuple[dp.NeedData, ...] = NEEDS,
    resources: tuple[dp.ResourceData, ...] = RESOURCES,
) -> None:
    plan = dp.ensure_detail_plan(event)
    short = event.host_base.display_short_name
    dp.update_text(plan, "goals", f"围绕{short}产业链上下游，发布技术需求清单、开放创新资源，组织中小企业路演与深度对接，促成一批合作项目。", host)
    dp.update_text(plan, "venue", f"{short}总部园区（演示地址）", host)
    for partner, role in PARTNERS.get(event.host_base.name, ()):
        base = bases.get(partner)
        if base is not None and all(row.base_id != base.id for row in plan.bases):
            dp.add_base(plan, base.id, role, host)
    sessions = SESSIONS if full else SESSIONS[:2]
    for title, kind, (start, end), venue, content_types, access in sessions:
        data = dp.SessionData(
            title=title, kind=kind, day=event.start_date, start_time=start, end_time=end, venue=venue, content_types=content_types, access=access
        )
        dp.add_session(plan, data, host)
    if not full:
        return
    dp.update_text(plan, "emergency", "设置医疗点与应急疏散通道，控制单场人数；遇极端天气改为线上举办并提前通知报名者。", host)
    for need in needs:
        dp.add_need(plan, dp.NeedData(**{**need.__dict__, "response_deadline": event.start_date}), host)
    for resource in resources:
        dp.add_resource(plan, resource, host)
    start_local = datetime.combine(event.start_date, time(8, 0))
    dp.update_registration(
        plan,
        dp.RegistrationData(
            capacity=300,
            opens_at=local_to_utc(datetime.combine(to_shanghai(now).date() - timedelta(days=7), time(9, 0))),  # open already (demo registrations)
            closes_at=local_to_utc(start_local),
            approval_mode="automatic",
        ),
        host,
    )


def load_events(bases: dict[str, DemonstrationBase], now: datetime | None = None) -> tuple[list[tuple[Event, str]], str | None]:
    """The demo theme days with their state, and what the one already held has for the assessment
    (nothing is added when the campaign already has events)."""
    now = as_utc(now or utcnow())
    campaign = running_campaign(now)
    if db.session.scalar(select(Event.id).where(Event.campaign_id == campaign.id)) is not None:
        return [], None
    organiser = db.session.scalar(select(User).where(User.role == Role.ORGANISER.value).order_by(User.id))
    hosts = {u.base_id: u for u in db.session.scalars(select(User).where(User.role == Role.HOST.value))}
    today = to_shanghai(now).date()
    out: list[tuple[Event, str]] = []
    for spec in DEMO_EVENTS:
        base = bases.get(spec.base_name)
        if base is None:
            continue
        event = _event(campaign, base, today + timedelta(days=spec.days_ahead), spec.duration_days, organiser)
        host = hosts.get(base.id)
        _fill(event, host, bases, spec.approved, now)
        plan = dp.ensure_detail_plan(event)
        if spec.approved:
            submitted_at = min(now, as_utc(event.detail_plan_due) - timedelta(days=2))
            dp.submit(plan, host, now=submitted_at)
            dp.approve(plan, None, organiser, now=now)
            activity = load_activity(event, host, now)
            out.append((event, f"活动方案已批准，公开页面已发布；{activity}"))
        else:
            out.append((event, "活动方案草稿"))
    held = _past_event(campaign, bases, hosts, organiser, now)
    if held is None:
        return out, None
    event, summary = held
    out.append((event, "已举办，活动方案已批准"))
    return out, summary


def _past_event(
    campaign: Campaign, bases: dict[str, DemonstrationBase], hosts: dict[int | None, User], organiser: User | None, now: datetime
) -> tuple[Event, str] | None:
    """The theme day that took place ``past.DAYS_AGO`` days ago: approved plan, then everything after it
    (``demo/past.py``); the event and a summary of its assessment data."""
    base = bases.get(PAST_EVENT.base_name)
    if base is None:
        return None
    today = to_shanghai(now).date()
    event = _event(campaign, base, today + timedelta(days=PAST_EVENT.days_ahead), PAST_EVENT.duration_days, organiser)
    host = hosts.get(base.id)
    approved_at = past.local(event.start_date - timedelta(days=35), 10)
    _fill(event, host, bases, True, approved_at, needs=PAST_NEEDS, resources=PAST_RESOURCES)
    plan = dp.ensure_detail_plan(event)
    dp.submit(plan, host, now=min(approved_at - timedelta(days=3), as_utc(event.detail_plan_due) - timedelta(days=2)))
    dp.approve(plan, None, organiser, now=approved_at)
    assessor = db.session.scalar(select(User).where(User.role == Role.ASSESSOR.value).order_by(User.id))
    return event, past.load_past_activity(event, host, assessor, now, DECK_PDF)
