"""Registrations reported by 聊城企业政策通: idempotent, audited, feeding indicator 6."""

import datetime as dt

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.enterprises.models import Enterprise
from tests.conftest import bearer, login


def _audits(db, ent):
    return db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.enterprise_id == ent.id, AuditEntry.note.like("聊城企业政策通%"))
    )


def _put(client, key, uscc, day="2023-05-06"):
    return client.put(
        f"/api/v1/platform/registrations/{uscc}", headers=bearer(key), json={"registered_date": day}
    )


def test_same_date_twice_gives_the_same_result_and_one_audit_entry(client, make, db):
    key = make.api_key(scopes=["platform:write"])
    ent = make.enterprise()
    first = _put(client, key, ent.uscc)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "enterprise_id": ent.id,
        "uscc": ent.uscc,
        "name": ent.name,
        "platform_registered_date": "2023-05-06",
    }
    again = _put(client, key, ent.uscc)
    assert again.status_code == 200 and again.json() == first.json()
    assert _audits(db, ent) == 1
    db.expire_all()
    assert db.get(Enterprise, ent.id).platform_registered_date == dt.date(2023, 5, 6)
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.enterprise_id == ent.id, AuditEntry.note.like("聊城%"))
    )
    assert (
        entry.changes == {"platform_registered_date": [None, "2023-05-06"]} and entry.actor_kind == "api_key"
    )


def test_a_corrected_date_replaces_the_old_one_audited(client, make, db):
    key = make.api_key(scopes=["platform:write"])
    ent = make.enterprise()
    _put(client, key, ent.uscc, "2023-05-06")
    r = _put(client, key, ent.uscc.lower(), "2023-04-01")  # lower case is normalised
    assert r.status_code == 200 and r.json()["platform_registered_date"] == "2023-04-01"
    assert _audits(db, ent) == 2
    last = db.scalar(
        select(AuditEntry).where(AuditEntry.enterprise_id == ent.id).order_by(AuditEntry.id.desc())
    )
    assert last.changes == {"platform_registered_date": ["2023-05-06", "2023-04-01"]}


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(client, make, db):
    key = make.api_key(scopes=["platform:write"])
    ent = make.enterprise()
    n0 = db.scalar(select(func.count()).select_from(AuditEntry))
    bad = ent.uscc[:17] + ("0" if ent.uscc[17] != "0" else "1")
    cases = [
        (bad, {"registered_date": "2023-05-06"}, "uscc", "校验位错误"),
        (
            ent.uscc,
            {"registered_date": (dt.date.today() + dt.timedelta(days=5)).isoformat()},
            "registered_date",
            "晚于今天",
        ),
        (ent.uscc, {"registered_date": "2023-13-01"}, "registered_date", "日期格式"),
        (ent.uscc, {"registered_date": "1999-12-31"}, "registered_date", "不能小于"),
        (ent.uscc, {}, "registered_date", "必填"),
        (ent.uscc, {"registered_date": "2023-05-06", "extra": 1}, "extra", "不允许"),
    ]
    for uscc, body, field, words in cases:
        r = client.put(f"/api/v1/platform/registrations/{uscc}", headers=bearer(key), json=body)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["errors"][0]
        assert err["field"] == field and words in err["message"], (body, err)
    r = client.put(
        "/api/v1/platform/registrations/123", headers=bearer(key), json={"registered_date": "2023-05-06"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "uscc"
    assert _put(client, key, "91350100M000100Y43").status_code == 404
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == n0


def test_scope_is_required_and_township_staff_cannot_report(client, make):
    ent = make.enterprise(township="kaifaqu")
    r = _put(client, make.api_key(scopes=["enterprises:write"]), ent.uscc)
    assert r.status_code == 403 and "platform:write" in r.json()["detail"]
    assert (
        client.put(
            f"/api/v1/platform/registrations/{ent.uscc}", json={"registered_date": "2023-05-06"}
        ).status_code
        == 401
    )
    token = login(client, make.user(role="township_staff", township="qingquan"))
    r = client.put(
        f"/api/v1/platform/registrations/{ent.uscc}",
        json={"registered_date": "2023-05-06"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 404  # another township's enterprise does not exist for them


def test_concurrent_identical_reports_make_one_change(app, committed):
    import threading

    from fastapi.testclient import TestClient

    from tests.integration.conftest import create_enterprise

    with committed() as s:
        key = make_key(s)
        ent = create_enterprise(s)
        s.commit()
    barrier = threading.Barrier(4)
    codes = []

    def run():
        with TestClient(app) as c:
            barrier.wait()
            codes.append(_put(c, key, ent.uscc).status_code)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    with committed() as s:
        n = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.enterprise_id == ent.id, AuditEntry.note.like("聊城企业政策通%"))
        )
        assert n == 1


def make_key(session):
    from app.accounts import service as accounts

    key, _ = accounts.create_api_key(session, name="platform-race", scopes=["platform:write"])
    return key
