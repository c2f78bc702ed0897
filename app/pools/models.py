"""Cultivation pools (培育库): membership history, yearly reviews, graduation proposals, 亩产效益 classes.

What each pool is and who may enter lives in definitions.yaml; these tables hold what happened.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

# Why a firm leaves a pool; codes never change once shipped.
LEAVE_REASONS: dict[str, str] = {
    "above_scale": "升规",
    "honoured": "认定成功",
    "talent_selected": "入选人才工程",
    "not_eligible": "不再符合",
    "deregistered": "注销",
    "moved": "转入其他库",
    "withdrawn": "企业退出",
    "other": "其他",
}


class PoolReview(Base):
    """One yearly re-evaluation (动态调整) of a pool, confirmed in one request."""

    __tablename__ = "pool_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool: Mapped[str] = mapped_column(String(40), index=True)
    year: Mapped[int] = mapped_column(Integer)
    review_date: Mapped[date] = mapped_column(Date)
    township: Mapped[str | None] = mapped_column(String(20), nullable=True)  # a township's own review
    entered_count: Mapped[int] = mapped_column(Integer, default=0)
    left_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PoolMembership(Base):
    """One stay of an enterprise in a pool: entered on a date by an entry class, left (or not yet)."""

    __tablename__ = "pool_membership"
    __table_args__ = (
        # At most one current stay per enterprise and pool.
        Index(
            "uq_pool_membership_current",
            "pool",
            "enterprise_id",
            unique=True,
            postgresql_where=text("left_date IS NULL"),
            sqlite_where=text("left_date IS NULL"),
        ),
        Index("ix_pool_membership_enterprise_pool", "enterprise_id", "pool"),
        CheckConstraint("left_date IS NULL OR left_date >= entered_date", name="left_after_entered"),
        CheckConstraint(
            "leave_reason IS NULL OR leave_reason IN "
            "('above_scale','honoured','talent_selected','not_eligible','deregistered','moved','withdrawn','other')",
            name="leave_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(String(40))
    entry_class: Mapped[str] = mapped_column(String(40))
    entered_date: Mapped[date] = mapped_column(Date)
    entered_by: Mapped[str] = mapped_column(String(100))
    entry_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The criteria as evaluated at entry: [{kind, status, explanation, basis}], and the figures' year.
    evaluated_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entry_evaluation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    entry_review_id: Mapped[int | None] = mapped_column(ForeignKey("pool_review.id"), nullable=True)
    left_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    leave_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    left_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    leave_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    leave_review_id: Mapped[int | None] = mapped_column(ForeignKey("pool_review.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the pool definitions version the entry was judged by (app.pools.store); kept when a newer one is published
    definition_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_definition_version.id"), nullable=True
    )


class PoolGraduation(Base):
    """A proposal that a member has reached its pool's goal (升规, 认定) and should move on."""

    __tablename__ = "pool_graduation"
    __table_args__ = (
        CheckConstraint("trigger IN ('above_scale','honour')", name="trigger"),
        CheckConstraint("status IN ('pending','confirmed','dismissed')", name="status"),
        Index("ix_pool_graduation_pool_status", "pool", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("pool_membership.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    pool: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(20))
    honour_id: Mapped[int | None] = mapped_column(ForeignKey("honour.id", ondelete="SET NULL"), nullable=True)
    event_date: Mapped[date] = mapped_column(Date)
    goal_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    next_pool: Mapped[str | None] = mapped_column(String(40), nullable=True)  # entered on confirmation
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class MuClassRecord(Base):
    """An enterprise's 亩产效益 class for a year, as entered or imported from the county's list."""

    __tablename__ = "mu_class_record"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", name="uq_mu_class_record_enterprise_year"),
        CheckConstraint("mu_class IN ('A','B','C','D')", name="mu_class"),
        CheckConstraint("source IN ('entered','imported')", name="source"),
        Index("ix_mu_class_record_year_class", "year", "mu_class"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    mu_class: Mapped[str] = mapped_column(String(1))
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MuProvisional(Base):
    """The provisional 亩产效益 class computed from a year's figures (app.pools.mu_scheme), stored per run."""

    __tablename__ = "mu_provisional"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", name="uq_mu_provisional_enterprise_year"),
        CheckConstraint("mu_class IS NULL OR mu_class IN ('A','B','C','D')", name="mu_class"),
        Index("ix_mu_provisional_year_rank", "year", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ranked: Mapped[int] = mapped_column(Integer)  # how many enterprises were ranked that year
    mu_class: Mapped[str | None] = mapped_column(String(1), nullable=True)
    # indicator code → [value, percentile, weight]; notes: Chinese
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MuSchemeSetting(Base):
    """An administrator's weights and bands for the 亩产效益 scheme; definitions.yaml is the default."""

    __tablename__ = "mu_scheme_setting"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # indicator code → weight
    bands: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{mu_class, percent}]
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PoolDefinitionVersion(Base):
    """One version of the pool definitions (the whole of definitions.yaml): a draft, or published and in force
    from `effective_from` until a later version takes effect. At most one draft (partial unique index), so two
    admins publishing at once leave one published version."""

    __tablename__ = "pool_definition_version"
    __table_args__ = (
        CheckConstraint("status IN ('draft','published')", name="status"),
        CheckConstraint("origin IN ('shipped','edited')", name="origin"),
        CheckConstraint("status = 'draft' OR effective_from IS NOT NULL", name="published_dated"),
        Index(
            "uq_pool_definition_version_one_draft",
            "status",
            unique=True,
            postgresql_where=text("status = 'draft'"),
            sqlite_where=text("status = 'draft'"),
        ),
        Index("ix_pool_definition_version_content_hash", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    origin: Mapped[str] = mapped_column(String(10), default="edited")
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    content: Mapped[str] = mapped_column(Text)  # definitions.yaml
    content_hash: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_definition_version.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
