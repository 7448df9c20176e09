"""Business rules of the base registry: search, create/update, import and export.

Views only parse the request and call these functions; everything here takes explicit
arguments and works without HTTP (the demo loader and tests call it directly).

Import is two steps. :func:`parse_import` reads an uploaded file (CSV in UTF-8 or GBK, or
XLSX, recognised by content, not by name) and returns an :class:`ImportPreview` listing the
good rows and every bad row with its reason. :func:`commit_import` writes the good rows in
one transaction, and only when the file had no error at all (all or nothing).
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from eventhub.bases.models import BASE_TYPE_LABELS, BaseType, DemonstrationBase, Direction
from eventhub.core import audit
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import utcnow
from eventhub.core.validators import check_email, check_mobile
from eventhub.extensions import db

# ---- columns ----------------------------------------------------------------

#: Editable fields, in the order of forms, exports and import templates.
FIELDS = (
    "name",
    "short_name",
    "batch",
    "direction",
    "base_type",
    "province",
    "source",
    "contact_name",
    "contact_phone",
    "contact_email",
)
REQUIRED_FIELDS = ("name", "batch", "direction", "base_type", "province")

#: The Chinese column headers (also used in exports, so an export can be imported again).
FIELD_LABELS = {
    "name": "名称",
    "short_name": "简称",
    "batch": "批次",
    "direction": "方向",
    "base_type": "类型",
    "province": "省份",
    "source": "来源",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "contact_email": "联系邮箱",
}

MAX_LENGTHS = {
    "name": 200,
    "short_name": 50,
    "province": 50,
    "source": 200,
    "contact_name": 100,
    "contact_phone": 30,
    "contact_email": 254,
}


def _header_key(text: str) -> str:
    """A header cell reduced for matching: NFKC, no spaces/asterisks/brackets, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\s*＊:：()（）\[\]【】]", "", text)
    return text.lower()


_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("名称", "基地名称", "示范基地名称", "示范基地", "单位名称"),
    "short_name": ("简称", "基地简称", "示范基地简称", "shortname"),
    "batch": ("批次", "批", "第几批"),
    "direction": ("方向", "基地方向", "类别方向"),
    "base_type": ("类型", "基地类型", "示范基地类型", "类别", "type", "basetype"),
    "province": ("省份", "省", "所在省份", "地区", "省区市", "所属地区"),
    "source": ("来源", "文件", "批准文件", "文号"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contactname"),
    "contact_phone": ("联系电话", "电话", "手机", "手机号", "联系人电话", "phone", "mobile", "contactphone"),
    "contact_email": ("联系邮箱", "邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "contactemail"),
}
HEADER_MAP: dict[str, str] = {}
for _field, _aliases in _HEADER_ALIASES.items():
    for _alias in (_field, *_aliases):
        HEADER_MAP[_header_key(_alias)] = _field


# ---- value parsers (shared by the import and the edit form) -----------------

_TYPE_SHORT_LABELS = {
    BaseType.REGION: "区域",
    BaseType.ENTERPRISE: "企业",
    BaseType.UNIVERSITY: "高校",
    BaseType.INSTITUTE: "科研院所",
}
_TYPE_EXTRA = {"大学": BaseType.UNIVERSITY, "院所": BaseType.INSTITUTE, "科研": BaseType.INSTITUTE, "地区": BaseType.REGION}

DIRECTION_HINT = "、".join(d.value for d in Direction)
TYPE_HINT = "、".join(_TYPE_SHORT_LABELS.values()) + "（或 " + "/".join(t.value for t in BaseType) + "）"


def parse_direction(value: str) -> str:
    """A direction from its Chinese name (“融通创新”, “融通创新方向”) or code; ValueError if unknown."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise ValueError("缺少方向")
    key = re.sub(r"\s+", "", text).removesuffix("方向").removesuffix("类")
    for direction in Direction:
        if key == direction.value or key.lower() == direction.name.lower():
            return direction.value
    raise ValueError(f"未知的方向“{text}”，应为：{DIRECTION_HINT}")


def parse_base_type(value: str) -> str:
    """A base type from its code (enterprise), label (企业示范基地) or short label (企业)."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise ValueError("缺少类型")
    key = re.sub(r"\s+", "", text)
    if key.lower() in {t.value for t in BaseType}:
        return key.lower()
    short = key.removesuffix("示范基地").removesuffix("基地").removesuffix("类").removesuffix("型")
    for base_type in BaseType:
        if key == BASE_TYPE_LABELS[base_type] or short == _TYPE_SHORT_LABELS[base_type]:
            return base_type.value
    if short in _TYPE_EXTRA:
        return _TYPE_EXTRA[short].value
    raise ValueError(f"未知的类型“{text}”，应为：{TYPE_HINT}")


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_batch(value: Any) -> int:
    """A batch number from 3, 3.0, “3”, “第三批” or “第3批”; ValueError unless 1–99."""
    if isinstance(value, bool):
        raise ValueError("批次应为正整数，如 3 或“第三批”")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if not text:
            raise ValueError("缺少批次")
        core = text.removeprefix("第").removesuffix("批").strip()
        if re.fullmatch(r"\d{1,2}(\.0+)?", core):
            number = int(float(core))
        elif re.fullmatch(r"[一二三四五六七八九]", core):
            number = _CN_DIGITS[core]
        elif re.fullmatch(r"十[一二三四五六七八九]?", core):
            number = 10 + _CN_DIGITS.get(core[1:], 0)
        else:
            raise ValueError(f"批次“{text}”不是有效的数字，应为正整数，如 3 或“第三批”")
    if not 1 <= number <= 99:
        raise ValueError(f"批次应在 1 到 99 之间，当前为 {number}")
    return number


_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SPLIT_LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{3,4})-(\d{4})$")  # 010-6850-1981
_SERVICE_NUMBER = re.compile(r"^[48]00-?\d{3}-?\d{4}$")


def check_contact_phone(value: str) -> str:
    """A mainland mobile (13812345678) or a landline (010-68501981, 0755-1234567-801, 400-810-8888).

    Returns the number normalised (mobile: 11 digits; landline: area code, dash, number);
    raises ValueError with a Chinese message for anything else.
    """
    raw = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not raw:
        raise ValueError("缺少联系电话")
    # Digits of other scripts (١٢٣, full-width ones are already folded by NFKC) are stored as ASCII.
    raw = "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in raw)
    try:
        return check_mobile(raw)
    except ValueError:
        pass
    text = re.sub(r"\s+", "", raw)
    international = re.match(r"^(?:\+86|0086)-?", text)
    if international:  # +86 10 68501981: the trunk 0 is dropped in international format
        text = text[international.end() :]
        if not text.startswith(("0", "400", "800")):
            text = "0" + text
    text = re.sub(r"^\((0\d{2,3})\)", r"\1-", text)
    text = re.sub(r"(?i)(转|ext\.?|x)(\d{1,6})$", r"-\2", text)
    split = _SPLIT_LANDLINE.match(text)
    if split and len(split.group(2) + split.group(3)) in (7, 8):
        text = f"{split.group(1)}-{split.group(2)}{split.group(3)}"
    if _LANDLINE.match(text) or _SERVICE_NUMBER.match(text):
        if "-" not in text[:5] and text.startswith("0"):
            # Area codes: 010 and 02x are three digits, all others four.
            cut = 3 if text[1] in "12" else 4
            text = f"{text[:cut]}-{text[cut:]}"
        return text
    raise ValueError(f"联系电话“{raw}”格式不正确：应为 11 位手机号码（如 13812345678）或带区号的固定电话（如 010-68501981）")


def normalise_name(value: str) -> str:
    """A base name as stored: NFKC-normalised full-width forms excepted, spaces collapsed."""
    return re.sub(r"\s+", " ", str(value or "")).strip()


def _name_key(value: str) -> str:
    """The key two names are compared by (duplicates): no spaces, case-folded, NFKC."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).casefold()


# ---- list, search, filters ---------------------------------------------------


@dataclass
class BaseFilters:
    """What the list (and the export) is filtered by; empty means “any”."""

    q: str = ""
    direction: str = ""
    base_type: str = ""
    province: str = ""
    batch: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BaseFilters:
        """Filters from a query string; unknown values are dropped rather than failing."""
        direction = args.get("direction", "").strip()
        base_type = args.get("base_type", "").strip()
        batch_text = args.get("batch", "").strip()
        return cls(
            q=args.get("q", "").strip()[:100],
            direction=direction if direction in {d.value for d in Direction} else "",
            base_type=base_type if base_type in {t.value for t in BaseType} else "",
            province=args.get("province", "").strip()[:50],
            batch=int(batch_text) if batch_text.isdigit() and 0 < int(batch_text) < 100 else None,
        )

    def as_args(self) -> dict[str, Any]:
        """The non-empty filters, for links that keep them (export, pager)."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def filter_query(filters: BaseFilters) -> Select[tuple[DemonstrationBase]]:
    """The bases matching ``filters``, ordered by batch then insertion."""
    query = select(DemonstrationBase)
    if filters.q:
        query = query.where(
            or_(
                DemonstrationBase.name.icontains(filters.q, autoescape=True),
                DemonstrationBase.short_name.icontains(filters.q, autoescape=True),
            )
        )
    if filters.direction:
        query = query.where(DemonstrationBase.direction == filters.direction)
    if filters.base_type:
        query = query.where(DemonstrationBase.base_type == filters.base_type)
    if filters.province:
        query = query.where(DemonstrationBase.province == filters.province)
    if filters.batch is not None:
        query = query.where(DemonstrationBase.batch == filters.batch)
    return query.order_by(DemonstrationBase.batch, DemonstrationBase.id)


def list_bases(filters: BaseFilters, page: int = 1, per_page: int = 20) -> Any:
    """A page of matching bases (Flask-SQLAlchemy pagination; ``.total`` is the match count)."""
    return db.paginate(filter_query(filters), page=page, per_page=per_page, error_out=False)


def count_bases() -> int:
    return db.session.scalar(select(func.count()).select_from(DemonstrationBase)) or 0


def province_choices() -> list[str]:
    """The provinces that occur in the registry, for the filter select."""
    return list(db.session.scalars(select(DemonstrationBase.province).distinct().order_by(DemonstrationBase.province)))


def batch_choices() -> list[int]:
    return list(db.session.scalars(select(DemonstrationBase.batch).distinct().order_by(DemonstrationBase.batch)))


def name_taken(name: str, exclude_id: int | None = None) -> bool:
    """True when another base already has this name (spaces and case ignored)."""
    key = _name_key(normalise_name(name))
    query = select(DemonstrationBase.id, DemonstrationBase.name).where(_name_column() == key)
    return any(base_id != exclude_id and _name_key(stored) == key for base_id, stored in db.session.execute(query))


def _name_column() -> Any:
    """The SQL side of :func:`_name_key` (stored names are already normalised)."""
    return func.lower(func.replace(DemonstrationBase.name, " ", ""))


# ---- create / update -----------------------------------------------------------


class BaseError(ValueError):
    """A rule of the registry was broken; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise a base's fields; raises BaseError on the first problem."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        try:
            out[name] = parse_field(name, data.get(name))
        except ValueError as exc:
            raise BaseError(str(exc), name) from exc
    return out


def snapshot(base: DemonstrationBase) -> dict[str, Any]:
    return audit.snapshot(base, list(FIELDS))


def create_base(data: Mapping[str, Any], actor: Any = None) -> DemonstrationBase:
    """Add a base (audited) and commit; BaseError if a field is invalid or the name is taken."""
    values = _clean(data)
    if name_taken(values["name"]):
        raise BaseError("已有同名的示范基地", "name")
    base = DemonstrationBase(**values)
    db.session.add(base)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise BaseError("已有同名的示范基地", "name") from exc
    audit.record("bases.create", base, after=snapshot(base), actor=actor)
    db.session.commit()
    return base


def update_base(base: DemonstrationBase, data: Mapping[str, Any], actor: Any = None) -> DemonstrationBase:
    """Change a base (audited with before/after of the changed fields) and commit."""
    values = _clean(data)
    if name_taken(values["name"], exclude_id=base.id):
        raise BaseError("已有同名的示范基地", "name")
    before = snapshot(base)
    for key, value in values.items():
        setattr(base, key, value)
    after = snapshot(base)
    changed = [k for k in FIELDS if before[k] != after[k]]
    if not changed:
        return base
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise BaseError("已有同名的示范基地", "name") from exc
    audit.record("bases.update", base, before={k: before[k] for k in changed}, after={k: after[k] for k in changed}, actor=actor)
    db.session.commit()
    return base


# ---- import: reading files -----------------------------------------------------


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (empty, not a spreadsheet, no header…)."""


@dataclass
class RowError:
    """One problem of one row: spreadsheet row number (header is row 1), column, reason."""

    row: int
    column: str
    reason: str
    value: str = ""


@dataclass
class ImportPreview:
    """The outcome of reading a file: good rows, every error, and what was recognised."""

    filename: str
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    total_rows: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def bad_row_count(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def good_row_count(self) -> int:
        return self.total_rows - self.bad_row_count

    @property
    def kind_label(self) -> str:
        if self.kind == "xlsx":
            return "Excel 工作簿 (.xlsx)"
        return f"CSV（{'UTF-8' if self.encoding.startswith('utf') else 'GBK'} 编码）"


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as text: 3.0 → “3”, 13812345678 → “13812345678”, None → “”."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _read_xlsx(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, KeyError, XML errors: all mean “not a workbook”
        raise ImportFileError("文件无法作为 Excel 工作簿 (.xlsx) 打开：可能已损坏，或是其他类型的压缩文件。请在 Excel 中另存为 .xlsx 或 CSV 后重试。") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError("工作簿中没有工作表")
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV upload and its encoding: UTF-8 (with or without BOM), else GB18030 (GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's “Unicode text” (tab-separated UTF-16)
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportFileError("文件看起来是 UTF-16 文本，但内容无法解码。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后重试。") from exc
    if b"\x00" in data[:65536]:
        raise ImportFileError("文件不是文本表格（含有二进制内容）。请上传 CSV（UTF-8 或 GBK 编码）或 Excel 工作簿 (.xlsx)。")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise ImportFileError("无法识别文件编码：不是 UTF-8 也不是 GBK 编码的文本。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后重试。") from exc


def _read_csv(data: bytes) -> tuple[Iterator[list[Any]], str]:
    text, encoding = _decode_text(data)
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text[:65536]):
        raise ImportFileError("文件不是文本表格（含有控制字符或二进制内容）。请上传 CSV（UTF-8 或 GBK 编码）或 Excel 工作簿 (.xlsx)。")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";", "，"], key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    return iter(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), encoding


def _find_header(rows: Iterator[list[Any]]) -> tuple[int, list[str]]:
    """Skip title lines above the header (up to 10); return (header row number, header cells)."""
    seen: list[list[Any]] = []
    for number, row in enumerate(rows, start=1):
        seen.append(row)
        cells = [_cell_text(c) for c in row]
        known = [HEADER_MAP.get(_header_key(c)) for c in cells]
        if "name" in known or sum(1 for k in known if k) >= 2:
            return number, cells
        if number >= 10:
            break
    if not any(any(_cell_text(c) for c in row) for row in seen):
        raise ImportFileError("文件是空的：没有表头，也没有数据行。")
    raise ImportFileError(
        "找不到表头行：第一行应为列名，如“名称, 简称, 批次, 方向, 类型, 省份, 来源, 联系人, 联系电话, 联系邮箱”（也可用英文 name, short_name, batch, direction, base_type, province …）。"
    )


def parse_import(data: bytes, filename: str = "", *, max_rows: int = 20000, check_database: bool = True) -> ImportPreview:
    """Read an uploaded file and validate every row; raises ImportFileError for file-level problems.

    Row numbers in errors are spreadsheet row numbers (the header is usually row 1), so a user
    can find them in Excel. Entirely blank rows are skipped. Names duplicated inside the file or
    already in the registry are errors.
    """
    if not data or not data.strip():
        raise ImportFileError("文件是空的：没有表头，也没有数据行。")
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError("这是旧版 Excel 文件 (.xls)，暂不支持。请在 Excel 中“另存为” .xlsx 或 CSV 后再上传。")
    if data.startswith(_ZIP_MAGIC) and zipfile.is_zipfile(io.BytesIO(data)):
        rows_iter, kind, encoding = _read_xlsx(data), "xlsx", ""
    else:
        rows_iter, encoding = _read_csv(data)
        kind = "csv"

    header_row, header = _find_header(rows_iter)
    columns: dict[int, str] = {}
    ignored: list[str] = []
    seen_fields: dict[str, str] = {}
    for index, cell in enumerate(header):
        if not cell:
            continue
        target = HEADER_MAP.get(_header_key(cell))
        if target is None:
            ignored.append(cell)
            continue
        if target in seen_fields:
            raise ImportFileError(f"表头中“{seen_fields[target]}”和“{cell}”指的是同一列（{FIELD_LABELS[target]}），请删除其中一列。")
        seen_fields[target] = cell
        columns[index] = target
    missing = [FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in seen_fields]
    if missing:
        raise ImportFileError(
            f"缺少必需的列：{'、'.join(missing)}。表头可用中文（名称、批次、方向、类型、省份）或英文（name, batch, direction, base_type, province）。"
        )

    preview = ImportPreview(filename=filename, kind=kind, encoding=encoding, columns=list(columns.values()), ignored_columns=ignored)
    first_seen: dict[str, int] = {}
    first_names: dict[str, str] = {}
    for number, raw in enumerate(rows_iter, start=header_row + 1):
        cells = [_cell_text(c) for c in raw]
        if not any(cells):
            continue
        preview.total_rows += 1
        if preview.total_rows > max_rows:
            raise ImportFileError(f"文件超过 {max_rows} 行数据，请拆分成多个文件分批导入。")
        record: dict[str, Any] = {}
        raw_values = {target: (cells[index] if index < len(cells) else "") for index, target in columns.items()}
        row_errors: list[RowError] = []
        for name in FIELDS:
            value = raw_values.get(name, "")
            try:
                record[name] = parse_field(name, value)
            except ValueError as exc:
                row_errors.append(RowError(number, FIELD_LABELS[name], str(exc), value))
        if record.get("name"):
            key = _name_key(record["name"])
            if key in first_seen:
                row_errors.append(RowError(number, FIELD_LABELS["name"], f"与第 {first_seen[key]} 行名称重复（文件内重复）", record["name"]))
            else:
                first_seen[key] = number
                first_names[key] = record["name"]
        if row_errors:
            preview.errors.extend(row_errors)
        else:
            record["_row"] = number
            preview.rows.append(record)

    if preview.total_rows == 0:
        raise ImportFileError("文件只有表头，没有数据行。")

    if check_database and first_seen:
        existing = existing_names(first_names.values())
        bad_rows = set()
        for key, stored in existing.items():
            number = first_seen[key]
            preview.errors.append(RowError(number, FIELD_LABELS["name"], f"名称与已有示范基地“{stored}”重复（数据库中已存在）", first_names[key]))
            bad_rows.add(number)
        if bad_rows:
            preview.rows = [r for r in preview.rows if r["_row"] not in bad_rows]
    preview.errors.sort(key=lambda e: e.row)
    return preview


def parse_field(name: str, value: Any) -> Any:
    """One field of a base (a form field or an import cell), validated and normalised.

    Empty optional fields become None; raises ValueError with a Chinese reason.
    """
    if name == "batch":
        return parse_batch(value)
    value = "" if value is None else str(value).strip()
    if name == "name":
        value = normalise_name(value)
        if not value:
            raise ValueError("缺少名称")
    elif name == "direction":
        return parse_direction(value)
    elif name == "base_type":
        return parse_base_type(value)
    elif name == "province":
        if not value:
            raise ValueError("缺少省份")
    elif name == "contact_phone" and value:
        value = check_contact_phone(value)
    elif name == "contact_email" and value:
        value = check_email(value)
    if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
        raise ValueError(f"{FIELD_LABELS[name]}过长：最多 {MAX_LENGTHS[name]} 个字符，当前 {len(value)} 个")
    return value or None


def existing_names(names: Iterable[str], chunk: int = 500) -> dict[str, str]:
    """Of ``names``, those already in the registry: {comparison key: stored name}.

    Compares like duplicates in a file do (spaces and case ignored): loads the names whose
    space-free lower-cased form matches, in chunks to stay within bind-parameter limits.
    """
    keys = sorted({_name_key(n) for n in names})
    found: dict[str, str] = {}
    column = _name_column()
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        for stored in db.session.scalars(select(DemonstrationBase.name).where(column.in_(part))):
            found[_name_key(stored)] = stored
    wanted = set(keys)
    return {k: v for k, v in found.items() if k in wanted}


# ---- import: pending files between preview and confirmation --------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
PENDING_MAX_AGE = 24 * 3600


def is_valid_token(token: str) -> bool:
    return bool(token) and bool(_TOKEN.fullmatch(token))


def _pending_dir(instance_path: str) -> Path:
    path = Path(instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_pending(instance_path: str, preview: ImportPreview, user_id: int | None) -> str:
    """Keep a parsed file until the user confirms; returns the token naming it."""
    directory = _pending_dir(instance_path)
    now = time.time()
    for old in directory.glob("*.json"):  # tidy up abandoned previews
        try:
            if now - old.stat().st_mtime > PENDING_MAX_AGE:
                old.unlink()
        except OSError:
            pass
    token = secrets.token_urlsafe(32)
    payload = {
        "user_id": user_id,
        "created": now,
        "filename": preview.filename,
        "kind": preview.kind,
        "encoding": preview.encoding,
        "total_rows": preview.total_rows,
        "columns": preview.columns,
        "ignored_columns": preview.ignored_columns,
        "rows": preview.rows,
        "errors": [asdict(e) for e in preview.errors],
    }
    tmp = directory / f"{token}.tmp"
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    tmp.replace(directory / f"{token}.json")
    return token


def load_pending(instance_path: str, token: str, user_id: int | None) -> ImportPreview | None:
    """The preview saved under ``token`` by this user, or None (unknown, expired, someone else's)."""
    if not is_valid_token(token):
        return None
    path = _pending_dir(instance_path) / f"{token}.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if payload.get("user_id") != user_id or time.time() - payload.get("created", 0) > PENDING_MAX_AGE:
        return None
    return ImportPreview(
        filename=payload["filename"],
        kind=payload["kind"],
        encoding=payload["encoding"],
        total_rows=payload["total_rows"],
        rows=payload["rows"],
        errors=[RowError(**e) for e in payload["errors"]],
        columns=payload["columns"],
        ignored_columns=payload["ignored_columns"],
    )


def discard_pending(instance_path: str, token: str) -> None:
    if is_valid_token(token):
        (_pending_dir(instance_path) / f"{token}.json").unlink(missing_ok=True)


# ---- import: writing ------------------------------------------------------------


class ImportConflictError(ValueError):
    """Rows could not be written (names taken meanwhile); nothing was written."""

    def __init__(self, message: str, names: list[str] | None = None) -> None:
        super().__init__(message)
        self.names = names or []


def commit_import(preview: ImportPreview, actor: Any = None) -> int:
    """Write every row of an error-free preview in one transaction, with one audit row.

    All or nothing: a preview with errors is refused; names that appeared in the registry
    since the preview are checked again inside the transaction (and by the unique index).
    """
    if preview.errors:
        raise ImportConflictError(f"文件有 {preview.bad_row_count} 行错误，未导入任何数据。请修改文件后重新上传。")
    if not preview.rows:
        raise ImportConflictError("文件中没有可导入的数据行。")
    now = utcnow()
    rows = [{**{k: r.get(k) for k in FIELDS}, "created_at": now, "updated_at": now} for r in preview.rows]
    try:
        taken = existing_names(r["name"] for r in rows)
        if taken:
            names = sorted(taken.values())
            raise ImportConflictError(
                f"导入已取消，未写入任何数据：{len(names)} 个名称在预览之后已被登记，如“{names[0]}”。请重新上传文件核对。",
                names,
            )
        db.session.execute(insert(DemonstrationBase), rows)
        audit.record(
            "bases.import",
            object_type="DemonstrationBase",
            after={"filename": preview.filename, "format": preview.kind, "count": len(rows), "first": rows[0]["name"], "last": rows[-1]["name"]},
            actor=actor,
        )
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ImportConflictError("导入已取消，未写入任何数据：有名称与已有示范基地重复。请重新上传文件核对。") from exc
    except Exception:
        db.session.rollback()
        raise
    return len(rows)


# ---- export ----------------------------------------------------------------------


def export_rows(filters: BaseFilters) -> Iterator[list[Any]]:
    """The header and one row per matching base, values as a person reads them."""
    yield [FIELD_LABELS[f] for f in FIELDS]
    for base in db.session.scalars(filter_query(filters)):
        values = []
        for name in FIELDS:
            value = getattr(base, name)
            if name == "base_type":
                value = base.type_label
            values.append(_safe_cell(value if value is not None else ""))
        yield values


def export_csv(filters: BaseFilters) -> bytes:
    """CSV in UTF-8 with a BOM, so Chinese Excel opens it without mojibake."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(export_rows(filters))
    return buffer.getvalue().encode("utf-8-sig")


def export_xlsx(filters: BaseFilters) -> bytes:
    """An Excel workbook with a bold, frozen header row and readable column widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "示范基地"
    widths = {
        "name": 40,
        "short_name": 16,
        "batch": 6,
        "direction": 12,
        "base_type": 16,
        "province": 14,
        "source": 22,
        "contact_name": 10,
        "contact_phone": 16,
        "contact_email": 28,
    }
    for number, row in enumerate(export_rows(filters)):
        sheet.append(row)
        if number == 0:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
    for index, name in enumerate(FIELDS):
        sheet.column_dimensions[chr(ord("A") + index)].width = widths[name]
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_template_csv() -> bytes:
    """An empty CSV with the Chinese headers and one example row, for organisers to fill in."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([FIELD_LABELS[f] for f in FIELDS])
    writer.writerow(["中国示例集团有限公司", "示例集团", 4, "融通创新", "企业", "北京市", "国办发〔2020〕51号", "张三", "010-68501981", "zhangsan@example.com"])
    return buffer.getvalue().encode("utf-8-sig")


def errors_csv(preview: ImportPreview) -> bytes:
    """Every error of a preview as a CSV (row, column, value, reason) for fixing the file."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["行号", "列", "内容", "原因"])
    for error in preview.errors:
        writer.writerow([error.row, error.column, _safe_cell(error.value), error.reason])
    return buffer.getvalue().encode("utf-8-sig")
