"""Chinese names of the pools' codes: pools, entry classes, leave reasons, candidacy, 亩产效益 sources."""

from app.pools.common import CANDIDACY_LABELS as CANDIDACY_NAMES
from app.pools.common import MU_SOURCE_NAMES
from app.pools.criteria import STATUS_NAMES as _CRITERION_STATUS
from app.pools.criteria import Status
from app.pools.definitions import load_pools
from app.pools.models import LEAVE_REASONS

GRADUATION_STATUS = {"pending": "待确认", "confirmed": "已确认", "dismissed": "已驳回"}
TRIGGER_NAMES = {"above_scale": "升规", "honour": "获得认定"}

FIELDS = {
    "pool": "培育库",
    "entry_class": "入库类别",
    "entered_date": "入库日期",
    "evaluated_year": "按哪年数据判断",
    "left_date": "出库日期",
    "leave_reason": "出库原因",
    "trigger": "触发原因",
    "next_pool": "转入培育库",
    "pool_graduation.status": "状态",
    "left": "出库（家）",
    "entered": "入库（家）",
    "ranked": "参与排名（家）",
    "classes": "各类别家数",
    "weights": "权重",
    "bands": "分档",
    "review_date": "调整日期",
}


def _pools() -> dict[str, str]:
    return {code: p.name for code, p in load_pools().items()}


def _entry_classes() -> dict[str, str]:
    return {e.code: e.name for p in load_pools().values() for e in p.entry_classes}


VALUES = {
    "pool": _pools(),
    "next_pool": _pools(),
    "entry_class": _entry_classes(),
    "leave_reason": LEAVE_REASONS,
    "candidacy": CANDIDACY_NAMES,
    "trigger": TRIGGER_NAMES,
    "mu_source": MU_SOURCE_NAMES,
}


def codes() -> dict[str, str]:
    return {**_pools(), **_entry_classes(), **LEAVE_REASONS}


TEMPLATE_GLOBALS = {
    "POOL_CANDIDACY": CANDIDACY_NAMES,
    "LEAVE_REASONS": LEAVE_REASONS,
    "MU_SOURCE_NAMES": MU_SOURCE_NAMES,
    "CRITERION_STATUS": {s.value: _CRITERION_STATUS[s] for s in Status},
}
