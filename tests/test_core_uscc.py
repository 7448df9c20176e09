"""统一社会信用代码 (GB 32100-2015): real codes pass, every kind of mistake is refused in Chinese."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wtforms import Form, StringField

from eventhub.core.validators import USCC, USCC_ALPHABET, USCC_WEIGHTS, check_uscc, uscc_check_char

# Published codes of real organisations (business registration records); each was checked by
# hand against the algorithm of DESIGN.md §3 and found in several independent public sources.
REAL_CODES = {
    "914403001922038216": "华为技术有限公司",
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "91440300192317458F": "比亚迪股份有限公司",
    "91110000802100433B": "百度在线网络技术（北京）有限公司",
    "91330100799655058B": "阿里巴巴（中国）有限公司",
    "91110000100010433L": "中国石油天然气集团有限公司",
    "91110000710925462X": "中国石油天然气股份有限公司",
    "91110000100017643K": "a central enterprise (published code)",
    "91350100M000100Y43": "a Fuzhou-registered organisation (published code, letter M in the body)",
}

FORBIDDEN = "IOSVZ"


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_real_published_codes_pass(code):
    assert check_uscc(code) == code


def test_input_is_normalised():
    assert check_uscc(" 9144030071526726xg ") == "9144030071526726XG"
    assert check_uscc("91440300 7152 6726XG") == "9144030071526726XG"


def test_the_checksum_of_a_known_code_by_hand():
    """华为 914403001922038216: Σ value×weight = 831; 831 mod 31 = 25; (31 − 25) mod 31 = 6."""
    body = "91440300192203821"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    assert total == 831
    assert (31 - total % 31) % 31 == 6
    assert uscc_check_char(body) == "6"


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_wrong_check_character_is_refused_saying_so(code):
    wrong = next(c for c in "0123456789ABC" if c != code[-1])
    with pytest.raises(ValueError, match="校验位") as info:
        check_uscc(code[:17] + wrong)
    assert code[-1] in str(info.value)  # the message tells which character was expected


@pytest.mark.parametrize("letter", list(FORBIDDEN))
def test_forbidden_letters_are_refused(letter):
    code = "91440300192203821" + letter
    with pytest.raises(ValueError, match="不允许的字符") as info:
        check_uscc(code)
    assert letter in str(info.value)
    body = letter + "1440300192203821"
    with pytest.raises(ValueError, match="I、O、S、V、Z"):
        check_uscc(body + "6")


@pytest.mark.parametrize(
    ("code", "length"), [("", 0), ("9144030019220382", 16), ("91440300192203821", 17), ("9144030019220382160", 19), ("91440300192203821" * 2, 34)]
)
def test_wrong_length_is_refused(code, length):
    with pytest.raises(ValueError, match="18 位") as info:
        check_uscc(code)
    assert f"当前为 {length} 位" in str(info.value)


def test_full_width_or_punctuation_is_refused():
    with pytest.raises(ValueError):
        check_uscc("９１４４０３００１９２２０３８２１６")
    with pytest.raises(ValueError):
        check_uscc("91440300-192203821")


class _Form(Form):
    code = StringField(validators=[USCC()])


def test_wtforms_wrapper_normalises_and_reports():
    form = _Form(data={"code": " 9144030071526726xg"})
    assert form.validate()
    assert form.code.data == "9144030071526726XG"
    form = _Form(data={"code": "914403001922038217"})
    assert not form.validate()
    assert "校验位" in form.code.errors[0]


# ---- properties ----------------------------------------------------------------

bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(bodies)
def test_any_body_with_its_check_character_is_valid(body):
    code = body + uscc_check_char(body)
    assert check_uscc(code) == code


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET))
def test_changing_any_single_character_makes_it_invalid(body, position, replacement):
    """31 is prime and no weight is 0 mod 31, so one changed character always breaks the sum."""
    code = body + uscc_check_char(body)
    if code[position] == replacement:
        replacement = USCC_ALPHABET[(USCC_ALPHABET.index(replacement) + 1) % len(USCC_ALPHABET)]
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValueError, match="校验位"):
        check_uscc(changed)


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from(FORBIDDEN))
def test_a_forbidden_letter_anywhere_is_refused(body, position, letter):
    code = body + uscc_check_char(body)
    with pytest.raises(ValueError, match="不允许的字符"):
        check_uscc(code[:position] + letter + code[position + 1 :])
