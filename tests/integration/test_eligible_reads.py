"""What policy matching reads: on PostgreSQL one statement for the enterprise, its facts and what is published,
the same values the general loader reads; on SQLite (`make run`) the general loader itself."""

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.enterprises import snapshot
from app.integration import matching
from app.integration import service as integration_service
from app.policies import store as policy_store
from app.pools import store as pool_store

AS_OF = dt.date(2023, 6, 30)

FIGURES = [
    {"year": 2022, "revenue_yuan": 18_000_000, "main_revenue_yuan": 17_500_000, "land_mu": "12.50"},
    {
        "year": 2023,
        "revenue_yuan": 21_000_000,
        "rd_spend_yuan": 900_000,
        "energy_tce": "301.25",
        "employees": 40,
    },
]
HONOURS = [
    {"code": "specialized_sme", "level": "provincial", "outcome": "new", "honour_date": "2023-05-10"},
    {"code": "innovative_sme", "level": "provincial", "outcome": "new", "honour_date": "2022-03-01"},
    {"code": "high_tech", "level": "national", "outcome": "rejected", "honour_date": "2021-11-20"},
]


def _answer(session, ent_id):
    found = integration_service.eligible_policies(session, actor=SYSTEM, enterprise_id=ent_id, as_of=AS_OF)
    firm = snapshot.load(session, [ent_id], pools=True)[ent_id]
    fresh = matching.match(
        firm, as_of=AS_OF, policy_set=policy_store.current(session), pools=pool_store.pools(session, AS_OF)
    )
    return found, firm, fresh


def test_postgresql_reads_the_enterprise_its_facts_and_what_is_published_in_one_statement(db, make, stay):
    ent = make.enterprise(industry="C3311", above_scale=False, figures=FIGURES, honours=HONOURS)
    stay(ent, "primary_pool", dt.date(2022, 4, 1))
    stay(ent, "yumiao_pool", dt.date(2021, 4, 1), left=dt.date(2022, 4, 1))  # left: not a current membership
    integration_service.eligible_policies(db, actor=SYSTEM, enterprise_id=ent.id, as_of=AS_OF)  # parsed once
    db.commit()  # the next request's transaction
    statements = []
    event.listen(db.connection(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    found = integration_service.eligible_policies(db, actor=SYSTEM, enterprise_id=ent.id, as_of=AS_OF)
    statements = [s for s in statements if "SAVEPOINT" not in s]  # the test's own transaction
    assert len(statements) == 1, statements
    db.commit()
    statements.clear()
    (item,) = integration_service.eligible_policies_batch(
        db, actor=SYSTEM, enterprise_ids=[], usccs=[ent.uscc], as_of=AS_OF
    )
    assert len([s for s in statements if "SAVEPOINT" not in s]) == 1
    assert item.eligibility.enterprise == found.enterprise and item.eligibility.matches == found.matches

    firm = snapshot.load(db, [ent.id], pools=True)[ent.id]
    assert found.enterprise == firm  # figures (decimals with their digits), honours in order, memberships
    assert firm.figures[2022]["land_mu"] == Decimal("12.50") and firm.pools == {
        "primary_pool": dt.date(2022, 4, 1)
    }
    fresh = matching.match(
        firm, as_of=AS_OF, policy_set=policy_store.current(db), pools=pool_store.pools(db, AS_OF)
    )
    assert found.matches == fresh and found.matches


def test_an_unknown_or_invisible_enterprise_is_a_404_in_one_statement_too(db, make):
    import pytest

    from app.accounts.permissions import Principal
    from app.errors import NotFound

    ent = make.enterprise(township="qingquan")
    other = Principal(
        kind="user",
        id=1,
        name="t",
        role="township_staff",
        township="chongwen",
        scopes=frozenset({"policies:read"}),
    )
    with pytest.raises(NotFound):
        integration_service.eligible_policies(db, actor=other, enterprise_id=ent.id, as_of=AS_OF)
    with pytest.raises(NotFound):
        integration_service.eligible_policies(db, actor=SYSTEM, enterprise_id=2**31 - 1, as_of=AS_OF)


def test_sqlite_matches_on_the_general_loader(tmp_path):
    from app.cli import run_migrations
    from app.enterprises import service as enterprise_service
    from app.enterprises.schemas import EnterpriseCreate
    from app.enterprises.uscc import generate

    url = f"sqlite:///{tmp_path / 'match.db'}"
    run_migrations(url)
    eng = create_engine(url)
    with Session(eng) as s:
        data = {
            "uscc": generate(__import__("random").Random("sqlite-match")),
            "name": "匹配测试企业有限公司",
            "township": "qingquan",
            "size": "small",
            "ownership": "private",
            "industry": "C3311",
            "above_scale": False,
            "figures": FIGURES,
            "honours": HONOURS,
        }
        ent = enterprise_service.create(s, actor=SYSTEM, data=EnterpriseCreate.model_validate(data))
        s.commit()
        found, firm, fresh = _answer(s, ent.id)
        assert found.enterprise == firm and found.matches == fresh and found.matches
        by_id, missing, by_uscc = integration_service.eligible_policies_batch(
            s, actor=SYSTEM, enterprise_ids=[ent.id, ent.id + 1], usccs=[ent.uscc], as_of=AS_OF
        )
        assert (
            by_id.eligibility.matches == by_uscc.eligibility.matches == fresh and missing.eligibility is None
        )
    eng.dispose()


def _page(session, ent_id, as_of=AS_OF):
    from app.api import integration as api

    found = integration_service.eligible_policies(session, actor=SYSTEM, enterprise_id=ent_id, as_of=as_of)
    return json.loads(api._page(found, None, 100))


def _forget_what_matching_keeps():
    from app.api import integration as api

    for kept in (
        matching._RESULTS,
        matching._BY_PROFILE,
        matching._BY_HELD,
        matching._IN_FORCE,
        matching._ENTRY_MATCHES,
        matching._CONDITIONS,
        api._READS,
    ):
        kept.clear()


def test_answers_kept_for_firms_alike_are_the_answers_made_afresh(db, make):
    fields = {"industry": "C3311", "above_scale": False, "size": "small"}
    plain = make.enterprise(**fields, figures=FIGURES)
    holder = make.enterprise(**fields, figures=FIGURES, honours=HONOURS)
    alike = make.enterprise(**fields, figures=FIGURES[:1], honours=HONOURS)  # other figures, the same honours
    held_later = make.enterprise(
        **fields, figures=FIGURES, honours=[{**HONOURS[0], "honour_date": "2023-07-10"}]
    )
    shifted = [{**h, "honour_date": h["honour_date"].replace("202", "201")} for h in HONOURS]
    other_dates = make.enterprise(**fields, figures=FIGURES, honours=shifted)  # the same honours recorded
    firms = [plain, holder, alike, held_later, other_dates] * 2
    days = [AS_OF, dt.date(2024, 3, 1)]
    kept = [_page(db, f.id, day) for day in days for f in firms]  # the later ones from what was kept
    fresh = []
    for day in days:
        for f in firms:
            _forget_what_matching_keeps()  # each judged alone
            fresh.append(_page(db, f.id, day))
    assert kept == fresh
    by_firm = {f.id: {i["id"]: i for i in kept[n]["items"]} for n, f in enumerate(firms[:4])}
    # The honours tell the firms apart: 省级专精特新 held is no longer something to aim for.
    assert "pool:specialized_sme_pool.candidate" in by_firm[plain.id]
    assert "pool:specialized_sme_pool.candidate" not in by_firm[holder.id]


def test_a_published_pool_definition_is_seen_by_the_next_request(db, make):
    ent = make.enterprise(industry="C3311", above_scale=False, size="small", figures=FIGURES)
    db.commit()
    (before,) = [i for i in _page(db, ent.id)["items"] if i["id"] == "pool:yumiao_pool.high_growth"]
    assert before["title"].endswith("：高成长性中小企业")
    pool_store.copy_as_draft(db, actor=SYSTEM)
    pool_store.save_class(
        db, actor=SYSTEM, pool_code="yumiao_pool", class_code="high_growth", fields={"name": "高成长性企业"}
    )
    pool_store.publish(db, actor=SYSTEM, effective_from=dt.date(2023, 1, 1))
    db.commit()
    (after,) = [i for i in _page(db, ent.id)["items"] if i["id"] == "pool:yumiao_pool.high_growth"]
    assert after["title"].endswith("：高成长性企业") and after["conditions"] == before["conditions"]


def test_the_answers_are_written_as_their_schemas_show_them(client, make):
    from app.integration.schemas import EligibilityBatchOut, EligiblePolicyPage
    from tests.conftest import bearer

    key = make.api_key(scopes=("policies:read",))
    ent = make.enterprise(industry="C3311", above_scale=True, figures=FIGURES, honours=HONOURS)
    r = client.get(
        f"/api/v1/enterprises/{ent.id}/eligible-policies",
        headers=bearer(key),
        params={"as_of": AS_OF.isoformat(), "limit": 3},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    page = EligiblePolicyPage.model_validate_json(r.content)
    assert page.model_dump_json().encode() == r.content and page.next_cursor and page.items[0].event_date
    r = client.post(
        "/api/v1/eligible-policies:batch",
        headers=bearer(key),
        json={"enterprise_ids": [ent.id, 2**31 - 1], "usccs": [ent.uscc], "as_of": AS_OF.isoformat()},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out = EligibilityBatchOut.model_validate_json(r.content)
    assert out.model_dump_json().encode() == r.content
    assert [x.found for x in out.results] == [True, False, True] and out.results[0].items[0].amount
