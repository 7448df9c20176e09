"""Views of the base registry: list, view, add, edit, import (preview → confirm), export.

Thin on purpose: each view parses the request, calls :mod:`eventhub.bases.services` and
renders. Anyone with ``bases.view`` reads the list and base pages; only ``bases.manage``
(organisers) changes, imports or exports.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from eventhub.bases import bp, services
from eventhub.bases.forms import PROVINCES, BaseForm, ConfirmImportForm, ImportForm
from eventhub.bases.models import BASE_TYPE_LABELS, BaseType, DemonstrationBase, Direction
from eventhub.core.permissions import can_view_base_private, has_permission, require
from eventhub.core.timeutil import SHANGHAI
from eventhub.extensions import db

ERRORS_PER_PAGE = 100
SAMPLE_ROWS = 20


def _can_view_private(base: DemonstrationBase) -> bool:
    return can_view_base_private(current_user, base)


@bp.get("/")
@require("bases.view")
def list_bases() -> str:
    """The registry: search, filters (kept in the query string), pagination."""
    filters = services.BaseFilters.from_args(request.args)
    page = services.list_bases(filters, page=request.args.get("page", 1, type=int), per_page=current_app.config.get("PAGE_SIZE", 20))
    return render_template(
        "bases/list.html",
        page=page,
        filters=filters,
        total=services.count_bases(),
        provinces=services.province_choices(),
        batches=services.batch_choices(),
        directions=list(Direction),
        base_types=[(t.value, BASE_TYPE_LABELS[t]) for t in BaseType],
        can_view_private=_can_view_private,
        can_manage=has_permission(current_user, "bases.manage"),
    )


@bp.get("/<int:base_id>")
@require("bases.view")
def view_base(base_id: int) -> str:
    base = db.get_or_404(DemonstrationBase, base_id)
    return render_template(
        "bases/view.html",
        base=base,
        show_private=_can_view_private(base),
        can_manage=has_permission(current_user, "bases.manage"),
        user_count=len(base.users),
    )


def _render_form(form: BaseForm, base: DemonstrationBase | None) -> str:
    return render_template("bases/form.html", form=form, base=base, provinces=PROVINCES)


@bp.route("/new", methods=["GET", "POST"])
@require("bases.manage")
def create_base() -> Any:
    form = BaseForm()
    if form.validate_on_submit():
        try:
            base = services.create_base(form.values())
        except services.BaseError as exc:
            _attach(form, exc)
        else:
            flash(_("已新增示范基地“%(name)s”", name=base.name), "success")
            return redirect(url_for("bases.view_base", base_id=base.id))
    return _render_form(form, None)


@bp.route("/<int:base_id>/edit", methods=["GET", "POST"])
@require("bases.manage")
def edit_base(base_id: int) -> Any:
    base = db.get_or_404(DemonstrationBase, base_id)
    form = BaseForm(obj=base, base_id=base.id)
    if form.validate_on_submit():
        try:
            services.update_base(base, form.values())
        except services.BaseError as exc:
            _attach(form, exc)
        else:
            flash(_("已保存“%(name)s”的修改", name=base.name), "success")
            return redirect(url_for("bases.view_base", base_id=base.id))
    return _render_form(form, base)


def _attach(form: BaseForm, error: services.BaseError) -> None:
    """Show a service-level error next to its field (or above the form)."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = [*target.errors, str(error)]
    else:
        flash(str(error), "error")


# ---- import -------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@require("bases.manage")
def import_bases() -> Any:
    """Upload a file; it is read and checked, then shown as a preview (nothing written yet)."""
    form = ImportForm()
    file_error = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            preview = services.parse_import(data, upload.filename or "", max_rows=current_app.config["IMPORT_MAX_ROWS"])
        except services.ImportFileError as exc:
            file_error = str(exc)
        else:
            token = services.save_pending(current_app.instance_path, preview, current_user.id)
            return redirect(url_for("bases.import_preview", token=token))
    return render_template(
        "bases/import.html",
        form=form,
        file_error=file_error,
        labels=services.FIELD_LABELS,
        fields=services.FIELDS,
        required=services.REQUIRED_FIELDS,
        max_rows=current_app.config["IMPORT_MAX_ROWS"],
    )


def _pending_or_404(token: str) -> services.ImportPreview:
    preview = services.load_pending(current_app.instance_path, token, current_user.id)
    if preview is None:
        abort(404)
    return preview


@bp.get("/import/<token>")
@require("bases.manage")
def import_preview(token: str) -> str:
    """Counts, every bad row with its reason (paged), a sample of good rows, and the confirm button."""
    preview = _pending_or_404(token)
    error_page = max(1, request.args.get("page", 1, type=int))
    pages = max(1, -(-len(preview.errors) // ERRORS_PER_PAGE))
    error_page = min(error_page, pages)
    start = (error_page - 1) * ERRORS_PER_PAGE
    confirm = ConfirmImportForm(token=token)
    return render_template(
        "bases/import_preview.html",
        preview=preview,
        token=token,
        errors=preview.errors[start : start + ERRORS_PER_PAGE],
        error_page=error_page,
        error_pages=pages,
        error_start=start,
        sample=preview.rows[:SAMPLE_ROWS],
        fields=services.FIELDS,
        labels=services.FIELD_LABELS,
        type_labels={t.value: BASE_TYPE_LABELS[t] for t in BaseType},
        confirm=confirm,
    )


@bp.get("/import/<token>/errors.csv")
@require("bases.manage")
def import_errors(token: str) -> Response:
    """Every error of a preview as CSV, to fix the file in Excel."""
    preview = _pending_or_404(token)
    return _download(services.errors_csv(preview), "导入错误.csv", "text/csv; charset=utf-8")


@bp.post("/import/confirm")
@require("bases.manage")
def confirm_import() -> Any:
    """确认导入: write every row in one transaction, only when the file had no error."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data
    preview = _pending_or_404(token)
    if preview.errors:
        flash(_("文件有错误，未导入任何数据。请按错误列表修改文件后重新上传。"), "error")
        return redirect(url_for("bases.import_preview", token=token))
    try:
        count = services.commit_import(preview)
    except services.ImportConflictError as exc:
        services.discard_pending(current_app.instance_path, token)
        flash(str(exc), "error")
        return redirect(url_for("bases.import_bases"))
    services.discard_pending(current_app.instance_path, token)
    flash(_("已导入 %(count)d 个示范基地。", count=count), "success")
    return redirect(url_for("bases.list_bases"))


@bp.get("/import/template.csv")
@require("bases.manage")
def import_template() -> Response:
    return _download(services.import_template_csv(), "示范基地导入模板.csv", "text/csv; charset=utf-8")


# ---- export -------------------------------------------------------------------------

_EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@bp.get("/export.<fmt>")
@require("bases.manage")
def export_bases(fmt: str) -> Response:
    """The bases matching the current filters, as XLSX or CSV (UTF-8 with BOM)."""
    if fmt not in _EXPORT_TYPES:
        abort(404)
    filters = services.BaseFilters.from_args(request.args)
    data = services.export_xlsx(filters) if fmt == "xlsx" else services.export_csv(filters)
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    return _download(data, f"示范基地-{stamp}.{fmt}", _EXPORT_TYPES[fmt])


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response
