"""In Chromium: an organiser opens the base registry, filters it, and imports a file with one bad row."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from eventhub.bases.models import BaseType, DemonstrationBase, Direction
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, make_base, make_user

DATA = Path(__file__).parent / "data" / "bases"


def test_organiser_filters_registry_and_sees_import_error(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    with app.app_context():
        email = make_user(Role.ORGANISER).email
        make_base("中国华润有限公司", short_name="华润", province="中央企业")
        make_base("中国石油天然气集团有限公司", short_name="中国石油", province="中央企业")
        make_base("深圳市南山区", BaseType.REGION, short_name="南山区", direction=Direction.EMPLOYMENT.value, province="广东省")
        make_base("清华大学", BaseType.UNIVERSITY, short_name="清华", direction=Direction.LEAN.value, province="北京市")
        db.session.commit()

    # Log in through the real form (CSRF is on).
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", name="组织方工作台")).to_be_visible()

    # Open the registry from the navigation bar.
    page.locator("#mainnav").get_by_role("link", name="示范基地").click()
    expect(page.get_by_role("heading", name="示范基地")).to_be_visible()
    expect(page.locator("#bases-table tbody tr")).to_have_count(4)

    # Filter: enterprise type only.
    page.select_option("#base_type", "enterprise")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"base_type=enterprise"))
    rows = page.locator("#bases-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#bases-table")).to_contain_text("中国华润有限公司")
    expect(page.locator("#bases-table")).not_to_contain_text("清华大学")
    expect(page.locator("#result-count")).to_contain_text("符合条件 2 个")

    # Search within the filter.
    page.fill("#q", "华润")
    page.get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(1)

    # Import a file with one bad row: the error is shown with its row and reason.
    page.locator("#import-link").click()
    expect(page.get_by_role("heading", name="导入示范基地")).to_be_visible()
    page.set_input_files("input[name=file]", str(DATA / "one-bad-row.csv"))
    page.get_by_role("button", name="上传并检查").click()
    errors = page.locator("#import-errors")
    expect(errors).to_be_visible()
    expect(page.locator("#import-has-errors")).to_contain_text("有 1 行存在错误")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors).to_contain_text("第 4 行")
    expect(errors).to_contain_text("未知的类型“太空站”")
    expect(page.locator("#count-good")).to_have_text("2")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)

    path = screenshot_dir / f"bases-import-error-{backend}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.exists() and path.stat().st_size > 10_000

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DemonstrationBase)) == 4, "nothing was imported"


def test_organiser_imports_good_file_in_chromium(live_server, page: Page, screenshot_dir: Path, backend: str):
    """The whole flow with CSRF on: upload, preview, 确认导入, back on the list with the new bases."""
    app, base_url = live_server
    with app.app_context():
        email = make_user(Role.ORGANISER).email
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto(f"{base_url}/bases/import")
    page.set_input_files("input[name=file]", str(DATA / "good-gbk.csv"))
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("#import-ok")).to_contain_text("全部 3 行检查通过")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator(".alert-success")).to_contain_text("已导入 3 个示范基地")
    expect(page.locator("#bases-table tbody tr")).to_have_count(3)
    page.screenshot(path=str(screenshot_dir / f"bases-list-mobile-{backend}.png"), full_page=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DemonstrationBase)) == 3
