"""English UI: the catalogue is complete and the language switch really changes the pages.

The ``.mo`` file is git-ignored (``make translations`` builds it), so this module compiles the
catalogue itself when the compiled file is missing or older than the ``.po``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from eventhub.auth.models import User
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import user_and_login

TRANSLATIONS = Path(__file__).resolve().parent.parent / "eventhub" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _switch(client: FlaskClient, lang: str, next_url: str = "/login") -> None:
    response = client.post("/lang", data={"lang": lang, "next": next_url})
    assert response.status_code == 302


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, html[:500]
    return " ".join(match.group(1).split())


def _navbar(html: str) -> str:
    match = re.search(r'<nav class="navbar.*?</nav>', html, re.S)
    assert match, html[:500]
    return match.group(0)


def _en_catalog() -> Catalog:
    with EN_PO.open("rb") as po_file:
        return read_po(po_file, locale="en")


# ---- pages ----------------------------------------------------------------------


def test_login_page_in_english(client: FlaskClient) -> None:
    _switch(client, "en")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html
    assert _title(html).startswith("Log in · ")
    assert re.search(r"<h1[^>]*>Log in</h1>", html)
    assert "Remember me" in html
    assert "登录" not in html


def test_organiser_dashboard_in_english(app: Flask, client: FlaskClient) -> None:
    _switch(client, "en", "/")
    uid = user_and_login(app, client, Role.ORGANISER)
    with app.app_context():
        name = db.session.get(User, uid).name

    html = client.get("/").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Organiser dashboard</h1>", html)
    assert _title(html) == "Dashboard · Integrated Innovation Theme Day"
    assert "There are no campaigns yet." in html

    nav = _navbar(html)
    for label in ("Home", "Campaigns", "Demonstration bases", "Users", "Audit log", "Log out", "Organiser", "Integrated Innovation Theme Day"):
        assert label in nav, label
    leftover = CJK.findall(nav.replace(name, ""))  # the user's own name is data, not UI text
    assert not leftover, nav


def test_switching_back_to_chinese(client: FlaskClient) -> None:
    _switch(client, "en")
    assert "Log in" in client.get("/login").get_data(as_text=True)

    _switch(client, "zh_Hans_CN")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert re.search(r"<h1[^>]*>登录</h1>", html)
    assert "Log in" not in html


# ---- the catalogue --------------------------------------------------------------


def _formatted(message) -> bool:  # noqa: ANN001
    """Is the text %-formatted when shown? Templates always format (Jinja's new-style gettext);
    Python code only when it passes variables, which Babel marks as python-format. A plain
    "回收率（%）" column title in Python code is shown as it is, so its "%" is not stray."""
    return message.python_format or any(path.endswith((".html", ".txt")) for path, _line in message.locations)


def test_every_message_has_an_english_translation_with_the_same_placeholders() -> None:
    catalog = _en_catalog()
    problems = []
    count = 0
    for message in catalog:
        if not message.id:  # the header
            continue
        count += 1
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        expected = Counter(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if Counter(PLACEHOLDER.findall(string)) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
            elif _formatted(message) and "%" in PLACEHOLDER.sub("", string).replace("%%", ""):
                problems.append(f"stray %: {string!r}")
    assert count > 0
    assert not problems, "\n".join(problems)
    assert not list(catalog.check())


def test_label_filter_uses_the_colon_of_the_language(app):
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/"):
        assert render_template_string("{{ _('意见')|label }}x") == "意见：x"
        with force_locale("en"):
            assert render_template_string("{{ _('意见')|label }}x") == "Comments: x"
