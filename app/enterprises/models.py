from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class Township(Base):
    __tablename__ = "township"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    sort_order: Mapped[int] = mapped_column(Integer)


class Enterprise(Base):
    __tablename__ = "enterprise"
    __table_args__ = (
        CheckConstraint("size IN ('micro','small','medium','large')", name="size"),
        CheckConstraint("ownership IN ('private','state','foreign','other')", name="ownership"),
        CheckConstraint("mu_class IS NULL OR mu_class IN ('A','B','C','D')", name="mu_class"),
        Index("ix_enterprise_township_name", "township", "name", "id"),
        Index("ix_enterprise_name_id", "name", "id"),
        # Text search on name and USCC: trigram GIN indexes on PostgreSQL (plain indexes on SQLite).
        Index(
            "ix_enterprise_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}
        ),
        Index(
            "ix_enterprise_uscc_trgm", "uscc", postgresql_using="gin", postgresql_ops={"uscc": "gin_trgm_ops"}
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    township: Mapped[str] = mapped_column(ForeignKey("township.code"))
    chain: Mapped[str | None] = mapped_column(String(50), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(50), nullable=True)
    size: Mapped[str] = mapped_column(String(10))
    ownership: Mapped[str] = mapped_column(String(10))
    above_scale: Mapped[bool] = mapped_column(Boolean, default=False)
    mu_class: Mapped[str | None] = mapped_column(String(1), nullable=True)
    platform_registered_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    figures: Mapped[list["EnterpriseFigure"]] = relationship(
        back_populates="enterprise", lazy="raise", order_by="EnterpriseFigure.year.desc()"
    )
    honours: Mapped[list["Honour"]] = relationship(
        back_populates="enterprise", lazy="raise", order_by="Honour.honour_date.desc()"
    )

    # Optimistic locking: every UPDATE checks and bumps the version (the ETag).
    __mapper_args__ = {"version_id_col": version}


FIGURE_FIELDS = (
    "revenue_yuan",
    "main_revenue_yuan",
    "output_value_yuan",
    "rd_spend_yuan",
    "tax_yuan",
    "employees",
    "land_mu",
    "energy_tce",
)


class EnterpriseFigure(Base):
    """One enterprise's figures for one year. Money in integer 元; land in 亩; energy in 吨标准煤."""

    __tablename__ = "enterprise_figure"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", name="enterprise_year"),
        Index("ix_enterprise_figure_year_revenue", "year", "revenue_yuan"),
        CheckConstraint("revenue_yuan IS NULL OR revenue_yuan >= 0", name="revenue_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    revenue_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    main_revenue_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    output_value_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rd_spend_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tax_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    land_mu: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    energy_tce: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="figures", lazy="raise")


class Honour(Base):
    """An honour (认定) record: granted new, renewed, or an application refused."""

    __tablename__ = "honour"
    __table_args__ = (
        Index("ix_honour_code_level", "code", "level", "outcome", "honour_date"),
        CheckConstraint("outcome IN ('new','renewed','rejected')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))
    honour_date: Mapped[date] = mapped_column(Date)
    certificate_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="honours", lazy="raise")


class IdempotencyRecord(Base):
    """A POST with an Idempotency-Key: a retry gets the stored response, not a second create."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key", name="principal_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
