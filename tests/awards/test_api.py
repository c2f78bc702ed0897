"""The awards JSON API: the preview contract, recording events (免申即享), batch, receipts, the catalogue."""

import hashlib
from datetime import date

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.awards.models import AwardLine, EnterpriseEvent
from app.policies.loader import load_policies
from tests.awards.conftest import honour, lines_of
from tests.conftest import bearer, login

SSME_2023 = {
    "type": "honour",
    "honour": "specialized_sme",
    "level": "provincial",
    "outcome": "new",
    "date": "2023-05-10",
}


def preview(client, key, **body):
    return client.post("/api/v1/awards/preview", headers=bearer(key), json=body)


# --- the preview contract ---------------------------------------------------------------------


def test_preview_gives_each_funders_line_with_its_clause_and_a_chinese_explanation(client, reader_key):
    """冠政发〔2022〕9号 四（十） 县级最高15万 and 冠政办发〔2023〕7号 二（一）3 市级最高30万 stack."""
    r = preview(client, reader_key, event=SSME_2023, enterprise={"size": "small", "ownership": "private"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"lines", "benefits", "total_yuan", "not_computable"}
    by_rule = {x["rule_id"]: x for x in body["lines"]}
    county = by_rule["gz2022-9.county.specialized_sme.provincial"]
    city = by_rule["gzb2023-7.city.specialized_sme.provincial"]
    assert (
        county["document"],
        county["clause"],
        county["funder"],
        county["kind"],
        county["amount_yuan"],
    ) == ("冠政发〔2022〕9号", "四（十）", "county", "up_to", 150_000)
    assert (city["document"], city["clause"], city["funder"], city["amount_yuan"]) == (
        "冠政办发〔2023〕7号",
        "二（一）3",
        "city",
        300_000,
    )
    assert "最高 150,000 元" in county["explanation"] and "此为上限" in county["explanation"]
    assert body["total_yuan"] == sum(x["amount_yuan"] for x in body["lines"]) == 450_000
    assert all(isinstance(x["amount_yuan"], int) for x in body["lines"])


def test_event_outside_every_document_is_200_with_no_lines(client, reader_key):
    r = preview(client, reader_key, event={**SSME_2023, "date": "2021-06-01"})
    assert r.status_code == 200
    assert r.json()["lines"] == [] and r.json()["total_yuan"] == 0


def test_benefits_are_reported_apart_from_money(client, reader_key):
    """冠政办发〔2023〕7号 二（一）2: 高新技术企业 15% 税率 is a benefit, not money."""
    ev = {
        "type": "honour",
        "honour": "high_tech",
        "level": "national",
        "outcome": "renewed",
        "date": "2023-08-01",
    }
    body = preview(client, reader_key, event=ev, enterprise={"size": "small"}).json()
    assert {b["rule_id"] for b in body["benefits"]} == {
        "gzb2023-7.benefit.high_tech.income_tax",
        "gzb2023-7.benefit.high_tech.land_use_tax",
    }
    assert body["total_yuan"] == 200_000  # 市级 10万 + 县级 10万; renewed is not 首次 for the province


def test_malformed_events_are_422_problems_naming_the_field(client, reader_key):
    cases = [
        ({"type": "party", "date": "2023-01-01"}, "event.type", "未知的事件类型"),
        ({"date": "2023-01-01"}, "event.type", "缺少事件类型"),
        (
            {"type": "honour", "honour": "specialized_sme", "outcome": "new", "date": "2023-01-01"},
            "event.level",
            "必填",
        ),
        (
            {"type": "loan_interest", "date": "2023-01-01", "interest_paid_yuan": -5},
            "event.interest_paid_yuan",
            "不能小于 0",
        ),
        (
            {
                "type": "honour",
                "honour": "moon_base",
                "level": "city",
                "outcome": "new",
                "date": "2023-01-01",
            },
            "event.honour",
            "未知的认定类型",
        ),
        (
            {"type": "honour", "honour": "gazelle", "level": "city", "outcome": "new", "date": "2023-01-01"},
            "event.level",
            "没有 city 这一级别",
        ),
        ({"type": "first_above_scale", "date": "2023-02-30"}, "event.date", "日期"),
        (
            {"type": "first_above_scale", "date": "2023-02-01", "colour": "red"},
            "event.colour",
            "不允许的字段",
        ),
    ]
    for event, field, words in cases:
        r = preview(client, reader_key, event=event)
        assert r.status_code == 422, (event, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        err = r.json()["errors"][0]
        assert err["field"] == field and words in err["message"], (event, err)


def test_facts_and_id_together_are_refused(client, reader_key, make):
    ent = make.enterprise()
    r = preview(client, reader_key, event=SSME_2023, enterprise={"size": "small"}, enterprise_id=ent.id)
    assert r.status_code == 422


def test_unknown_facts_make_a_rule_not_computable_never_guessed(client, reader_key):
    """冠政办发〔2023〕7号 二（一）2 省级 10万 for 首次、中小微: unknown size and honours → not computable."""
    ev = {
        "type": "honour",
        "honour": "high_tech",
        "level": "national",
        "outcome": "new",
        "date": "2023-08-01",
    }
    body = preview(client, reader_key, event=ev).json()
    nc = {x["rule_id"]: x for x in body["not_computable"]}
    assert "gzb2023-7.province.high_tech.first" in nc
    assert set(nc["gzb2023-7.province.high_tech.first"]["missing_facts"]) >= {"honours"}


def test_with_enterprise_id_facts_come_from_the_registry(client, reader_key, make):
    """省级高新补助 is for 首次: an honour held before the event removes it; one after does not."""
    first = make.enterprise(size="small")
    again = make.enterprise(size="small", honours=[honour("high_tech", "national", "2020-11-01")])
    later = make.enterprise(size="small", honours=[honour("high_tech", "national", "2023-12-01", "renewed")])
    big = make.enterprise(size="large")
    ev = {
        "type": "honour",
        "honour": "high_tech",
        "level": "national",
        "outcome": "new",
        "date": "2023-08-01",
    }

    def rules(ent):
        body = preview(client, reader_key, event=ev, enterprise_id=ent.id).json()
        return {x["rule_id"] for x in body["lines"]}, body

    got, body = rules(first)
    assert "gzb2023-7.province.high_tech.first" in got and body["facts"]["size"] == "small"
    assert "gzb2023-7.province.high_tech.first" not in rules(again)[0]
    assert "gzb2023-7.province.high_tech.first" in rules(later)[0]
    assert "gzb2023-7.province.high_tech.first" not in rules(big)[0]  # 中小微 only


def test_ownership_from_the_registry_decides_the_private_enterprise_milestone(client, reader_key, make):
    """冠政发〔2022〕9号 四（十）: 首次突破 5 亿 民营企业 最高 10 万."""
    ev = {
        "type": "sales_milestone",
        "date": "2023-12-31",
        "previous_revenue_yuan": 480_000_000,
        "revenue_yuan": 520_000_000,
    }
    private = make.enterprise(ownership="private")
    state = make.enterprise(ownership="state")
    confirmed = {"revenue_history_complete": True}
    p = preview(client, reader_key, event=ev, enterprise_id=private.id, facts=confirmed).json()
    s = preview(client, reader_key, event=ev, enterprise_id=state.id, facts=confirmed).json()
    assert [x["amount_yuan"] for x in p["lines"]] == [100_000]
    assert s["lines"] == []


def test_first_crossing_is_checked_against_every_recorded_year(client, reader_key, make):
    """冠政发〔2022〕9号 四（十）: 年销售收入首次突破 5 亿元 — a firm that crossed in 2020 and fell back is not paid again."""
    ev = {
        "type": "sales_milestone",
        "date": "2023-12-31",
        "previous_revenue_yuan": 480_000_000,
        "revenue_yuan": 520_000_000,
    }
    crossed = make.enterprise(
        ownership="private",
        figures=[{"year": 2020, "revenue_yuan": 610_000_000}, {"year": 2022, "revenue_yuan": 480_000_000}],
    )
    body = preview(
        client, reader_key, event=ev, enterprise_id=crossed.id, facts={"revenue_history_complete": True}
    ).json()
    assert body["lines"] == [] and body["not_computable"] == []
    assert body["facts"]["revenue_by_year"] == {"2020": 610_000_000, "2022": 480_000_000}
    never = make.enterprise(
        ownership="private",
        figures=[{"year": 2021, "revenue_yuan": 300_000_000}, {"year": 2022, "revenue_yuan": 480_000_000}],
    )
    body = preview(client, reader_key, event=ev, enterprise_id=never.id).json()
    assert body["lines"] == []
    (nc,) = body["not_computable"]
    assert nc["missing_facts"] == ["revenue_history_complete"] and "2021 年以前" in nc["reason"]


def test_prior_grants_count_against_a_cumulative_cap(client, admin_key, make):
    """冠政办发〔2023〕7号 二（三）8: 智能化改造 ≤10%、单户最高 500 万 — earlier lines use up the cap."""
    ent = make.enterprise()
    ev1 = {
        "type": "equipment_purchase",
        "date": "2023-03-01",
        "purpose": "smart_upgrade",
        "amount_yuan": 40_000_000,
    }
    r = client.post(f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key), json={"event": ev1})
    assert r.status_code == 201, r.text
    assert [x["computed_yuan"] for x in r.json()["lines"]] == [4_000_000]
    ev2 = {**ev1, "date": "2023-09-01", "amount_yuan": 20_000_000}
    body = preview(client, admin_key, event=ev2, enterprise_id=ent.id).json()
    line = body["lines"][0]
    assert line["amount_yuan"] == 1_000_000
    assert "此前已获 4,000,000 元" in line["explanation"]
    assert body["facts"]["prior_grants_yuan"] == {"gzb2023-7.city.smart_upgrade": 4_000_000}


def test_township_staff_preview_another_townships_enterprise_is_404(client, make):
    other = make.enterprise(township="kaifaqu")
    mine = make.enterprise(township="qingquan")
    token = login(client, make.user("township_staff", "qingquan"))
    h = {"X-CSRF-Token": token}
    r = client.post("/api/v1/awards/preview", headers=h, json={"event": SSME_2023, "enterprise_id": other.id})
    assert r.status_code == 404
    r = client.post("/api/v1/awards/preview", headers=h, json={"event": SSME_2023, "enterprise_id": mine.id})
    assert r.status_code == 200


def test_preview_needs_the_awards_read_scope(client, make):
    key = make.api_key(scopes=("enterprises:read",))
    assert preview(client, key, event=SSME_2023).status_code == 403


# --- recording: honours and other events propose their lines ----------------------------------


def test_recording_an_honour_proposes_its_lines_with_a_receipt(client, admin_key, make, db):
    ent = make.enterprise()
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(admin_key),
        json={
            "code": "specialized_sme",
            "level": "provincial",
            "outcome": "new",
            "honour_date": "2023-05-10",
        },
    )
    assert r.status_code == 201, r.text
    lines = lines_of(db, ent.id)
    assert {(x.rule_id, x.status, x.computed_yuan) for x in lines} == {
        ("gz2022-9.county.specialized_sme.provincial", "proposed", 150_000),
        ("gzb2023-7.city.specialized_sme.provincial", "proposed", 300_000),
    }
    line = next(x for x in lines if x.funder == "county")
    ps = load_policies()
    path = ps.documents["gz2022-9"].path
    assert line.document_version == hashlib.sha256(path.read_bytes()).hexdigest()
    assert line.receipt["rule_id"] == line.rule_id
    assert line.receipt["event"]["honour"] == "specialized_sme"
    assert line.receipt["facts"]["size"] == "small"
    assert line.receipt["policy_versions"] == {c: d.version for c, d in ps.documents.items()}
    audits = db.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "award_line", AuditEntry.enterprise_id == ent.id)
    ).all()
    assert len(audits) == 2 and all(a.township == "qingquan" for a in audits)
    api = client.get(f"/api/v1/enterprises/{ent.id}/awards", headers=bearer(admin_key)).json()
    assert {x["rule_id"] for x in api} == {x.rule_id for x in lines}


def test_recording_an_event_proposes_its_lines(client, admin_key, make):
    """冠政办发〔2023〕7号 二（一）2: 省级贴息 40%，市级按省级的 50%."""
    ent = make.enterprise(honours=[honour("tech_sme", "national", "2023-01-15")])
    ev = {"type": "loan_interest", "date": "2023-06-30", "interest_paid_yuan": 250_000}
    r = client.post(f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key), json={"event": ev})
    assert r.status_code == 201, r.text
    got = {x["rule_id"]: x["computed_yuan"] for x in r.json()["lines"]}
    assert got == {
        "gzb2023-7.province.tech_loan_interest": 100_000,
        "gzb2023-7.city.tech_loan_interest": 50_000,
    }
    assert r.json()["event"]["type"] == "loan_interest"
    events = client.get(f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key)).json()
    assert [e["type"] for e in events] == ["loan_interest", "honour"]


def test_the_same_event_twice_is_409_and_writes_nothing(client, admin_key, make, db):
    ent = make.enterprise()
    ev = {"type": "first_above_scale", "date": "2023-04-01"}
    assert (
        client.post(
            f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key), json={"event": ev}
        ).status_code
        == 201
    )
    n = db.scalar(select(func.count()).select_from(AwardLine))
    r = client.post(f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key), json={"event": ev})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_event"
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(admin_key),
        json={"event": {**ev, "date": "2023-05-01"}},
    )
    assert r.status_code == 409 and "首次升规" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(AwardLine)) == n


def test_bad_recorded_events_are_422_naming_the_field(client, admin_key, make, db):
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}/events"
    r = client.post(
        url,
        headers=bearer(admin_key),
        json={
            "event": {
                "type": "honour",
                "honour": "gazelle",
                "level": "provincial",
                "outcome": "new",
                "date": "2023-01-01",
            }
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "event.type"
    r = client.post(
        url,
        headers=bearer(admin_key),
        json={"event": {"type": "skills_contest", "date": "2023-01-01", "participants": -1}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "event.participants"
    assert (
        db.scalar(
            select(func.count()).select_from(EnterpriseEvent).where(EnterpriseEvent.enterprise_id == ent.id)
        )
        == 0
    )


def test_extra_facts_recorded_with_the_event_make_talent_interest_computable(client, admin_key, make):
    """冠政办发〔2023〕7号 二（六）16: 不超过基准利率 50% 的贴息，不超过实付利息."""
    ent = make.enterprise()
    ev = {
        "type": "talent_loan_interest",
        "date": "2023-10-01",
        "interest_paid_yuan": 80_000,
        "benchmark_interest_yuan": 100_000,
    }
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(admin_key),
        json={"event": ev, "facts": {"talent_founded_date": "2022-01-01", "other_interest_subsidy": False}},
    )
    assert r.status_code == 201, r.text
    assert [(x["rule_id"], x["computed_yuan"]) for x in r.json()["lines"]] == [
        ("gzb2023-7.county.talent_loan_interest", 50_000)
    ]


def test_a_one_off_award_is_not_proposed_twice_for_the_same_enterprise(client, admin_key, make, db):
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}/honours"
    client.post(url, headers=bearer(admin_key), json=honour("gazelle", "provincial", "2022-09-01"))
    client.post(url, headers=bearer(admin_key), json=honour("gazelle", "provincial", "2022-10-01"))
    rules = [x.rule_id for x in lines_of(db, ent.id)]
    assert rules.count("gz2022-9.county.gazelle.provincial") == 1


def test_an_honour_deleted_and_recorded_again_keeps_its_lines(client, admin_key, make, db):
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}/honours"
    h = client.post(url, headers=bearer(admin_key), json=honour("gazelle", "provincial", "2022-09-01")).json()
    before = [x.id for x in lines_of(db, ent.id)]
    assert client.delete(f"{url}/{h['id']}", headers=bearer(admin_key)).status_code == 204
    client.post(url, headers=bearer(admin_key), json=honour("gazelle", "provincial", "2022-09-01"))
    assert [x.id for x in lines_of(db, ent.id)] == before


def test_the_database_refuses_a_second_line_for_one_enterprise_rule_and_event(db, make, funds):
    import pytest
    from sqlalchemy.exc import IntegrityError

    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    copy = {c.name: getattr(line, c.name) for c in AwardLine.__table__.columns if c.name != "id"}
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(AwardLine(**copy))
        db.flush()


# --- batch ------------------------------------------------------------------------------------


def test_batch_of_events_computes_each_and_saves_nothing(client, reader_key, make, db):
    ent = make.enterprise(ownership="private")
    n = db.scalar(select(func.count()).select_from(AwardLine))
    r = client.post(
        "/api/v1/awards/batch",
        headers=bearer(reader_key),
        json={
            "events": [
                {"event": SSME_2023, "enterprise": {"size": "small"}},
                {"event": {"type": "first_above_scale", "date": "2023-02-01"}},
                {
                    "event": {
                        "type": "sales_milestone",
                        "date": "2023-12-31",
                        "previous_revenue_yuan": 900_000_000,
                        "revenue_yuan": 1_100_000_000,
                    },
                    "enterprise_id": ent.id,
                },
                {
                    "event": {
                        "type": "sales_milestone",
                        "date": "2023-12-31",
                        "previous_revenue_yuan": 900_000_000,
                        "revenue_yuan": 1_100_000_000,
                    },
                    "enterprise": {
                        "ownership": "private",
                        "revenue_by_year": {"2022": 900_000_000},
                        "revenue_history_complete": True,
                    },
                },
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # 首次突破 10 亿 (冠政发〔2022〕9号 四（十）, 最高 30 万): the stored firm has no revenue history, so it
    # cannot be known to be the first time; the firm whose history is complete earns it.
    assert [i["total_yuan"] for i in body["items"]] == [450_000, 50_000, 0, 300_000]
    assert body["items"][2]["not_computable"][0]["missing_facts"] == ["revenue_history_complete"]
    assert body["total_yuan"] == 800_000 and body["total_by_funder"] == {"county": 500_000, "city": 300_000}
    assert db.scalar(select(func.count()).select_from(AwardLine)) == n


def test_batch_reports_every_bad_event_by_index(client, reader_key):
    r = client.post(
        "/api/v1/awards/batch",
        headers=bearer(reader_key),
        json={
            "events": [
                {"event": SSME_2023},
                {"event": {"type": "nope", "date": "2023-01-01"}},
                {"event": {"type": "loan_interest", "date": "2023-01-01", "interest_paid_yuan": -1}},
            ]
        },
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [
        "events[1].event.type",
        "events[2].event.interest_paid_yuan",
    ]


def test_batch_for_a_year_proposes_missing_lines_once(client, admin_key, make, db):
    from sqlalchemy import insert

    from app.enterprises.models import Honour

    ent = make.enterprise()
    # Honours loaded in bulk (as the demo data is) have no event and no lines yet.
    db.execute(
        insert(Honour),
        [
            {
                "enterprise_id": ent.id,
                "code": "gazelle",
                "level": "provincial",
                "outcome": "new",
                "honour_date": date(2023, 7, 1),
            }
        ],
    )
    r = client.post("/api/v1/awards/batch", headers=bearer(admin_key), json={"year": 2023})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["honour_events_created"] == 1 and body["created_lines"] == 2
    assert {x.rule_id for x in lines_of(db, ent.id)} == {
        "gz2022-9.county.gazelle.provincial",
        "gzb2023-7.city.gazelle.provincial",
    }
    again = client.post("/api/v1/awards/batch", headers=bearer(admin_key), json={"year": 2023}).json()
    assert again["created_lines"] == 0 and again["existing_lines"] >= 2


def test_batch_for_a_year_needs_the_write_scope(client, reader_key):
    assert (
        client.post("/api/v1/awards/batch", headers=bearer(reader_key), json={"year": 2023}).status_code
        == 403
    )


# --- receipts can be recomputed --------------------------------------------------------------


def test_recompute_from_the_receipt_matches(client, admin_key, make, db):
    ent = make.enterprise(honours=[honour("unicorn", "provincial", "2023-03-01")])
    line = next(x for x in lines_of(db, ent.id) if x.funder == "city")
    r = client.get(f"/api/v1/awards/lines/{line.id}/recompute", headers=bearer(admin_key)).json()
    assert r["matches"] and r["recomputed_yuan"] == 1_000_000 and not r["rules_changed_since"]


def test_recompute_uses_the_stored_text_of_an_older_policy_version(client, admin_key, make, db):
    """A line computed under an earlier text of the file is recomputed with that text, not today's."""
    from app.awards.models import PolicySnapshot

    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = next(x for x in lines_of(db, ent.id) if x.rule_id == "gz2022-9.county.gazelle.provincial")
    doc = load_policies().documents["gz2022-9"]
    old_text = doc.path.read_text(encoding="utf-8").replace(
        "subject: 新认定省级瞪羚企业\n    conditions: {honour: gazelle, levels: [provincial], outcomes: [new]}\n"
        "    amount: {shape: up_to, yuan: 200000",
        "subject: 新认定省级瞪羚企业\n    conditions: {honour: gazelle, levels: [provincial], outcomes: [new]}\n"
        "    amount: {shape: up_to, yuan: 180000",
    )
    assert old_text != doc.path.read_text(encoding="utf-8")
    old_version = hashlib.sha256(old_text.encode()).hexdigest()
    db.add(
        PolicySnapshot(
            version=old_version, document_code="gz2022-9", file_name=doc.path.name, content=old_text
        )
    )
    line.receipt = {
        **line.receipt,
        "policy_versions": {**line.receipt["policy_versions"], "gz2022-9": old_version},
    }
    db.flush()
    r = client.get(f"/api/v1/awards/lines/{line.id}/recompute", headers=bearer(admin_key)).json()
    assert r["recomputed_yuan"] == 180_000 and r["rules_changed_since"] and not r["matches"]


# --- the rule catalogue -----------------------------------------------------------------------


def test_policies_say_whether_each_document_is_in_force_today_and_when_it_lapses(client, reader_key):
    docs = {d["code"]: d for d in client.get("/api/v1/policies", headers=bearer(reader_key)).json()}
    assert set(docs) == {"gz2022-9", "gzb2023-7"}
    today = date.today()
    g = docs["gz2022-9"]
    assert g["lapses_on"] == "2024-12-31"
    assert g["in_force_today"] == (date(2022, 4, 9) <= today <= date(2024, 12, 31))
    assert docs["gzb2023-7"]["funds"][0]["amount_yuan"] == 10_000_000


def test_a_policy_lists_its_rules_with_clause_text(client, reader_key):
    r = client.get("/api/v1/policies/gzb2023-7", headers=bearer(reader_key))
    assert r.status_code == 200
    rules = {x["id"]: x for x in r.json()["rules"]}
    fas = rules["gzb2023-7.county.first_above_scale"]
    assert fas["clause"] == "二（一）1" and "一次性奖励5万元" in fas["clause_text"]
    assert fas["supersedes"] == "gz2022-9.county.first_above_scale" and fas["amount_text"] == "一次性 5 万元"
    assert rules["gzb2023-7.strong_town"]["amount_text"].startswith("未定金额")
    assert client.get("/api/v1/policies/nope", headers=bearer(reader_key)).status_code == 404


def test_becoming_above_scale_records_first_above_scale_once(client, admin_key, make, db):
    """The registry announces 升规; the awards domain records 首次升规 dated that day, and only once."""
    ent = make.enterprise(above_scale=False)
    url = f"/api/v1/enterprises/{ent.id}"
    r = client.patch(url, headers={**bearer(admin_key), "If-Match": '"1"'}, json={"above_scale": True})
    assert r.status_code == 200, r.text
    events = client.get(f"{url}/events", headers=bearer(admin_key)).json()
    assert [(e["type"], e["event_date"]) for e in events] == [("first_above_scale", date.today().isoformat())]
    client.patch(url, headers={**bearer(admin_key), "If-Match": '"2"'}, json={"above_scale": False})
    client.patch(url, headers={**bearer(admin_key), "If-Match": '"3"'}, json={"above_scale": True})
    assert len(client.get(f"{url}/events", headers=bearer(admin_key)).json()) == 1


def test_a_used_up_cumulative_cap_proposes_no_zero_line(client, admin_key, make, db):
    """冠政办发〔2023〕7号 二（三）8: 单户企业最高 500 万 — once reached, later purchases propose nothing."""
    ent = make.enterprise()
    url = f"/api/v1/enterprises/{ent.id}/events"
    ev = {
        "type": "equipment_purchase",
        "date": "2023-03-01",
        "purpose": "smart_upgrade",
        "amount_yuan": 60_000_000,
    }
    first = client.post(url, headers=bearer(admin_key), json={"event": ev}).json()
    assert [x["computed_yuan"] for x in first["lines"]] == [5_000_000]
    second = client.post(url, headers=bearer(admin_key), json={"event": {**ev, "date": "2023-08-01"}}).json()
    assert second["lines"] == [] and second["skipped"] == ["gzb2023-7.city.smart_upgrade"]
    assert len(lines_of(db, ent.id)) == 1
