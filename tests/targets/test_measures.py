"""Each measure on hand-built data: which records count, per township and for the county, as of a date."""

from datetime import date

from app.accounts.permissions import ROLE_SCOPES, SYSTEM, Principal
from app.targets import service as target_service

QINGQUAN_STAFF = Principal(
    kind="user",
    id=9001,
    name="qq",
    role="township_staff",
    township="qingquan",
    scopes=frozenset(ROLE_SCOPES["township_staff"]),
)


def row(db, code, as_of, actor=SYSTEM, key="2023"):
    return target_service.indicator_progress(db, actor=actor, key=key, code=code, as_of=as_of)[1]


# --- honour_count --------------------------------------------------------------------------------


def test_honour_count_counts_distinct_firms_of_the_year_by_township(db, reference, firm):
    """高新技术企业培育数量: new high_tech records dated in 2023; one firm with two records counts once."""
    firm(
        "qingquan",
        honours=[
            ("high_tech", "national", "new", date(2023, 3, 1)),
            ("high_tech", "national", "new", date(2023, 8, 1)),
        ],
    )
    firm("qingquan", honours=[("high_tech", "national", "new", date(2023, 12, 31))])
    firm("qingquan", honours=[("high_tech", "national", "new", date(2022, 12, 31))])  # last year
    firm("qingquan", honours=[("high_tech", "national", "rejected", date(2023, 5, 1))])  # refused
    firm("qingquan", honours=[("tech_sme", "national", "new", date(2023, 5, 1))])  # another honour
    firm("kaifaqu", honours=[("high_tech", "national", "new", date(2023, 6, 1))])
    r = row(db, "high_tech", date(2024, 1, 1))
    q, k = r.townships["qingquan"], r.townships["kaifaqu"]
    assert (q.actual, q.target, q.status) == (2, 2, "met")
    assert (k.actual, k.target, k.status) == (1, 4, "overdue")
    assert r.townships["liangtang"].actual == 0
    assert (r.county.actual, r.county.target) == (3, 50)


def test_honour_count_as_of_counts_only_what_happened_by_then(db, reference, firm):
    firm("qingquan", honours=[("high_tech", "national", "new", date(2023, 3, 1))])
    firm("qingquan", honours=[("high_tech", "national", "new", date(2023, 9, 1))])
    assert row(db, "high_tech", date(2023, 8, 31)).townships["qingquan"].actual == 1
    assert row(db, "high_tech", date(2023, 9, 1)).townships["qingquan"].actual == 2


def test_applications_count_every_outcome(db, reference, firm):
    """创新型中小企业申报数量 counts applications: new, renewed and rejected records."""
    firm("xinji", honours=[("innovative_sme", "provincial", "rejected", date(2023, 4, 1))])
    firm("xinji", honours=[("innovative_sme", "provincial", "new", date(2023, 5, 1))])
    firm("xinji", honours=[("innovative_sme", "provincial", "renewed", date(2023, 6, 1))])
    assert row(db, "innovative_sme_applications", date(2023, 12, 31)).townships["xinji"].actual == 3


def _cluster(db, name, level, day, lead, members=()):
    from app.clusters import service as cluster_service
    from app.clusters.schemas import ClusterIn

    return cluster_service.create(
        db,
        actor=SYSTEM,
        data=ClusterIn(
            name=name,
            level=level,
            recognised_date=day,
            lead_enterprise_id=lead.id,
            member_enterprise_ids=[m.id for m in members],
        ),
    )


def test_levels_and_parts(db, reference, firm):
    """特色产业集群 (冠政办发〔2023〕7号 二（四）12, row 8: 市级 2 / 省级 1 / 国家级 1) counts clusters, not firms:
    a cluster of three firms counts once, under its lead enterprise's township."""
    a, b, c = firm("qingquan"), firm("qingquan"), firm("kaifaqu")
    _cluster(db, "冠县轴承产业集群", "city", date(2023, 2, 1), a, members=[b, c])
    _cluster(db, "冠县板材产业集群", "city", date(2023, 3, 1), c)
    _cluster(db, "冠县纺织产业集群", "provincial", date(2023, 4, 1), c, members=[a])
    r = row(db, "cluster", date(2023, 6, 1))
    assert (r.county.actual, r.county.target, r.county.status) == (3, 4, "on_track")
    parts = {p.code: (p.cell.actual, p.cell.target, p.cell.status) for p in r.parts}
    assert parts == {
        "cluster_city": (2, 2, "met"),
        "cluster_provincial": (1, 1, "met"),
        "cluster_national": (0, 1, "on_track"),
    }
    # a county-only row has no township target: the township's actual is shown without a status
    assert (r.townships["kaifaqu"].actual, r.townships["kaifaqu"].target, r.townships["kaifaqu"].status) == (
        2,
        None,
        "no_target",
    )
    assert r.townships["qingquan"].actual == 1


def test_one_cluster_recorded_for_two_firms_counts_once(db, reference, firm):
    """The county fault this replaces: one cluster recorded as an honour of two firms counted twice in row 8."""
    a, b = firm("qingquan"), firm("kaifaqu")
    _cluster(db, "冠县轴承产业集群", "city", date(2023, 2, 1), a, members=[b])
    r = row(db, "cluster", date(2023, 6, 1))
    assert r.county.actual == 1
    page = target_service.cell_enterprises(
        db, actor=SYSTEM, key="2023", code="cluster", township=None, as_of=date(2023, 6, 1)
    )[2]
    assert [x.enterprise_id for x in page.rows] == [a.id]
    assert "牵头市级特色产业集群“冠县轴承产业集群”" in page.rows[0].basis


def test_goals_count_over_the_period(db, reference, firm):
    """冠政发〔2022〕9号 goals: new 市级专精特新 from 2022-01-01 to 2024-12-31."""
    firm("qingquan", honours=[("specialized_sme", "city", "new", date(2022, 1, 1))])
    firm("qingquan", honours=[("specialized_sme", "city", "new", date(2024, 12, 31))])
    firm("qingquan", honours=[("specialized_sme", "city", "new", date(2025, 1, 1))])
    firm("qingquan", honours=[("specialized_sme", "provincial", "new", date(2023, 1, 1))])
    r = row(db, "specialized_sme_city", date(2025, 6, 1), key="2022-2024")
    assert (r.county.actual, r.county.target, r.county.status) == (2, 20, "overdue")


def test_deregistered_firms_are_not_counted(db, reference, firm):
    from app.db import utcnow

    ent = firm("qingquan", honours=[("high_tech", "national", "new", date(2023, 3, 1))])
    ent.deleted_at = utcnow()
    db.flush()
    assert row(db, "high_tech", date(2023, 12, 31)).townships["qingquan"].actual == 0


# --- pool_members --------------------------------------------------------------------------------


def test_pool_members_on_the_deadline(db, reference, firm, stay):
    """“小升规”培育库 (deadline 2023-03-31): members on that day; before it, members on the as-of day."""
    a, b, c, d = (firm("qingquan") for _ in range(4))
    stay(a, "xiaoshenggui_pool", date(2023, 1, 10))  # still in
    stay(b, "xiaoshenggui_pool", date(2023, 1, 10), left=date(2023, 3, 1))  # left before the deadline
    stay(
        c, "xiaoshenggui_pool", date(2023, 2, 1), left=date(2023, 6, 1)
    )  # left after it: a member on the day
    stay(d, "xiaoshenggui_pool", date(2023, 4, 2))  # entered too late
    stay(a, "dcmm_pool", date(2023, 1, 10))  # another pool
    r = row(db, "xiaoshenggui_pool", date(2023, 12, 31))
    assert (
        r.townships["qingquan"].actual,
        r.townships["qingquan"].target,
        r.townships["qingquan"].status,
    ) == (2, 2, "met")
    assert row(db, "xiaoshenggui_pool", date(2023, 1, 31)).townships["qingquan"].actual == 2  # a, b
    assert row(db, "xiaoshenggui_pool", date(2023, 2, 15)).townships["qingquan"].actual == 3  # a, b, c


# --- platform_registrations ------------------------------------------------------------------------


def test_platform_registrations_in_the_year(db, reference, firm):
    firm("wanshan", platform_registered_date=date(2023, 1, 1))
    firm("wanshan", platform_registered_date=date(2023, 12, 31))
    firm("wanshan", platform_registered_date=date(2022, 12, 31))
    firm("wanshan", platform_registered_date=None)
    r = row(db, "policy_platform_registrations", date(2024, 1, 1))
    assert (r.townships["wanshan"].actual, r.townships["wanshan"].target, r.townships["wanshan"].status) == (
        2,
        20,
        "overdue",
    )


# --- not_available -------------------------------------------------------------------------------


def test_not_available_is_shown_with_its_reason_never_as_zero(db, reference):
    # every shipped row is measured now; a table may still carry a row the system holds no data for
    target_service.get_indicator(reference, "digital_assessment").measure = {
        "kind": "not_available",
        "reason": "系统未登记中小企业数字化水平测评记录",
    }
    db.flush()
    r = row(db, "digital_assessment", date(2023, 6, 1))
    assert not r.available and "测评" in r.reason
    assert all(c.actual is None and c.status == "not_available" for c in r.townships.values())
    assert r.townships["qingquan"].target == 8  # the target is still shown
    assert r.county.actual is None and r.county.target == 120


# --- rd_growth -----------------------------------------------------------------------------------


def month_on_month(db):
    target_service.set_rd_reading(
        db, actor=SYSTEM, key="2023", code="rd_growth_rate", reading="month_on_month"
    )


def test_rd_growth_per_township_like_for_like(db, reference, firm, filed):
    """May vs April 2023 (judged from 2023-06-18, May's deadline) when the county reads the row month on month:
    firms that filed both months."""
    month_on_month(db)
    a, b, c = firm("qingquan"), firm("qingquan"), firm("qingquan")
    filed(a, "2023-04", 100_000)
    filed(a, "2023-05", 115_000)
    filed(b, "2023-04", 100_000)
    filed(b, "2023-05", 100_000)
    filed(c, "2023-05", 900_000)  # no April figure: not compared
    k = firm("kaifaqu")
    filed(k, "2023-04", 200_000)
    filed(k, "2023-05", 210_000)
    r = row(db, "rd_growth_rate", date(2023, 6, 18))
    assert r.report_month == "2023年5月"
    q = r.townships["qingquan"]
    assert (q.actual, q.target, q.status) == (7.5, 10, "behind")  # 215,000 / 200,000
    assert r.townships["kaifaqu"].actual == 5.0
    assert r.county.actual == 6.2  # 425,000 / 400,000 = +6.25% → 6.2 (one decimal)
    assert r.townships["liangtang"].status == "not_available"


def test_rd_growth_report_month_turns_on_the_deadline(db, reference, firm, filed):
    month_on_month(db)
    a = firm("qingquan")
    filed(a, "2023-03", 100_000)
    filed(a, "2023-04", 120_000)
    filed(a, "2023-05", 121_000)
    assert row(db, "rd_growth_rate", date(2023, 6, 17)).report_month == "2023年4月"  # May not yet due
    r = row(db, "rd_growth_rate", date(2023, 5, 18))
    assert r.report_month == "2023年4月" and r.townships["qingquan"].status == "met"  # +20%


def test_rd_growth_is_read_year_on_year_by_default_and_shows_month_on_month(db, reference, firm, filed):
    """冠政办发〔2023〕7号 附件 row 11 研发投入月度增长率 10%: 10% a month compounding would triple R&D spend in a
    year, so the 2023 table is judged year on year (May 2023 vs May 2022) each month; month on month is shown."""
    a = firm("qingquan")
    filed(a, "2022-05", 100_000)
    filed(a, "2023-04", 120_000)
    filed(a, "2023-05", 112_000)  # +12% on May 2022, −6.7% on April
    r = row(db, "rd_growth_rate", date(2023, 6, 18))
    assert r.reading == "year_on_year" and r.report_month == "2023年5月"
    q = r.townships["qingquan"]
    assert (q.actual, q.target, q.status) == (12.0, 10, "met")
    assert r.other["qingquan"] == -6.7 and r.other_county == -6.7
    month_on_month(db)
    q = row(db, "rd_growth_rate", date(2023, 6, 18)).townships["qingquan"]
    assert (q.actual, q.status) == (-6.7, "behind")
    from sqlalchemy import select

    from app.audit.models import AuditEntry

    entry = db.scalar(select(AuditEntry).where(AuditEntry.entity_type == "target_indicator"))
    assert entry.changes == {"measure.reading": ["year_on_year", "month_on_month"]}


def test_rd_growth_before_any_month_is_due(db, reference):
    r = row(db, "rd_growth_rate", date(2023, 2, 17))
    assert not r.available and r.reason == "尚无到期的月度填报"


# --- the whole table: a handful of queries, township scoping -------------------------------------


def test_the_matrix_is_a_handful_of_queries_whatever_the_data(db, reference, firm, filed, count_queries):
    for t in ("qingquan", "kaifaqu", "xinji"):
        for _ in range(3):
            e = firm(
                t,
                honours=[("high_tech", "national", "new", date(2023, 3, 1))],
                platform_registered_date=date(2023, 2, 1),
            )
            filed(e, "2023-04", 10)
            filed(e, "2023-05", 11)
    with count_queries() as n:
        m = target_service.progress_matrix(db, actor=SYSTEM, key="2023", as_of=date(2023, 7, 1))
    assert len(m.rows) == 19
    # the table (3 selects: set, indicators, figures) + counts (1) + the rate's filing day (1–2) and growth (1)
    assert n[0] <= 8


def test_township_staff_see_their_township_only(db, reference, firm):
    firm("qingquan", honours=[("high_tech", "national", "new", date(2023, 3, 1))])
    firm("kaifaqu", honours=[("high_tech", "national", "new", date(2023, 3, 1))])
    m = target_service.progress_matrix(db, actor=QINGQUAN_STAFF, key="2023", as_of=date(2023, 7, 1))
    assert [t["code"] for t in m.townships] == ["qingquan"]
    r = next(r for r in m.rows if r.indicator.code == "high_tech")
    assert r.county is None and r.townships["qingquan"].actual == 1
