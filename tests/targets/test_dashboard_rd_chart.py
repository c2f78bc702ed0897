"""附件 row 11 研发投入月度增长 10%: the dashboards' twelve-month R&D chart plots the reading the row is judged
by — year on year unless the county chose month on month for the indicator — and says which, so the chart
never disagrees with the row's verdict."""

import json
import re

from tests.conftest import bearer, login

AS_OF = "2023-12-31"


def _trend(page: str) -> list[dict]:
    return json.loads(re.search(r"var trend = (\[.*?\]);", page).group(1))


def _rd_row_actual(client, key) -> float:
    body = client.get("/api/v1/targets/2023/progress", params={"as_of": AS_OF}, headers=bearer(key)).json()
    row = next(r for r in body["rows"] if r["code"] == "rd_growth_rate")
    return row["townships"]["qingquan"]["actual"], row["county"]["actual"]


def _filings(make, filed):
    """One firm in 清泉街道: R&D 100 万 a month through 2022, then 110, 120, … 万 in 2023 (month m: 100 + 10 m),
    so 同比 of month m is 10 m % and 环比 is 10 / (100 + 10 (m − 1))."""
    ent = make.enterprise(township="qingquan", name="清泉研发有限公司")
    for m in range(1, 13):
        filed(ent, f"2022-{m:02d}", 1_000_000)
    for m in range(1, 13):
        filed(ent, f"2023-{m:02d}", 1_000_000 + 100_000 * m)
    return ent


def test_the_county_and_township_charts_plot_the_reading_the_row_is_judged_by(client, make, reference, filed):
    _filings(make, filed)
    key = make.api_key(scopes=["targets:read", "targets:write"])
    town_actual, county_actual = _rd_row_actual(client, key)

    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": AS_OF}).text
    trend = _trend(page)
    assert trend, "the chart has months to plot"
    # year on year by default: each month's point is its 同比 (10 m %), not its 环比
    for point in trend:
        month = int(point["month"].split("-")[1])
        assert point["rd"] == point["rd_yoy"] == round(10.0 * month, 1)
    # the last month plotted is the month the row judged, with the row's figure
    assert trend[-1]["rd"] == county_actual
    assert "name: '同比'" in page and "研发投入增长按同比（本月与上年同月相比）计" in page
    assert "name: '环比'" not in page

    login(client, make.user(role="township_staff", township="qingquan"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": AS_OF}).text
    assert _trend(page)[-1]["rd"] == town_actual and "研发投入增长按同比（本月与上年同月相比）计" in page

    # the county switches the indicator to month on month: the chart follows, the row too
    url = "/api/v1/targets/2023/indicators/rd_growth_rate/reading"
    assert client.put(url, headers=bearer(key), json={"reading": "month_on_month"}).status_code == 200
    town_actual, county_actual = _rd_row_actual(client, key)
    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": AS_OF}).text
    trend = _trend(page)
    for point in trend:
        month = int(point["month"].split("-")[1])
        assert point["rd"] == point["rd_mom"] == round(100 * 100_000 / (1_000_000 + 100_000 * (month - 1)), 1)
    assert trend[-1]["rd"] == county_actual
    assert "name: '环比'" in page and "研发投入增长按环比（本月与上月相比）计" in page
    login(client, make.user(role="township_staff", township="qingquan"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": AS_OF}).text
    assert _trend(page)[-1]["rd"] == town_actual and "环比（本月与上月相比）" in page


def test_the_demo_data_gives_every_2023_month_its_year_on_year_point(client, make, reference, db):
    """`make run`'s demo data: every firm files 2022 and 2023, so the county chart (同比 by default) has a point for
    each month up to the one row 11 judges, the row has a figure in every township, and the figures are the order
    of the 10% target (a demo that shows nothing, or growth of 100%, teaches a user nothing)."""
    from app.cli import _demo_extras
    from app.demo import seed

    seed.load(db, 400, seed=7)
    _demo_extras(db)
    db.flush()
    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": AS_OF}).text
    trend = _trend(page)
    assert [p["month"] for p in trend] == [f"2023-{m:02d}" for m in range(1, 12)]
    assert all(p["rd"] is not None and p["rd"] == p["rd_yoy"] for p in trend)
    assert all(-10 < p["rd"] < 30 for p in trend), [p["rd"] for p in trend]
    key = make.api_key(scopes=["targets:read"])
    body = client.get("/api/v1/targets/2023/progress", params={"as_of": AS_OF}, headers=bearer(key)).json()
    row = next(r for r in body["rows"] if r["code"] == "rd_growth_rate")
    assert all(cell["actual"] is not None for cell in row["townships"].values())
