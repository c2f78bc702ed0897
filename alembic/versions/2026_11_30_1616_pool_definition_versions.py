"""pool definitions as versioned data: pool_definition_version, with definitions.yaml as the first published
version, and pool_membership.definition_version_id (the version a member entered under; existing members get
the first version)

Revision ID: h15p01
Revises: 1612
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "h15p01"
down_revision: str | Sequence[str] | None = "1612"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pool_definition_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft','published')", name=op.f("ck_pool_definition_version_status")),
        sa.CheckConstraint("origin IN ('shipped','edited')", name=op.f("ck_pool_definition_version_origin")),
        sa.CheckConstraint("status = 'draft' OR effective_from IS NOT NULL",
                           name=op.f("ck_pool_definition_version_published_dated")),
        sa.ForeignKeyConstraint(["source_id"], ["pool_definition_version.id"],
                                name=op.f("fk_pool_definition_version_source_id_pool_definition_version"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_definition_version")),
    )
    with op.batch_alter_table("pool_definition_version", schema=None) as batch_op:
        batch_op.create_index("uq_pool_definition_version_one_draft", ["status"], unique=True,
                              postgresql_where=sa.text("status = 'draft'"), sqlite_where=sa.text("status = 'draft'"))
        batch_op.create_index("ix_pool_definition_version_content_hash", ["content_hash"], unique=False)
    first = _load_shipped()
    # a plain ADD COLUMN on both databases (a batch rebuild of pool_membership on SQLite would drop the old
    # table and, with foreign keys on, cascade its graduations away)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE pool_membership ADD COLUMN definition_version_id INTEGER "
                   "CONSTRAINT fk_pool_membership_definition_version_id_pool_definition_version "
                   "REFERENCES pool_definition_version (id)")
    else:
        op.add_column("pool_membership", sa.Column("definition_version_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_pool_membership_definition_version_id_pool_definition_version"),
                              "pool_membership", "pool_definition_version", ["definition_version_id"], ["id"])
    op.execute(sa.text("UPDATE pool_membership SET definition_version_id = :v").bindparams(v=first))


def _load_shipped() -> int:
    """definitions.yaml as the first published version, in force from the earliest pool's start."""
    import hashlib
    from datetime import UTC, datetime

    from app.pools.definitions import HERE, PoolCatalogue

    import yaml

    content = (HERE / "definitions.yaml").read_text(encoding="utf-8")
    cat = PoolCatalogue.model_validate(yaml.safe_load(content))
    start = min(p.in_force.start for p in cat.pools)
    now = datetime.now(UTC)
    table = sa.table("pool_definition_version", *(sa.column(n) for n in (
        "id", "status", "origin", "effective_from", "content", "content_hash", "created_by", "created_at", "updated_at",
        "published_by", "published_at")))
    bind = op.get_bind()
    bind.execute(table.insert().values(
        status="published", origin="shipped", effective_from=start, content=content,
        content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest(), created_by="system", created_at=now,
        updated_at=now, published_by="system", published_at=now,
    ))
    return bind.execute(sa.select(sa.func.max(table.c.id))).scalar_one()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column with a foreign key, and rebuilding the table would cascade its
        # graduations away: the column stays, empty
        op.execute("UPDATE pool_membership SET definition_version_id = NULL")
    else:
        op.drop_constraint(op.f("fk_pool_membership_definition_version_id_pool_definition_version"), "pool_membership",
                           type_="foreignkey")
        op.drop_column("pool_membership", "definition_version_id")
    op.drop_table("pool_definition_version")
