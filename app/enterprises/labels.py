"""Chinese names of the registry's fields and codes (enterprise, yearly figures, honours)."""

from app.reference import LEVEL_NAMES, OUTCOME_NAMES, OWNERSHIP_NAMES, SIZE_NAMES, honours, township_names

FIELDS = {
    "uscc": "统一社会信用代码",
    "name": "名称",
    "enterprise.name": "企业名称",
    "township": "乡镇（街道）",
    "chain": "产业链",
    "industry": "行业",
    "size": "企业规模",
    "ownership": "所有制",
    "above_scale": "是否规上",
    "mu_class": "亩产效益类别",
    "enterprise.mu_class": "企业登记的亩产效益类别",
    "platform_registered_date": "平台注册日期",
    "deleted_at": "删除时间",
    "year": "年度",
    "revenue_yuan": "营业收入",
    "main_revenue_yuan": "主营业务收入",
    "output_value_yuan": "工业总产值",
    "rd_spend_yuan": "研发经费",
    "tax_yuan": "税收",
    "employees": "从业人员（人）",
    "land_mu": "用地面积（亩）",
    "energy_tce": "综合能耗（吨标准煤）",
    "code": "认定",
    "honour.code": "认定",
    "level": "级别",
    "outcome": "结果",
    "honour_date": "认定日期",
    "certificate_no": "证书编号",
    "note": "说明",
    "version": "版本",
}


def _honour_names() -> dict[str, str]:
    return {code: spec["name"] for code, spec in honours().items()}


VALUES = {
    "size": SIZE_NAMES,
    "ownership": OWNERSHIP_NAMES,
    "level": LEVEL_NAMES,
    "outcome": OUTCOME_NAMES,
}


def codes() -> dict[str, str]:
    return {**township_names(), **_honour_names()}


# Values whose field is known only at run time.
VALUES["township"] = township_names()
VALUES["code"] = _honour_names()
