"""Demo preliminary plans (issue 3): four enterprise bases submit realistic plans for the demo
campaign; the plan-review round is opened, the demo reviewer assigned and scoring started.

The texts are fictitious but plausible: themes in each group's industry, four or five content
types with a sentence each, participating bases from the packaged registry with the reason each
fits the chain, proposed windows in the campaign's year, and a body of about 800 字 composed from
the sentences below (always inside the campaign's 字数 limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from eventhub.core.wordcount import count_zishu

BODY_TARGET = 800  # about 800 字, as the notice asks


@dataclass(frozen=True)
class DemoPlan:
    base_name: str
    theme: str
    field: str
    content_types: dict[str, str]
    participants: tuple[tuple[str, str], ...]  # (registry base name, reason it fits the chain)
    windows: tuple[tuple[tuple[int, int], tuple[int, int], int], ...]  # ((month, day) earliest, latest, days)
    event_format: str
    prevention_measures: str
    contact: tuple[str, str, str]
    opening: tuple[str, ...]
    closing: tuple[str, ...] = ()


# Shared organisation and follow-up sentences; ``{s}`` is the host's short name, ``{f}`` the field.
COMMON = (
    "活动由{s}牵头主办，集团科技创新部门具体组织，下属重点企业、研究院和产业基金共同参与，成立由分管领导任组长的筹备工作组。",
    "筹备阶段将面向产业链上下游中小企业征集技术需求和合作意向，经专家梳理后形成需求清单和项目对接清单，提前在线发布。",
    "活动当天设开幕致辞、需求发布、成果展示、项目路演、签约仪式和分组对接六个环节，预计线下参加人数约三百人，线上同步直播。",
    "我们将邀请{f}领域的院士专家、行业协会和投资机构代表担任对接导师，对路演项目逐一点评，帮助中小企业完善合作方案。",
    "对达成合作意向的项目，集团将在首台套应用、验证场景、采购订单和供应链金融等方面给予支持，推动意向尽快转化为合同。",
    "活动结束后建立对接项目跟踪台账，明确责任人和时间节点，三个月、六个月分别回访，及时协调解决合作中遇到的困难。",
    "我们将总结活动经验，形成可复制、可推广的大中小企业融通创新模式，并在集团内部和参与基地之间持续推广。",
    "宣传方面，活动将通过集团官网、微信公众号和主流媒体进行报道，扩大示范基地融通创新工作的社会影响。",
    "经费由集团统筹安排，场地、展示和直播等保障工作由主办单位负责，参与企业无需承担费用。",
)


PLANS: tuple[DemoPlan, ...] = (
    DemoPlan(
        base_name="中国华润有限公司",
        theme="大健康产业链融通创新：从原料药到智慧医疗",
        field="生物医药与大健康",
        content_types={
            "resources": "开放华润医药研究院的药物分析平台、中试车间和临床研究资源，向中小企业提供检测、工艺放大和注册申报服务。",
            "joint_rd": "围绕高端制剂、创新中药和医疗器械关键零部件发布攻关榜单，由集团出题、中小企业和高校联合答题。",
            "commercialisation": "依托华润医药商业的流通网络和医疗机构资源，推动合作成果进入医院和零售终端，加快产品上市。",
            "roadshow": "组织十个左右生物医药初创团队现场路演，邀请华润健康产业基金和社会资本现场对接。",
            "matchmaking": "设立原料药、制剂、医疗器械和数字医疗四个对接专区，安排一对一洽谈，力争签约项目不少于十项。",
        },
        participants=(
            ("湖北省宜昌高新技术产业开发区", "宜昌高新区集聚原料药和生物医药企业，是华润医药原料供应链的重要上游。"),
            ("厦门大学", "厦门大学在疫苗、分子诊断和药学研究方面具有优势，可与集团开展联合攻关和成果转化。"),
        ),
        windows=(((9, 1), (10, 31), 2),),
        event_format="hybrid",
        prevention_measures="线下会场分区设置、控制人数，配备医疗保障人员；遇突发情况改为线上直播方式举办，对接洽谈改为视频会议。",
        contact=("华润联络员（演示）", "13800138001", "contact-crc@demo.example.com"),
        opening=(
            "华润集团是国家第三批双创示范基地，医药和大健康是集团重点发展的战略性业务，拥有从原料药、制剂研发生产到医药流通和医疗服务的完整链条。",
            "本次主题日以“大健康产业链融通创新”为主题，聚焦医药产业链供应链中的堵点和难点，推动龙头企业与中小企业在研发、制造和市场环节深度协作。",
        ),
        closing=("我们希望通过主题日，带动一批专精特新中小企业进入华润医药供应链，形成大健康领域融通创新的示范样板。",),
    ),
    DemoPlan(
        base_name="中国石油天然气集团有限公司",
        theme="油气与新能源融合发展产业链融通创新",
        field="油气勘探开发与新能源",
        content_types={
            "resources": "开放勘探开发研究院的岩心库、重点实验室和油田现场试验基地，向中小企业提供工程试验和中试验证条件。",
            "joint_rd": "围绕CCUS、油田伴生地热、氢能储运和智能化钻井装备发布技术攻关需求，组建产学研联合攻关团队。",
            "commercialisation": "在大庆、长庆等油田设立新技术推广应用示范区，推动中小企业的新产品、新工艺在现场规模化应用。",
            "roadshow": "组织新能源和油气装备领域创新团队路演，邀请昆仑资本和产业投资机构参与评议和投资对接。",
        },
        participants=(
            ("黑龙江省大庆高新技术产业开发区", "大庆高新区聚集了大量石油装备和油田化学配套企业，是集团油气产业链的重要协作方。"),
            ("天津市天津港保税区", "天津港保税区发展海洋油气装备和LNG相关产业，与集团海上油气和天然气业务紧密衔接。"),
        ),
        windows=(((8, 20), (9, 30), 1),),
        event_format="onsite",
        prevention_measures="会场严格执行安全生产和消防要求，油田现场参观实行分批次、全程陪同和安全交底；遇恶劣天气取消现场参观，改为视频展示。",
        contact=("中国石油联络员（演示）", "13800138002", "contact-cnpc@demo.example.com"),
        opening=(
            "中国石油是国家第三批双创示范基地，正加快推进油气与新能源融合发展，在绿色低碳转型中需要大量中小企业的技术和产品配套。",
            "本次主题日以“油气与新能源融合发展”为主题，围绕增储上产、节能降碳和新能源业务布局，搭建龙头企业与中小企业协同创新的平台。",
        ),
        closing=("通过本次活动，我们力争形成一批油气与新能源融合发展的合作项目，带动上下游中小企业共同提升创新能力。",),
    ),
    DemoPlan(
        base_name="中国一重集团有限公司",
        theme="高端重型装备产业链协同创新与国产化配套",
        field="重型装备制造",
        content_types={
            "resources": "开放大型铸锻件研发平台和理化检测中心，向配套企业提供材料检测、无损探伤和工艺验证服务。",
            "joint_rd": "针对核电、石化加氢反应器和冶金装备中的关键零部件，组织配套企业开展国产化联合攻关。",
            "commercialisation": "对通过验证的国产化零部件，优先纳入集团合格供应商名录，在重点工程项目中开展首台套应用。",
            "matchmaking": "按照铸锻、焊接、数控加工和智能检测四个方向组织供需对接，推动建立长期稳定的配套关系。",
        },
        participants=(
            ("辽宁省大连经济技术开发区", "集团在大连设有重型装备制造基地，大连经开区的装备配套企业是产业链上的重要协作方。"),
            ("陕西省宝鸡高新技术产业开发区", "宝鸡高新区是钛及钛合金材料重要产地，可为集团高端装备提供关键材料配套。"),
        ),
        windows=(((10, 11), (11, 20), 2),),
        event_format="hybrid",
        prevention_measures="车间参观实行分组限流并进行安全培训，配发安全防护用品；若现场条件不具备，改为线上直播参观和视频对接。",
        contact=("中国一重联络员（演示）", "13800138003", "contact-cfhi@demo.example.com"),
        opening=(
            "中国一重是国家第三批双创示范基地，长期承担国家重大技术装备研制任务，在大型铸锻件和重型装备领域具有突出优势。",
            "本次主题日以“高端重型装备产业链协同创新”为主题，着力解决关键零部件配套能力不足的问题，带动配套中小企业提升技术水平。",
        ),
        closing=("我们希望以主题日为契机，培育一批重型装备领域的专精特新配套企业，提升产业链供应链的自主可控能力。",),
    ),
    DemoPlan(
        base_name="重庆市涪陵榨菜集团股份有限公司",
        theme="榨菜产业链数字化与绿色加工融通创新",
        field="农产品精深加工",
        content_types={
            "resources": "开放榨菜产业研究院和食品检测中心，向中小加工企业和合作社提供品质检测、菌种和工艺技术服务。",
            "joint_rd": "围绕低盐腌制、高盐废水资源化利用和青菜头机械化采收开展联合攻关，组建企业、高校和农户共同参与的创新团队。",
            "commercialisation": "推动低盐工艺、数字化溯源等合作成果在集团生产线和原料基地落地，带动菜农增收。",
            "roadshow": "组织食品科技和农业数字化领域的初创团队路演，遴选适合在榨菜产业链中应用的项目。",
        },
        participants=(
            ("重庆大学", "重庆大学在食品工程、环境工程和智能装备方面具有科研优势，可参与低盐工艺和废水处理攻关。"),
            ("重庆市重庆经济技术开发区", "重庆经开区聚集了食品包装和智能装备企业，可为集团提供包装材料和自动化设备配套。"),
        ),
        windows=(((11, 1), (11, 30), 1),),
        event_format="onsite",
        prevention_measures="活动安排在集团生产基地和会议中心，食品车间参观严格执行卫生管理规定；遇强降雨等情况调整参观路线或改为视频展示。",
        contact=("涪陵榨菜联络员（演示）", "13800138004", "contact-flzc@demo.example.com"),
        opening=(
            "涪陵榨菜集团是国家第三批双创示范基地，是我国酱腌菜行业的龙头企业，带动了大量原料种植户、合作社和配套加工企业。",
            "本次主题日以“榨菜产业链数字化与绿色加工”为主题，推动龙头企业与中小企业、农户在种植、加工、包装和销售各环节融通创新。",
        ),
        closing=("通过本次活动，我们希望探索传统食品产业与数字技术、绿色技术融合发展的新路径，助力乡村振兴。",),
    ),
)


def compose_body(spec: DemoPlan, short_name: str, low: int, high: int, target: int = BODY_TARGET) -> str:
    """About ``target`` 字 of plan text, always within ``[low, high]``: the opening, the content-type
    sentences, the participating bases, as many shared organisation sentences as fit, the closing."""
    head = ["".join(spec.opening), "本次活动主要包括以下内容：" + "".join(spec.content_types.values())]
    head.append("参与基地方面，" + "".join(reason for _, reason in spec.participants))
    common = [s.format(s=short_name, f=spec.field) for s in COMMON]

    def text(organisation: list[str]) -> str:
        return "\n\n".join([*head, "".join(organisation), *spec.closing] if organisation else [*head, *spec.closing])

    organisation: list[str] = []
    ceiling = min(high, target + 60)
    for sentence in common:
        if count_zishu(text([*organisation, sentence])) > ceiling:
            break
        organisation.append(sentence)
    while count_zishu(text(organisation)) < low and len(organisation) < 10 * len(common):  # unusually high minimum
        organisation.append(common[len(organisation) % len(common)])
    return text(organisation)


def plan_data(spec: DemoPlan, year: int, base_ids: dict[str, int], short_name: str, low: int, high: int) -> dict[str, Any]:
    """The form data ``plans.services.save_draft`` takes."""
    return {
        "theme": spec.theme,
        "field": spec.field,
        "content_types": dict(spec.content_types),
        "participants": [{"base_id": base_ids[name], "reason": reason} for name, reason in spec.participants if name in base_ids],
        "windows": [
            {"earliest_start": date(year, *a).isoformat(), "latest_start": date(year, *b).isoformat(), "duration_days": str(days)}
            for a, b, days in spec.windows
        ],
        "event_format": spec.event_format,
        "prevention_measures": spec.prevention_measures,
        "body": compose_body(spec, short_name, low, high),
        "contact_name": spec.contact[0],
        "contact_phone": spec.contact[1],
        "contact_email": spec.contact[2],
    }
