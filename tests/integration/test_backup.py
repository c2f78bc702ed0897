"""Backup and restore as docs/BACKUP.md says: pg_dump -Fc, pg_restore into a new database, same rows."""

import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, text

from app.accounts.permissions import SYSTEM
from app.config import normalise_database_url
from app.db import Base
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import HonourIn
from tests.conftest import ADMIN_URL, DB_NAME, KEEP_TABLES
from tests.integration.conftest import create_enterprise

pytestmark = pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore")),
    reason="pg_dump/pg_restore are not on PATH (Debian: apt-get install postgresql-client)",
)

RESTORED = DB_NAME + "_restored"
ENTERPRISE_CHECKSUM = text(
    "SELECT count(*), md5(coalesce(string_agg(e::text, '|' ORDER BY e.id), '')) FROM enterprise e"
)


def _libpq(db: str) -> str:
    """A libpq URL (no SQLAlchemy driver suffix) for database `db` on the test server."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def _counts(url: str) -> dict[str, int]:
    eng = create_engine(normalise_database_url(url))
    with eng.connect() as c:
        tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
        out = {t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
        out["enterprise checksum"] = tuple(c.execute(ENTERPRISE_CHECKSUM).one())
    eng.dispose()
    return out


@pytest.fixture
def restored_db():
    admin = create_engine(normalise_database_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{RESTORED}"'))
    yield _libpq(RESTORED)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}" WITH (FORCE)'))
    admin.dispose()


def test_pg_dump_and_pg_restore_round_trip(committed, restored_db, tmp_path):
    with committed() as s:
        for i in range(5):
            ent = create_enterprise(
                s,
                name=f"备份测试企业{i}有限公司",
                township="kaifaqu" if i % 2 else "qingquan",
                figures=[{"year": 2023, "revenue_yuan": 10_000_000 * (i + 1), "land_mu": "12.50"}],
            )
            enterprise_service.add_honour(
                s,
                actor=SYSTEM,
                enterprise_id=ent.id,
                honour=HonourIn(code="specialized_sme", level="city", honour_date="2023-05-10"),
            )
        s.commit()
    source = _libpq(DB_NAME)
    dump = tmp_path / "yumiao.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), source],
        check=True,
        capture_output=True,
        timeout=120,
    )
    listing = subprocess.run(
        ["pg_restore", "--list", str(dump)], check=True, capture_output=True, text=True
    ).stdout
    assert (
        "TABLE DATA public enterprise" in listing
        and "TRIGGER public audit_entry audit_entry_no_update" in listing
    )
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", restored_db, str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr

    before, after = _counts(source), _counts(restored_db)
    assert after == before
    assert before["enterprise"] >= 5 and before["honour"] >= 5 and before["audit_entry"] >= 10
    assert set(before) >= {t.name for t in Base.metadata.sorted_tables} - KEEP_TABLES

    eng = create_engine(normalise_database_url(restored_db))
    with eng.connect() as c:
        # The restored database is at the same migration, and its safeguards came back with it.
        assert c.execute(
            text("SELECT version_num FROM alembic_version ORDER BY 1")
        ).scalars().all() == sorted(_versions(source))
        with pytest.raises(Exception, match="append-only"):
            c.execute(text("UPDATE audit_entry SET note = 'x'"))
        c.rollback()
        # New audit entries in the restored database are placed in the change feed.
        c.execute(
            text(
                "INSERT INTO audit_entry (at, actor_kind, actor_name, action, entity_type, entity_id, changes) "
                "VALUES (now(), 'system', 'restore-check', 'update', 'enterprise', '1', '{}')"
            )
        )
        assert (
            c.execute(
                text(
                    "SELECT count(*) FROM audit_entry a JOIN audit_entry_xid x ON x.audit_entry_id = a.id "
                    "WHERE a.actor_name = 'restore-check' AND x.xid > 0"
                )
            ).scalar()
            == 1
        )
        c.rollback()
    eng.dispose()


def _versions(url: str) -> list[str]:
    eng = create_engine(normalise_database_url(url))
    with eng.connect() as c:
        out = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    eng.dispose()
    return out
