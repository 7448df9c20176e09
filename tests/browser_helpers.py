"""Steps that several Chromium tests share: log-in, phone checks, the preliminary-plan form, the
detailed-plan sections, review, and answering a technology need."""

from __future__ import annotations

import re
from collections.abc import Sequence

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

CONTENT_TYPES = ("resources", "joint_rd", "commercialisation", "roadshow")


def fill_plan_form(
    page: Page,
    *,
    partner_id: int,
    reason: str,
    window: tuple[str, str],
    sentences: Sequence[str],
    measures: str,
    duration: str = "2",
) -> None:
    """Fill every plan field but theme, field and body (the tests type those themselves)."""
    for value, sentence in zip(CONTENT_TYPES, sentences, strict=True):
        page.check(f"#ct_{value}")
        page.fill(f"#ct_{value}_text", sentence)
    page.locator("select[name=p_base_id]").first.select_option(str(partner_id))
    page.locator("input[name=p_reason]").first.fill(reason)
    page.locator("input[name=w_earliest]").first.fill(window[0])
    page.locator("input[name=w_latest]").first.fill(window[1])
    page.locator("input[name=w_duration]").first.fill(duration)
    page.select_option("#event_format", "hybrid")
    page.fill("#prevention_measures", measures)
    page.fill("#contact_name", "张三")
    page.fill("#contact_phone", "13812345678")
    page.fill("#contact_email", "zhang@example.com")


# ---- log-in, phone checks ---------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; PJZ110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/1234 "
    "MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)


def phone_context_args(**extra: object) -> dict:
    """A phone as WeChat's built-in browser presents itself: 390×844, touch, mobile viewport meta honoured."""
    return {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2, "user_agent": WECHAT_UA, **extra}


def login(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Log in through the real form (CSRF token included) and wait until the log-in page is left."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def logout(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="退出")).to_have_count(0)


def no_horizontal_scroll(page: Page) -> None:
    """A phone page must never scroll sideways."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at {page.viewport_size}"


# ---- the host's detailed plan (events/detail pages) --------------------------------------------


def open_detail_plan(page: Page, event_id: int) -> None:
    """From the navigation bar to the host's plan page of one theme day."""
    page.locator("#mainnav").get_by_role("link", name="活动方案").click()
    page.locator(f"#open-plan-{event_id}").click()
    expect(page.locator("#plan-title")).to_be_visible()


def fill_short_name(page: Page, short_name: str) -> None:
    """The base has no short name in the registry: fill it in on the plan page."""
    page.fill("#short_name", short_name)
    page.locator("#save-short-name").click()
    expect(page.locator("#plan-title")).to_have_text(f"{short_name}融通创新主题日活动方案")


def fill_text_section(page: Page, section: str, text: str) -> None:
    """One of the free-text sections (goals, venue, emergency) through its own form."""
    page.locator(f"#edit-{section}").click()
    page.fill("#text", text)
    page.locator("#save").click()
    expect(page.locator(f"#edit-{section}")).to_be_visible()  # back on the plan page


def add_session(page: Page, title: str, kind: str, day: str, start: str, end: str, types: Sequence[str], *, venue: str = "", url: str = "") -> None:
    """One agenda session; ``types`` are the content types (主题内容) it serves."""
    page.locator("#edit-sessions").click()
    page.fill("#title", title)
    page.select_option("#kind", kind)
    page.fill("#day", day)
    page.fill("#start_time", start)
    page.fill("#end_time", end)
    page.fill("#venue", venue)
    page.fill("#online_url", url)
    for value in types:
        page.check(f"#content_types-{value}")
    page.locator("#save").click()
    expect(page.locator("#sessions-table")).to_contain_text(title)


def add_need(page: Page, *, title: str, field: str, description: str, expected_result: str, budget: tuple[str, str], deadline: str) -> None:
    """One technology need (揭榜挂帅); ``deadline`` is a Beijing date (YYYY-MM-DD)."""
    page.locator("#edit-needs").click()
    page.fill("#title", title)
    page.fill("#field", field)
    page.fill("#description", description)
    page.fill("#expected_result", expected_result)
    page.fill("#budget_min", budget[0])
    page.fill("#budget_max", budget[1])
    page.fill("#response_deadline", deadline)
    page.locator("#save").click()
    expect(page.locator("#needs-list")).to_contain_text(title)


def fill_registration(page: Page, *, capacity: str, opens_at: str, closes_at: str, mode: str = "moderated") -> None:
    """Registration settings; times are ``YYYY-MM-DDTHH:MM`` in Beijing time."""
    page.locator("#edit-registration").click()
    page.fill("#capacity", capacity)
    page.fill("#opens_at", opens_at)
    page.fill("#closes_at", closes_at)
    page.check(f"#approval_mode-{mode}")
    page.locator("#save").click()
    expect(page.locator("#edit-registration")).to_be_visible()


def submit_detail_plan(page: Page) -> None:
    """Submit from the plan page (nothing may be missing) and confirm."""
    page.locator("#submit-plan").click()
    page.locator("#confirm-submit").click()
    expect(page.locator("#plan-status")).to_have_text("待审核")


def open_review(page: Page, event_id: int) -> None:
    """The organiser's way to a submitted plan: navigation bar, list of detailed plans, 审核."""
    page.locator("#mainnav").get_by_role("link", name="活动方案").click()
    row = page.locator(f"#detail-plans-table tr[data-event='{event_id}']")
    expect(row).to_contain_text("待审核")
    row.get_by_role("link", name="审核").click()


def approve_plan(page: Page, comment: str) -> None:
    """On the review page: comment, tick the confirmation, approve."""
    page.fill("#comment", comment)
    page.check("#confirm")
    page.locator("#approve").click()
    expect(page.locator("#plan-status")).to_have_text("已批准")


# ---- answering a need (public) and the host's decision -----------------------------------------


def fill_answer_form(page: Page, *, org_name: str, uscc: str, contact_name: str, mobile: str, email: str, proposal: str) -> None:
    """The public 揭榜 form, consent ticked; the caller attaches files and submits."""
    page.fill("#org_name", org_name)
    page.fill("#uscc", uscc)
    page.fill("#contact_name", contact_name)
    page.fill("#contact_mobile", mobile)
    page.fill("#contact_email", email)
    page.fill("#proposal", proposal)
    page.check("#consent")


def decide_answer(page: Page, org_name: str, note: str, decision: str = "shortlist") -> None:
    """On a need's answer list: open the answer of ``org_name`` and shortlist (or decline) it with a note."""
    page.locator("#responses-table tr", has_text=org_name).get_by_role("link", name="详情").click()
    page.fill("#note", note)
    page.locator(f"#{decision}").click()
    expect(page.locator("#status-label")).to_have_text("入围" if decision == "shortlist" else "未入选")
