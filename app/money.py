"""Money: integer 元 in code, the database and the API; 万元 on pages, in explanations and exports.

Every conversion between the two is here, so that a figure reads the same wherever it is shown and a
typed 万元 figure becomes exactly the 元 it says (Decimal, never float).
"""

from decimal import Decimal, InvalidOperation

from app.errors import ValidationFailed

YUAN_PER_WAN = 10000


def wan(yuan: int | float, *, grouped: bool = True) -> str:
    """元 → 万元 exactly, for explanations: 16,500,000 → "1,650"; 9,999,999 → "999.9999"."""
    d = (Decimal(str(yuan)) / YUAN_PER_WAN).normalize()
    return f"{d:,f}" if grouped else f"{d:f}"


def wan_text(yuan: int) -> str:
    """An amount as a clause states it: 500,000 → "50 万元"."""
    return f"{wan(yuan, grouped=False)} 万元"


def wan_2dp(yuan: int | float | None) -> str:
    """元 → 万元 with two decimals, for tables (the pages' `|wan` filter): 16,500,000 → "1,650.00"."""
    if yuan is None:
        return "—"
    return f"{yuan / YUAN_PER_WAN:,.2f}"


def wan_number(yuan: int | float | None) -> float | None:
    """元 → 万元 as a number, for spreadsheet cells and charts."""
    return None if yuan is None else yuan / YUAN_PER_WAN


def wan_exact(yuan: int | None) -> str:
    """元 as the exact 万元 figure to put in a form input: 123456 → "12.3456", 150000 → "15"."""
    if yuan is None:
        return ""
    return wan(yuan, grouped=False)


def wan_to_yuan(text: str | None, field: str, *, required: bool = True) -> int | None:
    """A 万元 figure typed on a page as integer 元, exactly: "12.3456" → 123456; "0.00005" is refused."""
    raw = (text or "").strip().replace(",", "").replace("，", "")
    if not raw:
        if required:
            raise ValidationFailed.one(field, "请填写金额（万元）")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed.one(field, f"“{raw}”不是数字，请以万元填写，如 12.5") from None
    if not value.is_finite():
        raise ValidationFailed.one(field, "请以万元填写有限的数字")
    if value < 0:
        raise ValidationFailed.one(field, "金额不能为负")
    yuan = value * YUAN_PER_WAN
    if yuan != yuan.to_integral_value():
        raise ValidationFailed.one(field, "金额最多精确到元（万元小数点后 4 位）")
    return int(yuan)
