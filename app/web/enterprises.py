"""Registry pages: list with live search, detail with figures/honours/history, forms, Excel."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlalchemy import func, select

from app.awards import proposals as award_proposals
from app.config import get_settings
from app.deps import CurrentEnterprise, PageForm, PagePrincipal, SessionDep
from app.enterprises import excel
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate, FigureIn, HonourIn
from app.enterprises.service import ListFilters
from app.errors import FieldError, ValidationFailed
from app.filters import enterprise_filters
from app.web.forms import attempt, field_message
from app.web.render import download, list_qs, redirect, render

router = APIRouter(include_in_schema=False)
FORM = {"form": True}  # a form sends numbers as text

FORM_FIELDS = (
    "uscc",
    "name",
    "township",
    "chain",
    "industry",
    "size",
    "ownership",
    "above_scale",
    "mu_class",
    "platform_registered_date",
)


def page_filters(request: Request) -> ListFilters:
    """Filters from a page's query string, where an empty form field means "any"."""
    qp = request.query_params

    def many(k):
        return [x for x in qp.getlist(k) if x] or None

    def integer(k):
        v = qp.get(k)
        if not v:
            return None
        try:
            return int(v)
        except ValueError:
            raise ValidationFailed.one(k, f"{k} 应为整数") from None

    above = qp.get("above_scale")
    return enterprise_filters(
        q=(qp.get("q") or "").strip()[:100] or None,
        township=many("township"),
        size=many("size"),
        ownership=many("ownership"),
        above_scale={"true": True, "false": False}.get(above) if above else None,
        mu_class=many("mu_class"),
        honour=qp.get("honour") or None,
        honour_level=qp.get("honour_level") or None,
        pool=qp.get("pool") or None,
        year=integer("year"),
        revenue_min=integer("revenue_min"),
        revenue_max=integer("revenue_max"),
    )


PageFilters = Annotated[ListFilters, Depends(page_filters)]


def _errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field.split(".")[0], field_message(e))
    return out


def _form_dict(form) -> dict:
    data = {}
    for k in FORM_FIELDS:
        v = form.get(k)
        if v is None:
            continue
        v = v.strip()
        data[k] = v if v != "" else None
    data["above_scale"] = form.get("above_scale") in ("on", "true", "1", "是")
    return data


@router.get("/enterprises")
def list_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    filters: PageFilters,
    sort: str = "name",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    principal.require("enterprises:read")
    rows, next_cursor, year = enterprise_service.list_page(
        session, actor=principal, filters=filters, sort=sort, cursor=cursor, limit=50
    )
    stmt, _, _ = enterprise_service.list_query(session, actor=principal, filters=filters, sort=sort)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    base_qs = list_qs(request)
    return render(
        request,
        "enterprises/list.html",
        {
            "section": "enterprises",
            "rows": rows,
            "next_cursor": next_cursor,
            "year": year,
            "f": filters,
            "sort": sort,
            "base_qs": base_qs,
            "total": total,
            "is_first_page": cursor is None,
        },
        block="results",
    )


@router.get("/enterprises/suggest")
def suggest(request: Request, session: SessionDep, principal: PagePrincipal):
    """Up to 10 enterprises matching what is typed (name or 信用代码), as <option>s for a search box's datalist."""
    principal.require("enterprises:read")
    qp = request.query_params
    q = next((v for k, v in qp.multi_items() if k in ("q", "cand_who") and v.strip()), "").strip()[:100]
    rows = []
    if q:
        rows, _, _ = enterprise_service.list_page(
            session, actor=principal, filters=enterprise_filters(q=q), limit=10
        )
    return render(request, "enterprises/_suggest.html", {"rows": rows})


@router.get("/enterprises/export.xlsx")
def export(session: SessionDep, principal: PagePrincipal, filters: PageFilters, sort: str = "name"):
    principal.require("enterprises:read")
    data = excel.export_enterprises(session, actor=principal, filters=filters, sort=sort)
    return download(data, "enterprises.xlsx")


@router.get("/enterprises/template.xlsx")
def template(principal: PagePrincipal):
    return download(excel.template_bytes(), "enterprise-template.xlsx")


@router.get("/enterprises/import")
def import_page(request: Request, principal: PagePrincipal):
    principal.require("enterprises:write")
    return render(
        request,
        "enterprises/import.html",
        {"section": "enterprises", "max_mb": get_settings().import_max_bytes // 1024 // 1024},
    )


@router.post("/enterprises/import")
def import_upload(
    request: Request, session: SessionDep, principal: PagePrincipal, file: Annotated[UploadFile, File()]
):
    principal.require("enterprises:write")
    data = file.file.read(get_settings().import_max_bytes + 1)
    done = attempt(session, lambda: excel.import_enterprises(session, actor=principal, data=data))
    if done.error:
        return render(
            request, "enterprises/_import_result.html", {"error": done.error}, status_code=done.status
        )
    return render(request, "enterprises/_import_result.html", {"result": done.value})


@router.get("/enterprises/new")
def new_page(request: Request, principal: PagePrincipal):
    principal.require("enterprises:write")
    values = {"township": principal.township, "ownership": "private", "size": "small"}
    return render(
        request,
        "enterprises/form.html",
        {"section": "enterprises", "values": values, "errors": {}, "ent": None},
    )


@router.post("/enterprises/new")
def create(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("enterprises:write")
    values = _form_dict(form)

    def save():
        data = EnterpriseCreate.model_validate(
            {k: v for k, v in values.items() if v is not None}, context=FORM
        )
        errs = enterprise_service.field_errors(data.model_dump())
        if errs:
            raise ValidationFailed(errs)
        return enterprise_service.create(session, actor=principal, data=data)

    done = attempt(session, save)
    if done.error:
        return _form_errors(request, values, done.field_errors(), None)
    return redirect(request, f"/enterprises/{done.value.id}")


def _form_errors(request, values, errors, ent):
    return render(
        request,
        "enterprises/form.html",
        {"section": "enterprises", "values": values, "errors": _errors_by_field(errors), "ent": ent},
        block="form",
        status_code=422,
    )


@router.post("/enterprises/validate/uscc")
def validate_uscc(request: Request, principal: PagePrincipal, form: PageForm):
    """Inline check of one field as the user types (htmx)."""
    errs = enterprise_service.field_errors({"uscc": (form.get("uscc") or "").strip()})
    msg = errs[0].message if errs and (form.get("uscc") or "").strip() else ""
    return render(request, "enterprises/_field_error.html", {"field": "uscc", "message": msg})


@router.get("/enterprises/{enterprise_id}")
def detail(
    request: Request, enterprise_id: int, session: SessionDep, principal: PagePrincipal, tab: str = "overview"
):
    principal.require("enterprises:read")
    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id)
    ctx = {"section": "enterprises", "ent": ent, "tab": tab, "panels": _panels(session, principal, ent)}
    if tab == "history":
        ctx["history"] = enterprise_service.history(session, actor=principal, enterprise_id=enterprise_id)
    return render(request, "enterprises/detail.html", ctx, block="tab_body")


def _panels(session, principal, ent) -> list[dict]:
    """Panels other domains contribute to the enterprise page (pools, awards ...)."""
    from app.web.panels import enterprise_panels

    return enterprise_panels(session, principal, ent)


@router.get("/enterprises/{enterprise_id}/edit")
def edit_page(request: Request, enterprise_id: int, session: SessionDep, principal: PagePrincipal):
    principal.require("enterprises:write")
    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id, with_details=False)
    values = {k: getattr(ent, k) for k in FORM_FIELDS}
    return render(
        request,
        "enterprises/form.html",
        {"section": "enterprises", "values": values, "errors": {}, "ent": ent},
    )


@router.post("/enterprises/{enterprise_id}/edit")
def edit(request: Request, enterprise_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("enterprises:write")
    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id, with_details=False)
    values = _form_dict(form)
    version = (form.get("version") or "").strip()
    if not version.isdigit():  # without the version seen, a save would overwrite another's change unseen
        return _form_errors(
            request, values, [FieldError("form", "表单缺少版本号（version），请刷新页面后重新编辑")], ent
        )

    def save():
        data = EnterpriseUpdate.model_validate(values, context=FORM)
        enterprise_service.update(
            session, actor=principal, enterprise_id=enterprise_id, data=data, if_match=int(version)
        )

    done = attempt(session, save)
    if done.status == 412:
        return _form_errors(
            request, values, [FieldError("form", "该企业已被他人修改，请刷新页面后重新编辑")], ent
        )
    if done.error:
        return _form_errors(request, values, done.field_errors(), ent)
    return redirect(request, f"/enterprises/{enterprise_id}")


@router.post("/enterprises/{enterprise_id}/delete")
def delete(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    version: Annotated[int, Form()],
):
    principal.require("enterprises:write")
    enterprise_service.delete(session, actor=principal, enterprise_id=enterprise_id, if_match=version)
    return redirect(request, "/enterprises")


@router.post("/enterprises/{enterprise_id}/figures")
def save_figures(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    principal.require("enterprises:write")
    # Digits may arrive grouped as typed (1,234,567).
    raw = {
        k: (v.strip().replace(",", "").replace("，", "") or None)
        for k, v in form.items()
        if k != "csrf_token" and isinstance(v, str)
    }

    def save():
        if raw.get("year") is None:
            raise ValidationFailed.one("year", "请填写年度")
        data = FigureIn.model_validate(raw, context=FORM)
        enterprise_service.set_figures(session, actor=principal, enterprise_id=enterprise_id, figures=data)

    done = attempt(session, save)
    if done.error:
        return _tab(
            request, session, principal, enterprise_id, "figures", {"figure_errors": _messages(done)}, 422
        )
    return _tab(request, session, principal, enterprise_id, "figures", {"saved": True})


@router.post("/enterprises/{enterprise_id}/honours")
def add_honour(
    request: Request,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    principal.require("enterprises:write")
    raw = {k: (v.strip() or None) for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}

    def save():
        data = HonourIn.model_validate(raw, context=FORM)
        return enterprise_service.add_honour(
            session, actor=principal, enterprise_id=enterprise_id, honour=data
        )

    done = attempt(session, save)
    if done.error:
        return _tab(
            request, session, principal, enterprise_id, "honours", {"honour_errors": _messages(done)}, 422
        )
    return _tab(
        request,
        session,
        principal,
        enterprise_id,
        "honours",
        {"saved": True, "honour_warnings": award_proposals.honour_warnings(session, done.value)},
    )


def _messages(done) -> list[str]:
    return [x.message for x in done.field_errors()]


def _tab(request, session, principal, enterprise_id, tab, extra, status=200):
    ent = enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id)
    ctx = {
        "section": "enterprises",
        "ent": ent,
        "tab": tab,
        "panels": _panels(session, principal, ent),
        **extra,
    }
    return render(request, "enterprises/detail.html", ctx, block="tab_body", status_code=status)
