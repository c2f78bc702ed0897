"""Every page, rendered with demo data for each role, speaks Chinese: no known code (pool, entry class, rule,
fund, status, permission, field …) is shown as main text. Codes may appear as secondary text — inside
<code>, an element of class "muted", or an attribute (a link, a select's value)."""

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app import labels
from app.awards.models import AwardLine
from app.cli import _demo_extras
from app.demo import seed
from app.enterprises.models import Enterprise
from app.pools.definitions import load_pools
from app.pools.models import PoolMembership
from app.reports.models import MonthlyFiling
from tests.conftest import login

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SECONDARY_TAGS = {"script", "style", "code", "textarea", "template", "title", "pre"}


class MainText(HTMLParser):
    """The text a person reads first: outside <code>, .muted and scripts."""

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        cls = dict(attrs).get("class") or ""
        self.stack.append(tag in SECONDARY_TAGS or "muted" in cls.split())

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.parts.append(data)


def main_text(page: str) -> str:
    p = MainText()
    p.feed(page)
    return " ".join(p.parts)


def _codes() -> dict[str, str]:
    """Known codes that look like codes (ASCII identifiers), with their Chinese names."""
    return {
        c: n for c, n in labels.known_codes().items() if re.fullmatch(r"[a-z][a-z0-9_.:\-]{2,}", c) and n != c
    }


def shown_codes(text: str, codes: dict[str, str]) -> set[str]:
    found = set()
    for token in re.findall(r"[A-Za-z][A-Za-z0-9_.:\-]*[A-Za-z0-9]", text):
        if token in codes:
            found.add(token)
    return found


@pytest.fixture
def demo(db, make):
    seed.load(db, 400, seed=7)
    _demo_extras(db)
    db.flush()
    return db


def _pages(db) -> list[str]:
    ent_id = db.scalar(
        select(PoolMembership.enterprise_id).where(PoolMembership.left_date.is_(None)).limit(1)
    )
    line_id = db.scalar(select(AwardLine.id).limit(1))
    filed = db.scalar(select(MonthlyFiling.enterprise_id).limit(1)) or ent_id
    month = db.scalar(
        select(MonthlyFiling.year * 100 + MonthlyFiling.month).order_by(MonthlyFiling.period.desc()).limit(1)
    )
    month_text = f"{month // 100}-{month % 100:02d}" if month else "2026-10"
    pools = list(load_pools())
    pages = [
        "/dashboard",
        "/enterprises",
        "/enterprises/new",
        "/enterprises/import",
        "/pools",
        "/pools/mu",
        "/targets",
        "/targets/2023",
        "/filings",
        f"/filings/{month_text}/overdue",
        f"/filings/{month_text}/grid?township=qingquan",
        f"/filings/enterprises/{filed}",
        "/awards",
        "/awards?status=",
        "/awards/funds",
        "/awards/forecast",
        "/awards/forecast?scenario=candidates",
        "/awards/notice?year=2023",
        "/policies",
        "/policies/gz2022-9",
        "/policies/gzb2023-7",
    ]
    pages += [f"/enterprises/{ent_id}?tab={t}" for t in ("overview", "figures", "honours", "history")]
    pages += [f"/enterprises/{ent_id}/edit"]
    for code in pools[:3]:
        pages += [f"/pools/{code}?tab={t}" for t in ("members", "candidates", "graduations", "history")]
        pages += [f"/pools/{code}/review"]
    if line_id:
        pages.append(f"/awards/lines/{line_id}")
    return pages


@pytest.mark.parametrize(
    "role,township", [("county_admin", None), ("county_viewer", None), ("township_staff", "qingquan")]
)
def test_no_page_shows_a_code_as_main_text(client, make, demo, role, township):
    codes = _codes()
    assert {"intermediate_pool", "proposed", "enterprises:write", "gz2022-9.fund.county"} <= set(codes)
    if township:  # something of theirs in the history tab
        ent = demo.scalar(select(Enterprise).where(Enterprise.township == township).limit(1))
    login(client, make.user(role, township))
    problems = {}
    for url in _pages(demo):
        r = client.get(url)
        if r.status_code == 403 and role != "county_admin" or r.status_code == 404 and township:
            continue  # a page to change things, another township's record
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        found = shown_codes(main_text(r.text), codes)
        if found:
            problems[url] = {c: codes[c] for c in found}
    if township:
        r = client.get(f"/enterprises/{ent.id}?tab=history")
        assert r.status_code == 200
    assert not problems, problems


def test_a_refusal_names_the_permission_in_words(client, make):
    login(client, make.user("county_viewer"))
    r = client.get("/enterprises/new")
    assert r.status_code == 403
    text = main_text(r.text)
    assert "登记和修改企业" in text and "enterprises:write" not in text
