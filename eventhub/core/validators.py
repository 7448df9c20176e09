"""Validators for Chinese identifiers and contacts (DESIGN.md §3), with Chinese messages.

Each ``check_*`` function returns the normalised value or raises ``ValueError`` whose text
says in Chinese exactly what is wrong; WTForms wrappers turn that into field errors.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from wtforms import Field, Form, ValidationError

# 统一社会信用代码, GB 32100-2015
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a credit code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """Validate a 统一社会信用代码; return it upper-cased without spaces."""
    code = re.sub(r"\s+", "", value or "").upper()
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为 18 位，当前为 {len(code)} 位")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise ValueError(f"统一社会信用代码含有不允许的字符：{'、'.join(bad)}（不使用 I、O、S、V、Z）")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(f"统一社会信用代码校验位错误：最后一位应为 {expected}，请核对是否输错")
    return code


def check_mobile(value: str) -> str:
    """Validate a mainland mobile number (1[3-9] + 9 digits); accepts +86 and spaces/dashes."""
    # NFKC turns full-width digits typed with a Chinese input method into ASCII ones
    digits = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MOBILE.match(digits):
        raise ValueError("手机号码格式不正确：应为 11 位数字，以 13–19 开头")
    return digits


def check_email(value: str) -> str:
    """Validate an e-mail address syntactically (no DNS lookup); return it normalised."""
    try:
        result = validate_email((value or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"电子邮箱格式不正确：{value}") from exc
    return result.normalized.lower()


def mask_mobile(value: str | None) -> str:
    """Mask a mobile number for shared screens: 13812345678 → 138****5678."""
    if not value:
        return ""
    try:
        digits = check_mobile(value)
    except ValueError:
        digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


class _Wrap:
    """Adapts a ``check_*`` function to a WTForms validator; stores the normalised value."""

    def __init__(self, func) -> None:  # noqa: ANN001
        self.func = func

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            field.data = self.func(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def USCC() -> _Wrap:  # noqa: N802 - reads like a WTForms validator
    return _Wrap(check_uscc)


def Mobile() -> _Wrap:  # noqa: N802
    return _Wrap(check_mobile)


def EmailAddress() -> _Wrap:  # noqa: N802
    return _Wrap(check_email)
