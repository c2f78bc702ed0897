"""Next year's target table without a developer: copy last year's table as a draft, change its rows, publish.

A row's measure is one the system knows, or "not measured" with its reason; the 特色产业集群 split
(市级 2 / 省级 1 / 国家级 1 in 冠政办发〔2023〕7号 附件 row 8) and the county-only rows are entered
like any other; a bad row is a 422 naming its field and writes nothing; two admins publishing at
once leave one published table.
"""

import threading
from datetime import date

from sqlalchemy import select

from app.targets.models import TargetIndicator, TargetSet
from tests.conftest import bearer, login

WRITE = ("targets:read", "targets:write")


def _copy(client, key, year=2027, source="2023"):
    return client.post(
        f"/api/v1/targets/{source}/copy",
        headers=bearer(key),
        json={"year": year, "document": f"冠政办发〔{year}〕1号"},
    )


def _row(table, code):
    return next(i for i in table["indicators"] if i["code"] == code)


def test_copy_2023_as_2027_draft_edit_a_row_to_not_measured_and_publish(client, make, reference, db):
    key = make.api_key(scopes=WRITE)
    r = _copy(client, key)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == "draft" and t["copied_from"] == "2023" and t["period_start"] == "2027-01-01"
    assert len(t["indicators"]) == 19
    # deadlines move with the year: 高新技术企业 2023年9月 → 2027年9月, figures and measure unchanged
    ht = _row(t, "high_tech")
    assert ht["deadline"] == "2027-09-30" and ht["deadline_text"] == "2027年9月"
    assert ht["total"] == 50 and ht["townships"]["qingshui"] == 5 and ht["measure"]["kind"] == "honour_count"
    # the 特色产业集群 split is carried over: 市级 2 / 省级 1 / 国家级 1, a county-only row
    cluster = _row(t, "cluster")
    assert cluster["county_only"] and [(p["code"], p["total"]) for p in cluster["parts"]] == [
        ("cluster_city", 2),
        ("cluster_provincial", 1),
        ("cluster_national", 1),
    ]

    # a draft is never the dashboard's default table
    from app.targets import service

    assert service.default_key(db, date(2027, 6, 1)) == "2023"

    # the measures a row may choose from are the ones the system computes
    measures = client.get("/api/v1/targets/2027/measures", headers=bearer(key)).json()
    assert any(m["measure"]["kind"] == "cluster_count" for m in measures)
    assert all(m["measure"]["kind"] != "not_available" for m in measures)

    # 高新技术企业: not measured this year, with the reason
    reason = "2027 年高新技术企业认定结果由省科技厅统一公布，年内不统计"
    r = client.patch(
        "/api/v1/targets/2027/indicators/high_tech",
        headers=bearer(key),
        json={"not_measured_reason": reason, "deadline_text": "2027年10月"},
    )
    assert r.status_code == 200, r.text
    ht = _row(r.json(), "high_tech")
    assert ht["measure"] == {"kind": "not_available", "reason": reason}
    assert ht["deadline"] == "2027-10-31" and ht["measure_text"] == reason

    # the split entered anew: 市级 3 / 省级 1 / 国家级 1, 总数 5 (county-only: no township figures)
    r = client.patch(
        "/api/v1/targets/2027/indicators/cluster",
        headers=bearer(key),
        json={"parts": {"cluster_city": 3}, "total": 5},
    )
    assert r.status_code == 200, r.text
    cluster = _row(r.json(), "cluster")
    assert (
        cluster["total"] == 5
        and [p["total"] for p in cluster["parts"]] == [3, 1, 1]
        and cluster["townships"] is None
    )

    # another measure the system knows for 科技型中小企业: only new 入库, not renewals
    r = client.patch(
        "/api/v1/targets/2027/indicators/tech_sme",
        headers=bearer(key),
        json={
            "measure": {
                "kind": "honour_count",
                "honours": ["tech_sme"],
                "outcomes": ["new"],
                "dated_in": "year",
            }
        },
    )
    assert r.status_code == 200, r.text

    # a new indicator with its own measure
    r = client.post(
        "/api/v1/targets/2027/indicators",
        headers=bearer(key),
        json={
            "code": "voyage_firms",
            "name": "助企远航服务企业",
            "unit": "家",
            "county_only": True,
            "total": 30,
            "deadline_text": "2027年12月",
            "measure": {"kind": "voyage_listed"},
        },
    )
    assert r.status_code == 201, r.text
    assert _row(r.json(), "voyage_firms")["no"] == 20

    r = client.post("/api/v1/targets/2027/publish", headers=bearer(key))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    assert client.post("/api/v1/targets/2027/publish", headers=bearer(key)).status_code == 409
    r = client.patch("/api/v1/targets/2027/indicators/gazelle", headers=bearer(key), json={"total": 1})
    assert r.status_code == 409 and "已发布" in r.json()["detail"]

    # the dashboard shows the 2027 table with the row's reason, never a zero
    progress = client.get(
        "/api/v1/targets/2027/progress", headers=bearer(key), params={"as_of": "2027-06-30"}
    ).json()
    row = next(x for x in progress["rows"] if x["code"] == "high_tech")
    assert row["available"] is False and row["reason"] == reason and row["county"]["actual"] is None
    login(client, make.user())
    page = client.get("/dashboard", params={"key": "2027", "as_of": "2027-06-30"}).text
    assert "冠政办发〔2027〕1号" in page and reason in page and "助企远航服务企业" in page


def test_a_bad_row_is_a_422_naming_the_field_and_writes_nothing(client, make, reference, db):
    key = make.api_key(scopes=WRITE)
    assert _copy(client, key).status_code == 201
    before = db.scalar(
        select(TargetIndicator.total)
        .join(TargetSet)
        .where(TargetSet.key == "2027", TargetIndicator.code == "high_tech")
    )
    # township figures no longer summing to 总数
    r = client.patch("/api/v1/targets/2027/indicators/high_tech", headers=bearer(key), json={"total": 51})
    assert r.status_code == 422
    assert any(
        e["field"] == "total" and "与总数 51 不符" in e["message"] and "高新技术企业培育数量" in e["message"]
        for e in r.json()["errors"]
    ), r.json()
    # the split no longer summing to 总数
    r = client.patch(
        "/api/v1/targets/2027/indicators/cluster", headers=bearer(key), json={"parts": {"cluster_city": 5}}
    )
    assert r.status_code == 422 and "分项合计 7，与总数 4 不符" in r.text
    # "not measured" without a reason; a measure the system does not know
    r = client.patch(
        "/api/v1/targets/2027/indicators/gazelle", headers=bearer(key), json={"not_measured_reason": " "}
    )
    assert r.status_code == 422 and "写明原因" in r.text
    r = client.patch(
        "/api/v1/targets/2027/indicators/gazelle", headers=bearer(key), json={"measure": {"kind": "tax_paid"}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("measure")
    after = db.scalar(
        select(TargetIndicator.total)
        .join(TargetSet)
        .where(TargetSet.key == "2027", TargetIndicator.code == "high_tech")
    )
    assert after == before == 50
    # a second draft of the same year, or copying a multi-year goal set, is refused
    assert _copy(client, key).status_code == 409
    assert _copy(client, key, year=2028, source="2022-2024").status_code == 422
    # township staff cannot make a county's table
    staff = make.api_key(scopes=("targets:read",))
    assert _copy(client, staff, year=2029).status_code == 403


def test_the_new_years_table_is_measured_from_the_data(client, make, reference, firm):
    """A 2026 table copied from 2023: its honour rows count the honours dated in 2026, as the 2023 table did."""
    key = make.api_key(scopes=WRITE)
    assert _copy(client, key, year=2026).status_code == 201
    assert client.post("/api/v1/targets/2026/publish", headers=bearer(key)).status_code == 200
    firm("qingquan", honours=[("high_tech", "national", "new", date(2026, 5, 1))])
    firm(
        "qingquan", honours=[("high_tech", "national", "new", date(2023, 5, 1))]
    )  # last table's year: not counted
    progress = client.get(
        "/api/v1/targets/2026/progress", headers=bearer(key), params={"as_of": "2026-11-30"}
    ).json()
    row = next(x for x in progress["rows"] if x["code"] == "high_tech")
    assert row["townships"]["qingquan"]["actual"] == 1 and row["townships"]["qingquan"]["target"] == 2
    assert (
        row["county"]["actual"] == 1
        and row["deadline"] == "2026-09-30"
        and row["county"]["status"] == "overdue"
    )
    # published for this year, it is now the dashboard's table
    login(client, make.user())
    page = client.get("/dashboard").text
    assert "冠政办发〔2026〕1号" in page


def test_two_admins_publishing_at_once_leave_one_published_table(app, committed):
    from fastapi.testclient import TestClient

    from app.accounts import service as accounts
    from app.targets import service

    with committed() as s:
        service.install_reference(s)
        key, _ = accounts.create_api_key(s, name="planner", scopes=list(WRITE))
        s.commit()
    with TestClient(app) as c:
        assert _copy(c, key).status_code == 201
        results = []
        barrier = threading.Barrier(2)

        def go():
            barrier.wait()
            results.append(c.post("/api/v1/targets/2027/publish", headers=bearer(key)).status_code)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409]
    with committed() as s:
        assert s.execute(select(TargetSet.status).where(TargetSet.key == "2027")).scalars().all() == [
            "published"
        ]
