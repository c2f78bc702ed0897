"""Every export holds exactly the rows the list shows under the same filters (two or more set).

The export link is taken from the page as a browser reads it (HTML-unescaped href), the list is followed page
by page through its own pager, and the file's rows are compared with the screen's — ids, not just counts.
"""

import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.cli import _demo_extras
from app.demo import seed
from app.enterprises.models import Enterprise
from tests.conftest import login


@pytest.fixture
def demo(db, make):
    seed.load(db, 600, seed=11)
    _demo_extras(db)
    db.flush()
    return db


def _href(page: str, link_id: str) -> str:
    m = re.search(rf'<a [^>]*id="{link_id}"[^>]*href="([^"]+)"', page) or re.search(
        rf'<a [^>]*href="([^"]+)"[^>]*id="{link_id}"', page
    )
    assert m, f"no link #{link_id} on the page"
    return html.unescape(m.group(1))


def _screen(client, url: str, row_pattern: str) -> tuple[list[str], str]:
    """Every row of the list, following its pager; returns (row keys, the first page's HTML)."""
    keys: list[str] = []
    first = None
    while url:
        page = client.get(url).text
        first = first or page
        keys += re.findall(row_pattern, page)
        nxt = re.search(r'<a id="next-page" href="([^"]+)"', page)
        url = html.unescape(nxt.group(1)) if nxt else None
    return keys, first


def _total(page: str) -> int:
    return int(re.search(r'id="list-total">共 <strong>([\d,]+)</strong>', page).group(1).replace(",", ""))


def _column(content: bytes, header: str, sheet: str | None = None) -> list:
    wb = load_workbook(io.BytesIO(content))
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    i = list(rows[0]).index(header)
    return [r[i] for r in rows[1:] if r[i] is not None]


def _column_all(content: bytes, starts: str) -> list:
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    i = next(i for i, h in enumerate(rows[0]) if str(h).split(" 年")[-1].startswith(starts))
    return [r[i] for r in rows[1:]]


def test_enterprise_export_holds_the_listed_rows(client, make, demo):
    login(client, make.user())
    ids, page = _screen(
        client,
        "/enterprises?township=qingquan&above_scale=false&size=small&sort=-revenue",
        r'<tr>\s*<td><a href="/enterprises/(\d+)">',
    )
    assert len(ids) > 5 and _total(page) == len(ids)
    href = _href(page, "export-link")
    assert "township=qingquan" in href and "above_scale=false" in href and "size=small" in href
    file_codes = _column(client.get(href).content, "统一社会信用代码")
    by_id = dict(demo.execute(select(Enterprise.id, Enterprise.uscc)).all())
    assert file_codes == [by_id[int(i)] for i in ids]  # same rows, same order
    flags = _column(client.get(href).content, "是否规上")
    assert set(flags) == {"否"}
    # The list as htmx swaps it in after a filter changes carries the same link (no script rewrites it).
    fragment = client.get(
        "/enterprises?township=qingquan&above_scale=false&size=small&sort=-revenue",
        headers={"HX-Request": "true"},
    ).text
    assert "<html" not in fragment and _href(fragment, "export-link") == href


def test_pool_member_export_holds_the_listed_rows(client, make, demo):
    login(client, make.user())
    ids, page = _screen(
        client,
        "/pools/primary_pool?tab=members&township=qingquan&township=kaifaqu&candidacy=met",
        r'<tr id="m-\d+">\s*<td><a href="/enterprises/(\d+)">',
    )
    assert ids and _total(page) == len(ids)
    href = _href(page, "export-link")
    assert href.count("township=") == 2 and "candidacy=met" in href
    by_id = dict(demo.execute(select(Enterprise.id, Enterprise.uscc)).all())
    assert _column(client.get(href).content, "统一社会信用代码") == [by_id[int(i)] for i in ids]


def test_pool_candidate_export_holds_the_listed_rows(client, make, demo):
    login(client, make.user())
    ids, page = _screen(
        client,
        "/pools/yumiao_pool?tab=candidates&township=qingquan&candidacy=judgement",
        r'<tr id="c-(\d+)">',
    )
    assert ids and _total(page) == len(ids)
    href = _href(page, "export-link")
    assert "township=qingquan" in href and "candidacy=judgement" in href and "candidates.xlsx" in href
    by_id = dict(demo.execute(select(Enterprise.id, Enterprise.uscc)).all())
    content = client.get(href).content
    assert _column(content, "统一社会信用代码") == [by_id[int(i)] for i in ids]  # ranked the same way
    assert set(_column(content, "判断")) == {"待人工判断"}
    revenues = [v if v is not None else -1 for v in _column_all(content, "营业收入")]
    assert revenues == sorted(revenues, reverse=True)  # the closest to the next step first


def test_award_ledger_export_holds_the_listed_rows(client, make, demo):
    login(client, make.user())
    ids, page = _screen(client, "/awards?status=approved&funder=county", r'<tr id="line-(\d+)">')
    assert ids and _total(page) == len(ids)
    href = _href(page, "ledger-link")
    assert "status=approved" in href and "funder=county" in href
    content = client.get(href).content
    assert sorted(_column(content, "编号", "奖补台账")) == sorted(int(i) for i in ids)
    # 全部 (status=) is a filter too: the file then holds every state, as the list does.
    ids, page = _screen(client, "/awards?status=&funder=county&year=2023", r'<tr id="line-(\d+)">')
    href = _href(page, "ledger-link")
    assert sorted(_column(client.get(href).content, "编号", "奖补台账")) == sorted(int(i) for i in ids)
