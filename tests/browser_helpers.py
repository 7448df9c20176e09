"""Steps that several Chromium tests share (filling the preliminary-plan form)."""

from __future__ import annotations

from collections.abc import Sequence

from playwright.sync_api import Page

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
