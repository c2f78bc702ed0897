"""Targets as data: a year's target table (冠政办发〔2023〕7号 附件) or a multi-year goal set (冠政发〔2022〕9号 二).

A `TargetSet` is one table with its period, a draft until the county publishes it; each `TargetIndicator` is one row with its measure
(how progress is read from the data, app/reference/targets.py) and `TargetFigure` its
per-township figures. County-only rows have no figures. An administrator adds next year's
table as data (form or .xlsx), so no code changes from one year to the next.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

SET_KINDS = {"annual": "年度目标", "period": "多年目标"}
SET_SOURCES = {"reference": "文件载入", "form": "表单录入", "upload": "Excel 上传", "api": "接口提交"}
SET_STATUSES = {"draft": "草稿", "published": "已发布"}


class TargetSet(Base):
    """One target table: a calendar year's (key "2023") or a period's (key "2022-2024")."""

    __tablename__ = "target_set"
    __table_args__ = (
        CheckConstraint("kind IN ('annual','period')", name="kind"),
        CheckConstraint("source IN ('reference','form','upload','api')", name="source"),
        CheckConstraint("status IN ('draft','published')", name="status"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)  # annual tables
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(String(60))  # 文号
    title: Mapped[str] = mapped_column(String(200))
    issued_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # draft: being prepared (copied from `copied_from`, edited row by row); never the dashboard's default
    status: Mapped[str] = mapped_column(String(10), default="published", server_default="published")
    published_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    copied_from: Mapped[str | None] = mapped_column(String(20), nullable=True)

    indicators: Mapped[list["TargetIndicator"]] = relationship(
        back_populates="target_set", lazy="raise", order_by="TargetIndicator.no", cascade="all, delete-orphan"
    )


class TargetIndicator(Base):
    """One row of a table: 项目名称, unit, 总数, 完成时限, measure; township figures in TargetFigure."""

    __tablename__ = "target_indicator"
    __table_args__ = (
        UniqueConstraint("set_id", "code", name="uq_target_indicator_set_code"),
        CheckConstraint("kind IN ('count','rate')", name="kind"),
        CheckConstraint("total >= 0", name="total_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("target_set.id", ondelete="CASCADE"), index=True)
    no: Mapped[int] = mapped_column(Integer)  # 序号
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    clause: Mapped[str | None] = mapped_column(String(40), nullable=True)
    text: Mapped[str | None] = mapped_column(
        Text, nullable=True
    )  # the document's words where the name loses them
    unit: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10), default="count")
    county_only: Mapped[bool] = mapped_column(Boolean, default=False)
    at_least: Mapped[bool] = mapped_column(Boolean, default=False)  # 以上
    approx: Mapped[bool] = mapped_column(Boolean, default=False)  # 左右
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 总数 (a rate row: the county rate in %)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    deadline_text: Mapped[str] = mapped_column(String(60))
    filing_day: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # rate rows: filed monthly by this day
    measure: Mapped[dict[str, Any]] = mapped_column(JSON)
    parts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # [{code, name, total, measure}]
    responsible: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # 工信局联系人

    target_set: Mapped[TargetSet] = relationship(back_populates="indicators", lazy="raise")
    figures: Mapped[list["TargetFigure"]] = relationship(
        back_populates="indicator", lazy="raise", cascade="all, delete-orphan"
    )


class TargetFigure(Base):
    """One township's figure of one row (a count, or a rate in % for rate rows)."""

    __tablename__ = "target_figure"
    __table_args__ = (CheckConstraint("value >= 0", name="value_nonneg"),)

    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("target_indicator.id", ondelete="CASCADE"), primary_key=True
    )
    township: Mapped[str] = mapped_column(ForeignKey("township.code"), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    indicator: Mapped[TargetIndicator] = relationship(back_populates="figures", lazy="raise")
