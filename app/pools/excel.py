"""A pool's members and candidates as .xlsx — the rows and the order of the lists on the screen (app.xlsx writes)."""

from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.money import wan_number
from app.pools import common, listing
from app.pools.common import CANDIDACY_LABELS, MU_SOURCE_NAMES
from app.pools.listing import PoolFilters
from app.pools.models import LEAVE_REASONS
from app.reference import SIZE_NAMES, township_names
from app.xlsx import XLSX as XLSX
from app.xlsx import table, to_bytes


def members_xlsx(
    session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters, include_left: bool = False
) -> bytes:
    rows, year = listing.all_members(
        session, actor=actor, pool_code=pool_code, filters=filters, include_left=include_left
    )
    names = township_names()
    headers = [
        "统一社会信用代码",
        "企业名称",
        "乡镇（街道）",
        "入库类别",
        "入库日期",
        "入库人",
        "出库日期",
        "出库原因",
        f"{year} 年营业收入（万元）",
        f"{year} 年主营业务收入（万元）",
        f"按 {year} 年数据判断",
        "亩产效益类别",
        "类别来源",
    ]
    values = [
        [
            r.enterprise.uscc,
            r.enterprise.name,
            names.get(r.enterprise.township),
            common.class_name(pool_code, r.membership.entry_class) or r.membership.entry_class,
            r.membership.entered_date.isoformat(),
            r.membership.entered_by,
            r.membership.left_date.isoformat() if r.membership.left_date else None,
            LEAVE_REASONS.get(r.membership.leave_reason) if r.membership.leave_reason else None,
            wan_number(r.revenue_yuan),
            wan_number(r.main_revenue_yuan),
            CANDIDACY_LABELS[r.candidacy],
            r.mu_class,
            MU_SOURCE_NAMES.get(r.mu_source) if r.mu_source else None,
        ]
        for r in rows
    ]
    return to_bytes(lambda wb: table(wb, "成员", headers, values))


def candidates_xlsx(session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters) -> bytes:
    rows, year = listing.all_candidates(session, actor=actor, pool_code=pool_code, filters=filters)
    rows = listing.rank_candidates(rows)  # the order of the list on the screen
    pool_def = common.get_pool_def(session, pool_code)
    names = township_names()
    headers = [
        "统一社会信用代码",
        "企业名称",
        "乡镇（街道）",
        "规模",
        "行业",
        f"{year} 年营业收入（万元）",
        f"{year} 年主营业务收入（万元）",
        "判断",
        *[e.name for e in pool_def.entry_classes],
        "亩产效益类别",
        "排序（离下一步越近越靠前）",
    ]
    values = [
        [
            r.enterprise.uscc,
            r.enterprise.name,
            names.get(r.enterprise.township),
            SIZE_NAMES.get(r.enterprise.size, r.enterprise.size),
            r.enterprise.industry,
            wan_number(r.revenue_yuan),
            wan_number(r.main_revenue_yuan),
            CANDIDACY_LABELS[r.candidacy],
            *[CANDIDACY_LABELS[r.classes[e.code]] for e in pool_def.entry_classes],
            r.mu_class,
            i,
        ]
        for i, r in enumerate(rows, start=1)
    ]
    return to_bytes(lambda wb: table(wb, "候选企业", headers, values))
