"""Forecasts through the API: the 2023 targets, named candidates, and a what-if that leaves the rules alone."""

from app.policies.loader import load_policies
from tests.awards.conftest import honour
from tests.conftest import bearer


def forecast(client, key, **body):
    return client.post("/api/v1/awards/forecast", headers=bearer(key), json=body)


def test_targets_met_cost_by_funder_and_fund(client, reader_key, funds):
    """冠政办发〔2023〕7号 附件 × the award per head: e.g. 31 培育库 firms × 县级最高15万 (冠政发〔2022〕9号 四（十））."""
    r = forecast(client, reader_key, scenario="targets", year=2023)
    assert r.status_code == 200, r.text
    base = r.json()["base"]
    rows = {(x["source"], x["rule_id"]): x for x in base["rows"]}
    ssme = rows[("专精特新中小企业培育库", "gz2022-9.county.specialized_sme.provincial")]
    assert (ssme["count"], ssme["per_head_yuan"], ssme["total_yuan"]) == (31, 150_000, 4_650_000)
    ht = rows[("高新技术企业培育数量", "gzb2023-7.county.high_tech")]
    assert (ht["count"], ht["total_yuan"]) == (50, 5_000_000)
    # County: 31×15万 + 30×5万 + 3×20万 + (2×10万 + 1×20万) + 50×10万 + 38×5万 + 38×5万
    assert base["by_funder"]["county"] == 15_950_000
    assert base["total_yuan"] == sum(base["by_funder"].values())
    by_fund = {f["code"]: f for f in base["by_fund"] if f["code"]}
    old, new = by_fund["gz2022-9.fund.county"], by_fund["gzb2023-7.fund.county"]
    assert old["forecast_yuan"] + new["forecast_yuan"] == 15_950_000
    assert old["after_yuan"] == old["remaining_yuan"] - old["forecast_yuan"] and old["short"]
    assert old["remaining_yuan"] == 5_000_000  # 五（二）'s 2023 envelope, not the three years' 1500万
    assert any("champion" not in n["name"] and "人才" in n["reason"] for n in base["not_forecast"])
    assert base["assumptions"]


def test_what_if_changes_the_forecast_only(client, reader_key, funds):
    """冠政办发〔2023〕7号 二（一）3: 国家级“专精特新”（小巨人） 市级最高 50 万 → 30 万 for 2 firms."""
    rule = "gzb2023-7.city.little_giant.national"
    r = forecast(client, reader_key, scenario="targets", overrides={rule: 300_000})
    body = r.json()
    assert body["difference"]["by_funder"]["city"] == -400_000
    assert body["difference"]["total_yuan"] == -400_000
    row = next(x for x in body["what_if"]["rows"] if x["rule_id"] == rule)
    assert row["per_head_yuan"] == 300_000 and row["overridden"]
    assert load_policies().rules[rule].amount.yuan == 500_000
    again = client.post(
        "/api/v1/awards/preview",
        headers=bearer(reader_key),
        json={
            "event": {
                "type": "honour",
                "honour": "little_giant",
                "level": "national",
                "outcome": "new",
                "date": "2023-05-01",
            }
        },
    )
    assert again.json()["lines"][0]["amount_yuan"] == 500_000


def test_bad_overrides_and_years_are_422(client, reader_key):
    r = forecast(client, reader_key, overrides={"no.such.rule": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "overrides.no.such.rule"
    r = forecast(client, reader_key, overrides={"gzb2023-7.benefit.high_tech.income_tax": 1})
    assert r.status_code == 422 and "非货币" in r.json()["detail"]
    r = forecast(client, reader_key, year=2025)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "year"


def test_candidates_use_the_registry_facts(client, reader_key, make, funds):
    """省级高新补助 is for 首次: a candidate that already held 高新 gets only the city and county lines."""
    fresh = make.enterprise(size="small")
    held = make.enterprise(size="small", honours=[honour("high_tech", "national", "2020-10-01")])
    r = forecast(
        client,
        reader_key,
        scenario="candidates",
        year=2023,
        candidates=[
            {"enterprise_id": fresh.id, "honour": "high_tech", "level": "national"},
            {"enterprise_id": held.id, "honour": "high_tech", "level": "national", "outcome": "renewed"},
        ],
    )
    assert r.status_code == 200, r.text
    rows = r.json()["base"]["rows"]
    by_ent = {}
    for x in rows:
        by_ent.setdefault(x["source"], set()).add(x["rule_id"])
    assert "gzb2023-7.province.high_tech.first" in by_ent[fresh.name]
    assert "gzb2023-7.province.high_tech.first" not in by_ent[held.name]
    assert r.json()["base"]["by_funder"] == {"province": 100_000, "city": 200_000, "county": 200_000}


def test_candidate_errors_name_the_row(client, reader_key, make):
    ent = make.enterprise()
    r = forecast(
        client,
        reader_key,
        scenario="candidates",
        candidates=[{"enterprise_id": ent.id, "honour": "gazelle", "level": "city"}],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "candidates[0].level"
    r = forecast(client, reader_key, scenario="candidates", candidates=[])
    assert r.status_code == 422
    r = forecast(
        client,
        reader_key,
        scenario="candidates",
        candidates=[{"enterprise_id": 999_999, "honour": "gazelle", "level": "provincial"}],
    )
    assert r.status_code == 404
