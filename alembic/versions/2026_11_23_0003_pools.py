"""pools: membership history, yearly reviews, graduation proposals, 亩产效益 classes and scheme

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEAVE_REASONS = "('above_scale','honoured','talent_selected','not_eligible','deregistered','moved','withdrawn','other')"


def upgrade() -> None:
    op.create_table(
        "mu_scheme_setting",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_mu_scheme_setting")),
    )
    op.create_table(
        "pool_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("township", sa.String(length=20), nullable=True),
        sa.Column("entered_count", sa.Integer(), nullable=False),
        sa.Column("left_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_review")),
    )
    with op.batch_alter_table("pool_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_review_pool"), ["pool"], unique=False)

    op.create_table(
        "mu_class_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("mu_class", sa.String(length=1), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mu_class IN ('A','B','C','D')", name=op.f("ck_mu_class_record_mu_class")),
        sa.CheckConstraint("source IN ('entered','imported')", name=op.f("ck_mu_class_record_source")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"],
            name=op.f("fk_mu_class_record_enterprise_id_enterprise"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mu_class_record")),
        sa.UniqueConstraint("enterprise_id", "year", name="uq_mu_class_record_enterprise_year"),
    )
    with op.batch_alter_table("mu_class_record", schema=None) as batch_op:
        batch_op.create_index("ix_mu_class_record_year_class", ["year", "mu_class"], unique=False)

    op.create_table(
        "mu_provisional",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("ranked", sa.Integer(), nullable=False),
        sa.Column("mu_class", sa.String(length=1), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mu_class IS NULL OR mu_class IN ('A','B','C','D')", name=op.f("ck_mu_provisional_mu_class")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"],
            name=op.f("fk_mu_provisional_enterprise_id_enterprise"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mu_provisional")),
        sa.UniqueConstraint("enterprise_id", "year", name="uq_mu_provisional_enterprise_year"),
    )
    with op.batch_alter_table("mu_provisional", schema=None) as batch_op:
        batch_op.create_index("ix_mu_provisional_year_rank", ["year", "rank"], unique=False)

    op.create_table(
        "pool_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=40), nullable=False),
        sa.Column("entry_class", sa.String(length=40), nullable=False),
        sa.Column("entered_date", sa.Date(), nullable=False),
        sa.Column("entered_by", sa.String(length=100), nullable=False),
        sa.Column("entry_note", sa.Text(), nullable=True),
        sa.Column("evaluated_year", sa.Integer(), nullable=True),
        sa.Column("entry_evaluation", sa.JSON(), nullable=False),
        sa.Column("entry_review_id", sa.Integer(), nullable=True),
        sa.Column("left_date", sa.Date(), nullable=True),
        sa.Column("leave_reason", sa.String(length=20), nullable=True),
        sa.Column("left_by", sa.String(length=100), nullable=True),
        sa.Column("leave_note", sa.Text(), nullable=True),
        sa.Column("leave_review_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"leave_reason IS NULL OR leave_reason IN {LEAVE_REASONS}", name=op.f("ck_pool_membership_leave_reason")
        ),
        sa.CheckConstraint(
            "left_date IS NULL OR left_date >= entered_date", name=op.f("ck_pool_membership_left_after_entered")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"],
            name=op.f("fk_pool_membership_enterprise_id_enterprise"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_review_id"], ["pool_review.id"], name=op.f("fk_pool_membership_entry_review_id_pool_review")
        ),
        sa.ForeignKeyConstraint(
            ["leave_review_id"], ["pool_review.id"], name=op.f("fk_pool_membership_leave_review_id_pool_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_membership")),
    )
    with op.batch_alter_table("pool_membership", schema=None) as batch_op:
        batch_op.create_index("ix_pool_membership_enterprise_pool", ["enterprise_id", "pool"], unique=False)
        batch_op.create_index(
            "uq_pool_membership_current",
            ["pool", "enterprise_id"],
            unique=True,
            postgresql_where=sa.text("left_date IS NULL"),
            sqlite_where=sa.text("left_date IS NULL"),
        )

    op.create_table(
        "pool_graduation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("honour_id", sa.Integer(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("goal_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("next_pool", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending','confirmed','dismissed')", name=op.f("ck_pool_graduation_status")),
        sa.CheckConstraint("trigger IN ('above_scale','honour')", name=op.f("ck_pool_graduation_trigger")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"],
            name=op.f("fk_pool_graduation_enterprise_id_enterprise"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["honour_id"], ["honour.id"], name=op.f("fk_pool_graduation_honour_id_honour"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["pool_membership.id"],
            name=op.f("fk_pool_graduation_membership_id_pool_membership"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_graduation")),
    )
    with op.batch_alter_table("pool_graduation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_graduation_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pool_graduation_membership_id"), ["membership_id"], unique=False)
        batch_op.create_index("ix_pool_graduation_pool_status", ["pool", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("pool_graduation")
    op.drop_table("pool_membership")
    op.drop_table("mu_provisional")
    op.drop_table("mu_class_record")
    op.drop_table("pool_review")
    op.drop_table("mu_scheme_setting")
