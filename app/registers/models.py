"""Registers that feed the goals: training (培训), 数字化测评 and projects (技改 / 强链延链补链 重点项目).

- 冠政发〔2022〕9号 二、四（四）、四（九）: about 100 数字专员 and 100 现代管理人员 trained over three years;
  企业家 courses. Each training record is one participant of one course.
- 冠政办发〔2023〕7号 二（三）9: 120 中小企业数字化测评 in 2023 (attachment row 5).
- 冠政办发〔2023〕7号 二（四）10: 20 个强链延链补链新建、技改重点项目.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

COURSE_KINDS = ("digital_officer", "modern_manager", "entrepreneur")
ASSESSMENT_LEVELS = (1, 2, 3, 4)
PROJECT_KINDS = ("tech_upgrade", "key_chain")
PROJECT_STAGES = ("planned", "under_construction", "completed")


class TrainingRecord(Base):
    """One participant of one course: the enterprise, the course kind and name, the date."""

    __tablename__ = "training_record"
    __table_args__ = (
        CheckConstraint(
            "course_kind IN ('digital_officer','modern_manager','entrepreneur')", name="course_kind"
        ),
        Index("ix_training_record_kind_date", "course_kind", "training_date"),
        Index("ix_training_record_enterprise_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    course_kind: Mapped[str] = mapped_column(String(20))
    course_name: Mapped[str] = mapped_column(String(200))
    participant: Mapped[str] = mapped_column(String(50))
    position: Mapped[str | None] = mapped_column(String(50), nullable=True)
    training_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DigitalAssessment(Base):
    """One 中小企业数字化水平测评 of an enterprise: its date and result level (一级–四级)."""

    __tablename__ = "digital_assessment"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
        Index("ix_digital_assessment_date", "assessment_date"),
        Index("ix_digital_assessment_enterprise_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    assessment_date: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assessor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    """A 技改 or 强链延链补链 key project of an enterprise, with its stage and planned investment (元)."""

    __tablename__ = "enterprise_project"
    __table_args__ = (
        CheckConstraint("kind IN ('tech_upgrade','key_chain')", name="kind"),
        CheckConstraint("stage IN ('planned','under_construction','completed')", name="stage"),
        CheckConstraint("investment_yuan >= 0", name="investment_nonneg"),
        Index("ix_enterprise_project_kind_start", "kind", "start_date"),
        Index("ix_enterprise_project_enterprise_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    investment_yuan: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    completion_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
