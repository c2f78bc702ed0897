"""The enterprise JSON API: create, read, PATCH with ETag, soft delete, list, idempotency, problems."""

from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.enterprises.models import Enterprise
from app.enterprises.uscc import check_char
from tests.conftest import bearer

VALID = "91350100M000100Y43"


def body(**kw):
    return {"uscc": VALID, "name": "冠县恒通机械有限公司", "township": "qingquan", "size": "small", **kw}


def test_create_read_roundtrip_with_figures_and_honours(client, make):
    key = make.api_key()
    r = client.post(
        "/api/v1/enterprises",
        headers=bearer(key),
        json=body(
            figures=[{"year": 2024, "revenue_yuan": 16_500_000, "land_mu": "12.5"}],
            honours=[
                {
                    "code": "innovative_sme",
                    "level": "provincial",
                    "outcome": "new",
                    "honour_date": "2024-05-01",
                }
            ],
        ),
    )
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"/api/v1/enterprises/{r.json()['id']}"
    got = client.get(r.headers["location"], headers=bearer(key)).json()
    assert got["figures"][0]["revenue_yuan"] == 16_500_000
    assert got["honours"][0]["code"] == "innovative_sme"


def test_bad_uscc_is_422_problem_naming_the_field(client, make, db):
    key = make.api_key()
    before = db.scalar(select(func.count()).select_from(Enterprise))
    r = client.post("/api/v1/enterprises", headers=bearer(key), json=body(uscc="91350100M000100Y44"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["errors"][0]["field"] == "uscc" and "校验位错误" in p["errors"][0]["message"]
    assert db.scalar(select(func.count()).select_from(Enterprise)) == before


def test_unknown_township_negative_revenue_and_bad_size_each_named(client, make):
    key = make.api_key()
    r = client.post("/api/v1/enterprises", headers=bearer(key), json=body(township="atlantis"))
    assert r.json()["errors"][0]["field"] == "township"
    r = client.post(
        "/api/v1/enterprises", headers=bearer(key), json=body(figures=[{"year": 2024, "revenue_yuan": -1}])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "figures.0.revenue_yuan"
    assert "不能小于 0" in r.json()["errors"][0]["message"]
    r = client.post("/api/v1/enterprises", headers=bearer(key), json=body(size="huge"))
    assert r.json()["errors"][0]["field"] == "size"


def test_duplicate_uscc_is_409(client, make):
    key = make.api_key()
    assert client.post("/api/v1/enterprises", headers=bearer(key), json=body()).status_code == 201
    r = client.post("/api/v1/enterprises", headers=bearer(key), json=body(name="另一家公司"))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "uscc"


def test_idempotent_create_makes_one_enterprise(client, make, db):
    key = make.api_key()
    h = {**bearer(key), "Idempotency-Key": "req-123"}
    r1 = client.post("/api/v1/enterprises", headers=h, json=body())
    r2 = client.post("/api/v1/enterprises", headers=h, json=body())
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] == r2.json()["id"]
    assert db.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.uscc == VALID)) == 1
    r3 = client.post("/api/v1/enterprises", headers=h, json=body(name="不同内容"))
    assert r3.status_code == 409 and r3.json()["code"] == "idempotency_key_reused"


def test_patch_requires_if_match_and_refuses_stale(client, make):
    key = make.api_key()
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}"
    r = client.patch(url, headers=bearer(key), json={"name": "改名有限公司"})
    assert r.status_code == 428
    r = client.patch(url, headers={**bearer(key), "If-Match": '"1"'}, json={"name": "改名有限公司"})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["name"] == "改名有限公司"
    r = client.patch(url, headers={**bearer(key), "If-Match": '"1"'}, json={"name": "过期的修改"})
    assert r.status_code == 412
    assert client.get(url, headers=bearer(key)).json()["name"] == "改名有限公司"


def test_patch_and_delete_are_audited_with_before_and_after(client, make, db):
    key = make.api_key()
    ent = make.enterprise(name="旧名称有限公司")
    client.patch(
        f"/api/v1/enterprises/{ent.id}",
        headers={**bearer(key), "If-Match": '"1"'},
        json={"name": "新名称有限公司", "above_scale": True},
    )
    hist = client.get(f"/api/v1/enterprises/{ent.id}/history", headers=bearer(key)).json()
    upd = next(h for h in hist if h["action"] == "update")
    assert upd["changes"]["name"] == ["旧名称有限公司", "新名称有限公司"]
    assert upd["changes"]["above_scale"] == [False, True]
    assert upd["actor_kind"] == "api_key"
    r = client.delete(f"/api/v1/enterprises/{ent.id}", headers={**bearer(key), "If-Match": '"2"'})
    assert r.status_code == 204
    assert client.get(f"/api/v1/enterprises/{ent.id}", headers=bearer(key)).status_code == 404
    assert db.scalar(select(Enterprise.deleted_at).where(Enterprise.id == ent.id)) is not None  # soft
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.enterprise_id == ent.id)).all()
    assert actions.count("create") == 1 and "update" in actions and "delete" in actions


def test_every_write_is_audited(client, make, db):
    key = make.api_key()
    ent = make.enterprise()
    n0 = db.scalar(select(func.count()).select_from(AuditEntry))
    client.put(
        f"/api/v1/enterprises/{ent.id}/figures/2024",
        headers=bearer(key),
        json={"year": 2024, "revenue_yuan": 12_000_000},
    )
    client.put(
        f"/api/v1/enterprises/{ent.id}/figures/2024",
        headers=bearer(key),
        json={"year": 2024, "revenue_yuan": 13_000_000},
    )
    h = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={"code": "gazelle", "level": "provincial", "honour_date": "2024-03-01"},
    ).json()
    client.delete(f"/api/v1/enterprises/{ent.id}/honours/{h['id']}", headers=bearer(key))
    rows = db.execute(
        select(AuditEntry.entity_type, AuditEntry.action, AuditEntry.changes)
        .where(AuditEntry.id > 0)
        .order_by(AuditEntry.id)
    ).all()[n0:]
    kinds = [(t, a) for t, a, _ in rows]
    assert ("enterprise_figure", "create") in kinds and ("enterprise_figure", "update") in kinds
    assert ("honour", "create") in kinds and ("honour", "delete") in kinds
    fig_update = next(c for t, a, c in rows if (t, a) == ("enterprise_figure", "update"))
    assert fig_update == {"revenue_yuan": [12_000_000, 13_000_000]}


def test_audit_log_is_append_only_in_the_database(db, make):
    import pytest
    from sqlalchemy.exc import DBAPIError

    make.enterprise()
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE audit_entry SET actor_name = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM audit_entry"))


def test_list_filters_and_text_search(client, make):
    key = make.api_key()
    a = make.enterprise(
        name="冠县恒通轴承有限公司",
        township="qingquan",
        above_scale=True,
        size="medium",
        figures=[{"year": 2024, "revenue_yuan": 50_000_000}],
    )
    b = make.enterprise(
        name="冠县华泰纺织有限公司",
        township="kaifaqu",
        figures=[{"year": 2024, "revenue_yuan": 15_000_000}],
        honours=[{"code": "specialized_sme", "level": "city", "honour_date": "2024-01-01"}],
    )

    def get(**q):
        return [
            e["id"] for e in client.get("/api/v1/enterprises", headers=bearer(key), params=q).json()["items"]
        ]

    assert get(q="恒通") == [a.id]
    assert get(q=b.uscc[:10]) == [b.id]
    assert get(township="kaifaqu") == [b.id]
    assert set(get(township=["kaifaqu", "qingquan"])) == {a.id, b.id}
    assert get(above_scale="true") == [a.id]
    assert get(size="medium") == [a.id]
    assert get(honour="specialized_sme") == [b.id]
    assert get(revenue_min=10_000_000, revenue_max=20_000_000, year=2024) == [b.id]
    assert get(sort="-revenue", year=2024) == [a.id, b.id]
    assert get(q="100%") == []  # LIKE wildcards are searched literally


def test_short_and_long_searches_find_the_same_names(client, make):
    """One or two characters are searched as a substring test the name order can stop on, longer ones with the
    trigram index: both case-insensitive, with LIKE's wildcards as plain characters."""
    key = make.api_key()
    # Codes of digits (and a check character after a digit): a generated code may hold "AB", and the
    # search reads codes as well as names.
    a, b, c = (
        make.enterprise(name=name, uscc=code + check_char(code))
        for name, code in (
            ("冠县ABC机械有限公司", "91371525193000001"),
            ("冠县恒通机械_有限公司", "91371525193000002"),
            ("冠县百分100%纺织有限公司", "91371525193000003"),
        )
    )

    def get(q):
        page = client.get("/api/v1/enterprises", headers=bearer(key), params={"q": q}).json()
        return {e["id"] for e in page["items"]}

    assert get("机械") == {a.id, b.id}
    assert get("有限公司") == get("冠县") == {a.id, b.id, c.id}
    assert get("机") == {a.id, b.id}
    assert get("ab") == get("Ab") == get("abc") == {a.id}
    assert get("_") == get("械_") == get("机械_有") == {b.id}
    assert get("%") == get("0%") == get("100%") == {c.id}
    assert get("Z") == get("ZZ") == set()


def test_pages_by_revenue_within_bounds_visit_every_row_once(client, make):
    key = make.api_key()
    ids = {
        make.enterprise(figures=[{"year": 2024, "revenue_yuan": 10_000_000 + (i % 4) * 1_000_000}]).id
        for i in range(13)
    }
    make.enterprise(figures=[{"year": 2024, "revenue_yuan": 90_000_000}])  # outside the bounds
    make.enterprise()  # no figures
    for sort in ("-revenue", "revenue"):
        seen, revenues, cursor = [], [], None
        while True:
            params = {"limit": 4, "sort": sort, "year": 2024, "revenue_min": 1, "revenue_max": 50_000_000}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/v1/enterprises", headers=bearer(key), params=params).json()
            seen += [e["id"] for e in page["items"]]
            revenues += [e["revenue_yuan"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids), sort
        assert len(seen) == len(set(seen))
        assert revenues == sorted(revenues, reverse=sort.startswith("-"))


def test_keyset_pagination_visits_every_row_once(client, make):
    key = make.api_key()
    ids = {
        make.enterprise(figures=[{"year": 2024, "revenue_yuan": (i % 4) * 1_000_000}]).id for i in range(23)
    }
    for sort in ("name", "-revenue", "revenue", "-created_at", "id"):
        seen, cursor = [], None
        while True:
            params = {"limit": 5, "sort": sort, "year": 2024, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/enterprises", headers=bearer(key), params=params).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids), sort
        assert len(seen) == len(set(seen))


def test_bad_cursor_and_sort_are_named(client, make):
    key = make.api_key()
    r = client.get("/api/v1/enterprises", headers=bearer(key), params={"cursor": "garbage"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = client.get("/api/v1/enterprises", headers=bearer(key), params={"sort": "colour"})
    assert r.json()["errors"][0]["field"] == "sort"


def test_by_uscc_and_export_are_township_scoped(client, make):
    from tests.conftest import login

    mine = make.enterprise(township="qingquan", name="本乡镇企业有限公司")
    other = make.enterprise(township="kaifaqu", name="外乡镇企业有限公司")
    login(client, make.user(role="township_staff", township="qingquan"))
    assert client.get(f"/api/v1/enterprises/by-uscc/{mine.uscc}").status_code == 200
    assert client.get(f"/api/v1/enterprises/by-uscc/{other.uscc}").status_code == 404
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get("/enterprises/export.xlsx").content))
    names = [r[1].value for r in wb.active.iter_rows(min_row=2)]
    assert "本乡镇企业有限公司" in names and "外乡镇企业有限公司" not in names


def test_put_figures_answers_what_it_wrote_and_audits_only_what_changed(client, make, db):
    """PUT figures is written as plain statements: the answer is the year as written, only changed fields are
    audited, the same figures again write nothing, and an entity the session had loaded is read again."""
    from app.enterprises.models import EnterpriseFigure

    key = make.api_key()
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}/figures/2024"

    def audits():
        return db.execute(
            select(AuditEntry.action, AuditEntry.changes)
            .where(AuditEntry.entity_type == "enterprise_figure", AuditEntry.entity_id == f"{ent.id}:2024")
            .order_by(AuditEntry.id)
        ).all()

    body = {"year": 2024, "revenue_yuan": 12_000_000, "employees": 40, "land_mu": "12.50"}
    r = client.put(url, headers=bearer(key), json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "year": 2024,
        "revenue_yuan": 12_000_000,
        "main_revenue_yuan": None,
        "output_value_yuan": None,
        "rd_spend_yuan": None,
        "tax_yuan": None,
        "employees": 40,
        "land_mu": "12.50",
        "energy_tce": None,
    }
    assert audits()[-1] == (
        "create",
        {"revenue_yuan": [None, 12_000_000], "employees": [None, 40], "land_mu": [None, "12.50"]},
    )
    loaded = db.scalar(
        select(EnterpriseFigure).where(
            EnterpriseFigure.enterprise_id == ent.id, EnterpriseFigure.year == 2024
        )
    )
    assert client.put(url, headers=bearer(key), json=body).status_code == 200
    assert len(audits()) == 1  # the same figures again: nothing changed, nothing audited
    r = client.put(url, headers=bearer(key), json={**body, "employees": 41, "land_mu": None})
    assert r.status_code == 200 and r.json()["employees"] == 41 and r.json()["land_mu"] is None
    assert audits()[-1] == ("update", {"employees": [40, 41], "land_mu": ["12.50", None]})
    assert loaded.employees == 41 and loaded.land_mu is None  # expired, read again
    assert (
        client.get(f"/api/v1/enterprises/{ent.id}", headers=bearer(key)).json()["figures"][0]["employees"]
        == 41
    )


def test_patch_writes_only_what_changed_once(client, make, db):
    """PATCH writes the changed columns in one UPDATE guarded by the version: the version goes up by one per
    change, the same values again change nothing (no version, no audit entry), and a stale If-Match is 412."""
    key = make.api_key()
    ent = make.enterprise(chain="纺织")
    url = f"/api/v1/enterprises/{ent.id}"
    r = client.patch(url, headers={**bearer(key), "If-Match": '"1"'}, json={"chain": "轴承", "size": "small"})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["chain"] == "轴承"
    r = client.patch(url, headers={**bearer(key), "If-Match": '"2"'}, json={"chain": "轴承"})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    db.expire_all()
    assert db.scalar(select(Enterprise.version).where(Enterprise.id == ent.id)) == 2
    changes = db.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.enterprise_id == ent.id,
            AuditEntry.entity_type == "enterprise",
            AuditEntry.action == "update",
        )
    ).all()
    assert changes == [{"chain": ["纺织", "轴承"]}]
    r = client.patch(url, headers={**bearer(key), "If-Match": '"1"'}, json={"chain": "新材料"})
    assert r.status_code == 412
    assert client.get(url, headers=bearer(key)).json()["chain"] == "轴承"
