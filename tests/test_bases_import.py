"""Importing demonstration bases from CSV (UTF-8 / GBK) and XLSX: preview, then all or nothing."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eventhub.bases import services
from eventhub.bases.models import DemonstrationBase
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import make_base, user_and_login

DATA = Path(__file__).parent / "data" / "bases"


def _count(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DemonstrationBase))


def _import_audits(app) -> list[AuditLog]:  # noqa: ANN001
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "bases.import")))


def _upload(client, data: bytes, filename: str):  # noqa: ANN001, ANN202
    return client.post("/bases/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _preview(client, data: bytes, filename: str) -> tuple[str, str]:  # noqa: ANN001
    """Upload a file; return (token, preview page HTML)."""
    response = _upload(client, data, filename)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    token = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    page = client.get(f"/bases/import/{token}")
    assert page.status_code == 200
    return token, page.get_data(as_text=True)


def _confirm(client, token: str):  # noqa: ANN001, ANN202
    return client.post("/bases/import/confirm", data={"token": token})


def _import_ok(app, client, path: Path, filename: str | None = None) -> str:  # noqa: ANN001
    """Upload, check the preview offers confirmation, confirm; return the preview HTML."""
    token, html = _preview(client, path.read_bytes(), filename or path.name)
    assert "确认导入" in html
    assert 'id="import-has-errors"' not in html
    response = _confirm(client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/bases/")
    assert "已导入" in client.get("/bases/").get_data(as_text=True)
    assert not (Path(app.instance_path) / "imports" / f"{token}.json").exists(), "the pending file is removed after import"
    return html


def test_import_good_csv(app, client):
    user_and_login(app, client)
    html = _import_ok(app, client, DATA / "good.csv")
    assert "CSV（UTF-8 编码）" in html
    assert "中国测试能源集团有限公司" in html
    with app.app_context():
        base = db.session.scalar(select(DemonstrationBase).where(DemonstrationBase.name == "测试科学研究院"))
        assert (base.short_name, base.batch, base.direction, base.base_type, base.province) == ("测试科研", 4, "全球化创业", "institute", "北京市")
        assert base.contact_phone == "010-68501981", "a landline in (010) form is accepted and normalised"
        other = db.session.scalar(select(DemonstrationBase).where(DemonstrationBase.name == "测试制造股份有限公司"))
        assert other.contact_phone == "13900001111"
        assert other.contact_email == "chenj@example.com"
        assert other.created_at is not None and other.created_at.tzinfo is not None
    assert _count(app) == 5
    audits = _import_audits(app)
    assert len(audits) == 1, "one audit row for the whole import"
    assert audits[0].after["count"] == 5 and audits[0].after["filename"] == "good.csv"
    assert audits[0].actor_id is not None


def test_import_gbk_csv(app, client):
    user_and_login(app, client)
    raw = (DATA / "good-gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GBK
    html = _import_ok(app, client, DATA / "good-gbk.csv")
    assert "CSV（GBK 编码）" in html
    with app.app_context():
        rows = {b.name: b for b in db.session.scalars(select(DemonstrationBase))}
    assert set(rows) == {"华北测试重工集团有限公司", "西南测试大学", "东海测试海洋研究所"}
    assert rows["华北测试重工集团有限公司"].batch == 5, "“第五批” is read as batch 5"
    assert rows["华北测试重工集团有限公司"].base_type == "enterprise"
    assert rows["西南测试大学"].base_type == "university", "the label 高校示范基地 is accepted"
    assert rows["东海测试海洋研究所"].base_type == "institute"
    assert rows["东海测试海洋研究所"].short_name is None


def test_import_xlsx(app, client):
    user_and_login(app, client)
    html = _import_ok(app, client, DATA / "good.xlsx")
    assert "Excel 工作簿" in html
    with app.app_context():
        rows = {b.name: b for b in db.session.scalars(select(DemonstrationBase))}
    # A title line above the header is skipped, the blank line is ignored, numbers become text.
    assert set(rows) == {"测试表格集团有限公司", "测试表格经济开发区", "测试表格师范大学"}
    assert rows["测试表格集团有限公司"].contact_phone == "13700001111"
    assert rows["测试表格经济开发区"].batch == 6
    assert rows["测试表格师范大学"].contact_phone == "0591-22223333"


def test_import_detects_type_by_content_not_name(app, client):
    """An XLSX named .csv is read as a workbook; a CSV named .xlsx as text."""
    user_and_login(app, client)
    token, html = _preview(client, (DATA / "good.xlsx").read_bytes(), "renamed.csv")
    assert "Excel 工作簿" in html and "确认导入" in html
    token, html = _preview(client, (DATA / "good.csv").read_bytes(), "renamed.xlsx")
    assert "CSV（UTF-8 编码）" in html and "确认导入" in html


def test_import_file_with_bad_rows_reports_every_row_and_writes_nothing(app, client):
    user_and_login(app, client)
    with app.app_context():
        make_base("已在数据库中的测试基地")
        db.session.commit()
    token, html = _preview(client, (DATA / "bad-rows.csv").read_bytes(), "bad-rows.csv")
    assert 'id="import-has-errors"' in html
    assert "确认导入" not in html, "no confirm button while the file has errors"
    table = html.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    reported = sorted({int(n) for n in re.findall(r"<td class=\"text-nowrap\">第 (\d+) 行</td>", table)})
    assert reported == [3, 4, 5, 6, 7, 8, 9, 10], "every bad row is listed (row 2 is the only good one)"
    for reason in [
        "缺少名称",
        "未知的方向“绿色创业”",
        "未知的类型“农场”",
        "与第 2 行名称重复（文件内重复）",
        "数据库中已存在",
        "联系电话“12345”格式不正确",
        "电子邮箱格式不正确：not-an-email",
        "批次“第X批”不是有效的数字",
        "缺少省份",
    ]:
        assert reason in table, reason
    assert re.search(r'id="count-bad">\s*8<', html)
    assert re.search(r'id="count-good">\s*1<', html)

    # Confirming anyway (a forged POST) writes nothing.
    response = _confirm(client, token)
    assert response.status_code == 302
    assert _count(app) == 1
    assert _import_audits(app) == []
    assert "未导入任何数据" in client.get(response.headers["Location"]).get_data(as_text=True)

    # The error list downloads as CSV with every error.
    errors = client.get(f"/bases/import/{token}/errors.csv")
    assert errors.status_code == 200 and errors.data.startswith(b"\xef\xbb\xbf")
    lines = errors.data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 13


def test_import_empty_file(app, client):
    user_and_login(app, client)
    for data in [(DATA / "empty.csv").read_bytes(), b"\r\n\r\n", b"\xef\xbb\xbf"]:
        response = _upload(client, data, "empty.csv")
        assert response.status_code == 200
        assert "文件是空的" in response.get_data(as_text=True)
    response = _upload(client, "名称,批次,方向,类型,省份\r\n,,,,\r\n".encode(), "header-only.csv")
    assert "文件只有表头，没有数据行" in response.get_data(as_text=True)
    response = client.post("/bases/import", data={}, content_type="multipart/form-data")
    assert "请选择要导入的文件" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_import_file_that_is_not_a_spreadsheet(app, client):
    user_and_login(app, client)
    png = (DATA / "not-a-spreadsheet.csv").read_bytes()
    assert png.startswith(b"\x89PNG")
    response = _upload(client, png, "not-a-spreadsheet.csv")
    assert response.status_code == 200
    assert "文件不是文本表格（含有二进制内容）" in response.get_data(as_text=True)

    # A zip that is not a workbook (e.g. a .docx or an archive), even when named .xlsx.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    response = _upload(client, buffer.getvalue(), "bases.xlsx")
    assert "无法作为 Excel 工作簿 (.xlsx) 打开" in response.get_data(as_text=True)

    # Old binary Excel.
    response = _upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "bases.xls")
    assert "旧版 Excel 文件 (.xls)" in response.get_data(as_text=True)

    # Bytes that are neither UTF-8 nor GBK.
    response = _upload(client, b"\x80\x81\xff" * 10, "x.csv")
    assert "无法识别文件编码" in response.get_data(as_text=True)
    for junk in [b"\xff\xfe\xff" * 10 + b"\x80", b"\xff\xfe" + bytes(range(256)) * 4]:
        response = _upload(client, junk, "x.csv")
        assert response.status_code == 200 and 'id="file-error"' in response.get_data(as_text=True)

    # Text without any recognisable header.
    response = _upload(client, b"hello world\nfoo bar\n", "notes.csv")
    assert "找不到表头行" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_import_missing_required_columns(app, client):
    user_and_login(app, client)
    response = _upload(client, "名称,简称\r\n某基地,某\r\n".encode(), "x.csv")
    text = response.get_data(as_text=True)
    assert "缺少必需的列：批次、方向、类型、省份" in text


def test_import_row_limit(make_app):
    app = make_app(IMPORT_MAX_ROWS=3)
    client = app.test_client()
    user_and_login(app, client)
    body = "name,batch,direction,base_type,province\n" + "".join(f"基地{i},3,融通创新,enterprise,北京市\n" for i in range(4))
    response = _upload(client, body.encode(), "four.csv")
    assert "文件超过 3 行数据" in response.get_data(as_text=True)
    assert _count(app) == 0


def _big_csv(rows: int) -> bytes:
    directions = ["创业就业", "融通创新", "精益创业", "全球化创业"]
    types = ["region", "企业", "university", "科研院所"]
    lines = ["名称,简称,批次,方向,类型,省份,来源,联系人,联系电话,联系邮箱"]
    for i in range(rows):
        phone = f"138{i:08d}" if i % 2 else f"010-6{i:07d}"
        lines.append(f"性能测试示范基地{i:05d},性能{i:05d},{1 + i % 3},{directions[i % 4]},{types[i % 4]},北京市,测试,联系人{i},{phone},c{i}@example.com")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_import_10000_rows(app, client):
    user_and_login(app, client)
    data = _big_csv(10_000)
    started = time.perf_counter()
    token, html = _preview(client, data, "big.csv")
    parsed = time.perf_counter()
    assert re.search(r'id="count-total">\s*10000<', html)
    assert "确认导入" in html
    assert "显示前 20 行，共 10000 行" in html
    response = _confirm(client, token)
    done = time.perf_counter()
    assert response.status_code == 302
    assert _count(app) == 10_000
    print(
        f"\n10,000-row import on {app.config['SQLALCHEMY_DATABASE_URI'].split(':', 1)[0]}: parse+preview {parsed - started:.2f} s, commit {done - parsed:.2f} s"
    )
    # Speed is measured in bench/bench_bases_import.py, not asserted here: a shared CI machine made a
    # 10 s bound fail at 12 s while nothing was wrong.
    assert len(_import_audits(app)) == 1

    # Importing the same file again: every row is a duplicate of the database, all reported.
    token, html = _preview(client, data, "big.csv")
    assert re.search(r'id="count-bad">\s*10000<', html)
    assert "有 10000 行存在错误（共 10000 处）" in html
    assert html.count("数据库中已存在") == 100, "the display is paged (100 per page)"
    last = client.get(f"/bases/import/{token}?page=100").get_data(as_text=True)
    assert "性能测试示范基地09999" in last


def test_import_many_errors_are_all_counted(app, client):
    user_and_login(app, client)
    body = "name,batch,direction,base_type,province\n" + "".join(f"基地{i},3,融通创新,火星,北京市\n" for i in range(250))
    token, html = _preview(client, body.encode(), "bad.csv")
    assert "有 250 行存在错误（共 250 处）" in html
    assert "1 / 3" in html
    page3 = client.get(f"/bases/import/{token}?page=3").get_data(as_text=True)
    assert "第 251 行" in page3 and "第 202 行" in page3 and "第 201 行" not in page3, "errors 201–250 are rows 202–251"


def test_names_taken_after_preview_abort_the_whole_import(app, client):
    """Duplicates are checked again at commit, in the same transaction: nothing is written."""
    user_and_login(app, client)
    token, html = _preview(client, (DATA / "good.csv").read_bytes(), "good.csv")
    assert "确认导入" in html
    with app.app_context():
        make_base("测试理工大学")
        db.session.commit()
    response = _confirm(client, token)
    assert response.status_code == 302
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "导入已取消，未写入任何数据" in text and "测试理工大学" in text
    assert _count(app) == 1
    assert _import_audits(app) == []


def test_commit_import_service_is_all_or_nothing(app):
    with app.app_context():
        preview = services.parse_import((DATA / "good.csv").read_bytes(), "good.csv")
        assert preview.ok and len(preview.rows) == 5
        make_base("测试制造股份有限公司")
        db.session.commit()
        with pytest.raises(services.ImportConflictError):
            services.commit_import(preview)
        assert db.session.scalar(select(func.count()).select_from(DemonstrationBase)) == 1
        bad = services.parse_import((DATA / "bad-rows.csv").read_bytes(), "bad-rows.csv")
        with pytest.raises(services.ImportConflictError, match="未导入任何数据"):
            services.commit_import(bad)
        assert db.session.scalar(select(func.count()).select_from(DemonstrationBase)) == 1


def test_duplicate_names_ignore_spaces_and_case(app):
    with app.app_context():
        make_base("ABC 测试集团")
        db.session.commit()
        body = "name,batch,direction,base_type,province\nabc测试集团,3,融通创新,enterprise,北京市\n新基地,3,融通创新,enterprise,北京市\n新 基地,3,融通创新,enterprise,北京市\n"
        preview = services.parse_import(body.encode(), "x.csv")
        reasons = {e.row: e.reason for e in preview.errors}
        assert "数据库中已存在" in reasons[2]
        assert "与第 3 行名称重复" in reasons[4]


def test_import_token_is_checked(app, client):
    user_and_login(app, client)
    token, _ = _preview(client, (DATA / "good.csv").read_bytes(), "good.csv")
    assert client.get("/bases/import/..%2F..%2Fsecret_key").status_code == 404
    assert client.post("/bases/import/confirm", data={"token": "../../secret_key"}).status_code == 400
    assert client.post("/bases/import/confirm", data={"token": "A" * 40}).status_code == 404
    # Another organiser cannot use this organiser's preview.
    other = app.test_client()
    user_and_login(app, other)
    assert other.get(f"/bases/import/{token}").status_code == 404
    assert other.post("/bases/import/confirm", data={"token": token}).status_code == 404
    assert _count(app) == 0
    # The owner still can.
    assert _confirm(client, token).status_code == 302
    assert _count(app) == 5
    # …but only once: the pending file is gone.
    assert _confirm(client, token).status_code == 404
    assert _count(app) == 5


def test_only_organisers_import(app, client):
    user_and_login(app, client, Role.HOST)
    assert client.get("/bases/import").status_code == 403
    response = _upload(client, (DATA / "good.csv").read_bytes(), "good.csv")
    assert response.status_code == 403
    assert client.post("/bases/import/confirm", data={"token": "A" * 40}).status_code == 403
    assert _count(app) == 1  # only the host's own base


def test_import_template_round_trips(app, client):
    user_and_login(app, client)
    template = client.get("/bases/import/template.csv")
    assert template.status_code == 200 and template.data.startswith(b"\xef\xbb\xbf")
    _import_ok(app, client, _write(app, template.data, "template.csv"))
    assert _count(app) == 1


def _write(app, data: bytes, name: str) -> Path:  # noqa: ANN001
    path = Path(app.instance_path) / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("010-68501981", "010-68501981"),
        ("01068501981", "010-68501981"),
        ("(010)68501981", "010-68501981"),
        ("（0755）1234567", "0755-1234567"),
        ("010-6850-1981", "010-68501981"),
        ("0755-12345678-801", "0755-12345678-801"),
        ("+86 10 68501981", "010-68501981"),
        ("400-810-8888", "400-810-8888"),
        ("１３８１２３４５６７８", "13812345678"),
        ("138١٢٣٤٥٦٧٨", "13812345678"),
    ],
)
def test_contact_phone_accepts_mobile_and_landline(value, expected):
    assert services.check_contact_phone(value) == expected


@pytest.mark.parametrize("value", ["12345", "abc", "1381234567", "23812345678", "010-123", "电话", "010-68501981-1234567"])
def test_contact_phone_rejects_garbage(value):
    with pytest.raises(ValueError, match="联系电话"):
        services.check_contact_phone(value)
