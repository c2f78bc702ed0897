"""Inputs are taken only as docs/API.md documents them: numbers as JSON numbers, months as YYYY-MM,
honours that have happened, known townships; and the page edit form must say which version it edits."""

from sqlalchemy import func, select, text

from app.reports.models import MonthlyFiling
from tests.conftest import bearer, login


def test_a_number_sent_as_a_string_is_refused(client, make, db):
    ent = make.enterprise()
    key = make.api_key()
    r = client.put(
        f"/api/v1/enterprises/{ent.id}/figures/2024",
        headers=bearer(key),
        json={"year": 2024, "revenue_yuan": "100"},
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "revenue_yuan" and "不能是字符串" in err["message"]
    assert (
        client.put(
            f"/api/v1/enterprises/{ent.id}/figures/2024",
            headers=bearer(key),
            json={"year": 2024, "revenue_yuan": 100},
        ).status_code
        == 200
    )


def test_a_filing_figure_sent_as_a_string_is_refused(client, make, db, reference):
    ent = make.enterprise()
    key = make.api_key(scopes=["filings:read", "filings:write"])
    r = client.put(
        f"/api/v1/filings/2023-05/enterprises/{ent.id}",
        headers=bearer(key),
        json={"rd_spend_yuan": "5", "output_value_yuan": 3_000_000},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rd_spend_yuan"
    assert db.scalar(select(func.count()).select_from(MonthlyFiling)) == 0


def test_a_month_without_its_leading_zero_is_refused(client, make, reference):
    ent = make.enterprise()
    key = make.api_key(scopes=["filings:read", "filings:write"])
    r = client.put(
        f"/api/v1/filings/2023-1/enterprises/{ent.id}",
        headers=bearer(key),
        json={"rd_spend_yuan": 5, "output_value_yuan": 3_000_000},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "month" and "YYYY-MM" in r.json()["errors"][0]["message"]
    assert client.get("/api/v1/filings", params={"month": "2023-1"}, headers=bearer(key)).status_code == 422


def test_an_honour_dated_in_the_future_is_refused_with_the_reason(client, make):
    ent = make.enterprise()
    key = make.api_key()
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={"code": "specialized_sme", "level": "provincial", "honour_date": "9999-12-31"},
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert (
        err["field"] == "honour_date" and "晚于今天" in err["message"] and "已经作出的认定" in err["message"]
    )


def test_award_lines_of_an_unknown_township_are_a_422(client, make):
    key = make.api_key(scopes=["awards:read"])
    r = client.get("/api/v1/awards/lines", headers=bearer(key), params={"township": "atlantis"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "township"
    assert (
        client.get("/api/v1/awards/lines", headers=bearer(key), params={"township": "qingquan"}).status_code
        == 200
    )


def test_the_page_edit_form_without_its_version_changes_nothing(client, make, db):
    ent = make.enterprise(name="原名企业有限公司")
    token = login(client, make.user())
    r = client.post(
        f"/enterprises/{ent.id}/edit",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={
            "uscc": ent.uscc,
            "name": "无版本修改有限公司",
            "township": "qingquan",
            "size": "small",
            "ownership": "private",
        },
    )
    assert r.status_code == 422 and "版本号" in r.text
    assert (
        db.execute(text("select name from enterprise where id = :i"), {"i": ent.id}).scalar()
        == "原名企业有限公司"
    )
