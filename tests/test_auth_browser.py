"""In Chromium, with CSRF on: an organiser invites a host user, the invitee sets a password on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, make_base, make_user


def test_organiser_invites_host_and_invitee_sets_password(live_server, page: Page, browser: Browser, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    with app.app_context():
        email = make_user(Role.ORGANISER).email
        make_base("中国华润有限公司", short_name="华润")
        db.session.commit()

    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("#mainnav").get_by_role("link", name="用户").click()
    expect(page.get_by_role("heading", name="用户")).to_be_visible()
    page.get_by_role("link", name="邀请用户").first.click()

    # The base is asked for host users only.
    expect(page.locator("#base-field")).to_be_hidden()
    page.select_option("#role", "host")
    expect(page.locator("#base-field")).to_be_visible()

    # Submitting without a base keeps the input and shows the error next to the field.
    page.fill("#email", "li.chengban@example.com")
    page.fill("#name", "李承办")
    page.get_by_role("button", name="创建账号并生成邀请链接").click()
    expect(page.locator("#base-field .invalid-feedback")).to_have_text("承办基地用户必须选择所属示范基地")
    expect(page.locator("#email")).to_have_value("li.chengban@example.com")
    page.select_option("#base_id", label="中国华润有限公司（企业示范基地）")
    page.get_by_role("button", name="创建账号并生成邀请链接").click()

    expect(page.get_by_role("heading", name="李承办")).to_be_visible()
    expect(page.locator("#issued-link")).to_contain_text("未配置邮件服务器")
    link = page.locator("#issued-url").input_value()
    assert re.fullmatch(rf"{re.escape(base_url)}/invite/[\w.\-]+", link)
    page.screenshot(path=str(screenshot_dir / f"auth-invited-{backend}.png"), full_page=True)

    # The invitee opens the link on a phone.
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        mobile = phone.new_page()
        mobile.goto(link)
        expect(mobile.get_by_role("heading", name="欢迎，李承办")).to_be_visible()
        expect(mobile.locator("#password-rules")).to_contain_text("至少 10 个字符")
        mobile.fill("#password", "short1")
        mobile.fill("#confirm", "short1")
        mobile.get_by_role("button", name="设置密码并登录").click()
        expect(mobile.locator(".invalid-feedback").first).to_contain_text("密码至少需要 10 个字符")
        mobile.fill("#password", "Huarun-2026-zhuti")
        mobile.fill("#confirm", "Huarun-2026-zhuti")
        mobile.screenshot(path=str(screenshot_dir / f"auth-set-password-mobile-{backend}.png"), full_page=True)
        mobile.get_by_role("button", name="设置密码并登录").click()
        expect(mobile.locator(".alert-success")).to_contain_text("密码已设置")
        # The link is now used.
        mobile.goto(link)
        expect(mobile.locator("#link-problem")).to_have_text("该链接已使用过，或账号邮箱已变更，链接已失效。请直接登录，或使用“忘记密码”重新获取")
    finally:
        phone.close()

    # Back on the organiser's screen the user is listed as active.
    page.goto(f"{base_url}/users?q=李承办")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text("启用中")
