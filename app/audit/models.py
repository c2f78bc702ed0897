from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class AuditEntry(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (see the migration).

    Its id is monotonic, so it doubles as the cursor of the change feed.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity", "entity_type", "entity_id"),
        Index("ix_audit_entry_enterprise_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(10))  # user | api_key | system
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))  # create | update | delete | <transition>
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    township: Mapped[str | None] = mapped_column(String(20), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
