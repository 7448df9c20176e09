"""Default rubrics that clients of the judging engine start from.

Each rubric is a list of ``(name, weight, guidance)`` tuples, the shape
:func:`eventhub.judging.services.get_or_create_round` takes as ``default_criteria``. The organiser
can edit the rubric of a round until scoring starts.
"""

from __future__ import annotations

# 统筹确定承办基地: the notice weighs these three aspects (DESIGN.md §1, step 2), equally.
PLAN_REVIEW_CRITERIA: list[tuple[str, float, str]] = [
    (
        "活动内容特色",
        1.0,
        "主题是否聚焦本基地优势产业和专业领域；五类主题内容（创新资源开放共享、创新项目协作攻关、"
        "创新成果联合转化、创新团队对接路演、创新主体深度对接）覆盖是否达到四类以上，且每类内容具体、"
        "可落地，而非泛泛而谈；是否有开放实验室、应用场景、技术需求清单（“揭榜挂帅”）等实质性安排。"
        "内容具体、特色鲜明得高分；内容空泛或与一般会议无异得低分。",
    ),
    (
        "示范带动作用",
        1.0,
        "参与的示范基地和中小企业、创业团队、高校院所、投资机构的数量与结构是否合理；所邀基地与承办基地"
        "是否存在产业链、供应链上的耦合关系；活动能否带动大中小企业融通创新并形成可复制推广的经验。"
        "参与面广、产业链协同紧密、辐射带动明显得高分；参与方少或关联性弱得低分。",
    ),
    (
        "项目对接周期",
        1.0,
        "是否有活动前征集、活动中对接、活动后跟踪的完整安排；项目对接是否有明确的时间节点、责任主体和"
        "后续机制（如联盟、常态化供需对接会、专家团队）；合作项目能否在合理周期内落地并保持稳定。"
        "周期安排清晰、机制可持续得高分；只有一次性活动、缺乏后续跟踪得低分。",
    ),
]
