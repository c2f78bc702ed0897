"""The change feed: committed changes in commit-safe order, filters, visibility, and the commit-order gap."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.audit import service as audit
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import HonourIn
from app.integration import changes
from tests.conftest import bearer, login_token
from tests.integration.conftest import all_scopes_key, create_enterprise


def _feed(client, key, **params):
    r = client.get("/api/v1/changes", headers=bearer(key), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _follow(client, key, cursor=None, **params):
    """Read to the end of what is ready; returns (items, last cursor)."""
    items = []
    while True:
        page = _feed(client, key, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor


def _eventually(fn, timeout=15.0):
    """Other transactions in the cluster (other test databases) can hold the horizon back briefly."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture
def setup(committed):
    with committed() as s:
        key = all_scopes_key(s)
        ent = create_enterprise(s, township="qingquan")
        s.commit()
    return key, ent


def test_follow_new_honours_and_updates_in_order_with_a_cursor_that_survives_a_restart(app, committed, setup):
    key, ent = setup
    with TestClient(app) as client:
        first, cursor = _eventually(lambda: _follow(client, key)[0] and _follow(client, key))
        assert [i["entity_type"] for i in first][-1] == "enterprise" and first[-1]["uscc"] == ent.uscc
        with committed() as s:
            enterprise_service.add_honour(
                s,
                actor=SYSTEM,
                enterprise_id=ent.id,
                honour=HonourIn(code="specialized_sme", level="provincial", honour_date="2023-05-10"),
            )
            s.commit()
        new = _eventually(lambda: _feed(client, key, cursor=cursor)["items"])
        honour = next(i for i in new if i["entity_type"] == "honour")
        assert honour["changes"]["code"] == [None, "specialized_sme"] and honour["enterprise_id"] == ent.id
        assert honour["uscc"] == ent.uscc and honour["action"] == "create"
        ids = [i["id"] for i in first + new]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # A new process reading with the saved cursor sees exactly the same thing.
    from app.main import create_app

    with TestClient(create_app()) as fresh:
        again = _feed(fresh, key, cursor=cursor)["items"]
    assert [i["id"] for i in again] == [i["id"] for i in new]


def test_entity_type_filter_township_visibility_and_hidden_types(app, committed, setup):
    key, ent = setup
    with committed() as s:
        other = create_enterprise(s, township="kaifaqu")
        enterprise_service.add_honour(
            s,
            actor=SYSTEM,
            enterprise_id=other.id,
            honour=HonourIn(code="innovative_sme", level="provincial", honour_date="2023-02-01"),
        )
        audit.record(
            s,
            actor=SYSTEM,
            action="create",
            entity_type="api_key",
            entity_id=1,
            changes={"name": [None, "x"]},
        )
        from app.accounts import service as accounts

        staff = accounts.create_user(
            s, username="feed-staff", password="correct-horse-9", role="township_staff", township="qingquan"
        )
        s.commit()
    with TestClient(app) as client:
        items = _eventually(lambda: [i for i in _follow(client, key)[0] if i["enterprise_id"] == other.id])
        every = _follow(client, key)[0]
        assert {i["entity_type"] for i in every} >= {"enterprise", "honour"}
        assert "api_key" not in {i["entity_type"] for i in every}
        honours = _follow(client, key, entity_type="honour")[0]
        assert honours and {i["entity_type"] for i in honours} == {"honour"}
        both = _follow(client, key, entity_type=["honour", "enterprise"])[0]
        assert len(both) == len([i for i in every if i["entity_type"] in ("honour", "enterprise")])
        assert {i["enterprise_id"] for i in _follow(client, key, enterprise_id=other.id)[0]} == {other.id}
        assert items
        r = client.post(
            "/login",
            data={
                "csrf_token": login_token(client),
                "username": staff.username,
                "password": "correct-horse-9",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        mine = client.get("/api/v1/changes").json()["items"]  # the staff's session cookie
        assert mine and {i["township"] for i in mine} == {"qingquan"}


def test_bad_cursors_and_filters_are_named(app, committed, setup):
    key, _ = setup
    with TestClient(app) as client:
        for params, field in (
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"since": "eyJ4IjoxfQ"}, "since"),
            ({"cursor": "a", "since": "b"}, "since"),
            ({"entity_type": "Honour!"}, "entity_type.0"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
        ):
            r = client.get("/api/v1/changes", headers=bearer(key), params=params)
            assert r.status_code == 422, params
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["field"] == field, (params, r.json())
        ahead = changes.Position(2**40, 1).cursor()
        r = client.get("/api/v1/changes", headers=bearer(key), params={"cursor": ahead})
        assert r.status_code == 409 and r.json()["code"] == "cursor_ahead"
        since = client.get("/api/v1/changes", headers=bearer(key), params={"limit": 1})
        cur = since.json()["next_cursor"]
        # (the empty feed's next_cursor is the database's horizon, which any write between the two
        # reads — a rate-limit count among them — moves on)
        assert (
            client.get("/api/v1/changes", headers=bearer(key), params={"since": cur}).json()["items"]
            == client.get("/api/v1/changes", headers=bearer(key), params={"cursor": cur}).json()["items"]
        )


def test_an_entry_committed_late_with_a_lower_id_is_not_skipped(committed, engine, setup):
    """Transaction A takes an audit id and stays open; B takes a higher id and commits. A reader must
    not serve B past A's entry: it waits for A, then serves A's entry and B's, A first."""
    key, ent = setup
    with committed() as s:
        start = changes.head(s)
        last_id = s.execute(text("SELECT coalesce(max(id), 0) FROM audit_entry")).scalar()
        s.commit()
    conn_a = engine.connect()
    a = Session(bind=conn_a)
    entry_a = audit.record(
        a,
        actor=SYSTEM,
        action="update",
        entity_type="enterprise",
        entity_id=ent.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"name": ["x", "A"]},
    ).id
    with committed() as b:
        entry_b = audit.record(
            b,
            actor=SYSTEM,
            action="update",
            entity_type="enterprise",
            entity_id=ent.id,
            enterprise_id=ent.id,
            township=ent.township,
            changes={"name": ["A", "B"]},
        ).id
        b.commit()
    assert entry_a < entry_b
    try:
        with committed() as r:
            page = changes.read(r, actor=SYSTEM, after=start)
        served = [c.entry.id for c in page.items]
        assert entry_b not in served and entry_a not in served  # B waits behind the open A
        cursor = page.next_position
        # The naive feed (by id, whatever is visible) would serve B now and move past A for good.
        with committed() as r:
            naive = (
                r.execute(text("SELECT id FROM audit_entry WHERE id > :i ORDER BY id"), {"i": last_id})
                .scalars()
                .all()
            )
        assert entry_b in naive and entry_a not in naive
        a.commit()
    finally:
        a.close()
        conn_a.close()

    def both():
        with committed() as r:
            return [c.entry.id for c in changes.read(r, actor=SYSTEM, after=cursor).items]

    served = _eventually(lambda: (lambda ids: ids if entry_b in ids else None)(both()))
    assert served.index(entry_a) < served.index(entry_b)


def test_sqlite_feed_is_id_ordered(tmp_path):
    from app.cli import run_migrations

    url = f"sqlite:///{tmp_path / 'feed.db'}"
    run_migrations(url)
    eng = create_engine(url)
    with Session(eng) as s:
        for i in range(5):
            audit.record(
                s,
                actor=SYSTEM,
                action="update",
                entity_type="honour" if i % 2 else "enterprise",
                entity_id=i,
                changes={"n": [i, i + 1]},
            )
        s.commit()
        page = changes.read(s, actor=SYSTEM, limit=2)
        assert [c.entry.id for c in page.items] == [1, 2] and page.has_more
        rest = changes.read(s, actor=SYSTEM, after=page.next_position)
        assert [c.entry.id for c in rest.items] == [3, 4, 5] and not rest.has_more
        only = changes.read(s, actor=SYSTEM, entity_types=["honour"])
        assert [c.entry.id for c in only.items] == [2, 4] and only.next_position == changes.Position(0, 5)
        assert changes.head(s) == changes.Position(0, 5)
    eng.dispose()


def test_a_transaction_in_another_database_does_not_hold_the_feed_back(committed, setup):
    from app.config import normalise_database_url
    from tests.conftest import ADMIN_URL

    other = create_engine(normalise_database_url(ADMIN_URL))  # the cluster's `postgres` database
    with other.connect() as c:
        c.execute(text("CREATE TEMP TABLE hold_xid (x int)"))
        c.execute(text("INSERT INTO hold_xid VALUES (1)"))  # an xid, older than anything below, left open
        assert c.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar()
        with committed() as s:
            start = changes.head(s)
            entry = audit.record(
                s,
                actor=SYSTEM,
                action="update",
                entity_type="enterprise",
                entity_id=1,
                changes={"name": ["a", "b"]},
            ).id
            s.commit()

        def served():
            with committed() as r:
                return [ch.entry.id for ch in changes.read(r, actor=SYSTEM, after=start).items]

        assert entry in _eventually(lambda: entry in served() and served(), timeout=5)
        c.rollback()
    other.dispose()


@pytest.mark.parametrize("autocommit", [False, True], ids=["one transaction", "autocommit"])
def test_a_reader_that_looks_again_in_one_session_does_not_pass_a_transaction_begun_since(
    committed, engine, setup, autocommit
):
    """PostgreSQL keeps its view of pg_stat_activity from the first look to the end of the transaction: a
    second horizon in the same transaction (the webhook worker) must not miss a writer that began after the
    first look; in autocommit (the API's reads) every statement looks afresh."""
    key, ent = setup
    conn = engine.connect()
    if autocommit:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    reader = Session(bind=conn)
    conn_a = engine.connect()
    a = Session(bind=conn_a)
    try:
        first = changes.read(reader, actor=SYSTEM, after=changes.head(reader))
        entry_a = audit.record(
            a,
            actor=SYSTEM,
            action="update",
            entity_type="enterprise",
            entity_id=ent.id,
            enterprise_id=ent.id,
            township=ent.township,
            changes={"name": ["x", "A"]},
        ).id
        xid_a = a.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar()
        with committed() as b:  # a later entry, committed: served only once A has ended
            entry_b = audit.record(
                b, actor=SYSTEM, action="update", entity_type="enterprise", entity_id=ent.id, changes={}
            ).id
            b.commit()
        again = changes.read(reader, actor=SYSTEM, after=first.next_position)
        assert entry_a not in [c.entry.id for c in again.items]
        assert entry_b not in [c.entry.id for c in again.items]
        assert again.next_position < changes.Position(xid_a, entry_a)
        a.commit()
    finally:
        a.close()
        conn_a.close()
        reader.close()
        conn.close()

    def served():
        with committed() as r:
            return [c.entry.id for c in changes.read(r, actor=SYSTEM, after=again.next_position).items]

    ids = _eventually(lambda: (lambda got: got if entry_b in got else None)(served()))
    assert ids.index(entry_a) < ids.index(entry_b)


def test_the_page_is_written_as_its_schema_writes_it(app, committed, setup):
    """The feed's page is written without the response model: the same bytes as ChangePage would write."""
    from app.integration.schemas import ChangePage

    key, ent = setup
    with committed() as s:
        enterprise_service.add_honour(
            s,
            actor=SYSTEM,
            enterprise_id=ent.id,
            honour=HonourIn(code="innovative_sme", level="provincial", honour_date="2023-02-01"),
        )
        audit.record(s, actor=SYSTEM, action="note", entity_type="enterprise", entity_id=ent.id, changes=None)
        s.commit()
    with TestClient(app) as client:
        _eventually(lambda: len(_follow(client, key)[0]) >= 3)
        for params in ({"limit": 2}, {"limit": 100}, {"entity_type": "honour"}):
            r = client.get("/api/v1/changes", headers=bearer(key), params=params)
            assert r.status_code == 200 and r.headers["content-type"] == "application/json"
            assert ChangePage.model_validate_json(r.content).model_dump_json().encode() == r.content
        items = _follow(client, key)[0]
        assert {i["uscc"] for i in items if i["enterprise_id"] == ent.id} == {ent.uscc}
        assert any(i["changes"] == {} and i["enterprise_id"] is None for i in items)
