"""The county matrix and the R&D trend are cached per data version (app/datacache.py): what the dashboard shows
always equals a fresh computation — after a change through the application, and after one made in SQL behind
its back — and an unchanged database is served from the cache."""

import re
from datetime import date

from sqlalchemy import text

from app import datacache
from app.accounts import service as accounts
from app.accounts.permissions import SYSTEM
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import EnterpriseCreate, HonourIn
from app.targets import progress
from app.targets import service as target_service
from tests.conftest import PASSWORD, login

AS_OF = date(2023, 12, 31)
CELL = re.compile(
    r'href="/targets/2023/cells/high_tech\?township=qingquan[^"]*"[^>]*>(\d+)</a><span class="t">/2</span>'
)


def _firm(s, n: int, when: str):
    import random

    from app.enterprises.uscc import generate

    data = EnterpriseCreate.model_validate(
        {
            "uscc": generate(random.Random(f"cache-{n}")),
            "name": f"缓存测试{n}有限公司",
            "township": "qingquan",
            "size": "small",
            "honours": [{"code": "high_tech", "level": "national", "outcome": "new", "honour_date": when}],
        }
    )
    return enterprise_service.create(s, actor=SYSTEM, data=data)


def _fresh(committed) -> dict:
    """Every cell of the matrix computed now, bypassing the cache."""
    with committed() as s:
        ts = target_service.get_set(s, actor=SYSTEM, key="2023")
        m = progress.compute(s, actor=SYSTEM, target_set=ts, as_of=AS_OF)
        return _cells(m)


def _cells(m) -> dict:
    return {(r.indicator.code, t): (c.actual, c.status) for r in m.rows for t, c in r.townships.items()} | {
        (r.indicator.code, "county"): (r.county.actual, r.county.status) for r in m.rows if r.county
    }


def test_dashboard_numbers_equal_a_fresh_computation_after_every_change(app, committed):
    from fastapi.testclient import TestClient

    with committed() as s:
        target_service.install_reference(s)
        user = accounts.create_user(s, username="cache-viewer", password=PASSWORD, role="county_viewer")
        first = _firm(s, 1, "2023-05-01")
        s.commit()
    datacache.clear()

    def shown(c) -> int:
        page = c.get("/dashboard", params={"key": "2023", "as_of": AS_OF.isoformat()}).text
        return int(CELL.search(page).group(1))

    def cached_matrix() -> dict:
        with committed() as s:
            return _cells(target_service.progress_matrix(s, actor=SYSTEM, key="2023", as_of=AS_OF))

    with TestClient(app) as c:
        login(c, user)
        assert shown(c) == 1 and cached_matrix() == _fresh(committed)
        hits = datacache.stats["hits"]
        assert shown(c) == 1 and datacache.stats["hits"] > hits  # unchanged data: served from the cache

        # A change through the application: a second 高新技术企业 in 清泉街道.
        with committed() as s:
            _firm(s, 2, "2023-06-01")
            s.commit()
        assert shown(c) == 2 and cached_matrix() == _fresh(committed)

        # A change in SQL, behind the application's back: the first firm's honour was in fact refused.
        with committed() as s:
            s.execute(
                text("UPDATE honour SET outcome = 'rejected' WHERE enterprise_id = :e"), {"e": first.id}
            )
            s.commit()
        assert shown(c) == 1 and cached_matrix() == _fresh(committed)

        # Another honour recorded through the service (its own code path: events, awards).
        with committed() as s:
            enterprise_service.add_honour(
                s,
                actor=SYSTEM,
                enterprise_id=first.id,
                honour=HonourIn(
                    code="high_tech", level="national", outcome="renewed", honour_date=date(2023, 9, 1)
                ),
            )
            s.commit()
        assert cached_matrix() == _fresh(committed)


def test_a_transaction_that_has_written_bypasses_the_cache(db, reference):
    """Its own uncommitted rows are not in the data version yet: it must compute, and store nothing."""
    datacache.clear()
    _firm(db, 3, "2023-05-01")
    db.flush()
    assert datacache.current(db) is None
    m = target_service.progress_matrix(db, actor=SYSTEM, key="2023", as_of=AS_OF)
    assert m.rows and not datacache._cache


TOWN_CELL = re.compile(r'href="/targets/2023/cells/high_tech\?township=qingquan[^"]*">(\d+)</a>')


def test_rendered_boards_equal_a_fresh_computation_after_a_change(app, committed):
    """The county and township boards are cached as rendered HTML per data version: a view after a change shows
    the fresh count on both, a view without one is served from the cache, and the township's awards card (award
    lines do not move the data version) is rendered for every view."""
    from fastapi.testclient import TestClient

    with committed() as s:
        target_service.install_reference(s)
        county = accounts.create_user(s, username="board-county", password=PASSWORD, role="county_viewer")
        town = accounts.create_user(
            s, username="board-town", password=PASSWORD, role="township_staff", township="qingquan"
        )
        _firm(s, 11, "2023-05-01")
        s.commit()
    datacache.clear()
    q = {"key": "2023", "as_of": AS_OF.isoformat()}

    def fresh() -> int:
        return _fresh(committed)[("high_tech", "qingquan")][0]

    with TestClient(app) as cc, TestClient(app) as tc:
        login(cc, county)
        login(tc, town)

        def shown() -> tuple[int, int, str]:
            county_page = cc.get("/dashboard", params=q).text
            town_page = tc.get("/dashboard", params=q).text
            return (
                int(CELL.search(county_page).group(1)),
                int(TOWN_CELL.search(town_page).group(1)),
                town_page,
            )

        c1, t1, page = shown()
        assert c1 == t1 == fresh() == 1
        assert 'id="township-awards"' in page and "本乡镇奖补" in page
        hits = datacache.stats["hits"]
        assert shown()[:2] == (1, 1) and datacache.stats["hits"] >= hits + 2  # both boards from the cache
        # htmx asks for the board alone: the same cached HTML
        frag = tc.get("/dashboard", params=q, headers={"HX-Request": "true"}).text
        assert int(TOWN_CELL.search(frag).group(1)) == 1 and "<html" not in frag

        with committed() as s:
            _firm(s, 12, "2023-06-01")
            s.commit()
        c2, t2, _ = shown()
        assert c2 == t2 == fresh() == 2
