"""The scanner page (扫码签到): camera, hand-held scanner and manual search, online and offline.

Thin: the page is a shell; everything it does at the door goes through the JSON API
(:mod:`eventhub.api.views`) with the logged-in session and the page's CSRF token, so the
browser and a native scanner share one set of rules. The page's JavaScript
(``static/js/scanner.js``) keeps the event's keys, revocation list and roster in IndexedDB to
verify tickets itself when the network is gone, and a service worker (``static/js/scanner-sw.js``,
served by :func:`service_worker`) keeps a copy of the page and of the files it loads, so the page
also opens again while the network is gone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from eventhub.checkin import bp, services
from eventhub.checkin.models import CheckinStaff
from eventhub.core.permissions import Role, require
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events.content import publication
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db

PER_PAGE = 25

# Everything the scanner page loads, which its service worker keeps for offline use:
# (endpoint, filename, versioned). Versioned files are the page's own, linked from scanner.html as
# ``?v=<hash of the file>``, so a deploy changes their URLs; the others come from base.html
# (Bootstrap-Flask's ``load_css()`` / ``load_js()`` with BOOTSTRAP_SERVE_LOCAL) without one.
# tests/test_scanner_offline_browser.py checks that every script and stylesheet of the page is here.
SCANNER_ASSETS: tuple[tuple[str, str, bool], ...] = (
    ("static", "js/scanner.js", True),
    ("static", "css/scanner.css", True),
    ("static", "vendor/jsqr/jsQR.js", True),
    ("static", "vendor/noble-ed25519/ed25519.js", True),  # imported only where WebCrypto lacks Ed25519
    ("static", "css/eventhub.css", False),
    ("bootstrap.static", "css/bootstrap.min.css", False),
    ("bootstrap.static", "js/bootstrap.min.js", False),
    ("bootstrap.static", "umd/popper.min.js", False),
)
SERVICE_WORKER = ("static", "js/scanner-sw.js")
SERVICE_WORKER_SCOPE = "/checkin/events/"  # the scanner pages; the worker answers for nothing else


def _today() -> Any:
    return to_shanghai(utcnow()).date()


@bp.route("/checkin/")
@require("checkin.scan")
def index() -> Any:
    """The events the user may scan: assigned ones (check-in users), every scheduled one (organisers).

    Upcoming and running events by default (ended yesterday still counts: late syncs); ``?past=1``
    shows the finished ones.
    """
    past = request.args.get("past") == "1"
    cutoff = _today() - timedelta(days=1)
    query = select(Event)
    if Role(current_user.role) is not Role.ORGANISER:
        query = query.join(CheckinStaff, CheckinStaff.event_id == Event.id).where(CheckinStaff.user_id == current_user.id)
    else:
        query = query.where(Event.status == EventStatus.SCHEDULED.value)
    if past:
        query = query.where(Event.end_date < cutoff).order_by(Event.start_date.desc(), Event.id.desc())
    else:
        query = query.where(Event.end_date >= cutoff).order_by(Event.start_date, Event.id)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    assignments = {
        row.event_id: row
        for row in db.session.scalars(
            select(CheckinStaff).where(CheckinStaff.user_id == current_user.id, CheckinStaff.event_id.in_([e.id for e in page.items]))
        )
    }
    return render_template("checkin/index.html", pagination=page, events=page.items, assignments=assignments, past=past, today=_today())


def _static_file(endpoint: str, filename: str) -> Path:
    """The file behind a static URL of the app (``static``) or of a blueprint (``bootstrap.static``)."""
    folder = current_app.static_folder if endpoint == "static" else current_app.blueprints[endpoint.rsplit(".", 1)[0]].static_folder
    return Path(folder or "") / filename


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    """The file's content hash, cached per (path, mtime, size): a changed file is hashed again without a restart."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _file_digest(endpoint: str, filename: str) -> str:
    path = _static_file(endpoint, filename)
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def asset_url(endpoint: str, filename: str) -> str:
    """The URL of one of :data:`SCANNER_ASSETS` exactly as the page links it (with ``?v=`` when versioned)."""
    versioned = next(v for e, f, v in SCANNER_ASSETS if (e, f) == (endpoint, filename))
    if versioned:
        return url_for(endpoint, filename=filename, v=_file_digest(endpoint, filename))
    return url_for(endpoint, filename=filename)


@bp.route("/checkin/sw.js")
@require("checkin.scan")
def service_worker() -> Response:
    """The scanner page's service worker: ``static/js/scanner-sw.js`` after one line of settings.

    Served from /checkin/ (a worker's scope cannot reach above its own folder, and /static/ does not
    cover the scanner pages). The settings are the URLs to keep and a version made of the worker's
    own text and every kept file's hash, so any deploy that changes one of them changes the worker's
    bytes: the browser installs the new worker, which keeps the new files and drops the old cache.
    ``no-cache``: no HTTP cache or proxy holds a new worker back. Nothing private is in it (URLs and hashes).
    """
    source = _static_file(*SERVICE_WORKER).read_text(encoding="utf-8")
    digests = [_file_digest(*SERVICE_WORKER)] + [_file_digest(endpoint, filename) for endpoint, filename, _v in SCANNER_ASSETS]
    settings = {
        "version": hashlib.sha256(" ".join(digests).encode()).hexdigest()[:12],
        "assets": [asset_url(endpoint, filename) for endpoint, filename, _v in SCANNER_ASSETS],
    }
    body = f"const SETTINGS = {json.dumps(settings)};\n{source}"
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _event_for_scan(event_id: int) -> Event:
    """The event, 404 when it does not exist, 403 when the user may not scan it (events are public, so no secret is kept by a 404)."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    if not services.can_scan(current_user, event):
        abort(403)
    return event


@bp.route("/checkin/events/<int:event_id>/scan")
@require("checkin.scan")
def scan(event_id: int) -> Any:
    """The scanner page of one event: choose the check-in list and gate, then scan, type or search.

    The lists the page offers (whole event and each published session) are created here on first
    opening (once: :func:`services.session_list` locks), because the API takes a list id.
    """
    event = _event_for_scan(event_id)
    lists = [services.default_list(event)]
    pub = publication(event)
    sessions = list(pub.sessions) if pub is not None else []
    for session in sessions:
        try:
            lists.append(services.session_list(event, session.id))
        except services.CheckinError:  # a published session that no longer exists in the working copy
            continue
    db.session.commit()
    assignment = services.staff_assignment(current_user, event)
    default_list_id = assignment.list_id if assignment is not None and assignment.list_id else lists[0].id
    config = {
        "eventId": event.id,
        "userId": current_user.id,
        "api": f"/api/v1/events/{event.id}",
        "defaultListId": default_list_id,
        "defaultGate": assignment.gate if assignment is not None else "",
        "lists": [{"id": row.id, "name": _("全场签到") if row.session_id is None else row.name, "sessionId": row.session_id} for row in lists],
        "jsqr": "vendor/jsqr/jsQR.js",
        "ed25519": asset_url("static", "vendor/noble-ed25519/ed25519.js"),
        "serviceWorker": url_for("checkin.service_worker"),
        "serviceWorkerScope": SERVICE_WORKER_SCOPE,
        "text": _scanner_text(),
    }
    return render_template("checkin/scanner.html", event=event, lists=config["lists"], config=config, assignment=assignment, asset_url=asset_url)


def _scanner_text() -> dict[str, Any]:
    """Every message the page's JavaScript shows, translated here (the catalogue stays in one place)."""
    return {
        "ok": _("签到成功"),
        "already": _("已签到"),
        "refused": _("不能签到"),
        "offline": _("离线"),
        "online": _("在线"),
        "alreadyAt": _("首次签到：%(at)s"),
        "alreadyGate": _("入口：%(gate)s"),
        "alreadyStaff": _("签到人员：%(staff)s"),
        "alreadyLocal": _("本机已于 %(at)s 签到（%(gate)s）"),
        "noGate": _("未填写入口"),
        "unknownName": _("（离线名单中未找到此票，请核对身份）"),
        "tapToClose": _("轻触返回"),
        "pending": _("待同步：%(n)s"),
        "synced": _("已同步 %(n)s 条离线签到"),
        "syncFailed": _("同步失败，稍后自动重试"),
        "conflictEarlier": _("票 %(ticket)s：离线扫码更早，已改为本次签到（原签到 %(at)s，%(gate)s）"),
        "conflictKept": _("票 %(ticket)s：已有更早签到，离线扫码记为重复"),
        "syncRefused": _("票 %(ticket)s（%(name)s）：离线时通过，服务器拒绝：%(reason)s"),
        "dataUpdated": _("离线数据：%(tickets)s 张票，%(revoked)s 张作废，更新于 %(at)s"),
        "dataMissing": _("尚无离线数据：请在联网时打开本页"),
        "cameraStart": _("开启摄像头"),
        "cameraStop": _("关闭摄像头"),
        "cameraNone": _("未找到摄像头。可使用扫码枪或下方搜索签到。"),
        "cameraDenied": _("摄像头权限被拒绝。请在浏览器设置中允许使用摄像头，或使用扫码枪、搜索签到。"),
        "cameraInsecure": _("浏览器不允许在此页面使用摄像头（需要 HTTPS）。"),
        "cameraError": _("摄像头无法启动：%(error)s"),
        "cameraOn": _("请将二维码对准取景框"),
        "searchEmpty": _("未找到匹配的报名人（仅显示已确认的报名）。"),
        "searchHint": _("输入姓名、单位或手机号后几位"),
        "checkinButton": _("签到"),
        "noRoster": _("名单尚未载入"),
        "networkError": _("网络错误"),
        "offlineCopy": _("离线副本：网络不可用，本页是本机于 %(at)s 保存的副本。可照常扫码，记录保存在本机，联网后自动同步。"),
        "offlineCopyBack": _("网络已恢复：离线记录会自动同步。空闲时请刷新本页以载入最新版本。"),
        "reasons": {
            "malformed": _("无法识别的二维码"),
            "unsupported_version": _("不支持的电子票版本"),
            "unknown_key": _("未知的签名密钥（可能不是本活动的票）"),
            "invalid_signature": _("签名无效（伪造或损坏的电子票）"),
            "other_event": _("其他活动的电子票"),
            "revoked": _("电子票已作废"),
            "not_found": _("查无此票"),
            "cancelled": _("报名已取消"),
            "not_approved": _("报名未通过审核或尚待审核"),
            "wrong_session": _("未报名本场次"),
            "not_staff": _("您不是本活动的签到人员"),
            "csrf_failed": _("页面已过期，请刷新"),
            "invalid_list": _("签到清单无效，请刷新"),
            "invalid_request": _("请求无效"),
            "scan_id_conflict": _("扫码编号冲突"),
            "event_not_found": _("活动不存在"),
            "missing_token": _("登录已失效，请重新登录"),
            "error": _("服务器错误"),
        },
    }
