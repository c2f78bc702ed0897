"""Policy documents as versioned data over the API: download, drafts, cases, publish, and what the engine then uses.

A 2024 plan is made from 冠政办发〔2023〕7号 through the API, with one amount changed, and published;
events dated in 2024 then get the new amount citing the new document, while events dated in 2023
still get the 2023 amount citing 冠政办发〔2023〕7号.
"""

import re
import threading
from pathlib import Path

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.policies.models import PolicyVersion
from tests.conftest import bearer

SHIPPED = "app/policies/gzb-2023-7.yaml"
WRITE = ("policies:read", "policies:write", "enterprises:read", "enterprises:write", "awards:read")


def _yaml(client, key, code, **params):
    r = client.get(f"/api/v1/policies/{code}/document.yaml", headers=bearer(key), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    return r.text


def _put(client, key, code, text, what="draft"):
    return client.put(
        f"/api/v1/policies/{code}/{what}",
        headers={**bearer(key), "Content-Type": "application/yaml"},
        content=text.encode(),
    )


def copy_2024(text: str, county_first_above_scale_yuan: int = 80_000) -> str:
    """冠政办发〔2023〕7号 as a 2024 plan: new code and 文号, 2024 period, 升规 county award changed."""
    out = text.replace("gzb2023-7.", "gzb2024-3.")
    out = re.sub(r"(?m)^code: .*$", "code: gzb2024-3", out)
    out = re.sub(r"(?m)^number: .*$", "number: 冠政办发〔2024〕3号", out)
    out = re.sub(r"(?m)^issue_date: .*$", "issue_date: 2024-02-20", out)
    out = re.sub(r"(?m)^in_force: .*$", "in_force: {start: 2024-01-01, end: 2024-12-31}", out)
    out = out.replace(
        "period: {start: 2023-01-01, end: 2023-12-31}", "period: {start: 2024-01-01, end: 2024-12-31}"
    )
    out = out.replace("date_from: 2023-01-01", "date_from: 2024-01-01").replace(
        "date_to: 2023-03-31", "date_to: 2024-03-31"
    )
    old = "    amount: {shape: fixed, yuan: 50000, one_off: true}\n    supersedes: gz2022-9.county.first_above_scale"
    assert old in out
    return out.replace(old, old.replace("50000", str(county_first_above_scale_yuan)))


CASES_2024 = """
- name: 2024年首次升规，县级一次性奖励8万元
  clause: 冠政办发〔2024〕3号 二（一）1
  figure: 县财政一次性奖励8万元
  event: {type: first_above_scale, date: 2024-06-30}
  lines:
    county: {gzb2024-3.county.first_above_scale: 80000}
"""


def test_download_round_trips_through_a_draft(client, make):
    key = make.api_key(scopes=WRITE)
    text = _yaml(client, key, "gzb2023-7")
    assert text == Path(SHIPPED).read_text(encoding="utf-8")
    r = _put(client, key, "gzb2023-7", text)
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["number"] == "冠政办发〔2023〕7号"
    published = client.get("/api/v1/policies/gzb2023-7/versions", headers=bearer(key)).json()
    assert draft["content_hash"] == next(v["content_hash"] for v in published if v["status"] == "published")
    assert _yaml(client, key, "gzb2023-7", status="draft") == text


def test_a_2024_copy_with_one_amount_changed_governs_2024_events_and_2023_stays(client, make, db):
    key = make.api_key(scopes=WRITE)
    r = _put(client, key, "gzb2024-3", copy_2024(_yaml(client, key, "gzb2023-7")))
    assert r.status_code == 200, r.text
    assert _put(client, key, "gzb2024-3", CASES_2024, "draft/cases").json()["passed"] is True

    ent = make.enterprise(size="small")
    # the draft never reaches awards: a 2024 升规 is still the 2022 plan's 最高 5 万
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(key),
        json={"event": {"type": "first_above_scale", "date": "2024-06-30"}},
    )
    assert [(x["rule_id"], x["computed_yuan"]) for x in r.json()["lines"]] == [
        ("gz2022-9.county.first_above_scale", 50_000)
    ]

    r = client.post("/api/v1/policies/gzb2024-3/publish", headers=bearer(key))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["published_by"]

    later = make.enterprise(size="small")
    r = client.post(
        f"/api/v1/enterprises/{later.id}/events",
        headers=bearer(key),
        json={"event": {"type": "first_above_scale", "date": "2024-06-30"}},
    )
    lines = r.json()["lines"]
    assert [(x["rule_id"], x["computed_yuan"], x["document"]) for x in lines] == [
        ("gzb2024-3.county.first_above_scale", 80_000, "冠政办发〔2024〕3号")
    ]
    earlier = make.enterprise(size="small")
    r = client.post(
        f"/api/v1/enterprises/{earlier.id}/events",
        headers=bearer(key),
        json={"event": {"type": "first_above_scale", "date": "2023-06-30"}},
    )
    assert [(x["rule_id"], x["computed_yuan"], x["document"]) for x in r.json()["lines"]] == [
        ("gzb2023-7.county.first_above_scale", 50_000, "冠政办发〔2023〕7号")
    ]
    # the receipt cites the version; recompute uses it
    line_id = lines[0]["id"]
    got = client.get(f"/api/v1/awards/lines/{line_id}/recompute", headers=bearer(key)).json()
    assert got["recomputed_yuan"] == 80_000
    # the document's fund is created on publish
    funds = client.get("/api/v1/awards/funds", headers=bearer(key)).json()
    assert any(f["code"] == "gzb2024-3.fund.county" and f["budget_yuan"] == 10_000_000 for f in funds)
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "policy_version")))
    assert {"create_draft", "update_cases", "publish"} <= actions


def test_an_invalid_upload_is_a_422_naming_rule_and_field_and_changes_nothing(client, make, db):
    key = make.api_key(scopes=WRITE)
    text = _yaml(client, key, "gzb2023-7")
    before = db.scalar(select(func.count(PolicyVersion.id)))
    broken = text.replace(
        "    amount: {shape: fixed, yuan: 50000, one_off: true}\n    supersedes: gz2022-9",
        "    amount: {shape: fixed, yuan: 五万, one_off: true}\n    supersedes: gz2022-9",
    )
    broken = broken.replace(
        "funder: city\n    label: 市级奖励\n    subject: 2023年一季度",
        "funder: town\n    label: 市级奖励\n    subject: 2023年一季度",
    )
    r = _put(client, key, "gzb2023-7", broken)
    assert r.status_code == 422, r.text
    messages = [e["message"] for e in r.json()["errors"]]
    assert any(
        "规则 gzb2023-7.county.first_above_scale" in m and "amount.yuan" in m and "应为整数" in m
        for m in messages
    )
    assert any(
        "规则 gzb2023-7.city.output_growth" in m and "funder" in m and "取值无效" in m for m in messages
    )
    assert db.scalar(select(func.count(PolicyVersion.id))) == before
    assert _put(client, key, "gzb2023-7", "code: [").status_code == 422
    assert _put(client, key, "other-code", text).json()["errors"][0]["field"] == "code"
    assert db.scalar(select(func.count(PolicyVersion.id))) == before
    # without policies:write
    reader = make.api_key(scopes=("policies:read",))
    assert _put(client, reader, "gzb2023-7", text).status_code == 403


def test_a_document_whose_case_fails_cannot_be_published(client, make):
    key = make.api_key(scopes=WRITE)
    _put(
        client,
        key,
        "gzb2024-3",
        copy_2024(_yaml(client, key, "gzb2023-7"), county_first_above_scale_yuan=60_000),
    )
    report = _put(client, key, "gzb2024-3", CASES_2024, "draft/cases").json()
    assert report["passed"] is False and report["failed"] == 1
    assert report["results"][0]["expected"] == ["县级 gzb2024-3.county.first_above_scale 80,000 元"]
    assert report["results"][0]["computed"] == ["县级 gzb2024-3.county.first_above_scale 60,000 元"]
    r = client.post("/api/v1/policies/gzb2024-3/publish", headers=bearer(key))
    assert r.status_code == 409
    assert "2024年首次升规" in r.json()["errors"][0]["message"]
    assert client.get("/api/v1/policies/gzb2024-3/document.yaml", headers=bearer(key)).status_code == 404


def test_copy_as_draft_renames_ids_moves_dates_and_keeps_cases(client, make):
    key = make.api_key(scopes=WRITE)
    r = client.post(
        "/api/v1/policies/gzb2023-7/copy",
        headers=bearer(key),
        json={
            "code": "gzb2024-3",
            "number": "冠政办发〔2024〕3号",
            "start": "2024-01-01",
            "end": "2024-12-31",
        },
    )
    assert r.status_code == 201, r.text
    text = _yaml(client, key, "gzb2024-3", status="draft")
    assert "code: gzb2024-3" in text and "gzb2023-7." not in text and "date_to: 2024-03-31" in text
    report = client.post("/api/v1/policies/gzb2024-3/draft/test", headers=bearer(key)).json()
    assert report["results"], report
    assert (
        client.post(
            "/api/v1/policies/gzb2023-7/copy",
            headers=bearer(key),
            json={"code": "gzb2024-3", "number": "x", "start": "2024-01-01", "end": "2024-12-31"},
        ).status_code
        == 422
    )


def test_two_admins_publishing_at_once_leave_one_published_version(app, committed):
    from fastapi.testclient import TestClient

    from app.accounts import service as accounts

    with committed() as s:
        key, _ = accounts.create_api_key(s, name="publisher", scopes=list(WRITE))
        s.commit()
    with TestClient(app) as c:
        text = c.get("/api/v1/policies/gzb2023-7/document.yaml", headers=bearer(key)).text
        r = c.put(
            "/api/v1/policies/gzb2024-3/draft",
            headers={**bearer(key), "Content-Type": "application/yaml"},
            content=copy_2024(text, 50_000).encode(),
        )
        assert r.status_code == 200, r.text
        results = []
        barrier = threading.Barrier(2)

        def go():
            barrier.wait()
            results.append(c.post("/api/v1/policies/gzb2024-3/publish", headers=bearer(key)).status_code)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409]
    with committed() as s:
        rows = (
            s.execute(select(PolicyVersion.status).where(PolicyVersion.code == "gzb2024-3")).scalars().all()
        )
    assert rows == ["published"]


def test_impact_of_a_draft_on_last_years_events_by_funder_and_fund(client, make):
    key = make.api_key(scopes=WRITE)
    _put(client, key, "gzb2024-3", copy_2024(_yaml(client, key, "gzb2023-7")))
    ent = make.enterprise(size="small")
    client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(key),
        json={"event": {"type": "first_above_scale", "date": "2023-06-30"}},
    )
    r = client.get("/api/v1/policies/gzb2024-3/draft/impact", headers=bearer(key))
    assert r.status_code == 200, r.text
    i = r.json()
    # today's rules for 2024-06-30: 冠政发〔2022〕9号 最高 5 万 (county 500 万 fund); the draft: 8 万 from its own fund
    assert i["scenarios"] == 1
    assert i["current_by_funder"] == {"county": 50_000} and i["draft_by_funder"] == {"county": 80_000}
    assert i["difference_by_funder"] == {"county": 30_000}
    funds = {f["name"]: f for f in i["by_fund"]}
    planned = next(f for n, f in funds.items() if "冠政办发〔2024〕3号" in n)
    assert planned["draft_yuan"] == 80_000 and planned["remaining_yuan"] == 10_000_000
    assert planned["after_yuan"] == 10_000_000 - 80_000
