"""助企服务 pages: the 服务直通车 (problems with deadlines, overdue lists, reports), 服务专员, visits and 一企一策."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.deps import CurrentEnterprise, PageForm, PagePrincipal, SessionDep
from app.errors import FieldError, ValidationFailed
from app.support import excel, visits
from app.support import problems as service
from app.web.forms import attempt
from app.web.render import download, list_qs, redirect, render, templates

router = APIRouter(include_in_schema=False)
templates.env.globals.update(
    problem_unit=service.unit_label
)  # the words of this domain: app/support/labels.py


def _d(v: str | None, field: str, label: str, errors: list[FieldError]) -> date | None:
    v = (v or "").strip()
    if not v:
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        errors.append(FieldError(field, f"{label}：“{v}”不是日期（YYYY-MM-DD）"))
        return None


def _int(v: str | None) -> int | None:
    v = (v or "").strip()
    return int(v) if v.isdigit() and len(v) < 10 else None


# --- 服务直通车 -----------------------------------------------------------------------------------


@router.get("/support")
def overview(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    status: Annotated[str | None, Query(max_length=12)] = None,
    category: Annotated[str | None, Query(max_length=10)] = None,
    township: Annotated[str | None, Query(max_length=20)] = None,
    unit: Annotated[str | None, Query(max_length=60)] = None,
    overdue: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    """Counts, overdue by unit and the problem list with filters (the list is the htmx block)."""
    principal.require("support:read")
    today = date.today()
    f = service.ProblemFilters(
        status=status or None,
        category=category or None,
        township=township or None,
        unit=unit or None,
        overdue=overdue,
    )
    rows, nxt, total = service.list_problems(
        session, actor=principal, filters=f, cursor=cursor, limit=50, today=today
    )
    return render(
        request,
        "support/overview.html",
        {
            "section": "support",
            "rows": rows,
            "next_cursor": nxt,
            "total": total,
            "f": f,
            "today": today,
            "base_qs": list_qs(request),
            "is_first_page": cursor is None,
            "counts": service.counts(session, actor=principal, today=today),
            "by_unit": service.overdue_by_unit(session, actor=principal, today=today),
        },
        block="results",
    )


@router.get("/support/card")
def dashboard_card(request: Request, session: SessionDep, principal: PagePrincipal):
    """The 服务直通车 card on the dashboards: open, overdue, closed; visits and plans needing attention."""
    if not principal.has("support:read"):
        return Response("")
    today = date.today()
    quiet, quiet_total = visits.quiet_firms(session, actor=principal, today=today, limit=0)
    return render(
        request,
        "support/_card.html",
        {
            "counts": service.counts(session, actor=principal, today=today),
            "by_unit": service.overdue_by_unit(session, actor=principal, today=today)[:5],
            "quiet_total": quiet_total,
            "quiet_days": visits.DEFAULT_QUIET_DAYS,
            "late_plans": len(visits.plans_with_overdue_tasks(session, actor=principal, today=today)),
        },
    )


@router.get("/support/problems/new")
def new_problem(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    enterprise_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    visit_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):
    principal.require("support:write")
    from app.enterprises import service as enterprise_service

    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id, with_details=False)
    return render(
        request,
        "support/problem_form.html",
        {
            "section": "support",
            "ent": ent,
            "visit_id": visit_id,
            "values": {"raised_date": date.today().isoformat()},
            "errors": [],
            "deadline_days": service.deadline_days(),
        },
    )


@router.post("/support/problems")
def create_problem(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("support:write")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    errors: list[FieldError] = []
    raised = _d(values.get("raised_date"), "raised_date", "反映日期", errors)
    ent_id = _int(values.get("enterprise_id"))

    def save():
        if ent_id is None:
            raise ValidationFailed.one("enterprise_id", "缺少企业")
        if errors:
            raise ValidationFailed(errors)
        unit_kind = values.get("unit_kind") or "township"
        unit = (
            values.get("unit_township") if unit_kind == "township" else values.get("unit_department")
        ) or None
        return service.create(
            session,
            actor=principal,
            enterprise_id=ent_id,
            category=values.get("category", ""),
            title=values.get("title", ""),
            description=values.get("description", ""),
            raised_by=values.get("raised_by", ""),
            channel=values.get("channel") or "visit",
            raised_date=raised,
            unit_kind=unit_kind if unit else None,
            unit=unit,
            visit_id=_int(values.get("visit_id")),
        )

    done = attempt(session, save)
    if done.error:
        from app.enterprises import service as enterprise_service

        ent = enterprise_service.get(session, actor=principal, enterprise_id=ent_id or 0, with_details=False)
        return render(
            request,
            "support/problem_form.html",
            {
                "section": "support",
                "ent": ent,
                "visit_id": _int(values.get("visit_id")),
                "values": values,
                "errors": done.messages(),
                "deadline_days": service.deadline_days(),
            },
            block="form",
            status_code=422,
        )
    return redirect(request, f"/support/problems/{done.value.id}")


def _detail(request, session, principal, problem_id: int, extra: dict | None = None, status_code: int = 200):
    p = service.get(session, actor=principal, problem_id=problem_id)
    name, uscc = service.enterprise_of(session, p)
    today = date.today()
    return render(
        request,
        "support/problem.html",
        {
            "section": "support",
            "p": p,
            "name": name,
            "uscc": uscc,
            "today": today,
            "overdue": service.is_overdue(p, today),
            "steps": service.steps(session, p),
            "files": service.attachments(session, p),
            "actions": [a for a, (src, _) in service.TRANSITIONS.items() if p.status in src],
            **(extra or {}),
        },
        block="problem",
        status_code=status_code,
    )


@router.get("/support/problems/{problem_id}")
def problem_page(request: Request, problem_id: int, session: SessionDep, principal: PagePrincipal):
    return _detail(request, session, principal, problem_id)


@router.post("/support/problems/{problem_id}/steps")
def problem_step(
    request: Request, problem_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    principal.require("support:write")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    errors: list[FieldError] = []
    step_date = _d(values.get("step_date"), "step_date", "办理日期", errors)

    def save():
        if errors:
            raise ValidationFailed(errors)
        unit_kind = values.get("unit_kind") or "township"
        unit = values.get("unit_township") if unit_kind == "township" else values.get("unit_department")
        service.transition(
            session,
            actor=principal,
            problem_id=problem_id,
            action=values.get("action", ""),
            note=values.get("note"),
            unit_kind=unit_kind,
            unit=unit,
            step_date=step_date,
        )

    return _detail_after(request, session, principal, problem_id, attempt(session, save))


def _detail_after(request, session, principal, problem_id: int, done):
    if done.error:
        return _detail(request, session, principal, problem_id, {"step_errors": done.messages()}, 422)
    return _detail(request, session, principal, problem_id, {"saved": True})


@router.post("/support/problems/{problem_id}/attachments")
def upload_attachment(
    request: Request,
    problem_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    file: Annotated[UploadFile, File()],
):
    principal.require("support:write")
    data = file.file.read(service.MAX_ATTACHMENT_BYTES + 1)
    done = attempt(
        session,
        lambda: service.add_attachment(
            session,
            actor=principal,
            problem_id=problem_id,
            file_name=file.filename or "",
            content_type=file.content_type or "",
            data=data,
        ),
    )
    return _detail_after(request, session, principal, problem_id, done)


@router.get("/support/problems/{problem_id}/attachments/{attachment_id}")
def download_attachment(problem_id: int, attachment_id: int, session: SessionDep, principal: PagePrincipal):
    a = service.attachment(session, actor=principal, problem_id=problem_id, attachment_id=attachment_id)
    from urllib.parse import quote

    return Response(
        a.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(a.file_name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    today = date.today()
    errors: list[FieldError] = []
    s = _d(start, "start", "起始日期", errors) or date(today.year, 1, 1)
    e = _d(end, "end", "截止日期", errors) or today
    if errors:
        raise ValidationFailed(errors)
    if e < s:
        raise ValidationFailed.one("end", "截止日期早于起始日期")
    return s, e


@router.get("/support/report")
def report(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
):
    """Problems by category, unit, township and month: time to resolve and overdue rate."""
    principal.require("support:read")
    s, e = _period(start, end)
    tables = {
        by: service.stats(session, actor=principal, by=by, start=s, end=e)
        for by in ("category", "unit", "township", "month")
    }
    total = service.stats(session, actor=principal, by="all", start=s, end=e)[0]
    return render(
        request,
        "support/report.html",
        {"section": "support", "start": s, "end": e, "tables": tables, "total": total},
    )


@router.get("/support/report.xlsx")
def report_xlsx(
    session: SessionDep,
    principal: PagePrincipal,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
):
    principal.require("support:read")
    s, e = _period(start, end)
    data = excel.problems_xlsx(session, actor=principal, start=s, end=e)
    return download(data, f"problems-{s}-{e}.xlsx")


# --- 服务专员, visits, plans ------------------------------------------------------------------------


@router.get("/support/visits")
def visits_board(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    days: Annotated[int, Query(ge=1, le=3650)] = visits.DEFAULT_QUIET_DAYS,
    officer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):
    """The county's (or one 专员's) board: firms not visited in N days, plans with overdue tasks, recent visits."""
    principal.require("support:read")
    today = date.today()
    officer = visits.get_officer(session, actor=principal, officer_id=officer_id) if officer_id else None
    quiet, quiet_total = visits.quiet_firms(
        session, actor=principal, days=days, today=today, officer_id=officer_id, limit=200
    )
    return render(
        request,
        "support/visits.html",
        {
            "section": "support",
            "days": days,
            "today": today,
            "officer": officer,
            "quiet": quiet,
            "quiet_total": quiet_total,
            "late_plans": visits.plans_with_overdue_tasks(
                session, actor=principal, today=today, officer_id=officer_id
            ),
            "board": visits.officer_board(session, actor=principal, days=days, today=today),
            "recent": visits.recent_visits(session, actor=principal, limit=30),
            "voyage": visits.voyage_count(session, actor=principal),
        },
    )


@router.post("/support/officers")
def create_officer(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    done = attempt(
        session,
        lambda: visits.create_officer(
            session,
            actor=principal,
            name=str(form.get("name", "")),
            department=str(form.get("department", "")),
            phone=str(form.get("phone", "")),
        ),
    )
    if done.error:
        return render(request, "support/_message.html", {"errors": done.messages()}, status_code=422)
    return redirect(request, "/support/visits")


def _panel_response(
    request, session, principal, enterprise_id: int, extra: dict | None = None, status_code: int = 200
):
    from app.enterprises import service as enterprise_service

    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id, with_details=False)
    p = enterprise_panel(session, principal, ent)
    p["context"].update(extra or {})
    return render(request, "support/_panel_wrap.html", {"p": p, "ent": ent}, status_code=status_code)


def _panel_after(request, session, principal, enterprise_id: int, done, saved: str):
    if done.error:
        return _panel_response(request, session, principal, enterprise_id, {"errors": done.messages()}, 422)
    return _panel_response(request, session, principal, enterprise_id, {"saved": saved})


@router.post("/enterprises/{enterprise_id}/officer")
def assign_officer(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    errors: list[FieldError] = []
    start = _d(str(form.get("start_date", "")), "start_date", "开始日期", errors)

    def save():
        if errors:
            raise ValidationFailed(errors)
        officer_id = _int(str(form.get("officer_id", "")))
        if officer_id is None:
            raise ValidationFailed.one("officer_id", "请选择服务专员")
        visits.assign_officer(
            session,
            actor=principal,
            enterprise_id=enterprise_id,
            officer_id=officer_id,
            start_date=start,
            note=str(form.get("note", "")),
        )

    return _panel_after(request, session, principal, enterprise_id, attempt(session, save), "已指派服务专员")


@router.post("/enterprises/{enterprise_id}/voyage")
def list_voyage(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    done = attempt(
        session,
        lambda: visits.list_voyage(
            session, actor=principal, enterprise_id=enterprise_id, source=str(form.get("source", "")) or None
        ),
    )
    return _panel_after(request, session, principal, enterprise_id, done, "已列入助企远航名单")


@router.post("/support/visits")
def record_visit(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("support:write")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    ent_id = _int(values.get("enterprise_id")) or 0
    errors: list[FieldError] = []
    when = _d(values.get("visit_date"), "visit_date", "走访日期", errors)

    def save():
        if errors:
            raise ValidationFailed(errors)
        if when is None:
            raise ValidationFailed.one("visit_date", "走访日期：必填")
        return visits.record_visit(
            session,
            actor=principal,
            enterprise_id=ent_id,
            visit_date=when,
            visitors=values.get("visitors", ""),
            findings=values.get("findings", ""),
            kind=values.get("kind") or "visit",
            officer_id=_int(values.get("officer_id")),
        )

    done = attempt(session, save)
    if done.error:
        return _panel_response(request, session, principal, ent_id, {"errors": done.messages()}, 422)
    return redirect(request, f"/support/visits/{done.value.id}")


@router.get("/support/visits/{visit_id}")
def visit_page(request: Request, visit_id: int, session: SessionDep, principal: PagePrincipal):
    return _visit(request, session, principal, visit_id)


def _visit(request, session, principal, visit_id: int, extra: dict | None = None, status_code: int = 200):
    from sqlalchemy import select

    from app.enterprises.models import Enterprise
    from app.support.models import ImprovementPlan, ServiceOfficer, ServiceProblem

    v = visits.get_visit(session, actor=principal, visit_id=visit_id)
    ent = session.get(Enterprise, v.enterprise_id)
    raised = list(
        session.scalars(
            select(ServiceProblem).where(ServiceProblem.visit_id == v.id).order_by(ServiceProblem.id)
        )
    )
    plans = visits._with_tasks(
        session, list(session.scalars(select(ImprovementPlan).where(ImprovementPlan.visit_id == v.id)))
    )
    officer = session.get(ServiceOfficer, v.officer_id) if v.officer_id else None
    today = date.today()
    return render(
        request,
        "support/visit.html",
        {
            "section": "support",
            "v": v,
            "ent": ent,
            "raised": raised,
            "plans": plans,
            "officer": officer,
            "today": today,
            "deadline_days": service.deadline_days(),
            "default_due": (today + timedelta(days=90)).isoformat(),
            **(extra or {}),
        },
        status_code=status_code,
    )


@router.post("/support/plans")
def create_plan(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("support:write")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    ent_id = _int(values.get("enterprise_id")) or 0
    visit_id = _int(values.get("visit_id"))
    errors: list[FieldError] = []
    tasks = []
    for i in range(1, 6):
        t = (values.get(f"task_{i}") or "").strip()
        d = _d(values.get(f"due_{i}"), f"tasks.{i}.due_date", f"第 {i} 项任务完成期限", errors)
        if t:
            tasks.append((t, d))

    def save():
        if errors:
            raise ValidationFailed(errors)
        return visits.create_plan(
            session,
            actor=principal,
            enterprise_id=ent_id,
            title=values.get("title", ""),
            tasks=tasks,
            visit_id=visit_id,
        )

    done = attempt(session, save)
    if done.error and visit_id:
        return _visit(request, session, principal, visit_id, {"plan_errors": done.messages()}, 422)
    if done.error:
        return render(request, "support/_message.html", {"errors": done.messages()}, status_code=422)
    return redirect(
        request, f"/support/visits/{visit_id}" if visit_id else f"/enterprises/{done.value.enterprise_id}"
    )


@router.post("/support/tasks/{task_id}/done")
def task_done(
    request: Request,
    task_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    note: Annotated[str, Form(max_length=2000)] = "",
):
    done = attempt(
        session, lambda: visits.complete_task(session, actor=principal, task_id=task_id, note=note)
    )
    if done.error:
        return render(request, "support/_message.html", {"errors": done.messages()}, status_code=422)
    return render(request, "support/_task_done.html", {"t": done.value})


# --- the enterprise page -------------------------------------------------------------------------


def enterprise_panel(session, principal, ent) -> dict | None:
    """Open problems, the 专员 (and history), the 助企远航 flag, recent visits and plans of one firm."""
    if not principal.has("support:read"):
        return None
    today = date.today()
    rows, _, total = service.list_problems(
        session,
        actor=principal,
        filters=service.ProblemFilters(enterprise_id=ent.id, status="open"),
        limit=20,
        today=today,
    )
    return {
        "title": "助企服务（服务直通车 · 服务专员 · 走访 · 一企一策）",
        "template": "support/_panel.html",
        "context": {
            "problems": rows,
            "open_total": total,
            "today": today,
            "officers": visits.assignments(session, actor=principal, enterprise_id=ent.id),
            "all_officers": visits.officers(session, actor=principal)
            if principal.has("support:write")
            else [],
            "voyage": visits.voyage_of(session, ent.id),
            "visits": visits.enterprise_visits(session, actor=principal, enterprise_id=ent.id, limit=10),
            "plans": visits.enterprise_plans(session, actor=principal, enterprise_id=ent.id),
            "can_write": principal.has("support:write"),
            "is_county": principal.is_county,
        },
    }
