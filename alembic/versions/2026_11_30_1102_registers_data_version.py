"""The registers (training, 数字化测评, projects) feed target measures, so writing them bumps the data version
that keys the cached dashboards (migration 1401, app/datacache.py)

Revision ID: 1102
Revises: 1002
Create Date: 2026-11-30
"""
from collections.abc import Sequence

from alembic import op

revision: str = "1102"
down_revision: str | Sequence[str] | None = "1002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("training_record", "digital_assessment", "enterprise_project")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # the cache is used on PostgreSQL only
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
