"""integration: change-feed commit order (audit_entry_xid), webhook subscriptions and deliveries

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry_xid",
        sa.Column("audit_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False,
                  nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["audit_entry_id"], ["audit_entry.id"],
                                name=op.f("fk_audit_entry_xid_audit_entry_id_audit_entry"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("audit_entry_id", name=op.f("pk_audit_entry_xid")),
    )
    op.create_index("ix_audit_entry_xid_xid_entry", "audit_entry_xid", ["xid", "audit_entry_id"], unique=False)
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("cursor_xid", sa.BigInteger(), nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("first_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending','delivered','failed')", name=op.f("ck_webhook_delivery_status")),
        sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscription.id"],
                                name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index("ix_webhook_delivery_status_next", "webhook_delivery", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_webhook_delivery_subscription_id", "webhook_delivery", ["subscription_id", "id"], unique=False)

    # The change feed orders entries by the transaction that wrote them. One statement trigger
    # records it for every insert into audit_entry (ORM or bulk); entries written before this
    # migration are all committed, so they get xid 0 and sort first.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("INSERT INTO audit_entry_xid (audit_entry_id, xid) SELECT id, 0 FROM audit_entry")
        op.execute(
            """
            CREATE FUNCTION audit_entry_record_xid() RETURNS trigger AS $$
            BEGIN
              INSERT INTO audit_entry_xid (audit_entry_id, xid)
              SELECT id, pg_current_xact_id()::text::bigint FROM new_rows;
              RETURN NULL;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entry_record_xid AFTER INSERT ON audit_entry "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_record_xid()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_record_xid ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_record_xid()")
    op.drop_index("ix_webhook_delivery_subscription_id", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_status_next", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_subscription")
    op.drop_index("ix_audit_entry_xid_xid_entry", table_name="audit_entry_xid")
    op.drop_table("audit_entry_xid")
