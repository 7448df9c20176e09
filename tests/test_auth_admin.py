"""The organiser's user list: search, filters, pagination, empty state; the user page."""

from __future__ import annotations

import re

from eventhub.auth.services import create_user
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import make_base, user_and_login


def _people(app) -> None:  # noqa: ANN001
    with app.app_context():
        base = make_base("中国石油双创示范基地", short_name="中国石油")
        create_user(email="li.na@example.com", name="李娜", role=Role.HOST, base=base, password="Li-na-pass-2026")
        create_user(email="zhao@example.com", name="赵评审", role=Role.REVIEWER, password="Zhao-pass-2026")
        gone = create_user(email="old@example.com", name="王离职", role=Role.CHECKIN, password="Old-pass-20266")
        gone.active = False
        create_user(email="new_one@example.com", name="陈新人", role=Role.ASSESSOR)  # invited, no password yet
        db.session.commit()


def _names(page: str) -> set[str]:
    return set(re.findall(r'<a href="/users/\d+">([^<]+)</a>', page))


def test_list_shows_users_with_role_base_and_state(app, client):
    user_and_login(app, client)
    _people(app)
    page = client.get("/users").get_data(as_text=True)
    assert {"李娜", "赵评审", "王离职", "陈新人"} <= _names(page)
    assert "中国石油" in page and "企业示范基地" in page
    assert "已停用" in page and "待设置密码" in page and "启用中" in page
    assert "承办基地" in page and "评审专家" in page


def test_search_by_name_and_email(app, client):
    user_and_login(app, client)
    _people(app)
    assert _names(client.get("/users?q=李").get_data(as_text=True)) == {"李娜"}
    assert _names(client.get("/users?q=ZHAO@").get_data(as_text=True)) == {"赵评审"}
    # LIKE wildcards are searched literally
    assert _names(client.get("/users?q=new_").get_data(as_text=True)) == {"陈新人"}
    assert _names(client.get("/users?q=%25").get_data(as_text=True)) == set()


def test_filter_by_role_and_state(app, client):
    user_and_login(app, client)
    _people(app)
    assert _names(client.get("/users?role=host").get_data(as_text=True)) == {"李娜"}
    assert _names(client.get("/users?state=inactive").get_data(as_text=True)) == {"王离职"}
    assert _names(client.get("/users?state=pending").get_data(as_text=True)) == {"陈新人"}
    active = _names(client.get("/users?state=active").get_data(as_text=True))
    assert "王离职" not in active and {"李娜", "陈新人"} <= active
    assert _names(client.get("/users?role=reviewer&state=inactive").get_data(as_text=True)) == set()
    # the chosen filters stay selected
    page = client.get("/users?role=host&state=pending&q=abc").get_data(as_text=True)
    assert re.search(r'<option (selected )?value="host"( selected)?>', page).group(0).count("selected") == 1
    assert 'value="abc"' in page


def test_unknown_filter_values_are_ignored(app, client):
    user_and_login(app, client)
    _people(app)
    assert len(_names(client.get("/users?role=admin&state=weird&page=abc").get_data(as_text=True))) == 5


def test_empty_state(app, client):
    user_and_login(app, client)
    page = client.get("/users?q=nobody-here").get_data(as_text=True)
    assert 'id="users-empty"' in page and "没有符合条件的用户" in page and "清除筛选条件" in page


def test_pagination(make_app):
    app = make_app(PAGE_SIZE=2)
    client = app.test_client()
    user_and_login(app, client)
    _people(app)  # five users in all
    first = client.get("/users").get_data(as_text=True)
    assert len(_names(first)) == 2
    assert "共 5 个用户" in first
    assert 'href="/users?page=2"' in first and "下一页" in first
    seen = set()
    for number in (1, 2, 3):
        seen |= _names(client.get(f"/users?page={number}").get_data(as_text=True))
    assert len(seen) == 5
    # filters are kept by the pager links
    page = client.get("/users?state=active").get_data(as_text=True)
    assert "state=active" in re.search(r'href="(/users\?[^"]*page=2[^"]*)"', page).group(1)
    # a page past the end is empty, not an error
    assert client.get("/users?page=99").status_code == 200


def test_user_page_shows_history_and_actions(app, client):
    user_and_login(app, client)
    _people(app)
    with app.app_context():
        from eventhub.auth.services import find_by_email

        uid = find_by_email("li.na@example.com").id
    page = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "李娜" in page and "中国石油双创示范基地" in page and "企业示范基地" in page
    assert "创建账号" in page  # audit history
    assert f"/users/{uid}/reset-password" in page and f"/users/{uid}/deactivate" in page
    assert "resend-invitation" not in page
    assert client.get("/users/999999").status_code == 404


def test_deactivate_confirmation_page_and_cancel(app, client):
    user_and_login(app, client)
    _people(app)
    with app.app_context():
        from eventhub.auth.services import find_by_email

        uid = find_by_email("zhao@example.com").id
    page = client.get(f"/users/{uid}/deactivate").get_data(as_text=True)
    assert "确认停用 赵评审 的账号" in page and "确认停用" in page and f'href="/users/{uid}"' in page
    # opening the confirmation page changes nothing
    with app.app_context():
        from eventhub.auth.models import User

        assert db.session.get(User, uid).active is True
    # deactivating twice just says so
    client.post(f"/users/{uid}/deactivate")
    page = client.get(f"/users/{uid}/deactivate", follow_redirects=True).get_data(as_text=True)
    assert "账号已是停用状态" in page
    assert "重新启用账号" in client.get(f"/users/{uid}").get_data(as_text=True)


def test_invite_form_renders(app, client):
    user_and_login(app, client)
    page = client.get("/users/invite?role=host").get_data(as_text=True)
    assert re.search(r'<option (selected )?value="host"( selected)?>', page).group(0).count("selected") == 1
    assert "所属示范基地" in page and "仅“承办基地”角色需要选择" in page


def test_forms_carry_csrf_and_refuse_posts_without_it(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        from tests.factories import PASSWORD, make_user

        organiser = make_user()
        other = make_user(Role.REVIEWER)
        db.session.commit()
        email, other_id = organiser.email, other.id
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    for path in ["/users/invite", f"/users/{other_id}/deactivate"]:
        assert 'name="csrf_token"' in client.get(path).get_data(as_text=True), path
    assert 'name="csrf_token"' in client.get(f"/users/{other_id}").get_data(as_text=True)
    assert client.post("/users/invite", data={"email": "x@example.com", "name": "x", "role": "reviewer"}).status_code == 400
    assert client.post(f"/users/{other_id}/deactivate").status_code == 400
    assert client.post(f"/users/{other_id}/reset-password").status_code == 400
    with app.app_context():
        from eventhub.auth.models import User

        assert db.session.get(User, other_id).active is True
