"""Chinese names of the monthly filing's fields."""

from app.reports.models import FILING_FIELDS, REQUIRED_FIELDS

FIELDS = {
    **{k: label for k, (label, _unit) in FILING_FIELDS.items()},
    "monthly_filing.revenue_yuan": "营业收入",
    "monthly_filing.output_value_yuan": "工业产值",
    "monthly_filing.rd_spend_yuan": "研发投入",
    "period": "月份",
    "late": "截止日后保存",
    "filed_late": "逾期填报",
    "corrected_late": "逾期更正",
    "revisions": "更正次数",
    "checks": "合理性提示",
    "confirmed": "已确认合理性提示",
    "confirm_note": "确认说明",
}


TEMPLATE_GLOBALS = {"FILING_FIELDS": FILING_FIELDS, "FILING_REQUIRED": REQUIRED_FIELDS}
