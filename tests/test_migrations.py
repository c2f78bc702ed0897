"""The schema comes only from the migrations, and the models agree with them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import app.models  # noqa: F401
from app.cli import run_migrations
from app.db import Base


def _diff(conn):
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(ctx, Base.metadata)


def test_postgresql_schema_from_migrations_matches_models(engine):
    with engine.connect() as conn:
        assert _diff(conn) == []


def test_migrations_build_the_schema_on_sqlite_too(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    run_migrations(url)
    eng = create_engine(url)
    with eng.connect() as conn:
        assert _diff(conn) == []
        assert conn.execute(text("select count(*) from township")).scalar() == 19
    assert "enterprise" in inspect(eng).get_table_names()
    eng.dispose()


def test_townships_loaded_in_attachment_order(db):
    rows = db.execute(text("select code from township order by sort_order")).scalars().all()
    assert rows[0] == "kaifaqu" and rows[-1] == "liangtang" and len(rows) == 19


def test_migrations_form_one_line_with_a_single_head():
    """Two migrations written in parallel on the same parent fork the history; `yumiao migrate`
    upgrades to the one `head`, so a fork must be re-pointed before it lands."""
    from alembic.script import ScriptDirectory

    from app.cli import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, (
        f"Alembic has {len(heads)} heads {heads}: point the newer migration's down_revision at the other"
    )
    bases = script.get_bases()
    assert len(bases) == 1, f"Alembic has {len(bases)} base revisions {bases}"
