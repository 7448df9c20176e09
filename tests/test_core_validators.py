"""Mobile numbers, e-mail addresses and masking (DESIGN.md §3), with Chinese messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wtforms import Form, StringField

from eventhub.core.validators import EmailAddress, Mobile, check_email, check_mobile, mask_mobile

# ---- mobile numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("+8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138\t1234\u30005678", "13812345678"),  # a full-width space from a Chinese IME
    ],
)
def test_valid_mobiles_are_normalised(typed, stored):
    assert check_mobile(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12812345678",  # 12x is not a mobile prefix
        "12012345678",
        "11012345678",
        "10012345678",
        "23812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+85213812345678",  # Hong Kong prefix, not +86
        "1381234567a",
        "010-12345678",  # a landline
    ],
)
def test_invalid_mobiles_are_refused_in_chinese(typed):
    with pytest.raises(ValueError, match="手机号码格式不正确"):
        check_mobile(typed)


# ``\d`` matches any Unicode digit; full-width digits (Chinese input methods) are normalised to
# ASCII, other scripts' digits are refused.
def test_full_width_digits_are_stored_as_ascii():
    assert check_mobile("13８12345678") == "13812345678"


def test_arabic_indic_digits_are_refused():
    with pytest.raises(ValueError):
        check_mobile("138١٢٣٤٥٦٧٨")


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_1x_mobile_with_x_3_to_9_is_valid(second, rest):
    number = "1" + second + rest
    assert check_mobile(number) == number
    assert check_mobile(f"+86 {number[:3]} {number[3:7]} {number[7:]}") == number
    assert check_mobile(f"{number[:3]}-{number[3:7]}-{number[7:]}") == number


@given(st.sampled_from("012"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_10x_11x_12x_are_refused(second, rest):
    with pytest.raises(ValueError):
        check_mobile("1" + second + rest)


@given(st.text(alphabet="0123456789", min_size=0, max_size=20).filter(lambda s: len(s) != 11))
def test_wrong_length_is_refused(digits):
    with pytest.raises(ValueError):
        check_mobile(digits)


# ---- masking ---------------------------------------------------------------------


def test_mask_mobile_example():
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize(("value", "masked"), [(None, ""), ("", ""), ("123", "***"), ("123456", "******")])
def test_mask_mobile_short_or_missing(value, masked):
    assert mask_mobile(value) == masked


# The +86 country code is not part of the masked number.
def test_mask_mobile_with_country_code():
    assert mask_mobile("+86 138 1234 5678") == "138****5678"


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mask_keeps_three_and_four_digits(second, rest):
    number = "1" + second + rest
    masked = mask_mobile(number)
    assert masked == number[:3] + "****" + number[-4:]
    assert len(masked) == 11
    assert mask_mobile(check_mobile(f"{number[:3]} {number[3:7]} {number[7:]}")) == masked


# ---- e-mail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("user@example.com", "user@example.com"),
        ("Foo.Bar@Example.COM", "foo.bar@example.com"),
        ("  someone@ndrc.gov.cn ", "someone@ndrc.gov.cn"),
        ("first-last+tag@sub.example.cn", "first-last+tag@sub.example.cn"),
    ],
)
def test_valid_emails_are_normalised(typed, stored):
    assert check_email(typed) == stored


@pytest.mark.parametrize("typed", ["", "not-an-email", "a@b", "a@@example.com", "@example.com", "user@", "user example@example.com", "user@exa mple.com"])
def test_invalid_emails_are_refused_in_chinese(typed):
    with pytest.raises(ValueError, match="电子邮箱格式不正确"):
        check_email(typed)


_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@given(_label, st.lists(_label, min_size=1, max_size=3), st.sampled_from(["com", "cn", "org", "net"]))
def test_email_is_lower_cased_and_stable(local, labels, tld):
    address = f"{local}@{'.'.join(labels)}.{tld}"
    stored = check_email(address.upper())
    assert stored == address
    assert check_email(stored) == stored


# ---- WTForms wrappers -----------------------------------------------------------------


class _ContactForm(Form):
    mobile = StringField(validators=[Mobile()])
    email = StringField(validators=[EmailAddress()])


def test_wrappers_store_normalised_values_and_chinese_errors():
    form = _ContactForm(data={"mobile": "+86 138 1234 5678", "email": "A@Example.com"})
    assert form.validate()
    assert (form.mobile.data, form.email.data) == ("13812345678", "a@example.com")
    form = _ContactForm(data={"mobile": "12812345678", "email": "nope"})
    assert not form.validate()
    assert "手机号码" in form.mobile.errors[0]
    assert "电子邮箱" in form.email.errors[0]


def test_wrappers_leave_empty_optional_fields_alone():
    form = _ContactForm(data={"mobile": "", "email": ""})
    assert form.validate()
