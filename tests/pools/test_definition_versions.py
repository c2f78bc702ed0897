"""Pool definitions as versioned data: definitions.yaml is the first published version; a county admin downloads it,
uploads a changed copy as a draft, and publishes it on a date. Members keep the version they entered under.

冠政办发〔2023〕7号 二（一）1 基础种子库: 主营业务收入 500—2000 万元. The new version lowers the floor to 300 万元.
"""

import threading
from datetime import date

from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM
from app.pools import membership as pool_membership
from app.pools.models import PoolDefinitionVersion, PoolMembership
from app.pools.schemas import EnterIn
from tests.conftest import bearer, login

ADMIN = ("pools:read", "pools:write", "policies:write", "enterprises:read")
SEED_FLOOR = "{kind: revenue_between, figure: main_revenue_yuan, min_yuan: 5000000, max_yuan: 20000000}"


def _download(client, key, **params):
    r = client.get("/api/v1/pools/definitions/definitions.yaml", headers=bearer(key), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    return r.text


def _put(client, key, text):
    return client.put(
        "/api/v1/pools/definitions/draft",
        headers={**bearer(key), "Content-Type": "application/yaml"},
        content=text.encode(),
    )


def _enter(db, ent, when, pool="primary_pool"):
    return pool_membership.enter(
        db, actor=SYSTEM, pool_code=pool, data=EnterIn(enterprise_id=ent.id, entered_date=when, year=2023)
    )


def _versions(db) -> int:
    return db.scalar(select(func.count()).select_from(PoolDefinitionVersion))


def test_the_migration_publishes_definitions_yaml_and_existing_members_keep_it(db, client, make):
    key = make.api_key(scopes=ADMIN)
    rows = client.get("/api/v1/pools/definitions", headers=bearer(key)).json()
    (first,) = [v for v in rows if v["origin"] == "shipped"]
    assert first["status"] == "published" and first["effective_from"] == "2022-04-09"
    assert "primary_pool" in first["pools"] and "yumiao_pool" in first["pools"]
    with open("app/pools/definitions.yaml", encoding="utf-8") as f:
        assert _download(client, key) == f.read()  # downloads exactly as shipped, and uploads again unchanged
    assert _put(client, key, _download(client, key)).status_code == 200


def test_a_new_member_gets_the_new_version_while_an_old_member_keeps_its_own(db, client, make, firm):
    key = make.api_key(scopes=ADMIN)
    first = db.scalar(select(PoolDefinitionVersion.id).where(PoolDefinitionVersion.origin == "shipped"))
    old = _enter(db, firm(main_revenue=6_000_000), date(2023, 3, 1))
    assert old.definition_version_id == first

    text = _download(client, key)
    assert SEED_FLOOR in text
    changed = text.replace(SEED_FLOOR, SEED_FLOOR.replace("5000000", "3000000")).replace(
        "年主营业务收入 500—2000 万元规模以下的小微企业", "年主营业务收入 300—2000 万元规模以下的小微企业"
    )
    r = _put(client, key, changed)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    # a draft is never used: a firm of 400 万 is still refused today
    small = firm(main_revenue=4_000_000)
    r = client.post(
        "/api/v1/pools/primary_pool/members",
        headers=bearer(key),
        json={"enterprise_id": small.id, "year": 2023},
    )
    assert r.status_code == 422 and "主营业务收入" in r.text

    r = client.post(
        "/api/v1/pools/definitions/publish", headers=bearer(key), json={"effective_from": "2026-11-01"}
    )
    assert r.status_code == 200, r.text
    new = r.json()["id"]
    assert _download(client, key) == changed

    # entered today under the new version (300 万 floor)
    r = client.post(
        "/api/v1/pools/primary_pool/members",
        headers=bearer(key),
        json={"enterprise_id": small.id, "year": 2023},
    )
    assert r.status_code == 201, r.text
    assert r.json()["definition_version_id"] == new
    # an entry dated before the new version took effect is judged by the first one (500 万 floor)
    r = client.post(
        "/api/v1/pools/primary_pool/members",
        headers=bearer(key),
        json={"enterprise_id": firm(main_revenue=4_000_000).id, "year": 2023, "entered_date": "2023-05-01"},
    )
    assert r.status_code == 422 and "主营业务收入" in r.text
    # the old member keeps the version it entered under
    db.expire_all()
    assert db.get(PoolMembership, old.id).definition_version_id == first
    history = client.get(f"/api/v1/enterprises/{old.enterprise_id}/pools", headers=bearer(key)).json()
    assert any(m.get("definition_version_id") == first for m in _memberships(history))


def _memberships(payload):
    """Every membership object in the enterprise's pools answer, wherever it sits."""
    found = []

    def walk(x):
        if isinstance(x, dict):
            if "definition_version_id" in x:
                found.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(payload)
    return found


def test_bad_yaml_is_a_422_naming_the_class_and_field_and_writes_nothing(db, client, make):
    key = make.api_key(scopes=ADMIN)
    text = _download(client, key)
    before = _versions(db)
    r = _put(client, key, text.replace(SEED_FLOOR, SEED_FLOOR.replace("5000000", "五百万"), 1))
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert "培育库“初级培育库”" in err["message"] or "primary_pool" in err["message"]
    assert "入库类别“基础种子库”（seed）" in err["message"]
    assert "字段 min_yuan（下限（元））" in err["message"] and "不是整数" in err["message"]
    assert err["field"] == "pools.primary_pool.entry_classes.seed.criteria[2].min_yuan"
    # an unknown kind of criterion, a missing field, YAML that does not parse
    r = _put(client, key, text.replace(SEED_FLOOR, "{kind: tax_between, min_yuan: 1}", 1))
    assert r.status_code == 422 and "未知的类型“tax_between”" in r.text and "基础种子库" in r.text
    r = _put(client, key, text.replace("        name: 基础种子库\n", ""))
    assert r.status_code == 422 and "字段 name（名称）：缺少该字段" in r.text
    r = _put(client, key, text + "\n  - [unclosed\n")
    assert r.status_code == 422 and "YAML 格式错误" in r.text
    assert _versions(db) == before
    # only the county's policy publishers may change the definitions
    staff = make.api_key(scopes=("pools:read", "pools:write"))
    assert _put(client, staff, text).status_code == 403
    assert _versions(db) == before


def test_two_admins_publishing_at_once_leave_one_published_version(app, committed):
    from fastapi.testclient import TestClient

    from app.accounts import service as accounts

    with committed() as s:
        key, _ = accounts.create_api_key(s, name="pool-publisher", scopes=list(ADMIN))
        s.commit()
    with TestClient(app) as c:
        text = _download(c, key)
        assert _put(c, key, text.replace("5000000", "4000000")).status_code == 200
        results = []
        barrier = threading.Barrier(2)

        def go():
            barrier.wait()
            results.append(
                c.post(
                    "/api/v1/pools/definitions/publish",
                    headers=bearer(key),
                    json={"effective_from": "2026-11-30"},
                ).status_code
            )

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409]
    with committed() as s:
        rows = (
            s.execute(select(PoolDefinitionVersion.status).order_by(PoolDefinitionVersion.id)).scalars().all()
        )
    assert rows == ["published", "published"]  # the shipped version and the one published


def test_pages_copy_edit_a_class_and_publish(client, make, firm, db):
    login(client, make.user())
    page = client.get("/pool-definitions").text
    assert "今天有效" in page and 'id="copy-form"' in page
    r = client.post("/pool-definitions/copy", data={"csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/pool-definitions/draft"
    draft = client.get("/pool-definitions/draft").text
    assert 'id="class-primary_pool-seed"' in draft and "min_yuan: 5000000" in draft
    form = {
        "csrf_token": _csrf(client),
        "original": "seed",
        "code": "seed",
        "name": "基础种子库",
        "clause": "二（一）1",
        "text": "年主营业务收入 300—2000 万元规模以下的小微企业",
    }
    bad = client.post(
        "/pool-definitions/draft/pools/primary_pool/classes",
        data={
            **form,
            "criteria": "- {kind: revenue_between, figure: main_revenue_yuan, min_yuan: 三百万, max_yuan: 20000000}",
        },
    )
    assert bad.status_code == 422
    assert "入库类别“基础种子库”（seed）" in bad.text and "min_yuan（下限（元））" in bad.text
    ok = client.post(
        "/pool-definitions/draft/pools/primary_pool/classes",
        follow_redirects=False,
        data={
            **form,
            "criteria": "- {kind: flag, above_scale: false}\n- {kind: size_in, sizes: [micro, small]}\n"
            "- {kind: revenue_between, figure: main_revenue_yuan, min_yuan: 3000000, max_yuan: 20000000}",
        },
    )
    assert ok.status_code == 303, ok.text
    assert "min_yuan: 3000000" in client.get("/pool-definitions/draft").text
    r = client.post(
        "/pool-definitions/publish",
        data={"csrf_token": _csrf(client), "effective_from": "2026-11-30"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "已发布培育库定义，自 2026-11-30 起生效" in page and page.count("status-published") == 2
    newest = db.scalar(select(func.max(PoolDefinitionVersion.id)))
    assert _enter(db, firm(main_revenue=3_500_000), date.today()).definition_version_id == newest


def _csrf(client):
    from tests.conftest import csrf_of

    return csrf_of(client)
