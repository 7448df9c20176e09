"""Preliminary plan views: the host's plan (edit, submit, withdraw, versions) and the organiser's list.

Thin: parse, call :mod:`eventhub.plans.services`, render. Object rights (host A never sees host
B's plan) are checked on every plan URL with ``can_read_plan`` / ``can_edit_plan``; a plan the
user may not read answers 404, as if it did not exist.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns import services as campaigns
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import has_permission, require
from eventhub.core.timeutil import SHANGHAI, local_to_utc, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db
from eventhub.plans import bp, calls, forms, review, services
from eventhub.plans.models import PreliminaryPlan

PER_PAGE = 25


# ---- helpers ---------------------------------------------------------------------


def _plan_or_404(plan_id: int) -> PreliminaryPlan:
    plan = db.session.get(PreliminaryPlan, plan_id)
    if plan is None or not services.can_read_plan(current_user, plan):
        abort(404)
    return plan


def _own_plan_or_404(plan_id: int) -> PreliminaryPlan:
    plan = _plan_or_404(plan_id)
    if not services.can_edit_plan(current_user, plan):
        abort(403)
    return plan


def _host_campaign() -> Campaign | None:
    """The campaign collecting plans; while one year's theme days run, the next year's may already collect."""
    return campaigns.collecting_campaign() or campaigns.current_campaign(include_drafts=False)


def _registry(exclude_base_id: int | None) -> list[DemonstrationBase]:
    query = select(DemonstrationBase).order_by(DemonstrationBase.name)
    return [b for b in db.session.scalars(query) if b.id != exclude_base_id]


def _base_names(extensions: list[Any]) -> dict[int, str]:
    ids = {e.base_id for e in extensions}
    if not ids:
        return {}
    return {b.id: b.display_short_name for b in db.session.scalars(select(DemonstrationBase).where(DemonstrationBase.id.in_(ids)))}


def _common(campaign: Campaign) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "content_types": list(services.content_type_labels().items()),
        "event_formats": services.event_format_labels(),
        "status_labels": services.status_labels(),
        "count_zishu": count_zishu,
    }


def _shown_snapshot(plan: PreliminaryPlan, want_draft: bool) -> tuple[dict[str, Any], Any]:
    """What a reader sees: the latest submitted version, or the working copy for its editors."""
    version = services.latest_version(plan)
    if want_draft and services.can_see_draft(current_user, plan) or version is None:
        if version is None and not services.can_see_draft(current_user, plan):
            abort(404)
        return services.snapshot(plan), None
    return version.snapshot, version


# ---- host pages ---------------------------------------------------------------------


@bp.get("/")
@require("plans.write")
def my_plan() -> str:
    """The current campaign's plan for the host's base, or why the base cannot host."""
    campaign = _host_campaign()
    base = current_user.base
    refusal = services.hosting_refusal(base)
    plan = services.get_plan(campaign, base) if campaign and not refusal else None
    now = utcnow()
    info = services.deadline_info(base.id, campaign, now) if campaign and base else None
    return render_template(
        "plans/my_plan.html",
        **(_common(campaign) if campaign else {"campaign": None}),
        base=base,
        refusal=refusal,
        plan=plan,
        info=info,
        remaining=campaigns.remaining_text(info["deadline"], now) if info else "",
        warnings=services.validation_errors(plan) if plan else {},
        changed=services.has_unsubmitted_changes(plan) if plan else False,
    )


def _render_edit(campaign: Campaign, plan: PreliminaryPlan | None, state: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> tuple[str, int]:
    base = current_user.base
    info = services.deadline_info(base.id, campaign)
    return (
        render_template(
            "plans/edit.html",
            **_common(campaign),
            plan=plan,
            state=state,
            errors=errors,
            info=info,
            registry=_registry(base.id),
            base=base,
        ),
        status,
    )


@bp.route("/edit", methods=["GET", "POST"])
@require("plans.write")
def edit_plan() -> Any:
    """The plan form. Save draft keeps everything; submit saves first, then validates."""
    campaign = _host_campaign()
    base = current_user.base
    refusal = services.hosting_refusal(base)
    if campaign is None or refusal:
        flash(refusal or _("目前没有开放的年度工作"), "error")
        return redirect(url_for("plans.my_plan"))
    plan = services.get_plan(campaign, base)
    if request.method == "GET":
        if plan is not None and not services.is_open(plan) or plan is None and not services.deadline_info(base.id, campaign)["open"]:
            flash(calls.closed_message(services.deadline_info(base.id, campaign)["deadline"]), "error")
            return redirect(url_for("plans.my_plan"))
        return _render_edit(campaign, plan, forms.state_from_plan(plan), {})

    state = forms.state_from_form(request.form)
    action = request.form.get("action", "save")
    if forms.apply_row_action(state, action):
        return _render_edit(campaign, plan, state, {})
    try:
        plan = services.get_or_create_plan(campaign, base)
        notes = services.save_draft(plan, forms.draft_data(state), current_user)
        db.session.commit()
    except services.PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_edit(campaign, plan, state, {}, 409)
    for note in notes:
        flash(note, "warning")
    if action == "submit":
        errors = services.validation_errors(plan)
        if errors:
            flash(_("草稿已保存，但计划尚不完整，不能提交：请按提示修改"), "error")
            return _render_edit(campaign, plan, state, errors, 422)
        return redirect(url_for("plans.submit_plan", plan_id=plan.id))
    flash(_("草稿已保存（%(time)s）", time=datetime.now(SHANGHAI).strftime("%H:%M:%S")), "success")
    return redirect(url_for("plans.edit_plan"))


@bp.route("/<int:plan_id>/submit", methods=["GET", "POST"])
@require("plans.write")
def submit_plan(plan_id: int) -> Any:
    """Confirmation page; POST submits (a new version)."""
    plan = _own_plan_or_404(plan_id)
    campaign = services.campaign_of(plan)
    if request.method == "POST":
        try:
            version = services.submit(plan, current_user)
            db.session.commit()
        except services.PlanValidationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("plans.edit_plan"))
        except services.PlanError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("plans.my_plan"))
        flash(_("已提交第 %(n)d 版", n=version.number), "success")
        return redirect(url_for("plans.my_plan"))
    return render_template(
        "plans/confirm.html",
        **_common(campaign),
        plan=plan,
        snap=services.snapshot(plan),
        mode="submit",
        errors=services.validation_errors(plan),
        info=services.deadline_info(plan, campaign),
    )


@bp.route("/<int:plan_id>/withdraw", methods=["GET", "POST"])
@require("plans.write")
def withdraw_plan(plan_id: int) -> Any:
    plan = _own_plan_or_404(plan_id)
    campaign = services.campaign_of(plan)
    if request.method == "POST":
        try:
            services.withdraw(plan, current_user)
            db.session.commit()
            flash(_("计划已撤回。截止时间前可修改后重新提交。"), "success")
        except services.PlanError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for("plans.my_plan"))
    return render_template(
        "plans/confirm.html",
        **_common(campaign),
        plan=plan,
        snap=services.snapshot(plan),
        mode="withdraw",
        errors={},
        info=services.deadline_info(plan, campaign),
    )


# ---- reading (hosts of the base, organisers, assigned reviewers) ----------------------------


@bp.get("/<int:plan_id>")
def view_plan(plan_id: int) -> str:
    plan = _plan_or_404(plan_id)
    campaign = services.campaign_of(plan)
    snap, version = _shown_snapshot(plan, request.args.get("draft") == "1")
    return render_template(
        "plans/view.html",
        **_common(campaign),
        plan=plan,
        snap=snap,
        version=version,
        can_see_draft=services.can_see_draft(current_user, plan),
        changed=services.has_unsubmitted_changes(plan),
        warnings=services.completeness_warnings(plan, campaign) if has_permission(current_user, "plans.manage") else [],
        extension=calls.get_extension(services.call_key(campaign), plan.base_id),
        info=services.deadline_info(plan, campaign),
    )


@bp.get("/<int:plan_id>/print")
def print_plan(plan_id: int) -> str:
    plan = _plan_or_404(plan_id)
    campaign = services.campaign_of(plan)
    snap, version = _shown_snapshot(plan, request.args.get("draft") == "1")
    return render_template("plans/print.html", **_common(campaign), plan=plan, snap=snap, version=version, now=utcnow())


@bp.get("/<int:plan_id>/versions")
def versions(plan_id: int) -> str:
    plan = _plan_or_404(plan_id)
    return render_template("plans/versions.html", **_common(services.campaign_of(plan)), plan=plan)


@bp.get("/<int:plan_id>/versions/<int:number>")
def view_version(plan_id: int, number: int) -> str:
    plan = _plan_or_404(plan_id)
    version = services.get_version(plan, number) or abort(404)
    campaign = services.campaign_of(plan)
    return render_template(
        "plans/view.html",
        **_common(campaign),
        plan=plan,
        snap=version.snapshot,
        version=version,
        can_see_draft=services.can_see_draft(current_user, plan),
        changed=False,
        warnings=[],
        extension=None,
        info=services.deadline_info(plan, campaign),
    )


@bp.get("/<int:plan_id>/diff")
def diff(plan_id: int) -> str:
    """Two versions side by side (or the latest version against the working copy: b=draft)."""
    plan = _plan_or_404(plan_id)
    if not plan.versions:
        abort(404)
    latest = plan.versions[-1].number
    a = request.args.get("a", type=int) or max(1, latest - 1)
    b_arg = request.args.get("b", "")
    old = services.get_version(plan, a) or abort(404)
    if b_arg == "draft" and services.can_see_draft(current_user, plan):
        new_snap, b_label = services.snapshot(plan), _("当前草稿")
    else:
        new = services.get_version(plan, int(b_arg) if b_arg.isdigit() else latest) or abort(404)
        new_snap, b_label = new.snapshot, _("第 %(n)d 版", n=new.number)
    return render_template(
        "plans/diff.html",
        **_common(services.campaign_of(plan)),
        plan=plan,
        fields=services.diff_versions(old.snapshot, new_snap),
        a=a,
        b=b_arg or str(latest),
        a_label=_("第 %(n)d 版", n=old.number),
        b_label=b_label,
        layout="unified" if request.args.get("layout") == "unified" else "side",
    )


# ---- organiser pages -------------------------------------------------------------------


class _ListPage:
    """Pagination over a Python list, shaped like Flask-SQLAlchemy's for the pager macro."""

    def __init__(self, items: list[Any], page: int, per_page: int) -> None:
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(max(1, page), self.pages)
        self.items = items[(self.page - 1) * per_page : self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1

    def iter_pages(self, left_edge: int = 1, right_edge: int = 1, left_current: int = 2, right_current: int = 2) -> Any:
        last = 0
        for number in range(1, self.pages + 1):
            if number <= left_edge or number > self.pages - right_edge or self.page - left_current <= number <= self.page + right_current:
                if last + 1 != number:
                    yield None
                yield number
                last = number


def _organiser_campaign() -> Campaign:
    campaign_id = request.args.get("campaign_id", type=int)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else campaigns.current_campaign(include_drafts=True)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/all")
@require("plans.manage")
def list_plans() -> str:
    campaign = _organiser_campaign()
    filters = services.PlanFilters.from_args(request.args)
    rows = services.list_plans(campaign, filters)
    page = _ListPage(rows, request.args.get("page", 1, type=int), PER_PAGE)
    key = services.call_key(campaign)
    return render_template(
        "plans/list.html",
        **_common(campaign),
        filters=filters,
        pagination=page,
        counts=services.status_counts(campaign),
        campaigns=campaigns.list_campaigns(include_drafts=True),
        bases=[r.plan.base for r in services.list_plans(campaign)],
        extensions=(extensions := calls.list_extensions(key)),
        base_names=_base_names(extensions),
        review_round=review.review_round(campaign),
        deadline_text=calls.deadline_text(campaign.plan_deadline),
    )


@bp.get("/export.xlsx")
@require("plans.manage")
def export_plans() -> Response:
    campaign = _organiser_campaign()
    data = services.export_xlsx(campaign)
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    response = send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"初步计划-{campaign.year}-{stamp}.xlsx",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/extensions", methods=["GET", "POST"])
@require("plans.manage")
def grant_extension() -> Any:
    """Give one base more time (until a Beijing date and time), with a reason (audited)."""
    campaign = _organiser_campaign()
    key = services.call_key(campaign)
    values = {"base_id": request.values.get("base_id", ""), "until": request.form.get("until", ""), "reason": request.form.get("reason", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        base = db.session.get(DemonstrationBase, int(values["base_id"])) if values["base_id"].isdigit() else None
        if base is None:
            errors["base_id"] = _("请选择基地")
        try:
            until = local_to_utc(datetime.fromisoformat(values["until"]))
        except ValueError:
            until = None
            errors["until"] = _("请填写有效的延期截止时间（北京时间）")
        if not errors and base is not None and until is not None:
            try:
                calls.grant_extension(key, base.id, until, values["reason"], current_user)
                db.session.commit()
            except calls.CallError as exc:
                db.session.rollback()
                errors[exc.field or "reason"] = str(exc)
            else:
                flash(_("已为 %(base)s 延期至 %(when)s（北京时间）", base=base.display_short_name, when=values["until"].replace("T", " ")), "success")
                return redirect(url_for("plans.list_plans", campaign_id=campaign.id))
    hosts = [b for b in db.session.scalars(select(DemonstrationBase).order_by(DemonstrationBase.name)) if b.can_host]
    return render_template(
        "plans/extension.html",
        campaign=campaign,
        values=values,
        errors=errors,
        bases=hosts,
        extensions=(extensions := calls.list_extensions(key)),
        base_names=_base_names(extensions),
        deadline_text=calls.deadline_text(campaign.plan_deadline),
    ), (422 if errors else 200)


@bp.post("/review")
@require("plans.manage")
def open_review() -> Any:
    """Create or refresh the plan-review round with the submitted plans."""
    campaign = _organiser_campaign()
    rnd = review.open_review(campaign, current_user)
    db.session.commit()
    flash(_("已将 %(n)d 份已提交的计划同步到评审“%(title)s”", n=len([i for i in rnd.items if i.active]), title=rnd.title), "success")
    if has_permission(current_user, "judging.manage"):
        return redirect(url_for("judging.view_round", round_id=rnd.id))
    return redirect(url_for("plans.list_plans", campaign_id=campaign.id))
