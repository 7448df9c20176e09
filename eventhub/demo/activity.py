"""Demo activity on the approved theme day (华润): registrations, check-in and a published road show.

A newcomer opening ``/theme-days/<id>`` after ``make run`` sees the features of issues 5 and 6
at work instead of empty lists: 24 people registered from every kind of organisation (one of
them cancelled), the demo check-in user assigned to the 东门 gate with five tickets already
checked in, and a road-show call with five applications, four shortlisted and placed by the
solver in one published session (二号厅, 13:30–15:30, 20-minute slots) with the demo reviewer as
judge and the demo participant as investor.

Everything goes through the real services. Several of them commit on their own (one action, one
transaction, as the pages need); here they run inside the demo's single transaction instead
(:func:`_commits_deferred`), so ``flask demo load`` still leaves either everything or nothing.
Mail lands in the outbox like any other (the demo only logs it).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from eventhub.auth.models import User
from eventhub.checkin import services as checkin
from eventhub.core.timeutil import as_utc, to_shanghai
from eventhub.core.validators import uscc_check_char
from eventhub.events.content import publication
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import services as registration
from eventhub.registration import tickets
from eventhub.roadshow import calls, schedule

CHECKIN_EMAIL = "checkin@demo.example.com"
REVIEWER_EMAIL = "reviewer@demo.example.com"
PARTICIPANT_EMAIL = "participant@demo.example.com"
GATE = "东门"
CHECKED_IN = 5

# (name, organisation, org_type, position); enterprises get a generated 统一社会信用代码.
PEOPLE = (
    ("张伟", "厦门康达生物科技有限公司", "sme", "总经理"),
    ("王芳", "苏州冷链物联科技有限公司", "sme", "技术总监"),
    ("李娜", "深圳零碳能源管理有限公司", "sme", "市场经理"),
    ("刘洋", "杭州智温传感技术有限公司", "startup", "创始人"),
    ("陈静", "成都新材混凝土科技有限公司", "startup", "研发负责人"),
    ("杨磊", "南京医链数据有限公司", "startup", "产品经理"),
    ("赵敏", "华润医药商业集团有限公司", "large", "采购部经理"),
    ("黄强", "华润万家有限公司", "large", "门店运营总监"),
    ("周杰", "中国建材集团有限公司", "large", "科技部副部长"),
    ("吴婷", "西安交通大学", "university", "教授"),
    ("徐明", "清华大学", "university", "副研究员"),
    ("孙丽", "厦门大学", "university", "博士研究生"),
    ("马超", "中国医学科学院药物研究所", "institute", "研究员"),
    ("朱红", "中国建筑材料科学研究总院", "institute", "高级工程师"),
    ("胡军", "国投创合基金管理有限公司", "investor", "投资总监"),
    ("郭倩", "深创投医疗基金", "investor", "投资经理"),
    ("林涛", "华润资本管理有限公司", "investor", "副总裁"),
    ("何雪", "厦门市科学技术局", "government", "处长"),
    ("高峰", "深圳市工业和信息化局", "government", "科员"),
    ("罗兰", "福建省生物医药行业协会", "other", "秘书长"),
    ("郑浩", "广东省技术转移服务中心", "other", "项目主管"),
    ("梁晨", "珠海绿能储冷科技有限公司", "sme", "销售总监"),
    ("谢宇", "武汉光谷生物孵化器有限公司", "startup", "运营经理"),
    ("宋佳", "北京协和医学院", "university", "讲师"),
)
CANCELLED_INDEX = 5  # 杨磊 cancels: his registration shows as 已取消 and his ticket is revoked

# (org, contact, project, field, stage, seeking, summary)
PROJECTS = (
    (
        "杭州智温传感技术有限公司",
        "刘洋",
        "一次性无源温度标签与冷链追溯平台",
        "生物医药",
        "revenue",
        "寻求在 2 条医药配送线路试点，并洽谈 1000 万元 A 轮融资。",
        "基于无源 RFID 的一次性温度标签，单价低于 2 元，配合云端追溯平台实现疫苗和生物制剂配送全程温度记录，已在两家区域医药流通企业应用。",
    ),
    (
        "厦门康达生物科技有限公司",
        "张伟",
        "生物制剂低温运输箱相变蓄冷材料",
        "生物医药",
        "prototype",
        "寻求中试平台合作与物流场景验证。",
        "自研相变蓄冷材料在二至八摄氏度区间保持时间超过七十二小时，可重复使用五百次以上，已完成样机和第三方检测，正在寻找规模化应用场景。",
    ),
    (
        "深圳零碳能源管理有限公司",
        "李娜",
        "连锁门店用能监测与冷柜联动优化系统",
        "节能环保",
        "revenue",
        "希望在华润万家 20 家门店免费试点三个月。",
        "通过低成本电表和边缘网关采集门店空调、照明和冷柜用能数据，使用算法联动优化运行策略，试点门店综合能耗平均下降百分之十二。",
    ),
    (
        "成都新材混凝土科技有限公司",
        "陈静",
        "工业固废基低碳混凝土外加剂",
        "新材料",
        "prototype",
        "寻求在建项目应用验证与联合研发。",
        "以钢渣和粉煤灰为主要原料的复合外加剂，可替代百分之二十五水泥用量而强度不降低，已完成实验室配比优化，需要在在建项目中完成工程验证。",
    ),
    (
        "南京医链数据有限公司",
        "杨磊",
        "医药流通数据中台",
        "生物医药",
        "idea",
        "寻求天使轮投资与行业数据合作伙伴。",
        "面向医药流通企业整合订单、库存和温控数据的数据中台，帮助企业满足追溯监管要求并优化库存周转，目前处于方案设计阶段。",
    ),
)
SHORTLISTED = 4  # the first four; the fifth stays 已提交 (waiting for screening)

# A one-page PDF (the deck check looks at the content, not the name).
DECK_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@contextmanager
def _commits_deferred() -> Iterator[None]:
    """Let services that commit their own action flush instead, inside the demo's one transaction.

    Their ``rollback`` on an error still rolls back everything, which is what the demo wants
    (``load_demo`` re-raises and nothing is left).
    """
    session = db.session
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.commit


def demo_uscc(number: int) -> str:
    """A well-formed 统一社会信用代码 (enterprise, Beijing) with a correct check character."""
    first17 = f"91110000MA{number:07d}"
    return first17 + uscc_check_char(first17)


def demo_mobile(number: int) -> str:
    return f"1380000{number:04d}"


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise RuntimeError(f"演示账号 {email} 不存在")
    return user


def _register(
    event: Event,
    now: datetime,
    people: tuple[tuple[str, str, str, str], ...] = PEOPLE,
    *,
    step: timedelta = timedelta(0),
    email_prefix: str = "guest",
    number_offset: int = 0,
    cancelled_index: int | None = CANCELLED_INDEX,
) -> list[Any]:
    """Register ``people`` (name, organisation, org_type, position) through the public form's service,
    the first at ``now`` and each next one ``step`` later.

    ``number_offset`` keeps the generated credit codes and mobiles of another demo event distinct.
    """
    pub = publication(event)
    assert pub is not None
    open_sessions = [s.id for s in pub.sessions if s.is_open]
    needs = [n.id for n in pub.needs]
    registrations = []
    for i, (name, organisation, org_type, position) in enumerate(people, start=1):
        number = number_offset + i
        data = {
            "name": name,
            "organisation": organisation,
            "org_type": org_type,
            "uscc": demo_uscc(number) if org_type in ("sme", "startup", "large") else "",
            "position": position,
            "mobile": demo_mobile(number),
            "email": f"{email_prefix}{i:02d}@demo.example.com",
            "session_ids": open_sessions[: 1 + i % len(open_sessions)],
            "need_ids": [needs[i % len(needs)]] if needs and org_type in ("sme", "startup", "university", "institute") else [],
        }
        row, _token = registration.register(event, data, now=now + step * (i - 1))
        registrations.append(row)
    if cancelled_index is not None:
        registration.cancel(registrations[cancelled_index])
    return registrations


def _checkin(
    event: Event,
    registrations: list[Any],
    host: User | None,
    *,
    count: int = CHECKED_IN,
    gate: str = GATE,
    at: datetime | None = None,
) -> list[Any]:
    """The demo check-in user scans the first ``count`` confirmed tickets at ``gate``; the registrations checked in.

    ``at`` (a past event): the scans are dated from then on, a minute apart, as the device would have sent them.
    """
    staff = _user(CHECKIN_EMAIL)
    checkin.assign_staff(event, staff, gate=gate, actor=host)
    confirmed = [r for r in registrations if r.status == "confirmed" and r.ticket is not None][:count]
    for n, row in enumerate(confirmed, start=1):
        scanned_at = at + timedelta(minutes=n) if at is not None else None
        checkin.checkin_ticket(event, tickets.ticket_payload(row.ticket), staff=staff, scan_id=f"demo-scan-{event.id}-{n}", scanned_at=scanned_at)
    return confirmed


def _roadshow(event: Event, host: User | None, now: datetime) -> None:
    today = to_shanghai(now).date()
    fields = sorted({p[3] for p in PROJECTS})
    call = calls.save_call(
        event,
        {
            "opens_at": f"{today - timedelta(days=7)} 09:00",
            "closes_at": f"{event.start_date - timedelta(days=3)} 18:00",
            "intro": "面向生物医药、节能环保和新材料领域的创新团队征集路演项目，入围项目在主题日下午的路演专场展示。",
            "fields": fields,
            "summary_min": 30,
            "summary_max": 300,
        },
        host,
    )
    applications = []
    for i, (org, contact, project, field, stage, seeking, summary) in enumerate(PROJECTS, start=1):
        number = 100 + i
        data = {
            "org_name": org,
            "org_type": "startup" if stage == "idea" else "sme",
            "uscc": demo_uscc(number),
            "contact_name": contact,
            "contact_mobile": demo_mobile(number),
            "contact_email": f"roadshow{i:02d}@demo.example.com",
            "presenters": [{"name": contact, "mobile": demo_mobile(number), "email": f"roadshow{i:02d}@demo.example.com", "position": "负责人"}],
            "project_name": project,
            "field": field,
            "stage": stage,
            "seeking": seeking,
            "summary": summary,
        }
        deck = FileStorage(stream=io.BytesIO(DECK_PDF), filename=f"{project}.pdf", content_type="application/pdf")
        application, _token = calls.submit_application(call, data, {"deck": deck}, now=now)
        applications.append(application)
    for application in applications[:SHORTLISTED]:
        calls.screen(application, "shortlist", "", host)
    linked = next((s.id for s in schedule.agenda_sessions(event) if s.kind == "roadshow"), None)
    session = schedule.save_session(
        event,
        {
            "title": "创新团队对接路演专场",
            "room": "二号厅",
            "day": event.start_date.isoformat(),
            "start_time": time(13, 30).strftime("%H:%M"),
            "end_time": time(15, 30).strftime("%H:%M"),
            "slot_minutes": "20",
            "chair_name": "华润科技部主持人（演示）",
            "event_session_id": str(linked) if linked else "",
        },
        host,
    )
    schedule.add_panel_member(session, _user(REVIEWER_EMAIL), "judge", host)
    schedule.add_panel_member(session, _user(PARTICIPANT_EMAIL), "investor", host)
    schedule.auto_schedule(event, host)
    schedule.publish(event, schedule.ensure_draft(event, host), host)


def load_activity(event: Event, host: User | None, now: datetime) -> str:
    """Registrations, check-in and a published road show for the newly approved demo event; a one-line summary."""
    now = as_utc(now)
    with _commits_deferred():
        registrations = _register(event, now)
        _checkin(event, registrations, host)
        _roadshow(event, host, now)
    return f"报名 {len(PEOPLE)} 人（1 人已取消），已签到 {CHECKED_IN} 人，路演 {len(PROJECTS)} 项申报、{SHORTLISTED} 项入围并已发布日程"
