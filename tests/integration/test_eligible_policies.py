"""Policy matching over the API: what an enterprise meets now, what it is closest to, and what is missing."""

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from tests.conftest import bearer, login
from tests.integration.conftest import AS_OF


def _key(make, scopes=("policies:read",)):
    return make.api_key(scopes=scopes)


def _get(client, key, ent_id, **params):
    return client.get(
        f"/api/v1/enterprises/{ent_id}/eligible-policies",
        headers=bearer(key),
        params={"as_of": AS_OF, "limit": 100, **params},
    )


def _by_id(page):
    return {i["id"]: i for i in page["items"]}


def test_near_first_above_scale_says_how_much_main_revenue_is_missing(client, make, firm):
    ent = firm(main_revenue=16_500_000, revenue=16_500_000)
    r = _get(client, _key(make), ent.id)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["enterprise"]["uscc"] == ent.uscc and page["year"] == 2023 and page["as_of"] == AS_OF
    rule = _by_id(page)["gzb2023-7.county.first_above_scale"]
    assert rule["status"] == "near" and rule["kind"] == "award"
    assert rule["document"] == "冠政办发〔2023〕7号" and rule["clause"] == "二（一）1"
    assert "首次升成规模以上工业企业" in rule["clause_text"]
    assert rule["amount"] == {
        "kind": "fixed",
        "yuan": 50_000,
        "ceiling": False,
        "funder": "county",
        "text": rule["amount"]["text"],
    }
    (gap,) = [c for c in rule["missing"] if c["key"] == "main_revenue_yuan"]
    assert gap["explanation"].startswith("2023 年主营业务收入 1,650 万元，差 350 万元达到 2,000 万元")
    assert (gap["current_yuan"], gap["target_yuan"], gap["gap_yuan"]) == (16_500_000, 20_000_000, 3_500_000)
    # The 2022 plan's 首次升规 rule is superseded in 2023: it is not offered twice.
    assert "gz2022-9.county.first_above_scale" not in _by_id(page)


def test_met_rules_rest_on_the_honours_held_with_their_amounts(client, make, firm):
    ent = firm(
        main_revenue=30_000_000,
        above_scale=True,
        honours=[("specialized_sme", "provincial", "new", "2023-05-10")],
    )
    items = _by_id(_get(client, _key(make), ent.id).json())
    county = items["gz2022-9.county.specialized_sme.provincial"]
    city = items["gzb2023-7.city.specialized_sme.provincial"]
    assert county["status"] == city["status"] == "met"
    assert (
        county["amount"]["yuan"] == 150_000
        and county["amount"]["kind"] == "up_to"
        and county["amount"]["ceiling"]
    )
    assert city["amount"]["yuan"] == 300_000 and city["amount"]["funder"] == "city"
    assert county["event_date"] == "2023-05-10" and county["missing"] == []
    assert "2023-05-10 新认定省级专精特新中小企业" in county["conditions"][0]["explanation"]
    # Met comes first, the larger amount first.
    statuses = [i["status"] for i in _get(client, _key(make), ent.id).json()["items"]]
    assert statuses == sorted(statuses, key=["met", "near", "unknown"].index)


def test_facts_that_will_not_change_rule_a_policy_out(client, make, firm):
    large = firm(
        main_revenue=900_000_000, revenue=900_000_000, size="large", ownership="state", above_scale=True
    )
    items = _by_id(_get(client, _key(make), large.id).json())
    assert "gzb2023-7.province.high_tech.first" not in items  # 中小微 only
    assert not any(i.startswith("gz2022-9.county.sales_milestone") for i in items)  # 民营 only
    assert not any(i.startswith("pool:") and "seed" in i for i in items)  # 规下小微 only


def test_sales_milestone_first_crossing_is_met_and_the_next_is_near(client, make, firm):
    ent = firm(
        ownership="private",
        above_scale=True,
        figures=[{"year": 2022, "revenue_yuan": 480_000_000}, {"year": 2023, "revenue_yuan": 520_000_000}],
    )
    items = _by_id(_get(client, _key(make), ent.id).json())
    # 冠政发〔2022〕9号 四（十） 首次突破: crossed in 2023, but 2022 is the first recorded year — whether it
    # crossed before that is unknown until a person confirms it.
    met = items["gz2022-9.county.sales_milestone.500m"]
    assert met["status"] == "unknown" and "首次突破 50,000 万元" in met["conditions"][0]["explanation"]
    assert any("2022 年以前的销售收入无记录" in c["explanation"] for c in met["missing"])
    assert met["review"] == "企业须符合新旧动能转换政策"
    again = firm(
        ownership="private",
        above_scale=True,
        figures=[
            {"year": 2021, "revenue_yuan": 530_000_000},
            {"year": 2022, "revenue_yuan": 480_000_000},
            {"year": 2023, "revenue_yuan": 520_000_000},
        ],
    )
    assert "gz2022-9.county.sales_milestone.500m" not in _by_id(_get(client, _key(make), again.id).json())
    near = items["gz2022-9.county.sales_milestone.1bn"]
    assert near["status"] == "near" and "差 48,000 万元达到 100,000 万元" in near["missing"][0]["explanation"]


def test_rules_needing_an_event_the_registry_does_not_hold_are_unknown(client, make, firm):
    holder = firm(honours=[("tech_sme", "national", "new", "2023-03-01")])
    items = _by_id(_get(client, _key(make), holder.id).json())
    loan = items["gzb2023-7.province.tech_loan_interest"]
    assert loan["status"] == "unknown"
    assert loan["amount"]["kind"] == "computed" and loan["amount"]["yuan"] is None
    assert "实际支付利息 × 40%" in loan["amount"]["text"]
    assert any("须有：科技成果转化贷款" in c["explanation"] for c in loan["missing"])
    # Without the 科技型中小企业 honour the same rule is near: the honour is what is missing.
    other = firm()
    loan = _by_id(_get(client, _key(make), other.id).json())["gzb2023-7.province.tech_loan_interest"]
    assert loan["status"] == "near" and any("科技型中小企业" in c["explanation"] for c in loan["missing"])


def test_pool_entry_classes_appear_until_the_firm_is_a_member(client, make, firm):
    ent = firm(main_revenue=6_000_000, revenue=6_000_000)
    seed = _by_id(_get(client, _key(make), ent.id).json())["pool:primary_pool.seed"]
    assert seed["kind"] == "pool_entry" and seed["status"] == "met" and seed["amount"] is None
    assert seed["document"] == "冠政办发〔2023〕7号"
    small = firm(main_revenue=3_000_000)
    seed = _by_id(_get(client, _key(make), small.id).json())["pool:primary_pool.seed"]
    assert seed["status"] == "near"
    assert "差 200 万元达到 500 万元" in seed["missing"][0]["explanation"]


def test_filters_pagination_and_no_policies_outside_their_period(client, make, firm):
    key = _key(make)
    ent = firm(main_revenue=16_500_000, honours=[("specialized_sme", "city", "new", "2023-05-10")])
    everything = _get(client, key, ent.id).json()["items"]
    met = _get(client, key, ent.id, status="met").json()["items"]
    assert met and all(i["status"] == "met" for i in met)
    pools = _get(client, key, ent.id, kind="pool_entry").json()["items"]
    assert pools and all(i["kind"] == "pool_entry" for i in pools)
    seen, cursor = [], None
    while True:
        page = _get(client, key, ent.id, limit=7, **({"cursor": cursor} if cursor else {})).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything]
    later = client.get(
        f"/api/v1/enterprises/{ent.id}/eligible-policies", headers=bearer(key), params={"as_of": "2026-01-01"}
    ).json()
    assert later["items"] == [] and later["next_cursor"] is None


def test_by_uscc_matches_by_id_and_bad_codes_are_named(client, make, firm):
    key = _key(make)
    ent = firm(main_revenue=16_500_000)
    by_id = _get(client, key, ent.id).json()
    by_uscc = client.get(
        f"/api/v1/enterprises/by-uscc/{ent.uscc}/eligible-policies",
        headers=bearer(key),
        params={"as_of": AS_OF, "limit": 100},
    ).json()
    assert by_uscc == by_id
    bad = ent.uscc[:17] + ("0" if ent.uscc[17] != "0" else "1")
    r = client.get(f"/api/v1/enterprises/by-uscc/{bad}/eligible-policies", headers=bearer(key))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "uscc" and "校验位错误" in r.json()["errors"][0]["message"]
    assert (
        client.get(
            "/api/v1/enterprises/by-uscc/91350100M000100Y43/eligible-policies", headers=bearer(key)
        ).status_code
        == 404
    )
    r = client.get(
        f"/api/v1/enterprises/{ent.id}/eligible-policies", headers=bearer(key), params={"status": "maybe"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status.0"


def test_scope_and_township_visibility(client, make, firm):
    ent = firm(township="kaifaqu")
    r = client.get(f"/api/v1/enterprises/{ent.id}/eligible-policies", headers=bearer(make.api_key()))
    assert r.status_code == 403 and "policies:read" in r.json()["detail"]
    login(client, make.user(role="township_staff", township="qingquan"))
    assert client.get(f"/api/v1/enterprises/{ent.id}/eligible-policies").status_code == 404
    assert client.get(f"/api/v1/enterprises/by-uscc/{ent.uscc}/eligible-policies").status_code == 404


def test_batch_answers_in_order_with_missing_ones_in_place(client, make, firm, db):
    key = _key(make)
    a = firm(main_revenue=16_500_000)
    b = firm(main_revenue=6_000_000)
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    r = client.post(
        "/api/v1/eligible-policies:batch",
        headers=bearer(key),
        json={
            "enterprise_ids": [a.id, 999_999],
            "usccs": [b.uscc, "91350100M000100Y43"],
            "as_of": AS_OF,
            "limit": 3,
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["as_of"] == AS_OF
    assert [x["ref"] for x in out["results"]] == [str(a.id), "999999", b.uscc, "91350100M000100Y43"]
    assert [x["found"] for x in out["results"]] == [True, False, True, False]
    assert out["results"][1]["error"] == "未找到该企业" and out["results"][1]["items"] == []
    first = out["results"][0]
    assert len(first["items"]) == 3 and first["more"] is True
    single = _get(client, key, a.id, limit=3).json()["items"]
    assert first["items"] == single
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before  # reading writes nothing


def test_batch_refuses_bad_input_naming_the_field(client, make):
    key = _key(make)
    post = lambda body: client.post("/api/v1/eligible-policies:batch", headers=bearer(key), json=body)  # noqa: E731
    r = post({"usccs": ["91350100M000100Y43", "91350100M000100Y44"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "usccs.1"
    r = post({"enterprise_ids": list(range(1, 102))})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enterprise_ids"
    r = post({"enterprise_ids": list(range(1, 61)), "usccs": [f"X{i}" for i in range(50)]})
    assert r.status_code == 422
    r = post({})
    assert r.status_code == 422 and "至少填写一项" in r.json()["errors"][0]["message"]
    r = post({"enterprise_ids": [1, 1]})
    assert r.status_code == 422 and "重复" in r.json()["errors"][0]["message"]
    r = post({"enterprise_ids": [1], "unknown": True})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unknown"
