"""Files people upload (attachments, evidence, pitch decks): checked by content, stored privately.

A file is accepted only when its *bytes* are one of the allowed kinds (an ``.exe`` renamed
``.pdf`` is refused) and it is at most ``UPLOAD_MAX_BYTES`` (20 MB). It is stored under
``instance/uploads/`` with a random name, never in ``static/``, and served only by views that
have checked who may see it (:func:`send_stored`). Domain tables link to :class:`StoredFile`.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import Response, current_app, send_file
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.core.i18n import join_list
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    """One accepted kind of file: what it is called, its MIME type and its usual extension."""

    code: str
    label: str
    mimetype: str
    extension: str


KINDS: dict[str, FileKind] = {
    "pdf": FileKind("pdf", "PDF", "application/pdf", ".pdf"),
    "docx": FileKind("docx", "Word (DOCX)", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xlsx": FileKind("xlsx", "Excel (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "png": FileKind("png", "PNG", "image/png", ".png"),
    "jpeg": FileKind("jpeg", "JPEG", "image/jpeg", ".jpg"),
}

DOCUMENT_KINDS = ("pdf", "docx", "xlsx", "png", "jpeg")  # attachments of plans and answers
PDF_ONLY = ("pdf",)


class UploadError(ValueError):
    """The upload was refused; the message says why, in Chinese."""


class StoredFile(db.Model):
    """An uploaded file kept under ``instance/uploads`` (the name on disk is random)."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)  # random hex, also the path on disk
    original_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # a key of KINDS, from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind].label if self.kind in KINDS else self.kind

    @property
    def size_label(self) -> str:
        if self.size >= 1024 * 1024:
            return f"{self.size / 1024 / 1024:.1f} MB"
        return f"{max(self.size // 1024, 1)} KB"


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def path_of(stored: StoredFile) -> Path:
    return upload_root() / stored.stored_name[:2] / stored.stored_name


def _zip_members(head_and_body: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(head_and_body)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return set()


def sniff(data: bytes) -> str | None:
    """The kind of ``data`` judged from its bytes, or ``None`` when it is none of :data:`KINDS`."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        members = _zip_members(data)
        if "[Content_Types].xml" in members:
            if "word/document.xml" in members:
                return "docx"
            if "xl/workbook.xml" in members:
                return "xlsx"
    return None


def _allowed_text(kinds: tuple[str, ...]) -> str:
    return join_list(KINDS[k].label for k in kinds)


def check_upload(data: bytes, filename: str, kinds: tuple[str, ...] = DOCUMENT_KINDS) -> str:
    """Validate size and content; return the kind. Raises :class:`UploadError` with a Chinese reason."""
    limit = max_bytes()
    name = filename or "文件"
    if not data:
        raise UploadError(f"“{name}”是空文件。")
    if len(data) > limit:
        raise UploadError(f"“{name}”超过 {limit // (1024 * 1024)} MB 的上限（{len(data) / 1024 / 1024:.1f} MB）。")
    kind = sniff(data)
    if kind is None or kind not in kinds:
        raise UploadError(f"“{name}”的内容不是允许的文件类型（仅限 {_allowed_text(kinds)}），文件内容与扩展名无关地被检查。")
    return kind


def read_limited(stream: IO[bytes]) -> bytes:
    """Read at most the limit + 1 byte, so an oversize file is detected without reading it all."""
    return stream.read(max_bytes() + 1)


def clean_filename(filename: str | None, kind: str) -> str:
    """A display name: path parts dropped, control characters removed, extension matching the content."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip() or "file"
    name = name[:200]
    extension = KINDS[kind].extension
    if not name.lower().endswith(extension) and not (kind == "jpeg" and name.lower().endswith(".jpeg")):
        name = f"{name}{extension}"
    return name


def save_upload(file: Any, *, kinds: tuple[str, ...] = DOCUMENT_KINDS, uploaded_by: Any = None) -> StoredFile:
    """Check and store an uploaded ``FileStorage`` (caller commits). Raises :class:`UploadError`."""
    data = read_limited(file.stream)
    return save_bytes(data, file.filename or "", kinds=kinds, uploaded_by=uploaded_by)


def save_bytes(data: bytes, filename: str, *, kinds: tuple[str, ...] = DOCUMENT_KINDS, uploaded_by: Any = None) -> StoredFile:
    """Check and store raw bytes (caller commits); the row is added to the session."""
    kind = check_upload(data, filename, kinds)
    stored = StoredFile(
        stored_name=secrets.token_hex(16),
        original_name=clean_filename(filename, kind),
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=getattr(uploaded_by, "id", None),
    )
    path = path_of(stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.add(stored)
    return stored


def read_bytes(stored: StoredFile) -> bytes:
    return path_of(stored).read_bytes()


def send_stored(stored: StoredFile, *, inline: bool = False) -> Response:
    """Serve a stored file to a user the calling view has already authorised."""
    response = send_file(
        path_of(stored),
        mimetype=KINDS[stored.kind].mimetype,
        as_attachment=not inline,
        download_name=stored.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
