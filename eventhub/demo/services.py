"""Demo data for newcomers: the 92 bases of batch 3, the next campaign, one user per role, and
for that campaign submitted preliminary plans of four enterprise bases with a plan-review round
in scoring (the demo reviewer assigned, sheets left for them to fill in; see ``demo/plans.py``);
for the running campaign, two upcoming theme days and one already held with its assessment data
(``demo/events.py``, ``demo/activity.py``, ``demo/past.py``).

Everything is written in one transaction: either the whole demo is there afterwards or nothing
changed. With ``if_empty`` nothing is done at all when the database already has bases or users
(``make run`` calls it on every start). Without it, what is missing is added and what exists
(a base of the same name, a user with the same e-mail, a campaign of the same year) is kept
as it is: a base that already has a plan for the campaign keeps it, and an existing review round
is left alone. Plans are only written while the campaign's deadline has not passed.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.auth.services import create_user, find_by_email, password_problems
from eventhub.bases.models import BaseType, DemonstrationBase, Direction
from eventhub.campaigns import services as campaigns
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core import audit
from eventhub.core.permissions import ROLE_LABELS, Role
from eventhub.core.timeutil import as_utc, format_local, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.demo.events import load_events
from eventhub.demo.plans import PLANS, plan_data
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.plans import review
from eventhub.plans import services as plans

BASES_RESOURCE = "data/demonstration-bases-batch3.csv"
BASE_COLUMNS = ("name", "short_name", "batch", "direction", "base_type", "province", "source")
HOST_BASE = "中国华润有限公司"
SECOND_HOST_BASE = "中国石油天然气集团有限公司"
PAST_HOST_BASE = "中国一重集团有限公司"  # host of the demo's past theme day (demo/past.py)
LOGIN_URL = "http://127.0.0.1:5000/login"
ORGANISER_EMAIL = "organiser@demo.example.com"
REVIEWER_EMAIL = "reviewer@demo.example.com"

Echo = Callable[[str], Any]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    password: str
    base_name: str | None = None


# Fixed, documented demo passwords (each satisfies auth.services.password_problems).
ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(ORGANISER_EMAIL, "演示组织方", Role.ORGANISER, "Demo-organiser-2026"),
    DemoAccount(REVIEWER_EMAIL, "演示评审专家", Role.REVIEWER, "Demo-reviewer-2026"),
    DemoAccount("host@demo.example.com", "华润基地演示用户", Role.HOST, "Demo-host-2026", HOST_BASE),
    DemoAccount("host-cnpc@demo.example.com", "中国石油基地演示用户", Role.HOST, "Demo-host-cnpc-2026", SECOND_HOST_BASE),
    DemoAccount("host-cfhi@demo.example.com", "中国一重基地演示用户", Role.HOST, "Demo-host-cfhi-2026", PAST_HOST_BASE),
    DemoAccount("checkin@demo.example.com", "演示签到人员", Role.CHECKIN, "Demo-checkin-2026"),
    DemoAccount("assessor@demo.example.com", "演示第三方评估", Role.ASSESSOR, "Demo-assessor-2026"),
    DemoAccount("participant@demo.example.com", "演示参与企业", Role.PARTICIPANT, "Demo-participant-2026"),
)

# Demo contacts of the two host bases (fictitious; shown only to organisers, assessors, own hosts).
DEMO_CONTACTS = {
    HOST_BASE: {"contact_name": "华润联络员（演示）", "contact_phone": "13800138001", "contact_email": "contact-crc@demo.example.com"},
    SECOND_HOST_BASE: {"contact_name": "中国石油联络员（演示）", "contact_phone": "13800138002", "contact_email": "contact-cnpc@demo.example.com"},
}


class DemoDataError(RuntimeError):
    """The packaged demo data is broken (a bad row in the CSV)."""


@dataclass
class DemoResult:
    skipped: bool = False
    bases_added: int = 0
    bases_kept: int = 0
    users_added: list[str] | None = None
    users_kept: list[str] | None = None
    campaign: Campaign | None = None
    campaign_added: bool = False
    plans_added: list[tuple[str, str, int]] = field(default_factory=list)  # (short name, theme, 字数)
    plans_kept: list[str] = field(default_factory=list)
    plans_skipped: str | None = None  # why no plans were written
    review_title: str | None = None
    review_added: bool = False
    review_assigned: int = 0
    events_added: list[tuple[Any, str]] = field(default_factory=list)  # (Event, state)
    assessment_summary: str | None = None  # what the theme day already held has for the assessment pages


# ---- reading the packaged data ----------------------------------------------------


def read_bases_csv() -> str:
    """The bases CSV shipped inside the package (never read from outside it)."""
    return resources.files("eventhub").joinpath(BASES_RESOURCE).read_text(encoding="utf-8-sig")


def iter_base_rows(text: str | None = None) -> Iterator[dict[str, Any]]:
    """The CSV rows as model values; ``DemoDataError`` names the first bad row."""
    reader = csv.DictReader(io.StringIO(text if text is not None else read_bases_csv()))
    missing = [c for c in BASE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DemoDataError(f"演示数据缺少列：{', '.join(missing)}")
    directions = {d.value for d in Direction}
    types = {t.value for t in BaseType}
    for line, row in enumerate(reader, start=2):
        values = {c: (row.get(c) or "").strip() for c in BASE_COLUMNS}
        if not values["name"] or values["direction"] not in directions or values["base_type"] not in types or not values["province"]:
            raise DemoDataError(f"演示数据第 {line} 行无效：{row}")
        try:
            batch = int(values["batch"])
        except ValueError as exc:
            raise DemoDataError(f"演示数据第 {line} 行批次无效：{values['batch']}") from exc
        yield {**values, "batch": batch, "short_name": values["short_name"] or None, "source": values["source"] or None}


# ---- loading ---------------------------------------------------------------------


def database_has_data() -> bool:
    has_bases = db.session.scalar(select(func.count()).select_from(DemonstrationBase)) or 0
    has_users = db.session.scalar(select(func.count()).select_from(User)) or 0
    return bool(has_bases or has_users)


def _load_bases(result: DemoResult) -> dict[str, DemonstrationBase]:
    existing = {b.name: b for b in db.session.scalars(select(DemonstrationBase))}
    for values in iter_base_rows():
        if values["name"] in existing:
            result.bases_kept += 1
            continue
        base = DemonstrationBase(**values, **DEMO_CONTACTS.get(values["name"], {}))
        db.session.add(base)
        existing[base.name] = base
        result.bases_added += 1
    db.session.flush()
    return existing


def _load_users(bases: dict[str, DemonstrationBase], result: DemoResult) -> None:
    result.users_added, result.users_kept = [], []
    for account in ACCOUNTS:
        if find_by_email(account.email) is not None:
            result.users_kept.append(account.email)
            continue
        base = bases.get(account.base_name) if account.base_name else None
        if account.base_name and base is None:
            raise DemoDataError(f"演示数据中没有示范基地“{account.base_name}”")
        create_user(email=account.email, name=account.name, role=account.role, base=base, password=account.password)
        result.users_added.append(account.email)


def _load_campaign(result: DemoResult, now: datetime | None) -> None:
    year = campaigns.next_campaign_year(now)
    existing = db.session.scalar(select(Campaign).where(Campaign.year == year))
    if existing is not None:
        result.campaign = existing
        return
    result.campaign = campaigns.create_campaign(
        {
            "year": year,
            "title": campaigns.default_title(year),
            "description": "演示数据：企业类示范基地在截止时间前提交约 800 字的活动初步计划。",
            "status": CampaignStatus.PLANNING.value,
        }
    )
    result.campaign_added = True


def _load_plans(bases: dict[str, DemonstrationBase], result: DemoResult, now: datetime | None) -> None:
    """Submitted plans for the demo campaign, then the review round in scoring (see ``demo/plans.py``)."""
    campaign = result.campaign
    if campaign is None:
        return
    now = as_utc(now or utcnow())
    if now > as_utc(campaign.plan_deadline):
        result.plans_skipped = f"{campaign.year} 年初步计划已截止"
        return
    base_ids = {name: base.id for name, base in bases.items()}
    hosts = {u.base_id: u for u in db.session.scalars(select(User).where(User.role == Role.HOST.value)).all()}
    for spec in PLANS:
        base = bases.get(spec.base_name)
        if base is None:
            raise DemoDataError(f"演示数据中没有示范基地“{spec.base_name}”")
        if plans.get_plan(campaign, base) is not None:
            result.plans_kept.append(base.display_short_name)
            continue
        plan = plans.get_or_create_plan(campaign, base)
        data = plan_data(spec, campaign.year, base_ids, base.display_short_name, campaign.zishu_min, campaign.zishu_max)
        host = hosts.get(base.id)
        plans.save_draft(plan, data, host, now=now)
        plans.submit(plan, host, now=now)
        result.plans_added.append((base.display_short_name, spec.theme, count_zishu(plan.body)))

    if review.review_round(campaign) is not None:
        result.review_title = review.review_round(campaign).title
        return
    organiser = find_by_email(ORGANISER_EMAIL)
    reviewer = find_by_email(REVIEWER_EMAIL)
    rnd = review.open_review(campaign, organiser)
    result.review_title, result.review_added = rnd.title, True
    if reviewer is not None:
        result.review_assigned = len(judging.auto_assign(rnd, [reviewer], k=1, actor=organiser).created)
    judging.start_scoring(rnd, organiser)


def load_demo(if_empty: bool, echo: Echo = print, *, now: datetime | None = None) -> DemoResult:
    """Load the demo data in one transaction and print the log-ins (see the module doc)."""
    if if_empty and database_has_data():
        echo("数据库中已有示范基地或用户，跳过演示数据加载（--if-empty）。")
        return DemoResult(skipped=True)
    for account in ACCOUNTS:  # a fixed password the rules refuse is a bug here, not a user error
        if password_problems(account.password, account.email):
            raise DemoDataError(f"演示密码不符合密码规则：{account.email}")
    result = DemoResult()
    try:
        bases = _load_bases(result)
        _load_users(bases, result)
        _load_campaign(result, now)
        _load_plans(bases, result, now)
        result.events_added, result.assessment_summary = load_events(bases, now)
        audit.record(
            "demo.load",
            object_type="demo",
            after={
                "bases_added": result.bases_added,
                "users_added": result.users_added,
                "campaign_year": result.campaign.year if result.campaign else None,
                "plans_added": [name for name, _theme, _n in result.plans_added],
                "review_added": result.review_added,
                "events_added": [event.title for event, _state in result.events_added],
            },
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _report(result, echo)
    return result


# ---- printing ----------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters are two wide)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text in them."""
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, "| " + " | ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)) + " |", rule]
    lines += ["| " + " | ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.append(rule)
    return "\n".join(lines)


def _report(result: DemoResult, echo: Echo) -> None:
    echo(f"示范基地：新增 {result.bases_added} 个" + (f"，已存在 {result.bases_kept} 个（未改动）" if result.bases_kept else ""))
    if result.campaign is not None:
        c = result.campaign
        state = "新建" if result.campaign_added else "已存在，未改动"
        echo(f"年度工作：{c.title}（{state}），初步计划截止 {format_local(c.plan_deadline, '%Y-%m-%d %H:%M:%S')}（北京时间）")
        if result.plans_added:
            echo(f"初步计划：已提交 {len(result.plans_added)} 份")
            echo(format_table(["示范基地", "主题", "字数"], [[name, theme, str(n)] for name, theme, n in result.plans_added]))
        if result.plans_kept:
            echo(f"初步计划：已存在，未改动：{'、'.join(result.plans_kept)}")
        if result.plans_skipped:
            echo(f"初步计划：未添加（{result.plans_skipped}）")
        if result.review_title:
            if result.review_added:
                echo(f"评审：{result.review_title}（新建，已开始评分；演示评审专家已分配 {result.review_assigned} 份，评分表待填写）")
            else:
                echo(f"评审：{result.review_title}（已存在，未改动）")
    if result.events_added:
        campaign = result.events_added[0][0].campaign
        held = 1 if result.assessment_summary else 0
        echo(f"主题日：已排期 {len(result.events_added) - held} 场、已举办 {held} 场（{campaign.title}）")
        echo(
            format_table(
                ["主题日", "日期", "活动方案", "公开页面"],
                [[e.title, e.start_date.isoformat(), state, f"http://127.0.0.1:5000/theme-days/{e.id}"] for e, state in result.events_added],
            )
        )
        if result.assessment_summary:
            event = result.events_added[-1][0]
            echo(f"评估演示（{event.title}，{event.start_date.isoformat()} 已举办）：{result.assessment_summary}")
            echo(f"评估看板（组织方、第三方评估）：http://127.0.0.1:5000/campaigns/{campaign.id}/assessment")
    kept = set(result.users_kept or [])
    rows = [
        [
            ROLE_LABELS[a.role],
            a.name,
            a.email,
            "（已存在，密码未改动）" if a.email in kept else a.password,
            a.base_name or "",
        ]
        for a in ACCOUNTS
    ]
    echo("演示账号（仅用于本地演示，请勿用于正式环境）：")
    echo(format_table(["角色", "姓名", "登录邮箱", "密码", "所属示范基地"], rows))
    echo(f"登录地址（make run 默认）：{LOGIN_URL}")
