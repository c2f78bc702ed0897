"""Pages for county admins to put a new year's policy document into the system themselves.

    /policy-documents                       every document: status, period, versions; copy, upload
    /policy-documents/{code}/draft          the draft: a form per rule (inline validation), the rule
                                            cases (edit, run: expected vs computed), publish
    /policy-documents/{code}/draft/diff     the draft against the version it was copied from
    /policy-documents/{code}/draft/impact   the forecast with the draft in place of today's documents
    /policy-documents/{code}/document.yaml  download (published or draft)

Every change goes through app.policies.store (audited); a form with an error answers 422 with the
message beside the field and writes nothing.
"""

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile

from app.deps import PageForm, PagePrincipal, SessionDep
from app.errors import AppError, ValidationFailed
from app.policies import cases as case_runner
from app.policies import coverage, editing, store
from app.policies.models import STATUS_NAMES
from app.reference import honours
from app.web.forms import INLINE, attempt, form_date
from app.web.render import download, redirect, render, templates

router = APIRouter(include_in_schema=False)

EVENT_NAMES = {
    "honour": "认定",
    "first_above_scale": "首次升规",
    "sales_milestone": "年销售收入突破",
    "loan_interest": "科技成果转化贷款贴息",
    "equipment_purchase": "技改、智能化改造设备购置",
    "design_prize": "工业设计大赛获奖",
    "skills_contest": "承办职工技能大赛",
    "talent_program": "入选重点人才工程",
    "talent_loan_interest": "领军人才创办企业贷款贴息",
    "output_growth": "一季度新增产值",
    "strong_town": "民营经济高质量发展强镇",
}
FORM_LISTS = ("levels", "outcomes")
templates.env.globals.update(
    POLICY_EVENT_NAMES=EVENT_NAMES,
    POLICY_SHAPES=editing.SHAPES,
    POLICY_BASES=editing.BASES,
    POLICY_STATUS_NAMES=STATUS_NAMES,
)


# A policy document, version or draft is named in the form or the path of these pages: one not found is said
# beside the form (404), too.
INLINE_HERE = (*INLINE, 404)


def _by_field(exc: AppError) -> dict[str, list[str]]:
    """Errors keyed by the form's field name (rules[<id>].amount.yuan -> amount_wan …)."""
    out: dict[str, list[str]] = {}
    alias = {
        "amount.yuan": "amount_wan",
        "amount.cap_yuan": "cap_wan",
        "amount.min_yuan": "min_wan",
        "amount.max_yuan": "max_wan",
        "amount.percent": "percent",
        "amount.base": "base",
        "amount.of_rule": "of_rule",
        "amount.shape": "shape",
        "amount": "shape",
        "conditions.honour": "honour",
        "conditions.levels": "levels",
        "conditions.outcomes": "outcomes",
    }
    for e in exc.errors:
        name = (
            e.field.split("]", 1)[1].lstrip(".")
            if e.field.startswith("rules[") and "]" in e.field
            else e.field
        )
        if name.startswith("conditions.") and name not in alias:
            name = "other_conditions"
        out.setdefault(alias.get(name, name) or "_", []).append(e.message)
    return out


def _context(session, code: str) -> dict[str, Any]:
    draft = store._draft(session, code)
    if draft is None:
        raise ValidationFailed.one("code", f"政策文件 {code} 没有草稿")
    source = store.get_version(session, draft.source_id) if draft.source_id else None
    doc = store.parse(draft.content)
    return {
        "section": "policies",
        "code": code,
        "draft": draft,
        "doc": doc,
        "source": source,
        "EVENT_NAMES": EVENT_NAMES,
        "SHAPES": editing.SHAPES,
        "BASES": editing.BASES,
        "HONOURS": honours(),
        "STATUS_NAMES": STATUS_NAMES,
    }


def _rule_ctx(
    rule_id: str | None, values: dict, errors: dict | None = None, message: str | None = None
) -> dict:
    return {
        "rule_id": rule_id,
        "v": values,
        "errs": errors or {},
        "message": message,
        "EVENT_NAMES": EVENT_NAMES,
        "SHAPES": editing.SHAPES,
        "BASES": editing.BASES,
        "HONOURS": honours(),
    }


@router.get("/policy-documents")
def manage(request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None):
    principal.require("policies:read")
    return _manage(request, session, principal, message=done)


def _manage(
    request,
    session,
    principal,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    message: str | None = None,
    values: dict | None = None,
):
    by_code: dict[str, list] = {}
    for v in store.versions(session):
        by_code.setdefault(v.code, []).append(v)
    today = date.today()
    rows = []
    for code, vs in sorted(by_code.items(), key=lambda kv: max(v.in_force_end for v in kv[1]), reverse=True):
        published = next((v for v in vs if v.status == "published"), None)
        draft = next((v for v in vs if v.status == "draft"), None)
        rows.append(
            {
                "code": code,
                "published": published,
                "draft": draft,
                "versions": vs,
                "in_force_today": bool(
                    published and published.in_force_start <= today <= published.in_force_end
                ),
            }
        )
    latest = next((r["published"] for r in rows if r["published"]), None)
    defaults = {
        "source": latest.code if latest else "",
        "start": f"{today.year}-01-01",
        "end": f"{today.year}-12-31",
    }
    return render(
        request,
        "policies/manage.html",
        {
            "section": "policies",
            "rows": rows,
            "errors": errors or [],
            "message": message,
            "values": {**defaults, **(values or {})},
            "STATUS_NAMES": STATUS_NAMES,
            "today_date": today,
            "gap": coverage.lapse_message(store.current(session), today),
        },
        status_code=status,
    )


@router.post("/policy-documents/copy")
def copy(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    values = {
        k: str(form.get(k) or "").strip() for k in ("source", "code", "number", "start", "end", "title")
    }

    def save():
        message = "有效期：请填写起止日期（YYYY-MM-DD）"
        start, end = form_date(values["start"], "start", message), form_date(values["end"], "start", message)
        store.copy_as_draft(
            session,
            actor=principal,
            source_code=values["source"],
            code=values["code"],
            number=values["number"],
            start=start,
            end=end,
            title=values["title"] or None,
        )

    done = attempt(session, save, inline=INLINE_HERE)
    if done.error:
        return _manage(request, session, principal, status=422, errors=done.messages(), values=values)
    return redirect(request, f"/policy-documents/{values['code']}/draft")


@router.post("/policy-documents/upload")
def upload(
    request: Request, session: SessionDep, principal: PagePrincipal, file: Annotated[UploadFile, File()]
):
    raw = file.file.read(store.MAX_BYTES + 1)

    def save():
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.one("file", "文件应为 UTF-8 编码的 YAML") from None
        doc = store.parse(content)
        store.put_draft(session, actor=principal, code=doc.code, content=content)
        return doc

    done = attempt(session, save, inline=INLINE_HERE)
    if done.error:
        return _manage(request, session, principal, status=422, errors=done.messages())
    return redirect(request, f"/policy-documents/{done.value.code}/draft")


@router.get("/policy-documents/{code}/document.yaml")
def document_yaml(
    code: str,
    session: SessionDep,
    principal: PagePrincipal,
    status: Annotated[str, Query(pattern="^(published|draft)$")] = "published",
):
    v = store.document_yaml(session, actor=principal, code=code, status=status)
    suffix = "-draft" if status == "draft" else ""
    return download(v.content, f"{code}{suffix}.yaml", media_type="application/yaml; charset=utf-8")


@router.get("/policy-documents/{code}/draft")
def draft_page(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:read")
    ctx = _context(session, code)
    ctx["rules"] = [_rule_ctx(r.id, editing.rule_values(r)) for r in ctx["doc"].spec.rules]
    ctx["new_rule"] = _rule_ctx(None, {**editing.rule_values(None), "id": f"{code}."})
    ctx["report"] = case_runner.run(session, code=code, draft=True)
    return render(request, "policies/draft.html", ctx)


def _rule_values(form) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in form.items() if k not in FORM_LISTS and k != "csrf_token"}
    for k in FORM_LISTS:
        out[k] = form.getlist(k)
    return out


def _save_rule(request, session, principal, code: str, rule_id: str | None, values: dict):
    """Rebuild the rule from the form, validate the whole draft, save it; or 422 with the errors beside the fields."""
    new_id = (values.get("id") or "").strip() if rule_id is None else rule_id

    def save():
        draft = store._draft(session, code, lock=True)
        if draft is None:
            raise ValidationFailed.one("code", f"政策文件 {code} 没有草稿")
        rule = editing.rule_from_form(values, rule_id=new_id)
        content = editing.apply_rule(draft.content, rule_id, rule)
        store.put_draft(session, actor=principal, code=code, content=content)

    done = attempt(session, save, inline=INLINE_HERE)
    if done.error:
        errs = _by_field(done.error)
        return render(
            request,
            "policies/_rule.html",
            {"r": _rule_ctx(rule_id, values, errs), "code": code},
            status_code=422,
        )
    if rule_id is None:
        return redirect(request, f"/policy-documents/{code}/draft#rule-{new_id}")
    return render(
        request,
        "policies/_rule.html",
        {"r": _rule_ctx(rule_id, values, message="已保存到草稿"), "code": code},
    )


@router.post("/policy-documents/{code}/draft/rules/{rule_id}")
def save_rule(
    request: Request, code: str, rule_id: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    principal.require("policies:write")
    return _save_rule(request, session, principal, code, rule_id, _rule_values(form))


@router.post("/policy-documents/{code}/draft/rules")
def add_rule(request: Request, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("policies:write")
    return _save_rule(request, session, principal, code, None, _rule_values(form))


@router.post("/policy-documents/{code}/draft/rules/{rule_id}/delete")
def remove_rule(request: Request, code: str, rule_id: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:write")
    draft = store._draft(session, code, lock=True)
    if draft is None:
        raise ValidationFailed.one("code", f"政策文件 {code} 没有草稿")
    store.put_draft(session, actor=principal, code=code, content=editing.delete_rule(draft.content, rule_id))
    return redirect(request, f"/policy-documents/{code}/draft")


def _cases_fragment(
    request,
    session,
    code: str,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    text: str | None = None,
    message: str | None = None,
):
    draft = store._draft(session, code)
    report = case_runner.run(session, code=code, draft=True) if not errors else None
    return render(
        request,
        "policies/_cases.html",
        {
            "code": code,
            "report": report,
            "errors": errors or [],
            "message": message,
            "cases_text": text if text is not None else (draft.cases or "" if draft else ""),
        },
        status_code=status,
    )


@router.post("/policy-documents/{code}/draft/cases")
def save_cases(request: Request, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("policies:write")
    text = str(form.get("cases") or "")
    done = attempt(
        session,
        lambda: store.put_cases(session, actor=principal, code=code, content=text),
        inline=INLINE_HERE,
    )
    if done.error:
        return _cases_fragment(request, session, code, status=422, errors=done.messages(), text=text)
    return _cases_fragment(request, session, code, message="测试用例已保存并运行")


@router.post("/policy-documents/{code}/draft/test")
def run_cases(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:read")
    return _cases_fragment(request, session, code, message="已运行全部测试用例")


@router.post("/policy-documents/{code}/publish")
def publish(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:write")
    done = attempt(session, lambda: store.publish(session, actor=principal, code=code), inline=INLINE_HERE)
    if done.error:
        return render(
            request,
            "policies/_publish_result.html",
            {"errors": done.messages(), "code": code},
            status_code=409,
        )
    v = done.value
    return redirect(
        request,
        "/policy-documents?done="
        + quote(f"已发布 {v.number}（有效期 {v.in_force_start} 至 {v.in_force_end}）"),
    )


@router.post("/policy-documents/{code}/withdraw")
def withdraw(request: Request, code: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("policies:write")
    done = attempt(
        session,
        lambda: store.withdraw(session, actor=principal, code=code, reason=str(form.get("reason") or "")),
        inline=INLINE_HERE,
    )
    if done.error:
        return _manage(request, session, principal, status=422, errors=done.messages())
    return redirect(request, "/policy-documents?done=" + quote(f"已撤回 {done.value.number}"))


@router.post("/policy-documents/{code}/draft/delete")
def discard(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:write")
    store.discard_draft(session, actor=principal, code=code)
    return redirect(request, "/policy-documents?done=" + quote(f"已删除 {code} 的草稿"))


@router.get("/policy-documents/{code}/draft/diff")
def diff_page(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:read")
    ctx = _context(session, code)
    if ctx["source"] is None:
        ctx["diff"] = None
    else:
        ctx["diff"] = editing.diff(store.parse(ctx["source"].content), ctx["doc"])
    return render(request, "policies/diff.html", ctx)


@router.get("/policy-documents/{code}/draft/impact")
def impact_page(
    request: Request,
    code: str,
    session: SessionDep,
    principal: PagePrincipal,
    scenario: Annotated[str, Query(pattern="^(events|targets)$")] = "events",
):
    from app.policies.impact import impact

    principal.require("awards:read")
    ctx = _context(session, code)
    ctx["impact"] = impact(session, actor=principal, code=code, scenario=scenario).summary()
    ctx["scenario"] = scenario
    return render(request, "policies/impact.html", ctx)
