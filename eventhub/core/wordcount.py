"""字数: count as Chinese word processors do (DESIGN.md §3).

Each CJK character or full-width punctuation mark counts 1, each run of Latin letters and
digits counts 1, white space counts 0, an emoji counts 1, any other symbol counts 1.
The browser counter (static/js/zishu.js) implements the same rules; both are tested against
``tests/data/zishu_cases.json`` so they never disagree.
"""

from __future__ import annotations

import re

# A "word" run: ASCII/Latin letters and digits, with inner apostrophes, hyphens, dots (e.g.
# "don't", "COVID-19", "3.5") kept in one run as Word does.
_LATIN_CHAR = r"[0-9A-Za-z\u00C0-\u024F][\u0300-\u036f]*"  # a letter with any combining accents
_LATIN_RUN = re.compile(rf"(?:{_LATIN_CHAR})+(?:['’\-.](?:{_LATIN_CHAR})+)*")
# Marks that join the previous grapheme: variation selectors, ZWJ, skin tones, combining marks.
_JOINERS = re.compile(r"[\u200d\ufe0e\ufe0f\u0300-\u036f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def count_zishu(text: str | None) -> int:
    """Return the 字数 of ``text``."""
    if not text:
        return 0
    total = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        m = _LATIN_RUN.match(text, i)
        if m:
            total += 1
            i = m.end()
            while i < n and _JOINERS.match(text[i]):  # keycaps: "1️⃣" is one emoji, not a digit run
                i += 1
            continue
        total += 1
        i += 1
        # an emoji sequence (👨‍👩‍👧, 👍🏽, flags) counts as one
        while i < n and (_JOINERS.match(text[i]) or (text[i - 1] == "\u200d" and not text[i].isspace())):
            i += 1
        if "\U0001f1e6" <= ch <= "\U0001f1ff" and i < n and "\U0001f1e6" <= text[i] <= "\U0001f1ff":
            i += 1  # regional-indicator pair = one flag
    return total
