"""助企服务: the 服务直通车 problem tracker, 服务专员 assignments, the 助企远航 list, visits and 一企一策 plans.

冠政办发〔2023〕7号 二（四）11 asks for a 服务直通车 working "问题收集、限时办理、持续跟踪、销号管理"
and 服务专员 sent by county departments to 定点帮包 firms; 冠政发〔2022〕9号 四（六）/ 冠政办发〔2023〕7号
三（三） for 驻企特派员 with 定期走访; 冠政发〔2022〕9号 四（七）/ 冠政办发〔2023〕7号 二（四）10 for
expert diagnosis and a 一企一策 plan followed up over time.
"""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

PROBLEM_STATUSES = ("collected", "assigned", "in_progress", "resolved", "closed", "returned")
OPEN_STATUSES = ("collected", "assigned", "in_progress")
PROBLEM_CATEGORIES = ("labour", "energy", "project", "funding", "policy", "other")
PROBLEM_CHANNELS = ("visit", "phone", "platform", "walk_in", "other")


class ServiceProblem(Base):
    """A problem (诉求) an enterprise raised: collected, assigned to a unit, handled within its deadline, closed."""

    __tablename__ = "service_problem"
    __table_args__ = (
        CheckConstraint(
            "status IN ('collected','assigned','in_progress','resolved','closed','returned')", name="status"
        ),
        CheckConstraint(
            "category IN ('labour','energy','project','funding','policy','other')", name="category"
        ),
        CheckConstraint("channel IN ('visit','phone','platform','walk_in','other')", name="channel"),
        CheckConstraint("unit_kind IN ('township','department')", name="unit_kind"),
        CheckConstraint("deadline_date >= raised_date", name="deadline_after_raised"),
        Index("ix_service_problem_status_deadline", "status", "deadline_date"),
        Index("ix_service_problem_township_status", "township", "status"),
        Index("ix_service_problem_enterprise_id", "enterprise_id"),
        UniqueConstraint("source", "external_ref", name="source_external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    # The enterprise's township when the problem was raised: township staff see and handle these.
    township: Mapped[str] = mapped_column(ForeignKey("township.code"))
    category: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(100))  # who raised it at the enterprise
    channel: Mapped[str] = mapped_column(String(10))
    raised_date: Mapped[date] = mapped_column(Date)
    # The responsible unit: a township (its code) or a county department (its name).
    unit_kind: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str] = mapped_column(String(60))
    deadline_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="collected")
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    return_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_visit.id", ondelete="SET NULL"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(20), default="staff")  # staff | platform
    external_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProblemStep(Base):
    """One step of a problem's life: who, when, what was done (the 持续跟踪 trail)."""

    __tablename__ = "service_problem_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("service_problem.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    step_date: Mapped[date] = mapped_column(Date)
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProblemAttachment(Base):
    """A file attached to a problem, kept in the database."""

    __tablename__ = "service_problem_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("service_problem.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceOfficer(Base):
    """A 服务专员 (or 驻企特派员) sent by a county department."""

    __tablename__ = "service_officer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    department: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OfficerAssignment(Base):
    """An officer's 定点帮包 of a firm from start_date; a reassignment ends the previous one (history kept)."""

    __tablename__ = "service_officer_assignment"
    __table_args__ = (
        Index("ix_service_officer_assignment_enterprise", "enterprise_id", "end_date"),
        Index("ix_service_officer_assignment_officer", "officer_id", "end_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("service_officer.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VoyageListing(Base):
    """A firm on the 助企远航 list (冠政办发〔2023〕7号 二（四）11: the county's list grew to 46), with its source notice."""

    __tablename__ = "voyage_listing"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(300))
    listed_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceVisit(Base):
    """A visit (走访) or an expert diagnosis (诊断) of a firm: date, who, findings."""

    __tablename__ = "service_visit"
    __table_args__ = (
        CheckConstraint("kind IN ('visit','diagnosis')", name="kind"),
        Index("ix_service_visit_enterprise_date", "enterprise_id", "visit_date"),
        Index("ix_service_visit_date", "visit_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    township: Mapped[str] = mapped_column(ForeignKey("township.code"))
    kind: Mapped[str] = mapped_column(String(10), default="visit")
    visit_date: Mapped[date] = mapped_column(Date)
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_officer.id"), nullable=True, index=True
    )
    visitors: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImprovementPlan(Base):
    """A 一企一策 improvement plan for a firm, usually from a diagnosis, with tasks followed to completion."""

    __tablename__ = "improvement_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    township: Mapped[str] = mapped_column(ForeignKey("township.code"))
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_visit.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(200))
    plan_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanTask(Base):
    """One task of a plan with its due date; done when done_date is set."""

    __tablename__ = "improvement_plan_task"
    __table_args__ = (Index("ix_improvement_plan_task_due", "done_date", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("improvement_plan.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date)
    done_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


__all__ = [
    "OPEN_STATUSES",
    "PROBLEM_CATEGORIES",
    "PROBLEM_CHANNELS",
    "PROBLEM_STATUSES",
    "ImprovementPlan",
    "OfficerAssignment",
    "PlanTask",
    "ProblemAttachment",
    "ProblemStep",
    "ServiceOfficer",
    "ServiceProblem",
    "ServiceVisit",
    "VoyageListing",
]
