"""policy documents as versioned data: policy_version, with the shipped YAML files as the first published versions

Each file in app/policies becomes a published version (origin `shipped`) with its rule cases
(app/policies/cases/<code>*.yaml). Later changes to a shipped file reach an existing database
through `yumiao migrate` (app.policies.store.sync_shipped) while nobody has edited that document.

Revision ID: 1501
Revises: 1101
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "1501"
down_revision: str | Sequence[str] | None = "1101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("in_force_start", sa.Date(), nullable=False),
        sa.Column("in_force_end", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("cases", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft','published','superseded','withdrawn')", name=op.f("ck_policy_version_status")),
        sa.CheckConstraint("origin IN ('shipped','edited')", name=op.f("ck_policy_version_origin")),
        sa.CheckConstraint("in_force_end >= in_force_start", name=op.f("ck_policy_version_period")),
        sa.ForeignKeyConstraint(["source_id"], ["policy_version.id"], name=op.f("fk_policy_version_source_id_policy_version"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
    )
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_version_code"), ["code"], unique=False)
        batch_op.create_index("ix_policy_version_content_hash", ["content_hash"], unique=False)
        batch_op.create_index("uq_policy_version_one_draft", ["code"], unique=True,
                              postgresql_where=sa.text("status = 'draft'"), sqlite_where=sa.text("status = 'draft'"))
        batch_op.create_index("uq_policy_version_one_published", ["code"], unique=True,
                              postgresql_where=sa.text("status = 'published'"),
                              sqlite_where=sa.text("status = 'published'"))
    _load_shipped()


def _load_shipped() -> None:
    """Insert every shipped file as a published version (columns of this revision only)."""
    import hashlib
    from datetime import UTC, datetime

    from app.policies.loader import read_policies
    from app.policies.store import shipped_cases

    table = sa.table(
        "policy_version", *(sa.column(n) for n in (
            "code", "status", "origin", "number", "title", "issue_date", "in_force_start", "in_force_end", "content",
            "content_hash", "cases", "created_by", "created_at", "updated_at", "published_by", "published_at",
        )),
    )
    now = datetime.now(UTC)
    bind = op.get_bind()
    for doc in read_policies().documents.values():
        content = doc.path.read_text(encoding="utf-8")
        spec = doc.spec
        bind.execute(table.insert().values(
            code=doc.code, status="published", origin="shipped", number=spec.number, title=spec.title,
            issue_date=spec.issue_date, in_force_start=spec.in_force.start, in_force_end=spec.in_force.end,
            content=content, content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest(),
            cases=shipped_cases(doc.code), created_by="system", created_at=now, updated_at=now,
            published_by="system", published_at=now,
        ))


def downgrade() -> None:
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.drop_index("uq_policy_version_one_published")
        batch_op.drop_index("uq_policy_version_one_draft")
        batch_op.drop_index("ix_policy_version_content_hash")
        batch_op.drop_index(batch_op.f("ix_policy_version_code"))
    op.drop_table("policy_version")
