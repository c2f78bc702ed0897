"""A data version for cached aggregates (the dashboards, pool candidates): bumped once by every transaction
that changes what they count

Revision ID: 1401
Revises: 1001
Create Date: 2026-11-30

`data_version.v` goes up by one when a transaction that wrote to any of the tables below commits: a deferred
constraint trigger runs at commit (after every other lock the transaction takes, so it adds no deadlock) and
updates the one row once per transaction. The bump commits with the data, so a reader that sees version v sees
exactly the data of v: app/datacache.py keys cached aggregates on it and never serves a stale result.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "1401"
down_revision: str | Sequence[str] | None = "1001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("enterprise", "enterprise_figure", "honour", "pool_membership", "pool_graduation", "mu_class_record",
          "mu_provisional", "mu_scheme_setting", "monthly_filing", "target_set", "target_indicator", "target_figure")


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("v", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.execute("INSERT INTO data_version (id, v) VALUES (1, 0)")
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (one writer, a developer's quick start): the cache is not used there
    op.execute("""
        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF current_setting('yumiao.data_version_bumped', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
            PERFORM set_config('yumiao.data_version_bumped', pg_current_xact_id()::text, true);
            UPDATE data_version SET v = v + 1 WHERE id = 1;
          END IF;
          RETURN NULL;
        END $$""")
    for t in TABLES:
        op.execute(f"""CREATE CONSTRAINT TRIGGER {t}_data_version AFTER INSERT OR UPDATE OR DELETE ON {t}
                       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()""")
        op.execute(f"""CREATE TRIGGER {t}_data_version_truncate AFTER TRUNCATE ON {t}
                       FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            op.execute(f"DROP TRIGGER {t}_data_version ON {t}")
            op.execute(f"DROP TRIGGER {t}_data_version_truncate ON {t}")
        op.execute("DROP FUNCTION bump_data_version()")
    op.drop_table("data_version")
