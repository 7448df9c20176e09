"""A theme day that already happened (中国一重, about 100 days ago), so the assessment has something to show.

A newcomer opening the assessment pages (issue 7) after ``make run`` finds, for this one event:
19 registrations and 17 check-ins (15 of them SMEs / start-ups, so "per 100 SME attendees" has a
base); five deals in every state the model allows — three confirmed by the counterparty (a
signed technology contract with its signed page as evidence, a signed procurement contract and
an investment intent), one still waiting for the partner, one disputed (so the organisers'
"disputed deals" list is not empty); two lasting mechanisms whose members were asked at the
3-month follow-up (an alliance still running, a joint lab one member says has stopped); the
survey sent to the 15 checked-in SMEs with 12 varied answers; and the assessor's draft comment.

Why about 100 days ago and not a few weeks: the mechanism follow-up is asked 3 months after the
event's last day, and nothing in the demo may happen in the future; by then the 30-day survey
has closed, which is how a real event looks when the assessor reads it.

Everything goes through the services the pages and the scheduler jobs use, with times in the
past where a service takes one (registration, check-in scan, deal answers, invitations,
answers, follow-ups). Where a job walks *every* event (``surveys.send_invitations``,
``mechanisms.send_due_checks``) the demo calls the per-event / per-member step the job calls
(``surveys.invite_event``, ``mechanisms.ask_member``): on a database that already holds real
events, the demo must not invite, remind or ask anybody about those. Reminders are not sent
for the same reason (``send_reminders`` has no per-event step).

The scores are computed live by ``assessment.scores`` from these facts. The assessment is left
*not* finalised and the results *not* published: publishing needs every event finalised, then
freezes the figures and locks the weights. Left open, the organiser can try the weights, the
assessor can finalise, the organiser can publish — the whole workflow — and the demo host of
中国一重 (host-cfhi@demo.example.com) then sees the published result of their own event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from eventhub.assessment import deals, mechanisms, scores, surveys
from eventhub.assessment.models import MechanismCheck, SurveyInvitation, SurveyQuestion
from eventhub.auth.models import User
from eventhub.core.timeutil import as_utc, local_to_utc
from eventhub.demo.activity import _checkin, _commits_deferred, _register, demo_uscc
from eventhub.events.models import Event
from eventhub.extensions import db

DAYS_AGO = 100  # > 3 months + the follow-up's day: the 3-month answers are in the past
GATE = "主入口"
NUMBER_OFFSET = 200  # credit codes / mobiles distinct from the upcoming event's registrants
EMAIL_PREFIX = "past"
HOST_CONTACT = ("中国一重集团有限公司", "一重科技部联络员（演示）", "contact-cfhi@demo.example.com")

# (name, organisation, org_type, position). The first CHECKED_IN confirmed ones are checked in,
# so the two no-shows (an SME and an investor) come last.
PEOPLE = (
    ("陈刚", "大连精锻机械有限公司", "sme", "总经理"),
    ("李慧", "齐齐哈尔重装液压件有限公司", "sme", "技术总监"),
    ("王鹏", "沈阳智检无损检测技术有限公司", "sme", "总工程师"),
    ("赵磊", "哈尔滨焊研智能装备有限公司", "sme", "研发经理"),
    ("孙洁", "大连数模工业软件有限公司", "startup", "创始人"),
    ("周航", "天津海工防腐材料科技有限公司", "sme", "市场总监"),
    ("吴昊", "富拉尔基铸锻配套有限公司", "sme", "生产副总经理"),
    ("郑琳", "长春激光熔覆再制造有限公司", "startup", "联合创始人"),
    ("冯涛", "营口高温合金粉末科技有限公司", "startup", "首席技术官"),
    ("韩雪", "鞍山工业视觉检测有限公司", "sme", "产品经理"),
    ("曹阳", "大连核电阀门密封件有限公司", "sme", "销售总监"),
    ("许静", "哈尔滨氢能压力容器科技有限公司", "startup", "创始人"),
    ("邓超", "沈阳工业互联网数据服务有限公司", "sme", "运营总监"),
    ("彭丽", "锦州轴承滚子精密制造有限公司", "sme", "质量部部长"),
    ("蒋伟", "盘锦石化装备维保服务有限公司", "sme", "总经理"),
    ("石磊", "鞍钢集团有限公司", "large", "科技发展部副部长"),
    ("何静", "大连理工大学", "university", "教授"),
    ("田野", "本溪特钢锻材贸易有限公司", "sme", "业务经理"),
    ("罗鸣", "国投创合基金管理有限公司", "investor", "投资总监"),
)
CHECKED_IN = 17
SME_CHECKED_IN = 15


def person(index: int) -> dict[str, str]:
    """Contact details of ``PEOPLE[index]`` as ``_register`` filled them in (the deals' counterparties reuse them)."""
    name, organisation, org_type, _position = PEOPLE[index]
    return {
        "counterparty_name": organisation,
        "counterparty_type": org_type,
        "counterparty_uscc": demo_uscc(NUMBER_OFFSET + index + 1) if org_type in ("sme", "startup", "large") else "",
        "counterparty_contact": name,
        "counterparty_email": f"{EMAIL_PREFIX}{index + 1:02d}@demo.example.com",
    }


@dataclass(frozen=True)
class DemoDeal:
    who: int  # index into PEOPLE
    lead_party: str
    kind: str
    stage: str
    amount_wan: float | None
    day: int  # days after the event
    description: str
    answer: str | None  # "confirm" / "dispute" / None (still waiting)
    note: str = ""
    evidence: str = ""  # file name of a signed page (PDF)


DEALS = (
    DemoDeal(
        0,
        HOST_CONTACT[0],
        "technology",
        "signed",
        180,
        0,
        "大型筒节锻件近净成形工艺联合开发：一重提供试验锻件与检测条件，大连精锻负责模具与工艺优化，目标材料利用率提高 15%。",
        "confirm",
        "确认无误，合同已于活动当天签署。",
        "技术合作协议签字页.pdf",
    ),
    DemoDeal(
        1,
        HOST_CONTACT[0],
        "procurement",
        "signed",
        620,
        6,
        "液压站配套件进入一重合格供应商名录，首批年度框架订单。",
        "confirm",
    ),
    DemoDeal(
        11,
        "国投创合基金管理有限公司",
        "investment",
        "intent",
        1500,
        12,
        "一重推荐的氢能压力容器项目：国投创合会后完成初步尽调，签署 A 轮投资意向书。",
        "confirm",
        "意向书已签署，金额以最终投资协议为准。",
    ),
    DemoDeal(
        16,
        HOST_CONTACT[0],
        "joint_lab",
        "intent",
        None,
        20,
        "共建“大型铸锻件智能制造联合实验室”，双方已完成方案论证。",
        None,
    ),
    DemoDeal(
        7,
        HOST_CONTACT[0],
        "commercialisation",
        "signed",
        85,
        9,
        "激光熔覆再制造技术在轧辊修复中的成果转化。",
        "dispute",
        "签约金额应为 58 万元，且合同尚在我方内部审批，请核实后修改。",
    ),
)

# (name, kind, description, members as PEOPLE indexes — the host is always the first member,
#  wave-3 answers per member: True running / False stopped / None not answered, with notes)
MECHANISMS = (
    (
        "重型装备关键零部件协同创新联盟",
        "alliance",
        "一重牵头，联合锻件、液压和检测配套企业，按季度发布配套需求、联合攻关关键零部件。",
        (0, 1, 2),
        ((True, "第二次季度例会已召开，发布了 6 项配套需求。"), (True, ""), (True, "参与了两项联合攻关。"), (None, "")),
    ),
    (
        "大型铸锻件智能制造联合实验室",
        "joint_lab",
        "一重与大连理工大学共建，面向大型铸锻件成形过程的数字化与智能检测。",
        (16,),
        ((None, ""), (False, "实验室共建协议仍在学校审批流程中，合作暂停。")),
    ),
)

# Survey answers by question key: (overall 1–5, matchmaking 1–5, roadshow 1–5, nps 0–10, continue, improve);
# answered this many hours after the invitation went out (the last three after a week).
ANSWERS = (
    (5, 5, 4, 10, "是", "希望提前一周公布参会企业名单，便于预约对接。", 1),
    (4, 4, 4, 9, "是", "", 2),
    (4, 5, 3, 8, "是", "路演时间偏紧，每个项目 8 分钟讲不清技术细节。", 3),
    (5, 4, 5, 10, "是", "", 5),
    (3, 3, 4, 7, "不确定", "对接环节桌位安排比较拥挤。", 8),
    (4, 4, 3, 8, "是", "", 26),
    (5, 5, 5, 9, "是", "建议组织一次车间现场参观。", 28),
    (2, 2, 3, 4, "否", "技术需求与我们的产品方向匹配度不高。", 50),
    (4, 3, 4, 8, "不确定", "", 75),
    (4, 4, 4, 9, "是", "希望活动后能持续推送采购需求。", 170),
    (5, 4, 4, 6, "是", "", 172),
    (3, 4, 2, 7, "是", "路演场地音响效果不好。", 200),
)
ANSWER_KEYS = ("overall", "matchmaking", "roadshow", "nps", "continue", "improve")

COMMENT = (
    "活动组织规范，供需对接以一重的配套需求为主线，确认的合作项目以技术合作和进入供应链为主；"
    "一项成果转化项目金额有异议，待承办方核实。联合实验室在 3 个月回访中被成员答复为暂停，"
    "6 个月回访后再定稿。"
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return local_to_utc(datetime.combine(day, time(hour, minute)))


def _form(questions: Sequence[SurveyQuestion], answer: tuple[Any, ...]) -> dict[str, Any]:
    """The survey form as the public page posts it. Questions are found by key; a campaign whose
    questionnaire was changed still gets an answer for every required question (by its kind)."""
    by_key = dict(zip(ANSWER_KEYS, answer[:6], strict=True))
    form: dict[str, Any] = {}
    for question in questions:
        value = by_key.get(question.key)
        if value is None or value == "":
            if not question.required:
                continue
            value = {"scale5": by_key["overall"], "nps": by_key["nps"], "text": "无"}.get(question.kind)
        if question.kind in ("single", "multiple") and value not in (question.choices or []):
            value = question.choices[0]
        form[surveys.field_name(question)] = [value] if question.kind == "multiple" else str(value)
    return form


def _deals(event: Event, host: User | None, pdf: bytes) -> dict[str, int]:
    start = event.start_date
    counts = {"recorded": 0, "confirmed": 0, "waiting": 0, "disputed": 0}
    for spec in DEALS:
        day = start + timedelta(days=spec.day)
        data: Mapping[str, Any] = {
            **person(spec.who),
            "lead_party": spec.lead_party,
            "kind": spec.kind,
            "stage": spec.stage,
            "amount_wan": "" if spec.amount_wan is None else str(spec.amount_wan),
            "deal_date": day.isoformat(),
            "description": spec.description,
        }
        evidence = [(pdf, spec.evidence)] if spec.evidence else []
        deal, _token = deals.record_deal(event, data, evidence, actor=host, today=day + timedelta(days=1))
        counts["recorded"] += 1
        if spec.answer is None:
            counts["waiting"] += 1
            continue
        deals.respond(deal, spec.answer, spec.note, at=local(day + timedelta(days=3), 10, 30))
        counts["confirmed" if spec.answer == "confirm" else "disputed"] += 1
    return counts


def _mechanisms(event: Event, host: User | None, now: datetime) -> int:
    """Record the mechanisms the day after the event; ask every member at the 3-month wave; some answer."""
    recorded_at = local(event.end_date + timedelta(days=1), 15)
    asked_at = mechanisms.wave_due(event, 3) + timedelta(minutes=5)
    if asked_at >= now:
        raise RuntimeError("演示数据：已举办的主题日距今不足 3 个月，无法生成 3 个月回访")
    answers = 0
    for name, kind, description, member_ids, replies in MECHANISMS:
        lines = ["，".join(HOST_CONTACT)]
        for index in member_ids:
            contact = person(index)
            lines.append(f"{contact['counterparty_name']}，{contact['counterparty_contact']}，{contact['counterparty_email']}")
        values = {"name": name, "kind": kind, "description": description, "formed_on": event.end_date, "members": "\n".join(lines)}
        mechanism = mechanisms.save_mechanism(event, values, host, now=recorded_at)
        for member in sorted(mechanism.members, key=lambda m: m.id):
            mechanisms.ask_member(mechanism, member, 3, asked_at)
        db.session.flush()
        for hours, (member, (active, note)) in enumerate(zip(sorted(mechanism.members, key=lambda m: m.id), replies, strict=True), start=2):
            if active is None:
                continue
            check = db.session.scalar(select(MechanismCheck).where(MechanismCheck.member_id == member.id, MechanismCheck.wave == 3))
            mechanisms.answer_check(check, active, note, now=min(asked_at + timedelta(hours=hours * 5), now))
            answers += 1
    return answers


def _survey(event: Event) -> tuple[int, int]:
    """Invitations as the job sends them the morning after the event; the answers as the public form posts them."""
    sent_at = surveys.invite_from(event)
    invited = surveys.invite_event(event, sent_at)
    invitations = list(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.event_id == event.id).order_by(SurveyInvitation.id)))
    answered = 0
    for invitation, answer in zip(invitations, ANSWERS, strict=False):
        questions = list(invitation.questionnaire.questions)
        surveys.submit_response(invitation, _form(questions, answer), now=sent_at + timedelta(hours=answer[6]))
        answered += 1
    return invited, answered


def load_past_activity(event: Event, host: User | None, assessor: User | None, now: datetime, pdf: bytes) -> str:
    """Registrations, check-in, deals, mechanisms with their follow-up, survey answers for the past demo event; a summary."""
    now = as_utc(now)
    start = event.start_date
    with _commits_deferred():
        registrations = _register(
            event,
            local(start - timedelta(days=20), 9),
            PEOPLE,
            step=timedelta(hours=11),  # sign-ups trickle in over about nine days
            email_prefix=EMAIL_PREFIX,
            number_offset=NUMBER_OFFSET,
            cancelled_index=None,
        )
        checked_in = _checkin(event, registrations, host, count=CHECKED_IN, gate=GATE, at=local(start, 8, 30))
        counts = _deals(event, host, pdf)
        answers = _mechanisms(event, host, now)
        invited, answered = _survey(event)
        if assessor is not None:
            scores.save_comment(event, COMMENT, assessor)
        db.session.flush()
    return (
        f"报名 {len(registrations)} 人，签到 {len(checked_in)} 人；合作项目 {counts['recorded']} 项"
        f"（{counts['confirmed']} 项对方已确认、{counts['waiting']} 项待确认、{counts['disputed']} 项有异议）；"
        f"合作机制 {len(MECHANISMS)} 个（3 个月回访 {answers} 份答复）；满意度问卷 {invited} 份、已回答 {answered} 份；评估未定稿、结果未公布"
    )
