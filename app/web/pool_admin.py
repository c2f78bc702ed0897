"""Pages for county admins to put a new year's pool definitions into the system: copy the definitions in force
into a draft, edit each pool and entry class (or the whole YAML), upload or download the YAML, publish on a date."""

from datetime import date
from typing import Annotated
from urllib.parse import quote

import yaml
from fastapi import APIRouter, File, Request, UploadFile

from app.deps import PageForm, PagePrincipal, SessionDep
from app.errors import ValidationFailed
from app.pools import store
from app.web.forms import INLINE, attempt, form_date
from app.web.render import download, redirect, render

router = APIRouter(include_in_schema=False)


# The draft or a pool or class the path names may be gone (404): said beside the form, too.
INLINE_HERE = (*INLINE, 404)


def _manage(
    request,
    session,
    principal,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    message: str | None = None,
):
    principal.require("pools:read")
    today = store.current(session)
    return render(
        request,
        "pools/definitions.html",
        {
            "section": "pools",
            "versions": store.versions(session),
            "in_force_id": today.id,
            "draft": store.draft(session),
            "errors": errors or [],
            "message": message,
            "today_date": date.today(),
            "can_write": principal.has(store.WRITE_SCOPE),
        },
        status_code=status,
    )


@router.get("/pool-definitions")
def manage(request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None):
    return _manage(request, session, principal, message=done)


@router.get("/pool-definitions/definitions.yaml")
def document_yaml(session: SessionDep, principal: PagePrincipal, status: str = "published"):
    v = store.document_yaml(session, actor=principal, status="draft" if status == "draft" else "published")
    return download(v.content, "definitions.yaml", media_type="application/yaml; charset=utf-8")


@router.post("/pool-definitions/copy")
def copy(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    done = attempt(session, lambda: store.copy_as_draft(session, actor=principal), inline=INLINE_HERE)
    if done.error:
        return _manage(request, session, principal, status=done.status, errors=done.messages())
    return redirect(request, "/pool-definitions/draft")


@router.post("/pool-definitions/upload")
def upload(
    request: Request, session: SessionDep, principal: PagePrincipal, file: Annotated[UploadFile, File()]
):
    data = file.file.read(store.MAX_BYTES + 1)

    def save():
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.one("yaml", "应为 UTF-8 编码的 YAML 文件") from None
        store.put_draft(session, actor=principal, content=content)

    done = attempt(session, save, inline=INLINE_HERE)
    if done.error:
        return _manage(request, session, principal, status=422, errors=done.messages())
    return redirect(request, "/pool-definitions/draft?done=" + quote("已上传为草稿"))


def _draft_page(
    request,
    session,
    principal,
    *,
    status: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
    message: str | None = None,
):
    principal.require(store.WRITE_SCOPE)
    d = store.draft(session)
    if d is None:
        return redirect(request, "/pool-definitions")
    raw = yaml.safe_load(d.content)
    return render(
        request,
        "pools/definitions_draft.html",
        {
            "section": "pools",
            "draft": d,
            "pools": raw.get("pools", []),
            "errors": errors or {},
            "values": values or {},
            "message": message,
            "dump": lambda x: store.dump(x).rstrip() if x is not None else "",
            "today_date": date.today(),
        },
        status_code=status,
    )


@router.get("/pool-definitions/draft")
def draft_page(request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None):
    return _draft_page(request, session, principal, message=done)


def _saved(request, session, principal, where: str, form, save, done_url):
    """Save one part of the draft; on an error, the draft page with that part as typed and the messages beside it.
    `done_url(value)` is where a saved part goes."""
    done = attempt(session, save, inline=INLINE_HERE)
    if done.error:
        values = {where: {k: v for k, v in form.items() if k != "csrf_token"}}
        return _draft_page(
            request, session, principal, status=422, errors={where: done.messages()}, values=values
        )
    return redirect(request, done_url(done.value))


@router.post("/pool-definitions/draft/yaml")
def save_yaml(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    return _saved(
        request,
        session,
        principal,
        "_yaml",
        form,
        lambda: store.put_draft(session, actor=principal, content=str(form.get("content") or "")),
        lambda _: "/pool-definitions/draft?done=" + quote("已保存 YAML"),
    )


@router.post("/pool-definitions/draft/pools/{pool_code}")
def save_pool(
    request: Request, pool_code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    fields = {k: str(form.get(k) or "").strip() for k in ("name", "document", "clause", "start", "end")}
    return _saved(
        request,
        session,
        principal,
        f"pool:{pool_code}",
        form,
        lambda: store.save_pool(session, actor=principal, pool_code=pool_code, fields=fields),
        lambda _: f"/pool-definitions/draft?done={quote('已保存培育库 ' + fields['name'])}#pool-{pool_code}",
    )


@router.post("/pool-definitions/draft/pools/{pool_code}/classes")
def save_class(
    request: Request, pool_code: str, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    code = str(form.get("code") or "").strip()
    fields = {k: str(form.get(k) or "").strip() for k in ("name", "clause", "text")}
    fields["criteria"] = str(form.get("criteria") or "")
    where = f"class:{pool_code}:{form.get('original') or '_new'}"

    def save():
        if not code:
            raise ValidationFailed.one("code", "请填写入库类别代码（小写字母开头，如 seed）")
        store.save_class(session, actor=principal, pool_code=pool_code, class_code=code, fields=fields)

    return _saved(
        request,
        session,
        principal,
        where,
        form,
        save,
        lambda _: (
            f"/pool-definitions/draft?done={quote('已保存入库类别 ' + fields['name'])}#class-{pool_code}-{code}"
        ),
    )


@router.post("/pool-definitions/draft/pools/{pool_code}/classes/{class_code}/delete")
def delete_class(
    request: Request,
    pool_code: str,
    class_code: str,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    return _saved(
        request,
        session,
        principal,
        f"class:{pool_code}:{class_code}",
        form,
        lambda: store.remove_class(session, actor=principal, pool_code=pool_code, class_code=class_code),
        lambda _: "/pool-definitions/draft?done=" + quote("已删除入库类别"),
    )


@router.post("/pool-definitions/publish")
def publish(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    def save():
        effective = form_date(form.get("effective_from"), "effective_from", "请填写生效日期（YYYY-MM-DD）")
        store.publish(session, actor=principal, effective_from=effective)
        return effective

    return _saved(
        request,
        session,
        principal,
        "_publish",
        form,
        save,
        lambda effective: "/pool-definitions?done=" + quote(f"已发布培育库定义，自 {effective} 起生效"),
    )


@router.post("/pool-definitions/draft/delete")
def discard(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    store.discard_draft(session, actor=principal)
    return redirect(request, "/pool-definitions")
