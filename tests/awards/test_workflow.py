"""The award workflow in the database: proposed → approved → paid, or rejected; audited; caps and funds."""

from datetime import date

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.awards.models import AwardLine, Fund, FundEntry
from tests.awards.conftest import honour, lines_of
from tests.conftest import bearer, login

TODAY = date.today().isoformat()


def _line(db, ent, rule_id):
    return next(x for x in lines_of(db, ent.id) if x.rule_id == rule_id)


def approve(client, key, line_id, **body):
    return client.post(
        f"/api/v1/awards/lines/{line_id}/approve",
        headers=bearer(key),
        json={"comment": "材料齐全，同意", **body},
    )


def test_approve_an_up_to_line_for_less_than_its_cap_draws_on_the_county_fund(
    client, admin_key, make, db, funds
):
    """冠政发〔2022〕9号 四（十）: 新认定省级专精特新 县级最高15万 — approved at 12万 from the 500万 fund (五（二）)."""
    ent = make.enterprise(honours=[honour("specialized_sme", "provincial", "2022-08-01")])
    line = _line(db, ent, "gz2022-9.county.specialized_sme.provincial")
    r = approve(client, admin_key, line.id, amount_yuan=120_000)
    assert r.status_code == 200, r.text
    body = r.json()
    fund = funds["gz2022-9.fund.county"]
    assert (body["status"], body["amount_yuan"], body["fund_id"]) == ("approved", 120_000, fund.id)
    db.refresh(fund)
    assert fund.drawn_yuan == 120_000 and fund.budget_yuan == 15_000_000  # 500万 for each of 2022, 2023, 2024
    entry = db.scalar(select(FundEntry).where(FundEntry.award_line_id == line.id))
    assert (entry.kind, entry.amount_yuan) == ("draw", 120_000)
    audit = db.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "award_line",
            AuditEntry.entity_id == str(line.id),
            AuditEntry.action == "approve",
        )
    )
    assert audit.enterprise_id == ent.id and audit.township == ent.township
    assert audit.changes["status"] == ["proposed", "approved"] and audit.note == "材料齐全，同意"
    hist = client.get(f"/api/v1/enterprises/{ent.id}/history", headers=bearer(admin_key)).json()
    assert any(h["entity_type"] == "award_line" and h["action"] == "approve" for h in hist)


def test_2023_county_lines_draw_on_the_2023_fund(client, admin_key, make, db, funds):
    """冠政办发〔2023〕7号 二（一）1 首次升规 5万, paid from the 1000万 of 三（二）."""
    ent = make.enterprise()
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/events",
        headers=bearer(admin_key),
        json={"event": {"type": "first_above_scale", "date": "2023-04-01"}},
    )
    line_id = r.json()["lines"][0]["id"]
    assert approve(client, admin_key, line_id).json()["fund_id"] == funds["gzb2023-7.fund.county"].id


def test_amount_above_the_cap_is_422_naming_amount_and_clause_and_writes_nothing(
    client, admin_key, make, db, funds
):
    ent = make.enterprise(honours=[honour("specialized_sme", "provincial", "2022-08-01")])
    line = _line(db, ent, "gz2022-9.county.specialized_sme.provincial")
    r = approve(client, admin_key, line.id, amount_yuan=150_001)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "amount_yuan"
    assert "冠政发〔2022〕9号 四（十）" in err["message"] and "150,000" in err["message"]
    db.refresh(line)
    assert line.status == "proposed" and line.amount_yuan is None
    db.refresh(funds["gz2022-9.fund.county"])
    assert funds["gz2022-9.fund.county"].drawn_yuan == 0


def test_a_fixed_amount_must_be_granted_as_stated(client, admin_key, make, db, funds):
    """冠政办发〔2023〕7号 二（一）2: 市级 10万 (no 最高) is not a cap."""
    ent = make.enterprise(honours=[honour("high_tech", "national", "2023-08-01")])
    line = _line(db, ent, "gzb2023-7.city.high_tech.recognised")
    r = approve(client, admin_key, line.id, amount_yuan=80_000)
    assert r.status_code == 422 and "不是上限" in r.json()["errors"][0]["message"]
    assert approve(client, admin_key, line.id).json()["amount_yuan"] == 100_000


def test_a_comment_is_required(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    r = client.post(
        f"/api/v1/awards/lines/{line.id}/approve", headers=bearer(admin_key), json={"comment": " "}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "comment"


def test_invalid_transitions_are_409_in_chinese(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    url = f"/api/v1/awards/lines/{line.id}"
    r = client.post(
        f"{url}/pay", headers=bearer(admin_key), json={"paid_date": "2023-01-05", "voucher_no": "A1"}
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert "只有已批准的奖补可以登记拨付" in r.json()["detail"]
    assert approve(client, admin_key, line.id).status_code == 200
    r = approve(client, admin_key, line.id)
    assert r.status_code == 409 and "只有待审核的奖补可以批准" in r.json()["detail"]
    r = client.post(
        f"{url}/pay", headers=bearer(admin_key), json={"paid_date": TODAY, "voucher_no": "冠财2026-15"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["voucher_no"]) == ("paid", "冠财2026-15")
    r = client.post(f"{url}/reject", headers=bearer(admin_key), json={"reason": "重复申报"})
    assert r.status_code == 409 and "已拨付" in r.json()["detail"]
    r = client.post(f"{url}/pay", headers=bearer(admin_key), json={"paid_date": TODAY, "voucher_no": "X"})
    assert r.status_code == 409
    actions = db.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "award_line", AuditEntry.entity_id == str(line.id)
        )
    ).all()
    assert actions == ["propose", "approve", "pay"]


def test_pay_date_cannot_precede_approval_or_lie_in_the_future(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    approve(client, admin_key, line.id)
    url = f"/api/v1/awards/lines/{line.id}/pay"
    r = client.post(url, headers=bearer(admin_key), json={"paid_date": "2020-01-01", "voucher_no": "A"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "paid_date"
    r = client.post(url, headers=bearer(admin_key), json={"paid_date": "2999-01-01", "voucher_no": "A"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "paid_date"


def test_rejecting_an_approved_line_gives_its_money_back(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = _line(db, ent, "gz2022-9.county.gazelle.provincial")
    fund = funds["gz2022-9.fund.county"]
    approve(client, admin_key, line.id, amount_yuan=200_000)
    db.refresh(fund)
    assert fund.drawn_yuan == 200_000
    r = client.post(
        f"/api/v1/awards/lines/{line.id}/reject", headers=bearer(admin_key), json={"reason": "企业已迁出本县"}
    )
    assert r.status_code == 200 and r.json()["rejected_reason"] == "企业已迁出本县"
    db.refresh(fund)
    assert fund.drawn_yuan == 0
    kinds = db.scalars(
        select(FundEntry.kind).where(FundEntry.award_line_id == line.id).order_by(FundEntry.id)
    ).all()
    assert kinds == ["draw", "release"]
    r = client.post(
        f"/api/v1/awards/lines/{line.id}/reject", headers=bearer(admin_key), json={"reason": "再次"}
    )
    assert r.status_code == 409


def test_a_reason_is_required_to_reject(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    r = client.post(f"/api/v1/awards/lines/{line.id}/reject", headers=bearer(admin_key), json={"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"


def test_city_lines_are_tracked_without_a_county_fund_or_draw_on_their_own(
    client, admin_key, make, db, funds
):
    """冠政办发〔2023〕7号 二（一）3: 市级 最高30万 — no county money; a city fund, once set up, pays it."""
    a = make.enterprise(honours=[honour("gazelle", "provincial", "2023-05-01")])
    b = make.enterprise(honours=[honour("gazelle", "provincial", "2023-06-01")])
    la = _line(db, a, "gzb2023-7.city.gazelle.provincial")
    lb = _line(db, b, "gzb2023-7.city.gazelle.provincial")
    r = approve(client, admin_key, la.id)
    assert r.status_code == 200 and r.json()["fund_id"] is None
    assert db.scalar(select(func.sum(Fund.drawn_yuan)).where(Fund.funder == "county")) == 0
    r = client.post(
        "/api/v1/awards/funds",
        headers=bearer(admin_key),
        json={
            "name": "市级 2023 年优质企业培育奖励",
            "funder": "city",
            "document_code": "gzb2023-7",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "amount_yuan": 1_000_000,
        },
    )
    assert r.status_code == 201, r.text
    city_fund = r.json()["id"]
    r = approve(client, admin_key, lb.id)
    assert r.json()["fund_id"] == city_fund
    r = approve(client, admin_key, _line(db, a, "gz2022-9.county.gazelle.provincial").id, fund_id=city_fund)
    assert (
        r.status_code == 422
        and r.json()["errors"][0]["field"] == "fund_id"
        and "市级资金" in r.json()["errors"][0]["message"]
    )


def test_a_county_line_with_no_fund_for_its_date_is_409(client, admin_key, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = _line(db, ent, "gz2022-9.county.gazelle.provincial")
    fund = funds["gz2022-9.fund.county"]
    r = client.patch(
        f"/api/v1/awards/funds/{fund.id}", headers=bearer(admin_key), json={"period_start": "2023-01-01"}
    )
    assert r.status_code == 200, r.text
    r = approve(client, admin_key, line.id)
    assert r.status_code == 409 and r.json()["code"] == "no_fund"


def test_township_staff_read_their_townships_awards_only_and_cannot_approve(client, make, db, funds):
    mine = make.enterprise(township="qingquan", honours=[honour("gazelle", "provincial", "2022-09-01")])
    other = make.enterprise(township="kaifaqu", honours=[honour("gazelle", "provincial", "2022-09-01")])
    token = login(client, make.user("township_staff", "qingquan"))
    h = {"X-CSRF-Token": token}
    items = client.get("/api/v1/awards/lines", headers=h).json()["items"]
    assert {x["enterprise_id"] for x in items} == {mine.id}
    other_line = lines_of(db, other.id)[0]
    assert client.get(f"/api/v1/awards/lines/{other_line.id}", headers=h).status_code == 404
    own_line = lines_of(db, mine.id)[0]
    r = client.post(f"/api/v1/awards/lines/{own_line.id}/approve", headers=h, json={"comment": "同意"})
    assert r.status_code == 403
    assert client.get(f"/api/v1/enterprises/{other.id}/awards", headers=h).status_code == 404


def test_county_viewer_reads_everything_but_cannot_approve(client, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    token = login(client, make.user("county_viewer"))
    line = lines_of(db, ent.id)[0]
    assert client.get(f"/api/v1/awards/lines/{line.id}", headers={"X-CSRF-Token": token}).status_code == 200
    r = client.post(
        f"/api/v1/awards/lines/{line.id}/approve", headers={"X-CSRF-Token": token}, json={"comment": "同意"}
    )
    assert r.status_code == 403


def test_list_filters_and_pages(client, admin_key, make, db, funds):
    for i in range(3):
        make.enterprise(
            name=f"分页企业{i}有限公司", honours=[honour("gazelle", "provincial", f"2023-0{i + 1}-01")]
        )
    first = client.get(
        "/api/v1/awards/lines", headers=bearer(admin_key), params={"funder": "county", "limit": 2}
    ).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        "/api/v1/awards/lines",
        headers=bearer(admin_key),
        params={"funder": "county", "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    ids = [x["id"] for x in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) >= 3 and ids == sorted(ids, reverse=True)
    assert all(x["funder"] == "county" for x in first["items"] + rest["items"])
    r = client.get("/api/v1/awards/lines", headers=bearer(admin_key), params={"status": "lost"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status.0"


def test_the_ledger_total_of_paid_lines_equals_the_sum_of_paid_lines(client, admin_key, make, db, funds):
    import io

    from python_calamine import CalamineWorkbook

    ents = [make.enterprise(honours=[honour("gazelle", "provincial", f"2023-0{i + 1}-15")]) for i in range(4)]
    lines = [_line(db, e, "gz2022-9.county.gazelle.provincial") for e in ents]
    for i, line in enumerate(lines):
        approve(client, admin_key, line.id, amount_yuan=100_000 + i * 12_345)
    for line in lines[:3]:
        client.post(
            f"/api/v1/awards/lines/{line.id}/pay",
            headers=bearer(admin_key),
            json={"paid_date": TODAY, "voucher_no": f"V{line.id}"},
        )
    client.post(
        f"/api/v1/awards/lines/{lines[3].id}/reject", headers=bearer(admin_key), json={"reason": "撤回"}
    )
    paid_sum = db.scalar(select(func.sum(AwardLine.amount_yuan)).where(AwardLine.status == "paid"))
    assert paid_sum == 100_000 + 112_345 + 124_690
    totals = client.get("/api/v1/awards/ledger", headers=bearer(admin_key)).json()
    assert totals["paid_yuan"] == paid_sum and totals["paid_count"] == 3
    xlsx = client.get("/api/v1/awards/ledger.xlsx", headers=bearer(admin_key))
    assert xlsx.status_code == 200
    wb = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    rows = wb.get_sheet_by_name("奖补台账").to_python()
    header = rows[0]
    paid_rows = [r for r in rows[1:] if r[header.index("状态")] == "已拨付"]
    assert sum(r[header.index("批准金额（元）")] for r in paid_rows) == paid_sum
    summary = {r[0]: r[2] for r in wb.get_sheet_by_name("合计").to_python()[1:]}
    assert summary["已拨付"] == paid_sum
    # The fund's ledger agrees with its row and with the lines drawn on it.
    from app.awards import funds as fund_service

    check = fund_service.ledger_check(db)[funds["gz2022-9.fund.county"].id]
    assert check["drawn_yuan"] == check["ledger_net_drawn_yuan"] == check["lines_yuan"] == paid_sum
    assert check["budget_yuan"] == check["ledger_budget_yuan"]
