"""Concurrent writers on real commits: no lost update, no double create."""

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.accounts import service as accounts
from app.enterprises.models import Enterprise
from tests.conftest import bearer


def _setup(committed):
    from app.accounts.permissions import SYSTEM
    from app.enterprises import service
    from app.enterprises.schemas import EnterpriseCreate

    with committed() as s:
        key, _ = accounts.create_api_key(s, name="writer", scopes=["enterprises:read", "enterprises:write"])
        ent = service.create(
            s,
            actor=SYSTEM,
            data=EnterpriseCreate(
                uscc="91350100M000100Y43", name="并发测试有限公司", township="qingquan", size="small"
            ),
        )
        s.commit()
        return key, ent.id


def _race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_updates_with_one_etag_one_wins_one_412(app, committed):
    key, eid = _setup(committed)
    with TestClient(app) as client:
        codes = _race(
            2,
            lambda i: (
                client.patch(
                    f"/api/v1/enterprises/{eid}",
                    json={"name": f"写入者{i}有限公司"},
                    headers={**bearer(key), "If-Match": '"1"'},
                ).status_code
            ),
        )
        assert sorted(codes) == [200, 412]
        final = client.get(f"/api/v1/enterprises/{eid}", headers=bearer(key)).json()
    assert final["version"] == 2
    winner = codes.index(200)
    assert final["name"] == f"写入者{winner}有限公司"
    with committed() as s:  # the 412 wrote nothing: one audit entry, the winner's
        updates = s.execute(
            text(
                "SELECT changes FROM audit_entry WHERE entity_type = 'enterprise' AND action = 'update' "
                "AND enterprise_id = :e"
            ),
            {"e": eid},
        ).all()
    assert len(updates) == 1 and updates[0].changes["name"][1] == f"写入者{winner}有限公司"


def test_concurrent_retries_with_one_idempotency_key_make_one_enterprise(app, committed):
    key, _ = _setup(committed)
    body = {"uscc": "91371525MA3C0F0X4D", "name": "幂等测试有限公司", "township": "kaifaqu", "size": "micro"}
    with TestClient(app) as client:
        responses = _race(
            4,
            lambda i: client.post(
                "/api/v1/enterprises", json=body, headers={**bearer(key), "Idempotency-Key": "same-key"}
            ),
        )
    ok = [r for r in responses if r.status_code == 201]
    assert ok, [r.text for r in responses]
    assert len({r.json()["id"] for r in ok}) == 1
    assert all(r.status_code in (201, 409) for r in responses)
    with committed() as s:
        assert (
            s.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.uscc == body["uscc"])) == 1
        )
