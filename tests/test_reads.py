"""The API's read-only requests (app/api/reads.py) on a live server: the asynchronous session on the read-only
engine answers exactly what the service reads, keeps township scoping and key revocation, and cannot write."""

import asyncio

import httpx
import pytest
from sqlalchemy import text

from app.accounts.permissions import SYSTEM
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import EnterpriseRead
from tests.conftest import PASSWORD, Factory, bearer


@pytest.fixture
def firms(committed):
    """Two committed enterprises (qingquan with figures and an honour, yanzhuang), a read key, a qingquan user."""
    with committed() as s:
        make = Factory(s)
        own = make.enterprise(
            township="qingquan",
            name="清泉读取测试有限公司",
            figures=[{"year": 2025, "revenue_yuan": 21_000_000, "employees": 40, "land_mu": "12.50"}],
            honours=[{"code": "innovative_sme", "level": "provincial", "honour_date": "2025-06-01"}],
        )
        other = make.enterprise(township="yanzhuang")
        key = make.api_key(scopes=("enterprises:read",))
        user = make.user(role="township_staff", township="qingquan")
        s.commit()
        expected = EnterpriseRead.model_validate(
            enterprise_service.read(s, actor=SYSTEM, enterprise_id=own.id)
        ).model_dump(mode="json")
    return {"own": own.id, "other": other.id, "key": key, "user": user.username, "expected": expected}


def test_a_read_on_the_live_server_answers_what_the_service_reads(server, firms):
    with httpx.Client(base_url=server.base, headers=bearer(firms["key"]), timeout=30) as http:
        r = http.get(f"/api/v1/enterprises/{firms['own']}")
        assert r.status_code == 200, r.text
        assert r.json() == firms["expected"]
        assert r.json()["figures"][0]["land_mu"] == "12.50"  # decimals keep their digits
        assert r.headers["etag"] == f'"{firms["expected"]["version"]}"'
        missing = http.get("/api/v1/enterprises/2147483000")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        page = http.get("/api/v1/enterprises", params={"q": "清泉读取测试"}).json()
        assert [i["id"] for i in page["items"]] == [firms["own"]]
        assert page["items"][0]["revenue_yuan"] == 21_000_000
        assert page["year"] == 2025  # the latest figures year, found by the page's own statement
        none = http.get("/api/v1/enterprises", params={"q": "没有这样的企业"}).json()
        assert none == {"items": [], "next_cursor": None, "year": 2025}
        older = http.get("/api/v1/enterprises", params={"q": "清泉读取测试", "year": 2024}).json()
        assert older["year"] == 2024 and older["items"][0]["revenue_yuan"] is None


def test_township_staff_read_their_own_township_only(server, firms):
    with httpx.Client(base_url=server.base, timeout=30) as http:
        http.get("/login")
        r = http.post(
            "/login",
            data={
                "username": firms["user"],
                "password": PASSWORD,
                "csrf_token": http.cookies.get("yumiao_login_csrf"),
            },
        )
        assert r.status_code in (200, 303), r.text
        assert http.get(f"/api/v1/enterprises/{firms['own']}").status_code == 200
        assert http.get(f"/api/v1/enterprises/{firms['other']}").status_code == 404  # another township's
        listed = {i["township"] for i in http.get("/api/v1/enterprises").json()["items"]}
        assert listed == {"qingquan"}


def test_a_key_revoked_behind_the_server_is_refused_at_its_next_read(server, firms, committed):
    with httpx.Client(base_url=server.base, headers=bearer(firms["key"]), timeout=30) as http:
        for _ in range(3):  # now known to the server's process
            assert http.get(f"/api/v1/enterprises/{firms['own']}").status_code == 200
        with committed() as s:
            s.execute(
                text("UPDATE api_key SET revoked_at = now() WHERE key_hash = encode(sha256(:k), 'hex')"),
                {"k": firms["key"].encode()},
            )
            s.commit()
        r = http.get(f"/api/v1/enterprises/{firms['own']}")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert http.get("/api/v1/enterprises").status_code == 401
        # a filtered page checks the key in its own statement, and on its own when it finds nothing
        assert http.get("/api/v1/enterprises", params={"township": "qingquan"}).status_code == 401
        assert http.get("/api/v1/enterprises", params={"q": "没有这样的企业"}).status_code == 401


def test_the_read_only_engine_refuses_a_write(engine):
    """A handler marked read-only that wrote by mistake fails loudly instead of committing by itself."""
    from sqlalchemy.exc import DBAPIError

    from app.db import get_read_sessionmaker

    async def write():
        maker = get_read_sessionmaker()
        assert maker is not None
        async with maker() as session:
            with pytest.raises(DBAPIError) as caught:
                await session.execute(text("UPDATE api_key SET name = name"))
            await session.bind.dispose()
        return caught.value.orig.sqlstate

    assert asyncio.run(write()) == "25006"  # read_only_sql_transaction


@pytest.mark.parametrize(
    "sort", ["name", "-name", "revenue", "-revenue", "created_at", "-created_at", "id", "-id"]
)
def test_the_plain_registry_pages_are_the_pages_of_the_general_query(db, make, sort):
    """The unfiltered list (one statement built once) walks the same pages, with the same cursors, as the
    general query does (forced here by a township filter that every township passes)."""
    from app.enterprises.service import ListFilters, list_page
    from app.reference import township_names

    for i in range(7):
        make.enterprise(
            township=["qingquan", "yanzhuang", "dianzi"][i % 3],
            name=f"分页测试{i % 4}有限公司{i}",
            figures=[{"year": 2025, "revenue_yuan": [5_000_000, None, 9_000_000][i % 3]}],
        )
    viewer = make.user(role="township_staff", township="qingquan")
    from app.accounts.permissions import user_principal

    for actor in (SYSTEM, user_principal(viewer)):
        walks = []
        for filters in (ListFilters(), ListFilters(township=list(township_names()))):
            seen, cursor = [], None
            while True:
                rows, cursor, year = list_page(
                    db, actor=actor, filters=filters, sort=sort, cursor=cursor, limit=2, columns=("township",)
                )
                seen.append(([(r.id, r.township, rev) for r, rev in rows], cursor, year))
                if cursor is None:
                    break
            walks.append(seen)
        assert walks[0] == walks[1]
        assert sum(len(page) for page, _, _ in walks[0]) >= (7 if actor is SYSTEM else 3)


def test_matching_and_the_change_feed_answer_on_the_read_only_engine(server, firms, committed):
    with committed() as s:
        key = Factory(s).api_key(scopes=("policies:read", "changes:read", "enterprises:read"), name="feed")
        uscc = s.execute(text("SELECT uscc FROM enterprise WHERE id = :i"), {"i": firms["own"]}).scalar_one()
        s.commit()
    with httpx.Client(base_url=server.base, headers=bearer(key), timeout=30) as http:
        by_id = http.get(
            f"/api/v1/enterprises/{firms['own']}/eligible-policies", params={"as_of": "2023-06-30"}
        )
        assert by_id.status_code == 200, by_id.text
        assert by_id.json()["enterprise"]["id"] == firms["own"] and by_id.json()["documents_in_force"]
        by_uscc = http.get(
            f"/api/v1/enterprises/by-uscc/{uscc}/eligible-policies", params={"as_of": "2023-06-30"}
        )
        assert by_uscc.json() == by_id.json()
        assert http.get("/api/v1/enterprises/2147483000/eligible-policies").status_code == 404
        feed = http.get("/api/v1/changes", params={"entity_type": "enterprise", "limit": 500}).json()
        created = {c["enterprise_id"] for c in feed["items"] if c["action"] == "create"}
        assert {firms["own"], firms["other"]} <= created
        again = http.get(
            "/api/v1/changes", params={"cursor": feed["next_cursor"], "entity_type": "enterprise"}
        )
        assert again.status_code == 200 and again.json()["items"] == []


def test_a_list_page_is_the_schema_in_its_order(client, make):
    """The list writes its rows without a second check: every page, filtered or not, is what the schema says."""
    from app.enterprises.schemas import EnterprisePage, EnterpriseSummary

    key = make.api_key(scopes=("enterprises:read",))
    make.enterprise(township="qingquan", figures=[{"year": 2025, "revenue_yuan": 7_000_000}])
    make.enterprise(township="dianzi", mu_class="A", above_scale=True)
    for params in ({}, {"township": "qingquan"}, {"sort": "-revenue", "limit": 1}):
        r = client.get("/api/v1/enterprises", headers=bearer(key), params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        page = r.json()
        assert EnterprisePage.model_validate(page).model_dump(mode="json") == page
        assert page["items"] and all(list(i) == list(EnterpriseSummary.model_fields) for i in page["items"])


def test_a_key_revoked_behind_the_server_is_refused_at_its_next_write_and_feed_read(server, committed):
    """The writes and the change feed check the request's key in their first statement (the path's enterprise,
    the feed's horizon): a key revoked in the database is refused there, and nothing is written."""
    with committed() as s:
        make = Factory(s)
        ent = make.enterprise(township="qingquan", figures=[{"year": 2024, "revenue_yuan": 5_000_000}])
        key = make.api_key(scopes=("enterprises:read", "enterprises:write", "platform:write", "changes:read"))
        s.commit()
        uscc, ent_id = ent.uscc, ent.id
    with httpx.Client(base_url=server.base, headers=bearer(key), timeout=30) as http:
        for _ in range(3):  # now known to the server's process
            tag = http.get(f"/api/v1/enterprises/{ent_id}").headers["etag"]
            assert http.get("/api/v1/changes").status_code == 200
        with committed() as s:
            audits = s.execute(text("SELECT count(*) FROM audit_entry")).scalar()
            s.execute(
                text("UPDATE api_key SET revoked_at = now() WHERE key_hash = encode(sha256(:k), 'hex')"),
                {"k": key.encode()},
            )
            s.commit()
        answers = [
            http.patch(f"/api/v1/enterprises/{ent_id}", headers={"If-Match": tag}, json={"chain": "轴承"}),
            http.patch("/api/v1/enterprises/2147483000", headers={"If-Match": tag}, json={"chain": "轴承"}),
            http.put(
                f"/api/v1/enterprises/{ent_id}/figures/2024",
                json={"year": 2024, "revenue_yuan": 7_000_000},
            ),
            http.put(f"/api/v1/platform/registrations/{uscc}", json={"registered_date": "2023-05-06"}),
            http.get("/api/v1/changes"),
        ]
        assert [r.status_code for r in answers] == [401] * 5, [r.text for r in answers]
        assert {r.json()["code"] for r in answers} == {"unauthorized"}
    with committed() as s:
        assert s.execute(text("SELECT count(*) FROM audit_entry")).scalar() == audits
        row = s.execute(
            text("SELECT chain, platform_registered_date, version FROM enterprise WHERE id = :i"),
            {"i": ent_id},
        ).one()
        assert row.chain != "轴承" and row.platform_registered_date is None and f'"{row.version}"' == tag
