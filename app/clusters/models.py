"""特色产业集群 (冠政发〔2022〕9号 四（十）, 冠政办发〔2023〕7号 二（四）12): a cluster is its own record.

One row is one recognition of one cluster at one level (市级、省级、国家级): its name, the date,
the lead enterprise (牵头企业), the member firms, and the enterprise that receives the award as
recorded (`recipient_enterprise_id`, by default the lead). The recognition is also an honour
record of code `cluster` on the recipient only (`honour_id`), which is what earns the award
lines; the target table's row 8 counts these rows, never the firms.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

CLUSTER_LEVELS = ("city", "provincial", "national")


class IndustryCluster(Base):
    __tablename__ = "industry_cluster"
    __table_args__ = (
        UniqueConstraint("name", "level", name="industry_cluster_name_level"),
        CheckConstraint("level IN ('city','provincial','national')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    recognised_date: Mapped[date] = mapped_column(Date, index=True)
    lead_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    recipient_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    honour_id: Mapped[int | None] = mapped_column(
        ForeignKey("honour.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    certificate_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndustryClusterMember(Base):
    """A member firm of a cluster (the lead is a member too)."""

    __tablename__ = "industry_cluster_member"

    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("industry_cluster.id", ondelete="CASCADE"), primary_key=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), primary_key=True, index=True)


__all__ = ["CLUSTER_LEVELS", "IndustryCluster", "IndustryClusterMember"]
