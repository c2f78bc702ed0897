"""Monthly filing pages (月度填报): the month's overview by township, the filing grid (htmx save per row),
.xlsx template and upload (all-or-nothing), the overdue list, and one enterprise's filings."""

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Query, Request, UploadFile
from pydantic import ValidationError

from app.config import get_settings
from app.deps import CurrentEnterprise, PageForm, PagePrincipal, SessionDep
from app.errors import ValidationFailed, translate
from app.reference import township_names
from app.reference.targets import RD_READINGS
from app.reports import excel
from app.reports import service as filing_service
from app.reports.models import FILING_FIELDS
from app.reports.schemas import FilingIn
from app.web.forms import attempt
from app.web.render import download, render

router = APIRouter(include_in_schema=False)
FORM = {"form": True}  # a form sends numbers as text

AsOf = Annotated[date | None, Query()]


def _period(month: str | None) -> int:
    return filing_service.parse_month(month) if month else filing_service.last_month(date.today())


def _months(today: date, n: int = 48) -> list[tuple[str, str]]:
    last = filing_service.last_month(today)
    return [(filing_service.month_text(p), filing_service.month_label(p)) for p in range(last, last - n, -1)]


def _r(v):
    return None if v is None else round(float(v), 1)


@router.get("/filings")
def index(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    month: Annotated[str | None, Query(max_length=7)] = None,
    as_of: AsOf = None,
):
    """The month at a glance: who has filed, growth by township against the R&D target, the trend."""
    principal.require("filings:read")
    today = date.today()
    period = _period(month)
    as_of = as_of or today
    rep = filing_service.growth_report(session, actor=principal, period=period)
    status = filing_service.overdue(session, actor=principal, period=period, as_of=as_of, limit=0)
    points = filing_service.trend(session, actor=principal, end_period=period, months=12)
    trend = [
        {
            "label": filing_service.month_label(p.period),
            "rd_mom": _r(p.rd_mom_pct),
            "rd_yoy": _r(p.rd_yoy_pct),
            "output_mom": _r(p.output_mom_pct),
            "filed": p.filed,
        }
        for p in points
    ]
    return render(
        request,
        "filings/index.html",
        {
            "section": "filings",
            "period": period,
            "month": filing_service.month_text(period),
            "label": filing_service.month_label(period),
            "rep": rep,
            "status": status,
            "trend": trend,
            "months": _months(today),
            "as_of": as_of,
            "today": today,
            "growth": {g.township: g for g in rep.townships},
            "flagged": filing_service.flagged_counts(session, actor=principal, period=period),
            "RD_READINGS": RD_READINGS,
        },
        block="body",
    )


@router.get("/filings/{month}/grid")
def grid_page(
    request: Request,
    month: str,
    session: SessionDep,
    principal: PagePrincipal,
    township: Annotated[str | None, Query(max_length=20)] = None,
    missing: Annotated[bool, Query()] = False,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    """One row per enterprise of the township, filtered by status; each row saves itself (htmx)."""
    principal.require("filings:read")
    period = filing_service.parse_month(month)
    town = principal.township_filter() or township or None
    if town is None:
        return render(
            request,
            "filings/pick_township.html",
            {"section": "filings", "month": month, "label": filing_service.month_label(period)},
        )
    if town not in township_names():
        raise ValidationFailed.one("township", f"未知的乡镇代码“{town}”")
    status = "missing" if missing else (status or None)
    rows, next_cursor = filing_service.grid(
        session, actor=principal, period=period, township=town, status=status, cursor=cursor, limit=100
    )
    counts = filing_service.grid_counts(session, actor=principal, period=period, township=town)
    today = date.today()
    due = filing_service.deadline(session, period)
    return render(
        request,
        "filings/grid.html",
        {
            "section": "filings",
            "rows": rows,
            "next_cursor": next_cursor,
            "month": month,
            "period": period,
            "label": filing_service.month_label(period),
            "town": town,
            "deadline": due,
            "late_now": today > due,
            "closed": period < filing_service.period_of(today.year, today.month),
            "status": status,
            "statuses": filing_service.GRID_STATUSES,
            "counts": counts,
            "total": counts[status or "all"],
            "can_write": principal.has("filings:write"),
            "is_first_page": cursor is None,
            "base_qs": urlencode({k: v for k, v in (("township", town), ("status", status)) if v}),
            "max_mb": get_settings().import_max_bytes // 1024 // 1024,
        },
        block="rows",
    )


def _by_field(done) -> dict[str, str]:
    """The row's errors by field; one that is not a figure's (a conflict) is said under the month."""
    out: dict[str, str] = {}
    for x in done.field_errors():
        out.setdefault(
            x.field if x.field in FILING_FIELDS or x.field == "confirm_note" else "month", x.message
        )
    return out


def _figure(text) -> str | None:
    """A figure as typed: digit grouping (1,234,567 or 1，234，567) and spaces are dropped."""
    return str(text or "").strip().replace(",", "").replace("，", "").replace(" ", "") or None


@router.post("/filings/{month}/enterprises/{enterprise_id}")
def save_row(
    request: Request,
    month: str,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    """Save one grid row; the row comes back with its growth, with the errors named per field, or with the
    plausibility warnings and a confirmation to fill in before an implausible figure is saved."""
    principal.require("filings:write")
    period = filing_service.parse_month(month)
    raw = {k: _figure(form.get(k)) for k in FILING_FIELDS}
    confirm_note = str(form.get("confirm_note") or "").strip() or None
    today = date.today()
    errors: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    try:
        data = FilingIn.model_validate({k: v for k, v in raw.items() if v is not None}, context=FORM)
    except ValidationError as e:
        for x in e.errors():
            field = str(x["loc"][0]) if x.get("loc") else "form"
            label = FILING_FIELDS.get(field, (field,))[0]
            errors.setdefault(field, f"{label}：{translate(x).message.split('：', 1)[-1]}")
    else:
        done = attempt(
            session,
            lambda: filing_service.submit(
                session,
                actor=principal,
                enterprise_id=enterprise_id,
                period=period,
                data=data,
                today=today,
                confirm_note=confirm_note,
                require_confirmation=True,
            ),
        )
        if isinstance(done.error, filing_service.NeedsConfirmation):
            for c in done.error.checks:
                warnings.setdefault(c["field"], []).append(c["message"])
        elif done.error:
            errors = _by_field(done)
    row = filing_service.grid_row(session, actor=principal, enterprise_id=enterprise_id, period=period)
    due = filing_service.deadline(session, period)
    ctx = {
        "r": row,
        "month": month,
        "can_write": True,
        "errors": errors,
        "warnings": warnings,
        "values": raw,
        "late_now": today > due,
        "closed": True,
    }
    if errors or warnings:
        return render(request, "filings/_row.html", ctx, status_code=422)
    ctx["saved"] = "late" if done.value.late else "ok"
    return render(request, "filings/_row.html", ctx)


@router.post("/filings/{month}/enterprises/{enterprise_id}/confirm")
def confirm_row(
    request: Request,
    month: str,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    """Confirm a saved month's implausible figures (from a file or the API) with a note; audited."""
    principal.require("filings:write")
    period = filing_service.parse_month(month)
    done = attempt(
        session,
        lambda: filing_service.confirm_checks(
            session,
            actor=principal,
            enterprise_id=enterprise_id,
            period=period,
            note=str(form.get("confirm_note") or ""),
        ),
    )
    errors = _by_field(done)
    row = filing_service.grid_row(session, actor=principal, enterprise_id=enterprise_id, period=period)
    today = date.today()
    ctx = {
        "r": row,
        "month": month,
        "can_write": True,
        "errors": errors,
        "late_now": today > filing_service.deadline(session, period),
        "closed": True,
        "saved": None if errors else "confirmed",
    }
    return render(request, "filings/_row.html", ctx, status_code=422 if errors else 200)


@router.get("/filings/{month}/template.xlsx")
def template(
    month: str,
    session: SessionDep,
    principal: PagePrincipal,
    township: Annotated[str | None, Query(max_length=20)] = None,
):
    principal.require("filings:read")
    period = filing_service.parse_month(month)
    town = principal.township_filter() or township or None
    data = excel.template_xlsx(session, actor=principal, period=period, township=town)
    return download(data, f"filing-{month}{'-' + town if town else ''}.xlsx")


@router.post("/filings/{month}/import")
def import_upload(
    request: Request,
    month: str,
    session: SessionDep,
    principal: PagePrincipal,
    file: Annotated[UploadFile, File()],
):
    principal.require("filings:write")
    period = filing_service.parse_month(month)
    data = file.file.read(get_settings().import_max_bytes + 1)
    done = attempt(
        session,
        lambda: excel.import_xlsx(session, actor=principal, period=period, data=data, today=date.today()),
    )
    if done.error:
        return render(request, "filings/_import_result.html", {"error": done.error}, status_code=done.status)
    saved = done.value
    return render(
        request,
        "filings/_import_result.html",
        {
            "saved": len(saved),
            "late": sum(1 for s in saved if s.late),
            "month": month,
            "label": filing_service.month_label(period),
        },
    )


@router.get("/filings/{month}/overdue")
def overdue_page(
    request: Request,
    month: str,
    session: SessionDep,
    principal: PagePrincipal,
    as_of: AsOf = None,
    township: Annotated[str | None, Query(max_length=20)] = None,
):
    principal.require("filings:read")
    period = filing_service.parse_month(month)
    as_of = as_of or date.today()
    o = filing_service.overdue(
        session, actor=principal, period=period, as_of=as_of, township=township or None, limit=1000
    )
    return render(
        request,
        "filings/overdue.html",
        {
            "section": "filings",
            "o": o,
            "month": month,
            "label": filing_service.month_label(period),
            "as_of": as_of,
            "township": township or None,
        },
    )


@router.get("/filings/enterprises/{enterprise_id}")
def enterprise_page(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
):
    principal.require("filings:read")
    ent, rows = filing_service.enterprise_history(session, actor=principal, enterprise_id=enterprise_id)
    return render(
        request,
        "filings/enterprise.html",
        {
            "section": "filings",
            "ent": ent,
            "rows": rows,
            "month_text": filing_service.month_text,
            "month_label": filing_service.month_label,
        },
    )
