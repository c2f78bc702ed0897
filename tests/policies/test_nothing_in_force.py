"""When no policy document is in force: every answer says which document lapsed and when, instead of silence.

Both shipped documents have lapsed by today (冠政办发〔2023〕7号 on 2023-12-31, 冠政发〔2022〕9号 on
2024-12-31), so these tests run on the real date.
"""

from datetime import date

from tests.conftest import bearer, login

LATEST = "冠政发〔2022〕9号"
LAPSED = "2024-12-31"


def test_eligible_policies_today_names_the_latest_document_and_when_it_lapsed(client, make):
    key = make.api_key(scopes=("policies:read",))
    ent = make.enterprise(
        size="small",
        above_scale=False,
        industry="C3311",
        figures=[{"year": 2023, "main_revenue_yuan": 16_500_000}],
    )
    page = client.get(f"/api/v1/enterprises/{ent.id}/eligible-policies", headers=bearer(key)).json()
    assert page["as_of"] == date.today().isoformat()
    assert page["documents_in_force"] == []
    assert LATEST in page["message"] and f"已于 {LAPSED} 到期失效" in page["message"]
    assert all(i["kind"] == "pool_entry" for i in page["items"])
    # on a day both were in force: both listed, no message
    then = client.get(
        f"/api/v1/enterprises/{ent.id}/eligible-policies", headers=bearer(key), params={"as_of": "2023-06-30"}
    ).json()
    assert [d["number"] for d in then["documents_in_force"]] == ["冠政发〔2022〕9号", "冠政办发〔2023〕7号"]
    assert then["message"] is None
    batch = client.post(
        "/api/v1/eligible-policies:batch", headers=bearer(key), json={"enterprise_ids": [ent.id]}
    ).json()
    assert batch["documents_in_force"] == [] and LATEST in batch["message"]


def test_recording_an_event_outside_every_period_warns_why_no_award_is_proposed(client, make):
    key = make.api_key(scopes=("enterprises:read", "enterprises:write", "awards:read"))
    ent = make.enterprise(size="small")
    today = date.today().isoformat()
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(key),
        json={"event": {"type": "loan_interest", "date": today, "interest_paid_yuan": 250_000}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["lines"] == [] and len(body["warnings"]) == 1
    assert "不在任何政策文件的有效期内" in body["warnings"][0] and LATEST in body["warnings"][0]
    assert LAPSED in body["warnings"][0]
    # 2024-06-30: 冠政发〔2022〕9号 is in force but has no clause for 贷款贴息
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(key),
        json={"event": {"type": "loan_interest", "date": "2024-06-30", "interest_paid_yuan": 250_000}},
    )
    assert r.status_code == 201 and "没有“科技成果转化贷款贴息”事件的奖补条款" in r.json()["warnings"][0]
    # inside a period with a clause: no warning
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(key),
        json={"event": {"type": "loan_interest", "date": "2023-06-30", "interest_paid_yuan": 250_000}},
    )
    assert r.status_code == 201 and r.json()["warnings"] == []


def test_recording_an_honour_outside_every_period_warns_why_no_award_is_proposed(client, make):
    """POST …/honours answers `warnings` like events do: today no document is in force, so a 专精特新 recognised
    today is recorded but earns nothing, and the answer names 冠政发〔2022〕9号 and the day it lapsed."""
    key = make.api_key(scopes=("enterprises:read", "enterprises:write", "awards:read"))
    ent = make.enterprise(size="small")
    honour = {"code": "specialized_sme", "level": "provincial", "outcome": "new"}
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={**honour, "honour_date": date.today().isoformat()},
    )
    assert r.status_code == 201, r.text
    (warning,) = r.json()["warnings"]
    assert "不在任何政策文件的有效期内" in warning and LATEST in warning and LAPSED in warning
    assert client.get(f"/api/v1/enterprises/{ent.id}/awards", headers=bearer(key)).json() == []
    # 2023-06-30: both documents in force and both pay for 省级专精特新: no warning
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={**honour, "level": "provincial", "honour_date": "2023-06-30"},
    )
    assert r.status_code == 201 and r.json()["warnings"] == []
    # a rejected application never earns an award: nothing to warn about
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={**honour, "outcome": "rejected", "honour_date": date.today().isoformat()},
    )
    assert r.status_code == 201 and r.json()["warnings"] == []


def test_the_enterprise_page_warns_after_an_honour_dated_outside_every_period(client, make):
    ent = make.enterprise(size="small")
    csrf = login(client, make.user(role="county_admin"))
    r = client.post(
        f"/enterprises/{ent.id}/honours",
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        data={
            "code": "high_tech",
            "level": "national",
            "outcome": "new",
            "honour_date": date.today().isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    assert 'id="honour-warnings"' in r.text and "已记录认定，但不生成奖补" in r.text and LATEST in r.text


def test_the_enterprise_page_warns_and_stops_promising_automatic_awards(client, make):
    ent = make.enterprise(size="small")
    csrf = login(client, make.user(role="county_admin"))
    page = client.get(f"/enterprises/{ent.id}").text
    assert "系统按政策自动生成待审核的奖补" not in page and "新认定会按政策自动生成" not in page
    assert 'id="policy-gap"' in page and f"已于 {LAPSED} 到期失效" in page
    r = client.post(
        f"/enterprises/{ent.id}/events",
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        data={"type": "first_above_scale", "date": date.today().isoformat()},
    )
    assert r.status_code == 200, r.text
    assert 'id="event-warnings"' in r.text and "不能按政策生成奖补" in r.text and LATEST in r.text


def test_dashboard_opens_on_the_latest_table_at_the_end_of_its_period(client, make, reference):
    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard").text
    assert 'id="period-note"' in page and "按考核期末 2023-12-31 显示" in page
    assert 'name="as_of" value="2023-12-31"' in page
    # a date asked for is kept, without the note
    asked = client.get("/dashboard", params={"key": "2023", "as_of": "2026-11-30"}).text
    assert 'id="period-note"' not in asked and 'value="2026-11-30"' in asked
    table = client.get("/targets/2023").text
    assert 'id="period-note"' in table and 'value="2023-12-31"' in table
