"""The application connects as a role that owns nothing: it reads and writes rows, appends to the
audit trail, and cannot truncate it, disable its triggers, rewrite or delete entries, or change the
schema. Migrations run as the owner; `yumiao migrate` grants the role its rights."""

import os

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from app.accounts import service as accounts
from app.audit.models import AuditEntry
from app.dbrole import grant_app_role
from tests.conftest import DB_NAME, Server, bearer

ROLE = f"yumiao_app_{os.getpid()}"


@pytest.fixture(scope="module")
def app_role_url(engine):
    with engine.begin() as c:
        c.execute(text(f'CREATE ROLE "{ROLE}" LOGIN'))
        grant_app_role(c, ROLE)
    url = engine.url.set(username=ROLE, password=None).render_as_string(hide_password=False)
    yield url
    with engine.begin() as c:
        c.execute(text(f'DROP OWNED BY "{ROLE}"'))
        c.execute(text(f'DROP ROLE "{ROLE}"'))


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_entry",
        "ALTER TABLE audit_entry DISABLE TRIGGER ALL",
        "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_delete",
        "DELETE FROM audit_entry",
        "UPDATE audit_entry SET note = 'x'",
        "DROP TABLE audit_entry",
        "TRUNCATE enterprise CASCADE",
        "CREATE TABLE scratch (id int)",
        "ALTER TABLE enterprise ADD COLUMN x int",
    ],
)
def test_the_app_role_cannot_tamper_with_the_audit_trail_or_the_schema(app_role_url, statement):
    eng = create_engine(app_role_url)
    try:
        with eng.connect() as c:
            assert c.execute(text("SELECT current_user")).scalar() == ROLE
            with pytest.raises(DBAPIError) as e:
                c.execute(text(statement))
            assert e.value.orig.sqlstate in ("42501", "42P01"), (
                e.value
            )  # insufficient_privilege (must be owner)
    finally:
        eng.dispose()


def test_the_application_works_as_that_role(app_role_url, committed, tmp_path):
    with committed() as s:
        key, _ = accounts.create_api_key(
            s, name="role-check", scopes=["enterprises:read", "enterprises:write"]
        )
        s.commit()
    server = Server(app_role_url.replace("postgresql+psycopg://", "postgresql://"), tmp_path / "server.log")
    try:
        h = bearer(key)
        r = httpx.post(
            f"{server.base}/api/v1/enterprises",
            headers=h,
            timeout=30,
            json={
                "uscc": "91371525MA3C0F0X4D",
                "name": "角色检验有限公司",
                "township": "qingquan",
                "size": "small",
            },
        )
        assert r.status_code == 201, r.text
        eid = r.json()["id"]
        r = httpx.patch(
            f"{server.base}/api/v1/enterprises/{eid}",
            headers={**h, "If-Match": '"1"'},
            json={"name": "角色检验改名有限公司"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert httpx.get(f"{server.base}/api/v1/enterprises", headers=h, timeout=30).json()["items"]
        assert httpx.get(f"{server.base}/healthz", timeout=5).json()["database"] == "ok"
    finally:
        server.stop()
    with committed() as s:
        actions = s.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "enterprise", AuditEntry.entity_id == str(eid)
            )
        ).all()
        assert sorted(actions) == ["create", "update"]
        assert s.scalar(select(func.count()).select_from(AuditEntry)) >= 2
    assert DB_NAME in app_role_url
