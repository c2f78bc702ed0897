"""Pool pages: overview (pools × townships), a pool's members and candidates, yearly review, graduation,
亩产效益, and the pool panel on the enterprise page."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from app.config import get_settings
from app.deps import CurrentEnterprise, PageForm, PagePrincipal, SessionDep
from app.errors import AppError, ValidationFailed
from app.filters import PoolFiltersDep
from app.labels import quoted
from app.pools import common, listing, mu_provisional, mu_records
from app.pools import excel as pool_excel
from app.pools import graduation as pool_graduation
from app.pools import membership as pool_membership
from app.pools import review as pool_review
from app.pools import status as pool_status
from app.pools.definitions import load_mu_scheme, load_pools
from app.pools.listing import PoolFilters
from app.pools.models import LEAVE_REASONS
from app.pools.schemas import (
    EnterIn,
    GraduationConfirm,
    LeaveIn,
    MuBandIn,
    MuSchemeIn,
    ReviewConfirm,
    ReviewEnterItem,
    ReviewLeaveItem,
)
from app.reference import townships
from app.web.forms import attempt, invalid
from app.web.render import download, list_qs, render, templates

router = APIRouter(include_in_schema=False)

templates.env.globals.update(pool_defs=load_pools)  # the words of this domain come from app/pools/labels.py


def _model(cls: type[BaseModel], data: dict):
    """Build a request model from form fields; a bad field becomes the usual Chinese 422."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise invalid(e) from None


def _form_value(form, key: str) -> str | None:
    v = form.get(key)
    if v is None:
        return None
    v = str(v).strip()
    return v or None


# --- overview --------------------------------------------------------------------------------


@router.get("/pools")
def overview(request: Request, session: SessionDep, principal: PagePrincipal):
    principal.require("pools:read")
    rows = listing.overview(session, actor=principal)
    towns = [t for t in townships() if principal.sees_township(t["code"])]
    totals = {t["code"]: sum(r.by_township.get(t["code"], 0) for r in rows) for t in towns}
    return render(
        request, "pools/overview.html", {"section": "pools", "rows": rows, "towns": towns, "totals": totals}
    )


# --- 亩产效益 ----------------------------------------------------------------------------------


@router.get("/pools/mu")
def mu_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    township: Annotated[list[str] | None, Query()] = None,
    mu_class: Annotated[list[str] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    principal.require("pools:read")
    township = [t for t in township or [] if t] or None
    mu_class = [c for c in mu_class or [] if c] or None
    rows, next_cursor, year = mu_provisional.mu_page(
        session,
        actor=principal,
        year=year,
        township=township,
        mu_class=mu_class,
        q=q,
        cursor=cursor,
        limit=50,
    )
    total = mu_provisional.mu_count(
        session, actor=principal, year=year, township=township, mu_class=mu_class, q=q
    )
    scheme, setting = mu_provisional.effective_scheme(session)
    n, computed_at = mu_provisional.provisional_status(session, year)
    return render(
        request,
        "pools/mu.html",
        {
            "section": "pools",
            "rows": rows,
            "next_cursor": next_cursor,
            "year": year,
            "scheme": scheme,
            "setting": setting,
            "provisional_count": n,
            "total": total,
            "computed_at": computed_at,
            "f": {"township": township or [], "mu_class": mu_class or [], "q": q or ""},
            "base_qs": list_qs(request),
            "is_first_page": cursor is None,
        },
        block="results",
    )


@router.post("/pools/mu/scheme")
def mu_scheme(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    weights = {k[7:]: v for k, v in form.items() if k.startswith("weight_") and str(v).strip()}
    bands = [
        {"mu_class": c, "percent": form.get(f"band_{c}")} for c in "ABCD" if _form_value(form, f"band_{c}")
    ]
    data = _model(MuSchemeIn, {"weights": weights, "bands": [_model(MuBandIn, b) for b in bands] or None})
    mu_provisional.set_scheme(session, actor=principal, data=data)
    return render(request, "pools/_message.html", {"message": "已保存权重与分档；请重新测算暂定分类。"})


@router.post("/pools/mu/scheme/reset")
def mu_scheme_reset(request: Request, session: SessionDep, principal: PagePrincipal):
    mu_provisional.reset_scheme(session, actor=principal)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


@router.post("/pools/mu/compute")
def mu_compute(request: Request, session: SessionDep, principal: PagePrincipal, year: Annotated[int, Form()]):
    s = mu_provisional.compute_provisional(session, actor=principal, year=year)
    classes = "、".join(f"{c} 类 {n} 家" for c, n in s.classes.items())
    return render(
        request,
        "pools/_message.html",
        {
            "message": f"已按 {s.year} 年数据测算：参与排名 {s.ranked} 家（{classes}），数据不足未分类 {s.unranked} 家。",
            "refresh": True,
        },
    )


@router.post("/pools/mu/import")
def mu_import(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    year: Annotated[int, Form(ge=2000, le=2100)],
    file: Annotated[UploadFile, File()],
):
    data = file.file.read(get_settings().import_max_bytes + 1)
    done = attempt(
        session, lambda: mu_records.import_mu_classes(session, actor=principal, year=year, data=data)
    )
    if done.error:
        return render(
            request, "enterprises/_import_result.html", {"error": done.error}, status_code=done.status
        )
    recorded, changed = done.value
    return render(
        request,
        "pools/_message.html",
        {"message": f"导入成功：{year} 年亩产效益评价类别 {recorded} 家，其中 {changed} 家有变化。"},
    )


@router.post("/enterprises/{enterprise_id}/mu-class")
def record_mu_class(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    year = _form_value(form, "year")
    if year is None or not year.isdigit():
        raise ValidationFailed.one("year", "请填写评价年度")
    mu_records.record_mu_class(
        session,
        actor=principal,
        enterprise_id=enterprise_id,
        year=int(year),
        mu_class=(_form_value(form, "mu_class") or "").upper(),
        note=_form_value(form, "note"),
    )
    return Response(status_code=200, headers={"HX-Refresh": "true"})


# --- graduation ------------------------------------------------------------------------------


@router.post("/pools/graduations/{proposal_id}/confirm")
def graduation_confirm(
    request: Request, proposal_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    data = _model(
        GraduationConfirm,
        {k: _form_value(form, k) for k in ("left_date", "next_pool", "next_entry_class", "note")},
    )
    g, entered = pool_graduation.confirm_graduation(
        session, actor=principal, proposal_id=proposal_id, data=data
    )
    msg = f"已确认毕业并出库（{LEAVE_REASONS['above_scale' if g.trigger == 'above_scale' else 'honoured']}）"
    if entered is not None:
        msg += f"，已转入{quoted(load_pools()[entered.pool].name)}"
    return render(request, "pools/_message.html", {"message": msg})


@router.post("/pools/graduations/{proposal_id}/dismiss")
def graduation_dismiss(
    request: Request, proposal_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    note = _form_value(form, "note")
    if note is None:
        raise ValidationFailed.one("note", "请填写驳回原因")
    pool_graduation.dismiss_graduation(session, actor=principal, proposal_id=proposal_id, note=note)
    return render(request, "pools/_message.html", {"message": "已驳回，企业留在库中"})


# --- one pool --------------------------------------------------------------------------------


def _clean(f: PoolFilters) -> PoolFilters:
    """Empty select options arrive as ""; they mean "all"."""
    return PoolFilters(
        year=f.year,
        township=[t for t in f.township or [] if t] or None,
        mu_class=[c for c in f.mu_class or [] if c] or None,
        entry_class=f.entry_class or None,
        candidacy=[c for c in f.candidacy or [] if c] or None,
        q=f.q or None,
    )


@router.get("/pools/{pool_code}")
def pool_page(
    request: Request,
    pool_code: str,
    session: SessionDep,
    principal: PagePrincipal,
    filters: PoolFiltersDep,
    tab: str = "members",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    principal.require("pools:read")
    pool_def = common.get_pool_def(session, pool_code)
    f = _clean(filters)
    ctx = {
        "section": "pools",
        "pool": pool_def,
        "tab": tab,
        "f": f,
        "base_qs": list_qs(request),
        "is_first_page": cursor is None,
        "next_cursor": None,
        "year": None,
    }
    if tab in ("members", "history"):
        rows, ctx["next_cursor"], ctx["year"] = listing.members_page(
            session,
            actor=principal,
            pool_code=pool_code,
            filters=f,
            include_left=tab == "history",
            cursor=cursor,
        )
        ctx["rows"] = rows
        ctx["total"] = listing.count_members(
            session, actor=principal, pool_code=pool_code, filters=f, include_left=tab == "history"
        )
    elif tab == "candidates":
        ranked, ctx["year"] = listing.all_candidates(session, actor=principal, pool_code=pool_code, filters=f)
        ranked = listing.rank_candidates(ranked)
        start = int(cursor) if cursor and cursor.isdigit() else 0
        ctx["rows"] = ranked[start : start + PAGE]
        ctx["rank_from"] = start + 1
        ctx["next_cursor"] = str(start + PAGE) if start + PAGE < len(ranked) else None
        ctx["counts"], _ = listing.candidate_counts(session, actor=principal, pool_code=pool_code, filters=f)
        ctx["total"] = sum(c["met"] + c["judgement"] for c in ctx["counts"].values())
    elif tab == "graduations":
        ctx["graduations"] = pool_graduation.graduations(session, actor=principal, pool_code=pool_code)
    else:
        raise ValidationFailed.one("tab", "未知的页签")
    ctx["member_counts"] = listing.member_counts(session, actor=principal).get(pool_code, {})
    return render(request, "pools/pool.html", ctx, block="results")


PAGE = 50


@router.get("/pools/{pool_code}/members.xlsx")
def members_xlsx(
    pool_code: str,
    session: SessionDep,
    principal: PagePrincipal,
    filters: PoolFiltersDep,
    tab: str = "members",
):
    data = pool_excel.members_xlsx(
        session, actor=principal, pool_code=pool_code, filters=_clean(filters), include_left=tab == "history"
    )
    return download(data, f"{pool_code}-members.xlsx")


@router.get("/pools/{pool_code}/candidates.xlsx")
def candidates_xlsx(pool_code: str, session: SessionDep, principal: PagePrincipal, filters: PoolFiltersDep):
    data = pool_excel.candidates_xlsx(session, actor=principal, pool_code=pool_code, filters=_clean(filters))
    return download(data, f"{pool_code}-candidates.xlsx")


@router.post("/pools/{pool_code}/enter")
def enter(request: Request, pool_code: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    data = _model(
        EnterIn,
        {k: _form_value(form, k) for k in ("enterprise_id", "entry_class", "entered_date", "year", "note")},
    )
    m = pool_membership.enter(session, actor=principal, pool_code=pool_code, data=data)
    if form.get("from") == "panel":
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return render(
        request,
        "pools/_message.html",
        {"message": f"已入库（{m.entered_date}，{common.class_name(pool_code, m.entry_class)}）"},
    )


@router.post("/pools/{pool_code}/members/{enterprise_id}/leave")
def leave(
    request: Request,
    pool_code: str,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    data = _model(LeaveIn, {k: _form_value(form, k) for k in ("reason", "left_date", "note")})
    m = pool_membership.leave(
        session, actor=principal, pool_code=pool_code, enterprise_id=enterprise_id, data=data
    )
    if form.get("from") == "panel":
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return render(
        request,
        "pools/_message.html",
        {"message": f"已出库（{m.left_date}，{LEAVE_REASONS[m.leave_reason]}）"},
    )


@router.get("/pools/{pool_code}/review")
def review_page(
    request: Request,
    pool_code: str,
    session: SessionDep,
    principal: PagePrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
):
    principal.require("pools:read")
    plan = pool_review.review_plan(session, actor=principal, pool_code=pool_code, year=year)
    return render(
        request,
        "pools/review.html",
        {"section": "pools", "pool": plan.pool_def, "plan": plan, "today": date.today()},
    )


@router.post("/pools/{pool_code}/review")
def review_confirm(
    request: Request, pool_code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    missing = [eid for eid in form.getlist("leave") if not _form_value(form, f"reason_{eid}")]
    if missing:  # no silent default: every firm leaving has the reason a person chose
        raise ValidationFailed.one(f"reason_{missing[0]}", "请为每家出库企业选择出库原因")
    leave_items = [
        _model(ReviewLeaveItem, {"enterprise_id": eid, "reason": _form_value(form, f"reason_{eid}")})
        for eid in form.getlist("leave")
    ]
    enter_items = [
        _model(ReviewEnterItem, {"enterprise_id": eid, "entry_class": _form_value(form, f"class_{eid}")})
        for eid in form.getlist("enter")
    ]
    data = _model(
        ReviewConfirm,
        {
            "year": _form_value(form, "year"),
            "review_date": _form_value(form, "review_date"),
            "note": _form_value(form, "note"),
            "leave": leave_items,
            "enter": enter_items,
        },
    )
    review = pool_review.confirm_review(session, actor=principal, pool_code=pool_code, data=data)
    return render(
        request,
        "pools/_message.html",
        {
            "message": f"{review.year} 年度调整已完成：出库 {review.left_count} 家，入库 {review.entered_count} 家。",
            "link": f"/pools/{pool_code}",
        },
    )


# --- the enterprise page's panel -------------------------------------------------------------


def enterprise_panel(session, principal, ent) -> dict | None:
    if not principal.has("pools:read"):
        return None
    try:
        status = pool_status.enterprise_status(session, actor=principal, enterprise_id=ent.id)
    except AppError:
        return None
    return {
        "title": "培育库与亩产效益",
        "template": "pools/_panel.html",
        "context": {
            "st": status,
            "today": date.today(),
            "can_write": principal.has("pools:write"),
            "county_writer": principal.has("pools:write") and principal.is_county,
            "indicator_names": {i.code: i.name for i in load_mu_scheme().indicators},
        },
    }
