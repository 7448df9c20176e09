"""Selection views (organisers): ranking and decisions, date allocation, calendar days, publish."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.campaigns import services as campaigns
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import require
from eventhub.extensions import db
from eventhub.plans.models import PreliminaryPlan
from eventhub.selection import bp, services
from eventhub.selection.allocation import AllocationResult
from eventhub.selection.models import DAY_KIND_LABELS, CalendarDay, SelectionDecision


def _campaign(campaign_id: int | None = None) -> Campaign:
    campaign_id = campaign_id or request.args.get("campaign_id", type=int)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else campaigns.current_campaign(include_drafts=True)
    if campaign is None:
        abort(404)
    return campaign


def _parse_date(value: str | None) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@bp.get("/")
@require("selection.manage")
def overview() -> Any:
    campaign_id = request.args.get("campaign_id", type=int)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else campaigns.current_campaign(include_drafts=True)
    if campaign is None:
        return render_template("selection/no_campaign.html")
    ranking = services.ranking(campaign)
    selected = [r for r in ranking.rows if r.decision and r.decision.selected]
    return render_template(
        "selection/overview.html",
        campaign=campaign,
        campaigns=campaigns.list_campaigns(include_drafts=True),
        ranking=ranking,
        selected_count=len(selected),
        undecided=sum(1 for r in ranking.rows if r.decision is None),
        count_warning=services.count_warning(campaign),
        errors={},
    )


@bp.post("/<int:campaign_id>/plans/<int:plan_id>/decide")
@require("selection.manage")
def decide(campaign_id: int, plan_id: int) -> Any:
    campaign = _campaign(campaign_id)
    plan = db.session.get(PreliminaryPlan, plan_id)
    if plan is None or plan.campaign_id != campaign.id:
        abort(404)
    choice = request.form.get("decision")
    if choice not in {"select", "reject"}:
        flash(_("请选择“入选”或“不入选”。"), "error")
        return redirect(url_for(".overview", campaign_id=campaign.id, _anchor=f"plan-{plan.id}"))
    try:
        services.decide(campaign, plan, choice == "select", request.form.get("rationale", ""), current_user)
        db.session.commit()
    except services.SelectionError as exc:
        db.session.rollback()
        ranking = services.ranking(campaign)
        return (
            render_template(
                "selection/overview.html",
                campaign=campaign,
                campaigns=campaigns.list_campaigns(include_drafts=True),
                ranking=ranking,
                selected_count=sum(1 for r in ranking.rows if r.decision and r.decision.selected),
                undecided=sum(1 for r in ranking.rows if r.decision is None),
                count_warning=services.count_warning(campaign),
                errors={plan.id: str(exc)},
                typed={plan.id: (choice, request.form.get("rationale", ""))},
            ),
            422,
        )
    name = plan.base.display_short_name if plan.base else ""
    flash(_("已记录：%(name)s %(what)s。", name=name, what=_("入选") if choice == "select" else _("不入选")), "success")
    warning = services.count_warning(campaign)
    if warning:
        flash(warning, "warning")
    return redirect(url_for(".overview", campaign_id=campaign.id, _anchor=f"plan-{plan.id}"))


# ---- dates ------------------------------------------------------------------------------------


def _render_dates(campaign: Campaign, result: AllocationResult | None = None, status: int = 200) -> Any:
    ctx = services.allocation_context(campaign)
    warnings: dict[int, list[str]] = {}
    for plan_id, message in services.check_placement(ctx):
        warnings.setdefault(plan_id, []).append(message)
    labels = {h.key: h.label for h in ctx.hosts}
    report = [services.describe(p, labels, ctx.gap, ctx.earliest) for p in result.problems] if result else []
    return (
        render_template(
            "selection/dates.html",
            campaign=campaign,
            ctx=ctx,
            warnings=warnings,
            result=result,
            report=report,
            labels=labels,
            day_kinds=DAY_KIND_LABELS,
            settings=services.get_settings(campaign),
            events=services.campaign_events(campaign),
        ),
        status,
    )


@bp.get("/<int:campaign_id>/dates")
@require("selection.manage")
def dates(campaign_id: int) -> Any:
    return _render_dates(_campaign(campaign_id))


@bp.post("/<int:campaign_id>/dates/suggest")
@require("selection.manage")
def suggest(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    try:
        _ctx, result = services.suggest(campaign, current_user)
    except services.SelectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".dates", campaign_id=campaign.id))
    db.session.commit()
    if result.feasible:
        flash(_("已按全部约束安排日期。"), "success")
    else:
        flash(_("无法同时满足全部约束：已采用能安排的最多承办基地的方案，原因见下。"), "warning")
    return _render_dates(campaign, result)


@bp.post("/<int:campaign_id>/dates/<int:plan_id>")
@require("selection.manage")
def set_date(campaign_id: int, plan_id: int) -> Any:
    campaign = _campaign(campaign_id)
    decision = db.session.query(SelectionDecision).filter_by(campaign_id=campaign.id, plan_id=plan_id).one_or_none()
    if decision is None:
        abort(404)
    raw_start = request.form.get("start_date", "")
    start = _parse_date(raw_start)
    if raw_start.strip() and start is None:
        flash(_("日期格式应为 YYYY-MM-DD。"), "error")
        return redirect(url_for(".dates", campaign_id=campaign.id))
    duration = request.form.get("duration_days", type=int)
    try:
        services.set_date(decision, start, duration, current_user)
        db.session.commit()
    except services.SelectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".dates", campaign_id=campaign.id))
    flash(_("已保存 %(name)s 的日期。", name=services.host_label(decision)), "success")
    return redirect(url_for(".dates", campaign_id=campaign.id, _anchor=f"host-{plan_id}"))


@bp.post("/<int:campaign_id>/dates/check")
@require("selection.manage")
def check_dates(campaign_id: int) -> Any:
    """Live conflict warnings for dates being typed (JSON, from a small fetch in the page)."""
    campaign = _campaign(campaign_id)
    ctx = services.allocation_context(campaign)
    overrides: dict[int, tuple[date | None, int | None]] = {}
    for d in ctx.selected:
        if f"start_{d.plan_id}" in request.form:
            overrides[d.plan_id] = (_parse_date(request.form.get(f"start_{d.plan_id}")), request.form.get(f"duration_{d.plan_id}", type=int) or 1)
    warnings: dict[str, list[str]] = {str(d.plan_id): [] for d in ctx.selected}
    for plan_id, message in services.check_placement(ctx, overrides):
        warnings.setdefault(str(plan_id), []).append(message)
    return jsonify(ok=not any(warnings.values()), warnings=warnings)


@bp.post("/<int:campaign_id>/gap")
@require("selection.manage")
def set_gap(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    gap = request.form.get("gap_days", type=int)
    try:
        if gap is None:
            raise services.SelectionError(_("请填写间隔天数。"), "gap_days")
        services.set_gap_days(campaign, gap, current_user)
        db.session.commit()
        flash(_("最小间隔已设为 %(n)d 天。", n=gap), "success")
    except services.SelectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".dates", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/calendar-days")
@require("selection.manage")
def add_calendar_day(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    first = _parse_date(request.form.get("day"))
    last = _parse_date(request.form.get("until")) or first
    if first is None or last is None or last < first or (last - first).days > 60:
        flash(_("请填写有效的日期（YYYY-MM-DD；一次最多 60 天）。"), "error")
        return redirect(url_for(".dates", campaign_id=campaign.id, _anchor="calendar"))
    try:
        day = first
        while day <= last:
            services.add_calendar_day(day, request.form.get("kind", ""), request.form.get("name", ""), current_user)
            day += timedelta(days=1)
        db.session.commit()
        flash(_("已保存日期。"), "success")
    except services.SelectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".dates", campaign_id=campaign.id, _anchor="calendar"))


@bp.post("/<int:campaign_id>/calendar-days/<int:day_id>/delete")
@require("selection.manage")
def remove_calendar_day(campaign_id: int, day_id: int) -> Any:
    campaign = _campaign(campaign_id)
    entry = db.session.get(CalendarDay, day_id)
    if entry is None:
        abort(404)
    services.remove_calendar_day(entry, current_user)
    db.session.commit()
    flash(_("已删除日期。"), "success")
    return redirect(url_for(".dates", campaign_id=campaign.id, _anchor="calendar"))


# ---- publish ----------------------------------------------------------------------------------


@bp.route("/<int:campaign_id>/publish", methods=["GET", "POST"])
@require("selection.manage")
def publish(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            flash(_("请勾选确认后再发布。"), "error")
            return redirect(url_for(".publish", campaign_id=campaign.id))
        try:
            result = services.publish(campaign, current_user)
            db.session.commit()
        except services.SelectionError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".publish", campaign_id=campaign.id))
        flash(
            _(
                "已发布：新建 %(c)d 个、更新 %(u)d 个、撤销 %(w)d 个主题日，未变 %(n)d 个；%(m)d 封通知已加入发件箱。",
                c=len(result.created),
                u=len(result.updated),
                w=len(result.withdrawn),
                n=len(result.unchanged),
                m=len(result.mails),
            ),
            "success",
        )
        for warning in result.warnings:
            flash(warning, "warning")
        return redirect(url_for("events.calendar", year=campaign.year))
    ctx = services.allocation_context(campaign)
    rejected = [d for d in services.decisions(campaign).values() if not d.selected]
    return render_template(
        "selection/publish.html",
        campaign=campaign,
        ctx=ctx,
        warnings=[m for _k, m in services.check_placement(ctx)],
        count_warning=services.count_warning(campaign),
        rejected=rejected,
        events=services.campaign_events(campaign),
        settings=services.get_settings(campaign),
        rows=[
            (
                d,
                d.start_date + timedelta(days=max(d.duration_days or 1, 1) - 1) if d.start_date else None,
                services.detail_plan_due(d.start_date, campaign.detail_lead_months) if d.start_date else None,
            )
            for d in ctx.selected
        ],
    )
