"""Policy documents as versioned data: one row per version of one 文件.

    draft ──publish──▶ published ──(a newer version of the same code is published)──▶ superseded
                          │
                          └──withdraw──▶ withdrawn

`content` is the document in the YAML exchange format (app/policies/schema.py), exactly as it
is downloaded and uploaded; `content_hash` (sha256 of its UTF-8 bytes) is the version every
award line cites. A code has at most one draft and at most one published version at a time
(partial unique indexes), so two admins publishing at once leave one published version.
`origin` is `shipped` for a version loaded from the YAML files in this package (a corrected
shipped file is re-synced by `yumiao migrate` while nobody has edited the code) and `edited`
for one stored through the API or the pages.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

STATUSES = ("draft", "published", "superseded", "withdrawn")
STATUS_NAMES = {"draft": "草稿", "published": "已发布", "superseded": "已被新版本取代", "withdrawn": "已撤回"}


class PolicyVersion(Base):
    __tablename__ = "policy_version"
    __table_args__ = (
        CheckConstraint("status IN ('draft','published','superseded','withdrawn')", name="status"),
        CheckConstraint("origin IN ('shipped','edited')", name="origin"),
        CheckConstraint("in_force_end >= in_force_start", name="period"),
        Index(
            "uq_policy_version_one_draft",
            "code",
            unique=True,
            postgresql_where=text("status = 'draft'"),
            sqlite_where=text("status = 'draft'"),
        ),
        Index(
            "uq_policy_version_one_published",
            "code",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
        Index("ix_policy_version_content_hash", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(10), default="edited")
    number: Mapped[str] = mapped_column(String(100))  # 文号
    title: Mapped[str] = mapped_column(String(500))
    issue_date: Mapped[date] = mapped_column(Date)
    in_force_start: Mapped[date] = mapped_column(Date)
    in_force_end: Mapped[date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)  # the YAML document
    content_hash: Mapped[str] = mapped_column(String(64))
    cases: Mapped[str | None] = mapped_column(Text, nullable=True)  # the rule test cases (YAML list)
    source_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("policy_version.id", ondelete="SET NULL"), nullable=True
    )  # the version this one was copied from
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # withdrawn or superseded by
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


__all__ = ["STATUSES", "STATUS_NAMES", "PolicyVersion"]
