"""The 聊城企业政策通 integration: the change feed's commit order, webhook subscriptions and deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class AuditEntryXid(Base):
    """The transaction id that wrote each audit entry — the change feed's commit-order key.

    On PostgreSQL a statement trigger on audit_entry fills it (see migration 0005), so every writer,
    ORM or bulk insert, is covered. The feed serves an entry only once every transaction with a lower
    id has ended (pg_snapshot_xmin), so an entry committed late can never fall behind a cursor.
    SQLite has one writer at a time, so there the audit id alone is commit order and this stays empty.
    """

    __tablename__ = "audit_entry_xid"
    __table_args__ = (Index("ix_audit_entry_xid_xid_entry", "xid", "audit_entry_id"),)

    audit_entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("audit_entry.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    xid: Mapped[int] = mapped_column(BigInteger)


class WebhookSubscription(Base):
    """A URL that receives the change feed as signed POSTs (HMAC-SHA256, header X-Yumiao-Signature)."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    # The signing secret: shown once at creation; kept so the worker can sign.
    secret: Mapped[str] = mapped_column(String(100))
    entity_types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [] = every type the feed serves
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner: Mapped[str] = mapped_column(String(80))  # "api_key:3" / "user:1": who may see and delete it
    # The feed position already handed to a delivery: (xid, audit entry id).
    cursor_xid: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor_id: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookDelivery(Base):
    """One batch of changes POSTed to one subscription, with every attempt's outcome."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint("status IN ('pending','delivered','failed')", name="status"),
        Index("ix_webhook_delivery_subscription_id", "subscription_id", "id"),
        Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    first_entry_id: Mapped[int] = mapped_column(BigInteger)
    last_entry_id: Mapped[int] = mapped_column(BigInteger)
    change_count: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
