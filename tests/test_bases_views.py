"""The base registry pages: list with search/filters/pagination, base page, add/edit, export."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.bases.models import BaseType, DemonstrationBase, Direction
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import make_base, user_and_login


def _seed(app) -> dict[str, int]:  # noqa: ANN001
    """A small registry with every type, two provinces, two batches."""
    with app.app_context():
        bases = [
            make_base("中国华润有限公司", short_name="华润", batch=3, province="中央企业", contact_name="王经理", contact_phone="010-68501981"),
            make_base("中国石油天然气集团有限公司", short_name="中国石油", batch=3, province="中央企业"),
            make_base("深圳市南山区", BaseType.REGION, short_name="南山区", batch=1, direction=Direction.EMPLOYMENT.value, province="广东省"),
            make_base("清华大学", BaseType.UNIVERSITY, short_name="清华", batch=2, direction=Direction.LEAN.value, province="北京市"),
            make_base("中国科学院Alpha研究所", BaseType.INSTITUTE, short_name="Alpha所", batch=2, direction=Direction.GLOBAL.value, province="北京市"),
        ]
        db.session.commit()
        return {b.name: b.id for b in bases}


def _names(html: str) -> set[str]:
    table = html.split('id="bases-table"', 1)[1].split("</table>", 1)[0] if 'id="bases-table"' in html else ""
    return set(re.findall(r'<a href="/bases/\d+">([^<]+)</a>', table))


def test_list_search_and_filters(app, client):
    user_and_login(app, client)
    _seed(app)
    html = client.get("/bases/").get_data(as_text=True)
    assert len(_names(html)) == 5 and "共 5 个示范基地" in html
    assert _names(client.get("/bases/?q=中国").get_data(as_text=True)) == {"中国华润有限公司", "中国石油天然气集团有限公司", "中国科学院Alpha研究所"}
    assert _names(client.get("/bases/?q=alpha").get_data(as_text=True)) == {"中国科学院Alpha研究所"}, "search is case-insensitive"
    assert _names(client.get("/bases/?q=南山").get_data(as_text=True)) == {"深圳市南山区"}
    assert _names(client.get("/bases/?q=华润").get_data(as_text=True)) == {"中国华润有限公司"}, "short names are searched too"
    assert _names(client.get("/bases/?q=%25").get_data(as_text=True)) == set(), "% is not a wildcard"
    assert _names(client.get("/bases/?base_type=enterprise").get_data(as_text=True)) == {"中国华润有限公司", "中国石油天然气集团有限公司"}
    assert _names(client.get("/bases/?direction=精益创业").get_data(as_text=True)) == {"清华大学"}
    assert _names(client.get("/bases/?province=北京市").get_data(as_text=True)) == {"清华大学", "中国科学院Alpha研究所"}
    assert _names(client.get("/bases/?batch=2").get_data(as_text=True)) == {"清华大学", "中国科学院Alpha研究所"}
    html = client.get("/bases/?batch=2&province=北京市&base_type=university").get_data(as_text=True)
    assert _names(html) == {"清华大学"}
    assert "符合条件 1 个" in html
    # The chosen filters stay selected; the province select offers the provinces in use.
    assert '<option value="university" selected>' in html
    assert '<option value="北京市" selected>北京市</option>' in html
    assert '<option value="广东省" >广东省</option>' in html
    # Nonsense filter values are ignored rather than failing.
    assert client.get("/bases/?batch=abc&base_type=zzz&page=-3").status_code == 200


def test_list_empty_states(app, client):
    user_and_login(app, client)
    html = client.get("/bases/").get_data(as_text=True)
    assert 'id="empty-state"' in html and "还没有登记示范基地" in html and "从文件导入" in html
    _seed(app)
    html = client.get("/bases/?q=不存在的基地").get_data(as_text=True)
    assert "没有符合条件的示范基地" in html


def test_list_paginates_and_keeps_filters(make_app):
    app = make_app(PAGE_SIZE=3)
    client = app.test_client()
    user_and_login(app, client)
    with app.app_context():
        for i in range(7):
            make_base(f"翻页测试企业{i}", province="浙江省")
        make_base("其他省份企业", province="江苏省")
        db.session.commit()
    first = client.get("/bases/?province=浙江省").get_data(as_text=True)
    assert len(_names(first)) == 3
    assert "province=%E6%B5%99%E6%B1%9F%E7%9C%81" in first and "page=2" in first, "pager links keep the filter"
    third = client.get("/bases/?province=浙江省&page=3").get_data(as_text=True)
    assert _names(third) == {"翻页测试企业6"}
    assert client.get("/bases/?province=浙江省&page=99").status_code == 200


def test_reviewer_and_host_can_view_but_not_change(app, client):
    ids = _seed(app)
    user_and_login(app, client, Role.REVIEWER)
    html = client.get("/bases/").get_data(as_text=True)
    assert len(_names(html)) == 5
    assert "新增示范基地" not in html and "导出" not in html
    assert client.get(f"/bases/{ids['清华大学']}").status_code == 200
    for path in ["/bases/new", f"/bases/{ids['清华大学']}/edit", "/bases/import", "/bases/export.xlsx", "/bases/export.csv", "/bases/import/template.csv"]:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/bases/{ids['清华大学']}/edit", data={"name": "改名"}).status_code == 403


def test_contacts_only_for_permitted_users(app):
    ids = _seed(app)
    huarun = f"/bases/{ids['中国华润有限公司']}"
    with app.app_context():
        own_base = db.session.get(DemonstrationBase, ids["中国华润有限公司"])
        other_base = db.session.get(DemonstrationBase, ids["清华大学"])
    cases = [
        (Role.ORGANISER, None, True),
        (Role.ASSESSOR, None, True),
        (Role.REVIEWER, None, False),
        (Role.HOST, own_base, True),
        (Role.HOST, other_base, False),
    ]
    for role, base, visible in cases:
        client = app.test_client()
        user_and_login(app, client, role, base=base)
        page = client.get(huarun).get_data(as_text=True)
        listing = client.get("/bases/").get_data(as_text=True)
        assert ("010-68501981" in page) is visible, (role, base)
        assert ("010-68501981" in listing) is visible, (role, base)
        if not visible:
            assert "联系方式仅对组织方、第三方评估和本基地用户可见" in page


def test_base_page_shows_theme_day_eligibility(app, client):
    user_and_login(app, client)
    ids = _seed(app)
    html = client.get(f"/bases/{ids['中国华润有限公司']}").get_data(as_text=True)
    assert "可以承办“融通创新”主题日" in html and "不能承办" not in html
    for name, label in [("深圳市南山区", "区域示范基地"), ("清华大学", "高校示范基地"), ("中国科学院Alpha研究所", "科研院所示范基地")]:
        html = client.get(f"/bases/{ids[name]}").get_data(as_text=True)
        assert "不能承办“融通创新”主题日" in html
        assert f"主题日只由企业示范基地承办；本基地是{label}" in html
    listing = client.get("/bases/").get_data(as_text=True)
    assert listing.count("可承办</span>") == 2
    assert client.get("/bases/999999").status_code == 404


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "新建测试集团有限公司",
        "short_name": "新建集团",
        "batch": "4",
        "direction": "融通创新",
        "base_type": "enterprise",
        "province": "北京市",
        "source": "国办发〔2022〕1号",
        "contact_name": "赵六",
        "contact_phone": "010 6850 1981",
        "contact_email": "ZHAO6@Example.com",
    }
    data.update(overrides)
    return data


def test_create_base_validates_in_chinese_and_keeps_input(app, client):
    user_and_login(app, client)
    assert client.get("/bases/new").status_code == 200
    response = client.post(
        "/bases/new", data=_form(name="", batch="第X批", direction="", base_type="farm", contact_phone="12345", contact_email="nope", short_name="保留的简称")
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for message in ["请填写名称", "批次“第X批”不是有效的数字", "请选择方向", "未知的类型“farm”", "联系电话“12345”格式不正确", "电子邮箱格式不正确"]:
        assert message in html, message
    assert 'value="保留的简称"' in html and 'value="第X批"' in html and 'value="12345"' in html, "typed input is kept"
    assert "invalid-feedback" in html
    with app.app_context():
        assert db.session.scalar(select(DemonstrationBase)) is None


def test_create_base_saves_and_audits(app, client):
    user_and_login(app, client)
    response = client.post("/bases/new", data=_form(batch="第四批"))
    assert response.status_code == 302
    with app.app_context():
        base = db.session.scalar(select(DemonstrationBase))
        assert (base.name, base.batch, base.contact_phone, base.contact_email) == ("新建测试集团有限公司", 4, "010-68501981", "zhao6@example.com")
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "bases.create"))
        assert entry.object_id == str(base.id) and entry.after["name"] == "新建测试集团有限公司"
    assert "已新增示范基地" in client.get(response.headers["Location"]).get_data(as_text=True)
    # The same name again (spaces ignored) is refused next to the field.
    html = client.post("/bases/new", data=_form(name="新建测试集团 有限公司")).get_data(as_text=True)
    assert "已有同名的示范基地" in html


def test_edit_base_unique_name_and_audit(app, client):
    user_and_login(app, client)
    ids = _seed(app)
    base_id = ids["清华大学"]
    form = client.get(f"/bases/{base_id}/edit").get_data(as_text=True)
    assert 'value="清华大学"' in form
    html = client.post(f"/bases/{base_id}/edit", data=_form(name="中国华润有限公司")).get_data(as_text=True)
    assert "已有同名的示范基地" in html
    response = client.post(
        f"/bases/{base_id}/edit",
        data=_form(name="清华大学", short_name="清华", base_type="university", direction="精益创业", batch="2", contact_phone="13900001111"),
    )
    assert response.status_code == 302
    with app.app_context():
        base = db.session.get(DemonstrationBase, base_id)
        assert base.contact_phone == "13900001111" and base.province == "北京市"
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "bases.update"))
        assert entry.object_id == str(base_id)
        assert entry.before["contact_phone"] is None and entry.after["contact_phone"] == "13900001111"
        assert "name" not in entry.after, "only changed fields are recorded"
    # Saving unchanged data records nothing new.
    client.post(
        f"/bases/{base_id}/edit",
        data=_form(name="清华大学", short_name="清华", base_type="university", direction="精益创业", batch="2", contact_phone="13900001111"),
    )
    with app.app_context():
        assert len(list(db.session.scalars(select(AuditLog).where(AuditLog.action == "bases.update")))) == 1


def test_export_csv_has_bom_and_respects_filters(app, client):
    user_and_login(app, client)
    _seed(app)
    response = client.get("/bases/export.csv?base_type=enterprise")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"] and "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["名称", "简称", "批次", "方向", "类型", "省份", "来源", "联系人", "联系电话", "联系邮箱"]
    assert {r[0] for r in rows[1:]} == {"中国华润有限公司", "中国石油天然气集团有限公司"}
    huarun = next(r for r in rows if r[0] == "中国华润有限公司")
    assert huarun[4] == "企业示范基地" and huarun[8] == "010-68501981"
    assert len(list(csv.reader(io.StringIO(client.get("/bases/export.csv").data.decode("utf-8-sig"))))) == 6
    assert client.get("/bases/export.pdf").status_code == 404


def test_export_xlsx_respects_filters_and_reimports(app, client):
    user_and_login(app, client)
    _seed(app)
    response = client.get("/bases/export.xlsx?province=北京市")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    assert rows[0][0] == "名称"
    assert {r[0] for r in rows[1:]} == {"清华大学", "中国科学院Alpha研究所"}
    # An export is a valid import file: after deleting those rows it imports back.
    with app.app_context():
        for base in db.session.scalars(select(DemonstrationBase).where(DemonstrationBase.province == "北京市")):
            db.session.delete(base)
        db.session.commit()
    upload = client.post("/bases/import", data={"file": (io.BytesIO(response.data), "export.xlsx")}, content_type="multipart/form-data")
    assert upload.status_code == 302
    token = upload.headers["Location"].rsplit("/", 1)[-1]
    assert client.post("/bases/import/confirm", data={"token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(DemonstrationBase).where(DemonstrationBase.name == "清华大学")).base_type == "university"


def test_export_neutralises_formulas(app, client):
    user_and_login(app, client)
    with app.app_context():
        make_base('=HYPERLINK("http://evil")')
        db.session.commit()
    rows = list(csv.reader(io.StringIO(client.get("/bases/export.csv").data.decode("utf-8-sig"))))
    assert rows[1][0].startswith("'=")
    sheet = load_workbook(io.BytesIO(client.get("/bases/export.xlsx").data)).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("'=")
