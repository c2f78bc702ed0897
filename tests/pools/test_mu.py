"""亩产效益 (冠政办发〔2023〕7号 聚焦 A 类和 B 类企业): yearly classes entered or imported, the provisional
class from figures with the administrator's scheme, and every pool list filtered by class."""

import io
from datetime import date

import pytest
import xlsxwriter
from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM, user_principal
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.errors import Forbidden, ValidationFailed
from app.pools import listing, membership, mu_provisional, mu_records
from app.pools.listing import PoolFilters
from app.pools.models import MuClassRecord, MuProvisional
from app.pools.schemas import EnterIn, MuSchemeIn
from tests.conftest import bearer, login


def xlsx(rows) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def ladder_figures(i: int, year: int = 2023) -> list[dict]:
    """Enterprise i better than i-1 on every indicator."""
    return [
        {
            "year": year,
            "revenue_yuan": 10_000_000 * i,
            "main_revenue_yuan": 6_000_000,
            "tax_yuan": 100_000 * i,
            "land_mu": "10",
            "energy_tce": "100",
            "rd_spend_yuan": 100_000 * i * i,
            "output_value_yuan": 1_000_000 * i,
            "employees": 10,
        }
    ]


@pytest.fixture
def ladder(firm):
    return {i: firm(name=f"亩产{i:02d}有限公司", figures=ladder_figures(i)) for i in range(1, 11)}


def test_recorded_class_per_year_and_the_current_class(db, firm):
    ent = firm(revenue=1)
    mu_records.record_mu_class(db, actor=SYSTEM, enterprise_id=ent.id, year=2023, mu_class="B", note="县评价")
    assert db.get(Enterprise, ent.id).mu_class == "B"
    mu_records.record_mu_class(db, actor=SYSTEM, enterprise_id=ent.id, year=2022, mu_class="C")
    assert db.get(Enterprise, ent.id).mu_class == "B"  # 2022 is not the latest evaluation
    mu_records.record_mu_class(db, actor=SYSTEM, enterprise_id=ent.id, year=2023, mu_class="A")
    recs, _ = mu_records.mu_records(db, actor=SYSTEM, enterprise_id=ent.id)
    assert [(r.year, r.mu_class, r.source) for r in recs] == [(2023, "A", "entered"), (2022, "C", "entered")]
    ent = db.get(Enterprise, ent.id)
    assert (ent.mu_class, ent.version) == ("A", 3)  # the registry row's version moved with it (ETag)
    trail = enterprise_service.history(db, actor=SYSTEM, enterprise_id=ent.id)
    assert [a.changes["mu_class"] for a in trail if a.entity_type == "mu_class_record"] == [
        ["B", "A"],
        [None, "C"],
        [None, "B"],
    ]


def test_recording_is_for_the_county(db, firm, make):
    ent = firm(revenue=1)
    staff = user_principal(make.user(role="township_staff", township="qingquan"))
    with pytest.raises(Forbidden, match="县级"):
        mu_records.record_mu_class(db, actor=staff, enterprise_id=ent.id, year=2023, mu_class="A")
    with pytest.raises(ValidationFailed) as e:
        mu_records.record_mu_class(db, actor=SYSTEM, enterprise_id=ent.id, year=2023, mu_class="E")
    assert e.value.errors[0].field == "mu_class"


def test_import_is_all_or_nothing_with_row_errors(db, firm):
    a, b = firm(revenue=1), firm(revenue=1)
    bad = xlsx(
        [
            ["统一社会信用代码", "企业名称", "亩产效益类别"],
            [a.uscc, "甲", "A"],
            ["91350100M000100Y44", "校验位错", "B"],
            ["91350100M000100Y43", "未登记", "B"],
            [b.uscc, "乙", "E"],
            [a.uscc, "甲重复", "C"],
        ]
    )
    with pytest.raises(ValidationFailed) as e:
        mu_records.import_mu_classes(db, actor=SYSTEM, year=2023, data=bad)
    rows = [(x.row, x.field) for x in e.value.errors]
    assert rows == [
        (3, "统一社会信用代码"),
        (4, "统一社会信用代码"),
        (5, "亩产效益类别"),
        (6, "统一社会信用代码"),
    ]
    assert "校验位" in e.value.errors[0].message and "未在企业名录中登记" in e.value.errors[1].message
    assert "与第 2 行重复" in e.value.errors[3].message
    assert db.scalar(select(func.count()).select_from(MuClassRecord)) == 0
    good = xlsx([["统一社会信用代码", "亩产效益类别"], [a.uscc, "A类"], [b.uscc, "b"]])
    assert mu_records.import_mu_classes(db, actor=SYSTEM, year=2023, data=good) == (2, 2)
    again = xlsx([["统一社会信用代码", "亩产效益类别"], [a.uscc, "A"], [b.uscc, "C"]])
    assert mu_records.import_mu_classes(db, actor=SYSTEM, year=2023, data=again) == (2, 1)
    assert {(r.enterprise_id, r.mu_class, r.source) for r in db.scalars(select(MuClassRecord))} == {
        (a.id, "A", "imported"),
        (b.id, "C", "imported"),
    }
    assert db.get(Enterprise, b.id).mu_class == "C"
    with pytest.raises(ValidationFailed) as e:
        mu_records.import_mu_classes(db, actor=SYSTEM, year=2023, data=xlsx([["名称", "类别"], ["x", "A"]]))
    assert e.value.errors[0].field == "统一社会信用代码"


def test_provisional_classes_from_figures_with_rank(db, ladder):
    """10 firms on a ladder fall into the default bands A 2 / B 4 / C 3 / D 1, best first."""
    s = mu_provisional.compute_provisional(db, actor=SYSTEM, year=2023)
    assert (s.ranked, s.classes) == (10, {"A": 2, "B": 4, "C": 3, "D": 1})
    assert any("单位污染物排放销售收入不参与计算" in n for n in s.notes)
    got = {p.enterprise_id: (p.rank, p.mu_class) for p in db.scalars(select(MuProvisional))}
    assert [got[ladder[i].id] for i in range(10, 0, -1)] == [
        (r, c) for r, c in zip(range(1, 11), "AABBBBCCCD", strict=True)
    ]
    best = db.scalar(select(MuProvisional).where(MuProvisional.enterprise_id == ladder[10].id))
    value, percentile, weight = best.indicators["tax_per_mu"]
    assert value == 100_000 and percentile == 95 and weight == pytest.approx(30 / 85 * 100)
    rows, _, _ = mu_provisional.mu_page(db, actor=SYSTEM, year=2023, limit=3)
    assert [r.enterprise.id for r in rows] == [ladder[10].id, ladder[9].id, ladder[8].id]
    with pytest.raises(ValidationFailed) as e:
        mu_provisional.compute_provisional(db, actor=SYSTEM, year=2031)
    assert e.value.errors[0].field == "year"


def test_administrator_weights_and_bands_change_the_classes(db, ladder, make):
    admin = user_principal(make.user(role="county_admin"))
    mu_provisional.set_scheme(
        db,
        actor=admin,
        data=MuSchemeIn(bands=[{"mu_class": "A", "percent": 50}, {"mu_class": "B", "percent": 50}]),
    )
    s = mu_provisional.compute_provisional(db, actor=admin, year=2023)
    assert s.classes == {"A": 5, "B": 5, "C": 0, "D": 0}
    scheme, setting = mu_provisional.effective_scheme(db)
    assert setting.updated_by == admin.name and [b.mu_class for b in scheme.bands] == ["A", "B"]
    with pytest.raises(ValidationFailed) as e:
        mu_provisional.set_scheme(db, actor=admin, data=MuSchemeIn(bands=[{"mu_class": "A", "percent": 60}]))
    assert e.value.errors[0].field == "bands" and "100%" in e.value.errors[0].message
    with pytest.raises(ValidationFailed) as e:
        mu_provisional.set_scheme(db, actor=admin, data=MuSchemeIn(weights={"beauty": 10}))
    assert e.value.errors[0].field == "weights.beauty"
    viewer = user_principal(make.user(role="county_viewer"))
    with pytest.raises(Forbidden):
        mu_provisional.set_scheme(db, actor=viewer, data=MuSchemeIn(weights={"tax_per_mu": 50}))
    assert mu_provisional.reset_scheme(db, actor=admin).bands[0].percent == 20
    assert mu_provisional.effective_scheme(db)[1] is None


def test_recorded_class_wins_and_filters_every_list(db, ladder):
    """Provisional A for the best firm, but the county recorded D: lists filtered to A and B leave it out."""
    mu_provisional.compute_provisional(db, actor=SYSTEM, year=2023)
    mu_records.record_mu_class(db, actor=SYSTEM, enterprise_id=ladder[10].id, year=2023, mu_class="D")
    for i in (10, 9, 1):
        membership.enter(
            db,
            actor=SYSTEM,
            pool_code="primary_pool",
            data=EnterIn(enterprise_id=ladder[i].id, entered_date=date(2023, 3, 1), year=2023),
        )
    ab = PoolFilters(year=2023, mu_class=["A", "B"])
    rows, _, _ = listing.members_page(db, actor=SYSTEM, pool_code="primary_pool", filters=ab)
    assert [(r.enterprise.id, r.mu_class, r.mu_source) for r in rows] == [(ladder[9].id, "A", "provisional")]
    rows, _, _ = listing.candidates_page(db, actor=SYSTEM, pool_code="primary_pool", filters=ab)
    assert {r.enterprise.id for r in rows} == {ladder[i].id for i in (8, 7, 6, 5)}
    rows, _, _ = listing.members_page(
        db, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(year=2023, mu_class=["D"])
    )
    assert {(r.enterprise.id, r.mu_source) for r in rows} == {
        (ladder[10].id, "entered"),
        (ladder[1].id, "provisional"),
    }
    counts, _ = listing.candidate_counts(db, actor=SYSTEM, pool_code="primary_pool", filters=ab)
    assert counts == {"qingquan": {"met": 4, "judgement": 0}}


def test_registry_class_is_the_fallback(db, firm):
    ent = firm(main_revenue=6_000_000, mu_class="B")
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(year=2023, mu_class=["B"])
    )
    assert [(r.enterprise.id, r.mu_source) for r in rows] == [(ent.id, "registry")]


def test_mu_api_and_page(client, make, ladder, db):
    key = make.api_key(scopes=("pools:read", "pools:write"))
    r = client.post("/api/v1/pools/mu/2023/provisional", headers=bearer(key))
    assert r.status_code == 200 and r.json()["classes"]["A"] == 2
    page = client.get("/api/v1/pools/mu/2023", headers=bearer(key), params={"limit": 2}).json()
    assert [i["provisional_rank"] for i in page["items"]] == [1, 2] and page["next_cursor"]
    nxt = client.get(
        "/api/v1/pools/mu/2023", headers=bearer(key), params={"limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert [i["provisional_rank"] for i in nxt["items"]] == [3, 4]
    ent = ladder[3]
    r = client.put(
        f"/api/v1/enterprises/{ent.id}/mu-classes/2023", headers=bearer(key), json={"mu_class": "A"}
    )
    assert r.status_code == 200 and r.json()["source"] == "entered"
    st = client.get(f"/api/v1/enterprises/{ent.id}/pools", headers=bearer(key)).json()
    assert (
        st["mu"]["mu_class"] == "A"
        and st["mu"]["provisional_class"] == "C"
        and st["mu"]["source"] == "entered"
    )
    r = client.post(
        "/api/v1/pools/mu/import",
        headers=bearer(key),
        data={"year": "2023"},
        files={"file": ("m.xlsx", xlsx([["统一社会信用代码", "亩产效益类别"], [ent.uscc, "Z"]]))},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["row"] == 2
    r = client.put("/api/v1/pools/mu/scheme", headers=bearer(key), json={"weights": {"tax_per_mu": 50}})
    assert r.status_code == 403  # an API key is not an administrator
    login(client, make.user())
    html = client.get("/pools/mu", params={"year": 2023}).text
    assert "亩产10有限公司" in html and "单位用地税收" in html and "1 / 10" in html
