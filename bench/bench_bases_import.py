"""Benchmark: parse, preview and import a 10,000-row base registry file; list and filter.

Usage: .venv/bin/python -m bench.bench_bases_import [DATABASE_URL | --postgres]
Without an argument it uses a fresh SQLite file in a temporary folder; ``--postgres`` starts a
throwaway PostgreSQL (as the test suite does). Prints seconds per step.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time

from sqlalchemy import delete

from eventhub import create_app
from eventhub.bases import services
from eventhub.bases.models import DemonstrationBase
from eventhub.extensions import db

ROWS = 10_000
PROVINCES = ["北京市", "上海市", "广东省", "江苏省", "浙江省", "四川省", "陕西省", "中央企业"]
TYPES = ["region", "enterprise", "university", "institute"]
DIRECTIONS = ["创业就业", "融通创新", "精益创业", "全球化创业"]


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "short_name", "batch", "direction", "base_type", "province", "source", "contact_name", "contact_phone", "contact_email"])
    for i in range(rows):
        writer.writerow(
            [
                f"基准测试示范基地{i:05d}",
                f"基准{i}",
                1 + i % 3,
                DIRECTIONS[i % 4],
                TYPES[i % 4],
                PROVINCES[i % 8],
                "bench",
                "张三",
                f"138{i:08d}",
                f"c{i}@example.com",
            ]
        )
    return out.getvalue().encode("gb18030")  # GBK, as Chinese Excel exports it


def timed(label: str, func):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    result = func()
    print(f"{label:<38} {time.perf_counter() - start:7.3f} s")
    return result


def main() -> None:
    tmp = tempfile.mkdtemp()
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg == "--postgres":
        from tests.pgserver import PostgresServer

        server = PostgresServer().start()
        try:
            run(server.create_database("bench"), tmp)
        finally:
            server.stop()
    else:
        run(arg or f"sqlite:///{tmp}/bench.sqlite", tmp)


def run(url: str, tmp: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 10}, instance_path=tmp)
    data = make_csv(ROWS)
    print(f"database: {url.split('@')[-1]}   rows: {ROWS}   file: {len(data) / 1e6:.1f} MB (GBK CSV)")
    with app.app_context():
        db.create_all()
        db.session.execute(delete(DemonstrationBase).where(DemonstrationBase.source == "bench"))
        db.session.commit()
        preview = timed("parse + validate (preview)", lambda: services.parse_import(data, "bench.csv", max_rows=ROWS))
        assert not preview.errors, preview.errors[:3]
        token = timed("save pending preview", lambda: services.save_pending(tmp, preview, None))
        loaded = timed("load pending preview", lambda: services.load_pending(tmp, token, None))
        count = timed("commit import (one transaction)", lambda: (services.commit_import(loaded), db.session.commit())[0])
        print(f"{'imported rows':<38} {count:7d}")
        filters = services.BaseFilters(q="00042")
        timed("search page (q=00042)", lambda: services.list_bases(filters, page=1).items)
        filters = services.BaseFilters(province="广东省", base_type="enterprise")
        timed("filtered page 50 (province+type)", lambda: services.list_bases(filters, page=50).items)
        timed("export XLSX (all rows)", lambda: services.export_xlsx(services.BaseFilters()))
        db.session.execute(delete(DemonstrationBase).where(DemonstrationBase.source == "bench"))
        db.session.commit()


if __name__ == "__main__":
    main()
