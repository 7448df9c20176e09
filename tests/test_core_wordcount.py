"""字数 as Chinese word processors count it (DESIGN.md §3).

The table lives in ``tests/data/zishu_cases.json`` so the browser counter (static/js) is
tested against exactly the same cases as :func:`count_zishu`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventhub.core.wordcount import count_zishu

CASES_FILE = Path(__file__).parent / "data" / "zishu_cases.json"
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))

# Cases that were once wrong (fixed): a keycap emoji is digit/#/* + U+FE0F + U+20E3, and a
# decomposed accent is a letter + a combining mark.
TRICKY = {"1\ufe0f\u20e3", "#\ufe0f\u20e3", "Cafe\u0301"}


def test_the_table_is_well_formed():
    assert len(CASES) >= 40
    texts = [case["text"] for case in CASES]
    assert len(texts) == len(set(texts)), "duplicate cases"
    for case in CASES:
        assert set(case) == {"text", "count"}
        assert isinstance(case["text"], str)
        assert isinstance(case["count"], int)
        assert case["count"] >= 0
    assert TRICKY.issubset(texts)


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["text"]))
def test_table(case):
    assert count_zishu(case["text"]) == case["count"]


def test_none_counts_zero():
    assert count_zishu(None) == 0


def test_an_800_zi_plan():
    plan = "融通创新主题日活动初步计划。" * 57 + "中小企业参与"
    assert count_zishu(plan) == 14 * 57 + 6 == 804


# ---- properties ----------------------------------------------------------------------

# Every character Python calls white space (ASCII, NBSP, the full-width U+3000, line separators…).
SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
whitespace = st.text(alphabet=SPACES, max_size=20)
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
# Ordinary text: CJK, full-width punctuation, Latin letters, digits, a few emoji and ASCII marks.
pieces = st.sampled_from(["融", "通", "创", "新", "，", "。", "“", "”", "《", "》", "a", "B", "z", "1", "9", "-", ".", "'", "!", "😀", "👍🏽", "🇨🇳", "❤\ufe0f"])
ordinary = st.lists(pieces, max_size=30).map("".join)


@given(whitespace)
def test_whitespace_never_counts(text):
    assert count_zishu(text) == 0


@given(ordinary, whitespace)
def test_adding_whitespace_changes_nothing_at_the_ends(text, space):
    assert count_zishu(space + text + space) == count_zishu(text)


@given(st.text(max_size=40), st.text(max_size=40))
def test_space_separated_parts_add_up(a, b):
    assert count_zishu(a + " " + b) == count_zishu(a) + count_zishu(b)


@given(st.lists(cjk, max_size=200).map("".join))
def test_n_cjk_characters_count_n(text):
    assert count_zishu(text) == len(text)


@given(st.lists(cjk, min_size=1, max_size=50).map("".join), whitespace)
def test_spaces_between_cjk_characters_do_not_count(text, space):
    assert count_zishu(space.join(text)) == len(text)


@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10), max_size=30))
def test_each_latin_or_digit_run_counts_one(words):
    assert count_zishu(" ".join(words)) == len(words)


@given(st.lists(st.sampled_from(["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "❤\ufe0f", "👩🏽\u200d💻"]), max_size=20))
def test_each_emoji_counts_one(emoji):
    assert count_zishu("".join(emoji)) == len(emoji)


@given(st.text(max_size=60))
def test_never_more_than_the_characters(text):
    assert 0 <= count_zishu(text) <= len(text)
