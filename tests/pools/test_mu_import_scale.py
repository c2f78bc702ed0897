"""亩产效益评价名单 import at its size limit: 50,000 bad rows are refused in linear time, with the first
200 errors listed and one entry counting the rest (not a 7 MB answer)."""

import io
import random
import time

import pytest
import xlsxwriter

from app.accounts.permissions import SYSTEM
from app.enterprises.excel import ImportRejected
from app.enterprises.uscc import generate
from app.pools import mu_records


def _list(rows: int) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["统一社会信用代码", "亩产效益类别"])
    rng = random.Random(50_000)
    for i in range(1, rows + 1):
        ws.write_row(i, 0, [generate(rng), "A"])  # valid codes of enterprises nobody registered
    wb.close()
    return buf.getvalue()


def test_50000_unregistered_rows_are_refused_quickly_with_capped_errors(db):
    data = _list(50_000)
    start = time.perf_counter()
    with pytest.raises(ImportRejected) as e:
        mu_records.import_mu_classes(db, actor=SYSTEM, year=2023, data=data)
    elapsed = time.perf_counter() - start
    print(f"\n50,000 rows refused in {elapsed:.1f} s")
    errors = e.value.errors
    assert e.value.total_errors == 50_000
    assert len(errors) == ImportRejected.MAX_LISTED + 1
    assert errors[0].row == 2 and "未在企业名录中登记" in errors[0].message
    assert "另有 49800 处错误未列出" in errors[-1].message
    assert "共 50000 处错误" in e.value.detail
    assert elapsed < 30
