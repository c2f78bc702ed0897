"""Target pages: the dashboard (county or township), tables as live matrices, indicators, drill-down to
enterprises, entry of next year's table (form and .xlsx), export and a printable page."""

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from markupsafe import Markup

from app import datacache
from app.awards import ledger as award_ledger
from app.config import get_settings
from app.deps import PageForm, PagePrincipal, SessionDep
from app.errors import FieldError, NotFound, ValidationFailed
from app.pools import listing as pool_listing
from app.pools import store as pool_store
from app.reference import townships
from app.reference.targets import RD_READINGS, rd_reading
from app.reports import service as filing_service
from app.targets import drafts, excel, progress
from app.targets import service as target_service
from app.targets.progress import NEAR_DAYS, STATUS_RULES, describe_measure, num
from app.web.forms import INLINE, attempt, form_date
from app.web.render import download, list_qs, redirect, render, templates

router = APIRouter(include_in_schema=False)

templates.env.globals.update(target_num=num)  # the words of this domain: app/targets/labels.py

AsOf = Annotated[date | None, Query()]


def _key_or_default(session, key: str | None) -> str:
    if key:
        return key
    found = target_service.default_key(session, date.today())
    if found is None:
        raise NotFound("尚未录入任何目标表")
    return found


def _period_note(ts, today: date) -> str:
    """Said above a table shown at the end of its period because its period is over."""
    return (
        f"今天（{today.isoformat()}）已过该目标表的考核期（{ts.period_start.isoformat()} 至 {ts.period_end.isoformat()}），"
        f"按考核期末 {ts.period_end.isoformat()} 显示完成情况，而不是今天（否则每项都会显示为逾期）。"
        "可改评估日查看任一天的进度。"
    )


def _opening_date(session, principal, key: str, as_of: date, asked: bool) -> tuple[date, str | None]:
    """The day to show a table on: the one asked for; else today, or the table's last day once its period is over."""
    if asked:
        return as_of, None
    ts = target_service.get_set(session, actor=principal, key=key)
    if ts.period_end < as_of:
        # Open on the last day of the period, not on a date where every row reads 逾期未完成.
        return ts.period_end, _period_note(ts, as_of)
    return as_of, None


def _rd_reading(m) -> str:
    """The reading the matrix's R&D growth row is judged by (the indicator's setting, else year on year)."""
    row = next((r for r in m.rows if r.measure_kind == "rd_growth"), None)
    return rd_reading(row.indicator.measure if row is not None else None)


def _trend(session, principal, ts, as_of: date, reading: str) -> list[dict]:
    """The monthly R&D growth over the table's year (up to the month last due), for the chart: `rd` is
    the growth by `reading` (the one the R&D row is judged by), so the chart and the row's verdict agree."""
    start = filing_service.period_of(ts.period_start.year, ts.period_start.month)
    end = min(
        filing_service.period_of(ts.period_end.year, ts.period_end.month),
        filing_service.report_period(session, as_of),
    )
    if end < start:
        return []
    months = min(12, end - start + 1)
    yoy = reading == "year_on_year"
    points = datacache.cached(
        session,
        "rd_trend",
        (end, months, principal.township_filter(), yoy),
        lambda: filing_service.trend(session, actor=principal, end_period=end, months=months, yoy=yoy),
    )
    return [
        {
            "month": p.month,
            "label": filing_service.month_label(p.period),
            "rd": _r(p.rd_yoy_pct if yoy else p.rd_mom_pct),
            "rd_mom": _r(p.rd_mom_pct),
            "rd_yoy": _r(p.rd_yoy_pct),
            "filed": p.filed,
        }
        for p in points
    ]


def _r(v):
    return None if v is None else round(float(v), 1)


# --- the dashboard --------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    key: Annotated[str | None, Query(max_length=20)] = None,
    as_of: AsOf = None,
):
    """County users: the live matrix and charts. Township staff: their own targets, pools, awards, filings."""
    principal.require("targets:read")
    today = date.today()
    asked_date = as_of is not None
    as_of = as_of or today
    sets = target_service.list_sets(session, actor=principal)
    if not sets:
        return render(request, "dashboard/empty.html", {"section": "home"})
    key = _key_or_default(session, key)
    sets = [s for s in sets if s.status == "published" or s.key == key]  # a draft only when asked for by name
    as_of, period_note = _opening_date(session, principal, key, as_of, asked_date)
    ctx = {"section": "home", "sets": sets, "key": key, "as_of": as_of, "today": today}
    if principal.is_county:
        ctx["board"] = cached_board(
            session,
            principal,
            "dashboard/_county_board.html",
            (key, as_of, today, period_note),
            lambda: _county_board(session, principal, key, as_of, today, period_note),
        )
        return render(request, "dashboard/county.html", ctx, block="board")
    town = principal.township_filter()
    board = cached_board(
        session,
        principal,
        "dashboard/_township_board.html",
        (key, as_of, today, period_note),
        lambda: _township_board(session, principal, town, key, as_of, today, period_note),
    )
    awards = award_ledger.ledger_totals(session, actor=principal) if principal.has("awards:read") else None
    awards_card = templates.env.get_template("dashboard/_township_awards.html").render(awards=awards)
    ctx["board"] = Markup(str(board).replace(AWARDS_CARD, awards_card))  # both are rendered HTML
    period = filing_service.last_month(today)
    ctx.update(
        town=town,
        filing_month=filing_service.month_text(period),
        filing_label=filing_service.month_label(period),
    )
    return render(request, "dashboard/township.html", ctx, block="board")


# The township board is cached without its awards card (award lines do not move the data version); the card is
# rendered for each view and put where this marker stands.
AWARDS_CARD = "<!--yumiao:township-awards-card-->"


def cached_board(session, principal, template: str, key: tuple, render_board) -> Markup:
    """The dashboard's board (everything below the controls) as rendered HTML, cached per data version
    (app/datacache.py): the matrix, the charts' data, the county goals, the township's targets, pools and
    filings are only read from tables that move the version, so a board rendered at the current version is
    what rendering afresh would give — never stale — and a view costs one primary-key read and the page
    around it. Keyed on everything else the board depends on: the table, the day it is shown for, today (the
    period note, the filing deadline), and who is looking (their township and what their role may read)."""
    who = (principal.township_filter(), principal.is_county, principal.has("pools:read"))
    # The pool definitions in force (versioned apart from the data version) name the township's pools.
    pools = (
        tuple((code, p.name) for code, p in pool_store.pools(session).items())
        if principal.has("pools:read")
        else ()
    )
    key = (*key, pools)
    return Markup(datacache.cached(session, "dashboard_board", (template, *key, who), render_board))


def _county_board(session, principal, key, as_of, today, period_note) -> str:
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of)
    done = m.township_completion()
    ctx = {
        "m": m,
        "key": key,
        "as_of": as_of,
        "today": today,
        "period_note": period_note,
        "status_rules": STATUS_RULES,
        "trend": _trend(session, principal, m.target_set, as_of, _rd_reading(m)),
        "rd_reading": _rd_reading(m),
        "RD_READINGS": RD_READINGS,
        "rd_target": next((num(r.indicator.total) for r in m.rows if r.measure_kind == "rd_growth"), None),
        "completion": [done[t["code"]] for t in m.townships],
        "town_counts": [m.status_counts(t["code"]) for t in m.townships],
        "counts": m.status_counts(),
        "county_goals": progress.county_goals(session, actor=principal, target_set=m.target_set, as_of=as_of),
    }
    return templates.env.get_template("dashboard/_county_board.html").render(ctx)


def _township_board(session, principal, town, key, as_of, today, period_note) -> str:
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of)
    ctx = {
        "m": m,
        "key": key,
        "as_of": as_of,
        "today": today,
        "period_note": period_note,
        "status_rules": STATUS_RULES,
        "trend": _trend(session, principal, m.target_set, as_of, _rd_reading(m)),
        "rd_reading": _rd_reading(m),
        "RD_READINGS": RD_READINGS,
        "rd_target": next((num(r.indicator.total) for r in m.rows if r.measure_kind == "rd_growth"), None),
        "counts": m.status_counts(town),
        "town": town,
        "awards_card": Markup(AWARDS_CARD),
        **_township_panels(session, principal, town, today),
    }
    return templates.env.get_template("dashboard/_township_board.html").render(ctx)


def _township_panels(session, principal, town: str, today: date) -> dict:
    """What else a township looks at: its pools' sizes, last month's filings (its awards: see AWARDS_CARD)."""
    out: dict = {"pools": None}
    if principal.has("pools:read"):
        counts = pool_listing.member_counts(session, actor=principal)
        out["pools"] = [
            (code, p.name, counts.get(code, {}).get(town, 0)) for code, p in pool_store.pools(session).items()
        ]
    period = filing_service.last_month(today)
    out["filing_period"] = period
    out["filing_month"] = filing_service.month_text(period)
    out["filing_label"] = filing_service.month_label(period)
    out["overdue"] = filing_service.overdue(session, actor=principal, period=period, as_of=today, limit=10)
    return out


# --- tables ----------------------------------------------------------------------------------


@router.get("/targets")
def index(request: Request, session: SessionDep, principal: PagePrincipal):
    principal.require("targets:read")
    sets = target_service.list_sets(session, actor=principal)
    return render(
        request,
        "targets/index.html",
        {
            "section": "targets",
            "sets": sets,
            "copy_sources": _annual_published(sets),
            "copy_year": _next_free_year(sets, date.today()),
            "copy_values": {},
            "copy_errors": [],
        },
    )


def _next_year_rows(session, year: int) -> list[dict]:
    """The form's starting point: the catalogue's rows (latest table), deadlines moved to `year`."""
    rows = []
    for t in sorted(target_service.catalogue(session).values(), key=lambda t: t.no):
        rows.append(
            {
                "code": t.code,
                "name": t.name,
                "kind": t.kind,
                "county_only": t.county_only,
                "include": True,
                "townships": {k: num(v) for k, v in (t.townships or {}).items()},
                "total": num(t.total),
                "deadline_text": re.sub(r"^\d{4}(?=年)", str(year), t.deadline_text),
                "unit": t.unit,
            }
        )
    return rows


def _latest_year(sets) -> int:
    years = [s.year for s in sets if s.year]
    return max(years) if years else date.today().year


@router.get("/targets/new")
def new_form(request: Request, session: SessionDep, principal: PagePrincipal, year: int | None = None):
    principal.require("targets:write")
    sets = target_service.list_sets(session, actor=principal)
    year = year or _latest_year(sets) + 1
    values = {
        "year": year,
        "document": "",
        "title": f"{year}年冠县优质企业培育计划",
        "issued_date": "",
        "replace": False,
    }
    return render(
        request,
        "targets/form.html",
        {
            "section": "targets",
            "values": values,
            "rows": _next_year_rows(session, year),
            "errors": [],
            "cell_errors": {},
        },
    )


def _form_rows(form) -> tuple[list[dict], list[dict], list[int]]:
    """(rows as shown, rows to parse, form index of each parsed row)."""
    shown, parsed, index = [], [], []
    i = 0
    while f"rows-{i}-code" in form:
        p = f"rows-{i}-"
        code = form.get(p + "code")
        include = form.get(p + "include") in ("on", "true", "1")
        cells = {
            t["code"]: (form.get(f"{p}t-{t['code']}") or "").strip()
            for t in townships()
            if f"{p}t-{t['code']}" in form
        }
        row = {
            "code": code,
            "name": form.get(p + "name") or code,
            "kind": form.get(p + "kind") or "count",
            "county_only": form.get(p + "county_only") == "1",
            "include": include,
            "townships": cells,
            "total": (form.get(p + "total") or "").strip(),
            "deadline_text": (form.get(p + "deadline_text") or "").strip(),
            "unit": form.get(p + "unit") or "",
        }
        shown.append(row)
        if include:
            data = {
                "code": code,
                "name": form.get(p + "name") or None,
                "total": row["total"] if row["total"] != "" else None,
                "deadline_text": row["deadline_text"],
            }
            if not row["county_only"]:
                data["townships"] = {k: v for k, v in cells.items() if v != ""}
            parsed.append({k: v for k, v in data.items() if v is not None})
            index.append(i)
        i += 1
    return shown, parsed, index


@router.post("/targets/new")
def create(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("targets:write")
    values = {k: (form.get(k) or "").strip() for k in ("year", "document", "title", "issued_date")}
    values["replace"] = form.get("replace") in ("on", "true", "1")
    shown, parsed, index = _form_rows(form)

    def save():
        if not values["year"].isdigit():
            raise ValidationFailed.one("year", "请填写年度（如 2024）")
        if not values["document"] or not values["title"]:
            raise ValidationFailed(
                [
                    FieldError(f, f"请填写{label}")
                    for f, label in (("document", "文号"), ("title", "标题"))
                    if not values[f]
                ]
            )
        issued = None
        if values["issued_date"]:
            issued = form_date(values["issued_date"], "issued_date", "印发日期格式应为 YYYY-MM-DD")
        return target_service.save_table(
            session,
            actor=principal,
            year=int(values["year"]),
            document=values["document"],
            title=values["title"],
            issued_date=issued,
            rows=parsed,
            source="form",
            replace=values["replace"],
        )

    done = attempt(session, save)
    if not done.error:
        return redirect(request, f"/targets/{done.value.key}")
    errors = done.field_errors()
    cell_errors: dict[str, str] = {}
    for err in errors:
        if err.row is not None and 1 <= err.row <= len(index):
            i = index[err.row - 1]
            f = err.field
            name = f"rows-{i}-t-{f.split('.', 1)[1]}" if f.startswith("townships.") else f"rows-{i}-{f}"
            cell_errors.setdefault(name, err.message)
        else:
            cell_errors.setdefault(err.field, err.message)
    return render(
        request,
        "targets/form.html",
        {
            "section": "targets",
            "values": values,
            "rows": shown,
            "errors": errors,
            "cell_errors": cell_errors,
        },
        block="form",
        status_code=422,
    )


@router.get("/targets/upload")
def upload_page(request: Request, session: SessionDep, principal: PagePrincipal):
    principal.require("targets:write")
    sets = target_service.list_sets(session, actor=principal)
    year = _latest_year(sets) + 1
    return render(
        request,
        "targets/upload.html",
        {
            "section": "targets",
            "year": year,
            "latest": str(_latest_year(sets)),
            "max_mb": get_settings().import_max_bytes // 1024 // 1024,
        },
    )


@router.post("/targets/upload")
def upload(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
    file: Annotated[UploadFile, File()],
):
    principal.require("targets:write")
    data = file.file.read(get_settings().import_max_bytes + 1)

    def save():
        year = str(form.get("year") or "").strip()
        if not year.isdigit():
            raise ValidationFailed.one("year", "请填写年度（如 2024）")
        document, title = (str(form.get("document") or "").strip(), str(form.get("title") or "").strip())
        if not document or not title:
            raise ValidationFailed.one("document", "请填写文号和标题")
        rows, first_row = excel.read_table(data)
        ts = target_service.save_table(
            session,
            actor=principal,
            year=int(year),
            document=document,
            title=title,
            rows=rows,
            source="upload",
            replace=form.get("replace") in ("on", "true", "1"),
            first_row=first_row,
        )
        return ts, len(rows)

    done = attempt(session, save)
    if done.error:
        return render(request, "targets/_upload_result.html", {"error": done.error}, status_code=done.status)
    ts, count = done.value
    return render(request, "targets/_upload_result.html", {"ts": ts, "count": count})


# --- next year's table as a draft ------------------------------------------------------------


def _annual_published(sets) -> list:
    return [s for s in sets if s.kind == "annual" and s.status == "published"]


def _next_free_year(sets, today: date) -> int:
    """The year a copied draft is for by default: the first year after today's with no annual table
    (published or draft) yet."""
    taken = {s.year for s in sets if s.kind == "annual"}
    year = today.year + 1
    while year in taken:
        year += 1
    return year


# A table or a row the form or the path names may be gone (404): said beside the form, too.
DRAFT_INLINE = (*INLINE, 404)


@router.post("/targets/copy")
def copy(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    """复制上年目标表为下年草稿, then open the draft."""
    principal.require("targets:write")
    values = {k: str(form.get(k) or "").strip() for k in ("source", "year", "document", "title")}

    def save():
        if not values["year"].isdigit():
            raise ValidationFailed.one("year", "请填写年度（如 2027）")
        return drafts.copy_as_draft(
            session,
            actor=principal,
            source_key=values["source"],
            year=int(values["year"]),
            document=values["document"],
            title=values["title"] or None,
        )

    done = attempt(session, save, inline=DRAFT_INLINE)
    if done.error:
        sets = target_service.list_sets(session, actor=principal)
        return render(
            request,
            "targets/index.html",
            {
                "section": "targets",
                "sets": sets,
                "copy_sources": _annual_published(sets),
                "copy_year": _next_free_year(sets, date.today()),
                "copy_values": values,
                "copy_errors": done.messages(),
            },
            status_code=422,
        )
    return redirect(request, f"/targets/{done.value.key}/draft")


def _draft_page(
    request,
    session,
    principal,
    key: str,
    *,
    status: int = 200,
    row_errors: dict | None = None,
    row_values: dict | None = None,
    errors: list[str] | None = None,
    message: str | None = None,
):
    ts = target_service.get_set(session, actor=principal, key=key)
    if ts.status != "draft":
        return redirect(request, f"/targets/{key}")
    measures = drafts.known_measures(session, ts)
    return render(
        request,
        "targets/draft.html",
        {
            "section": "targets",
            "ts": ts,
            "key": key,
            "measures": measures,
            "measure_key": drafts.measure_key,
            "measure_text": {i.code: describe_measure(i.measure, ts, i.deadline) for i in ts.indicators},
            "row_errors": row_errors or {},
            "row_values": row_values or {},
            "errors": errors or [],
            "message": message,
        },
        status_code=status,
    )


@router.get("/targets/{key}/draft")
def draft_page(
    request: Request, key: str, session: SessionDep, principal: PagePrincipal, done: str | None = None
):
    principal.require("targets:write")
    return _draft_page(request, session, principal, key, message=done)


def _row_changes(form) -> dict:
    """A row's form as changes: empty township cells are left out (reported as missing), the measure is the
    chosen one's JSON, or "not measured" with its reason."""
    changes: dict = {
        "name": str(form.get("name") or "").strip(),
        "unit": str(form.get("unit") or "").strip(),
        "total": str(form.get("total") or "").strip(),
        "county_only": form.get("county_only") in ("on", "1", "true"),
        "deadline_text": str(form.get("deadline_text") or "").strip(),
    }
    if form.get("deadline"):
        changes["deadline"] = str(form.get("deadline"))
    if not changes["county_only"]:
        changes["townships"] = {
            t["code"]: str(form.get(f"t-{t['code']}") or "").strip()
            for t in townships()
            if str(form.get(f"t-{t['code']}") or "").strip() != ""
        }
    parts = {k[5:]: str(v).strip() for k, v in form.items() if k.startswith("part-")}
    if parts:
        bad = [k for k, v in parts.items() if not v.isdigit()]
        if bad:
            raise ValidationFailed([FieldError(f"parts.{k}", f"分项“{k}”的目标数应为非负整数") for k in bad])
        changes["parts"] = {k: int(v) for k, v in parts.items()}
    measure = str(form.get("measure") or "")
    if measure == "__none__":
        changes["not_measured_reason"] = str(form.get("reason") or "")
    elif measure:
        changes["measure"] = measure
    if form.get("code"):
        changes["code"] = str(form.get("code")).strip()
    return changes


def _row_saved(request, session, principal, key: str, code: str, form, save, done_url):
    """Save one row of the draft (or its header); on an error, the draft page with the row as typed and the
    messages beside it. `done_url(value)` is where a saved row goes."""
    done = attempt(session, save, inline=DRAFT_INLINE)
    if done.error:
        values = {k: v for k, v in form.items() if k != "csrf_token"}
        return _draft_page(
            request,
            session,
            principal,
            key,
            status=422,
            row_errors={code: done.messages()},
            row_values={code: values},
        )
    return redirect(request, done_url(done.value))


@router.post("/targets/{key}/draft/header")
def save_header(request: Request, key: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("targets:write")

    def save():
        issued = str(form.get("issued_date") or "").strip()
        issued_date = form_date(issued, "issued_date", "印发日期格式应为 YYYY-MM-DD") if issued else None
        drafts.update_header(
            session,
            actor=principal,
            key=key,
            document=str(form.get("document") or ""),
            title=str(form.get("title") or ""),
            issued_date=issued_date,
        )

    return _row_saved(
        request,
        session,
        principal,
        key,
        "_header",
        form,
        save,
        lambda _: f"/targets/{key}/draft?done=已保存文号和标题",
    )


@router.post("/targets/{key}/draft/indicators/{code}")
def save_indicator(
    request: Request, key: str, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    principal.require("targets:write")

    def save():
        changes = _row_changes(form)
        changes.pop("code", None)
        return drafts.update_indicator(session, actor=principal, key=key, code=code, changes=changes)

    return _row_saved(
        request,
        session,
        principal,
        key,
        code,
        form,
        save,
        lambda ind: f"/targets/{key}/draft?done=已保存“{ind.name}”#row-{code}",
    )


@router.post("/targets/{key}/draft/indicators")
def add_indicator(request: Request, key: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("targets:write")

    def save():
        changes = _row_changes(form)
        if "measure" not in changes and "not_measured_reason" not in changes:
            raise ValidationFailed.one("measure", "请选择统计口径，或选择“不统计”并写明原因")
        return drafts.add_indicator(session, actor=principal, key=key, row=changes)

    return _row_saved(
        request,
        session,
        principal,
        key,
        "_new",
        form,
        save,
        lambda ind: f"/targets/{key}/draft?done=已新增“{ind.name}”#row-{ind.code}",
    )


@router.post("/targets/{key}/draft/indicators/{code}/delete")
def delete_indicator(
    request: Request, key: str, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    principal.require("targets:write")
    return _row_saved(
        request,
        session,
        principal,
        key,
        code,
        form,
        lambda: drafts.remove_indicator(session, actor=principal, key=key, code=code),
        lambda _: f"/targets/{key}/draft?done=已删除指标",
    )


@router.post("/targets/{key}/publish")
def publish(request: Request, key: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("targets:write")
    done = attempt(session, lambda: drafts.publish(session, actor=principal, key=key), inline=DRAFT_INLINE)
    if done.error:
        return _draft_page(request, session, principal, key, status=409, errors=done.messages())
    return redirect(request, f"/targets/{key}")


@router.post("/targets/{key}/draft/delete")
def discard(request: Request, key: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("targets:write")
    drafts.discard(session, actor=principal, key=key)
    return redirect(request, "/targets")


@router.get("/targets/{key}")
def table_page(request: Request, key: str, session: SessionDep, principal: PagePrincipal, as_of: AsOf = None):
    principal.require("targets:read")
    asked_date = as_of is not None
    as_of, period_note = _opening_date(session, principal, key, as_of or date.today(), asked_date)
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of)
    return render(
        request,
        "targets/set.html",
        {
            "section": "targets",
            "m": m,
            "key": key,
            "as_of": as_of,
            "status_rules": STATUS_RULES,
            "period_note": period_note,
            "sets": target_service.list_sets(session, actor=principal),
            "measure_text": {
                i.code: describe_measure(i.measure, m.target_set, i.deadline) for i in m.target_set.indicators
            },
        },
        block="board",
    )


@router.get("/targets/{key}/print")
def print_page(request: Request, key: str, session: SessionDep, principal: PagePrincipal, as_of: AsOf = None):
    principal.require("targets:read")
    as_of = as_of or date.today()
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of)
    return render(
        request,
        "targets/print.html",
        {"section": "targets", "m": m, "key": key, "as_of": as_of, "status_rules": STATUS_RULES},
    )


@router.get("/targets/{key}/export.xlsx")
def export(key: str, session: SessionDep, principal: PagePrincipal, as_of: AsOf = None):
    principal.require("targets:read")
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of or date.today())
    return download(excel.matrix_xlsx(m), f"targets-{key}-progress.xlsx")


@router.get("/targets/{key}/table.xlsx")
def table_xlsx(key: str, session: SessionDep, principal: PagePrincipal):
    principal.require("targets:read")
    ts = target_service.get_set(session, actor=principal, key=key)
    return download(excel.table_xlsx(ts), f"targets-{key}.xlsx")


@router.get("/targets/{key}/indicators/{code}")
def indicator_page(
    request: Request, key: str, code: str, session: SessionDep, principal: PagePrincipal, as_of: AsOf = None
):
    principal.require("targets:read")
    as_of = as_of or date.today()
    ts, row = target_service.indicator_progress(session, actor=principal, key=key, code=code, as_of=as_of)
    return render(
        request,
        "targets/indicator.html",
        {
            "section": "targets",
            "ts": ts,
            "row": row,
            "key": key,
            "as_of": as_of,
            "near_days": NEAR_DAYS,
            "measure_text": describe_measure(row.indicator.measure, ts, row.indicator.deadline),
            "status_rules": STATUS_RULES,
            "towns": [t for t in townships() if principal.sees_township(t["code"])],
            "RD_READINGS": RD_READINGS,
        },
    )


@router.post("/targets/{key}/indicators/{code}/reading")
def set_reading(
    request: Request, key: str, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    target_service.set_rd_reading(
        session, actor=principal, key=key, code=code, reading=str(form.get("reading") or "")
    )
    return redirect(request, f"/targets/{key}/indicators/{code}")


@router.get("/targets/{key}/cells/{code}")
def cell_page(
    request: Request,
    key: str,
    code: str,
    session: SessionDep,
    principal: PagePrincipal,
    township: Annotated[str | None, Query(max_length=20)] = None,
    part: Annotated[str | None, Query(max_length=60)] = None,
    as_of: AsOf = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    """The enterprises behind one number (a township's cell, or the county's), 200 a page."""
    principal.require("targets:read")
    as_of = as_of or date.today()
    ts, ind, page = target_service.cell_enterprises(
        session,
        actor=principal,
        key=key,
        code=code,
        township=township or None,
        as_of=as_of,
        part=part or None,
        cursor=cursor,
        limit=200,
    )
    part_name = next((p["name"] for p in ind.parts or [] if p["code"] == part), None) if part else None
    qs = list_qs(request)
    return render(
        request,
        "targets/cell.html",
        {
            "section": "targets",
            "ts": ts,
            "ind": ind,
            "page": page,
            "key": key,
            "township": township or None,
            "part_name": part_name,
            "as_of": as_of,
            "base_qs": qs,
            "is_first_page": cursor is None,
        },
    )
