"""Register pages: training, 数字化测评 and projects — entry (htmx), list, .xlsx template, import and export."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile

from app.config import get_settings
from app.deps import PageForm, PagePrincipal, SessionDep
from app.registers import service
from app.web.forms import INLINE, attempt
from app.web.render import download, render

router = APIRouter(include_in_schema=False)

PERIOD = (date(2022, 1, 1), date(2024, 12, 31))  # 冠政发〔2022〕9号: 2022—2024


def _ctx(session, principal, register: str, extra: dict | None = None) -> dict:
    reg = service.get_register(register)
    rows, nxt, total = service.list_records(session, actor=principal, register=register, limit=50)
    return {
        "section": "support",
        "tab": "registers",
        "reg": reg,
        "rows": rows,
        "total": total,
        "next_cursor": nxt,
        "period_totals": service.totals(session, actor=principal, start=PERIOD[0], end=PERIOD[1]),
        "year_totals": service.totals(
            session, actor=principal, start=date(2023, 1, 1), end=date(2023, 12, 31)
        ),
        "today": date.today(),
        "names_of": service.NAMES_OF,
        **(extra or {}),
    }


@router.get("/registers")
def index(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    register: Annotated[str, Query(max_length=20)] = "training",
):
    principal.require("registers:read")
    return render(request, "registers/index.html", _ctx(session, principal, register))


@router.post("/registers/{register}")
def create(request: Request, register: str, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("registers:write")
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    # The enterprise is named by its 信用代码 in the form: one not found is said beside the form (404), too.
    done = attempt(
        session,
        lambda: service.create(session, actor=principal, register=register, values=values),
        inline=(*INLINE, 404),
    )
    if done.error:
        return render(
            request,
            "registers/index.html",
            _ctx(session, principal, register, {"errors": done.messages(), "values": values}),
            block="body",
            status_code=422,
        )
    return render(
        request, "registers/index.html", _ctx(session, principal, register, {"saved": "已登记"}), block="body"
    )


@router.post("/registers/{register}/import")
def import_file(
    request: Request,
    register: str,
    session: SessionDep,
    principal: PagePrincipal,
    file: Annotated[UploadFile, File()],
):
    principal.require("registers:write")
    data = file.file.read(get_settings().import_max_bytes + 1)
    done = attempt(
        session, lambda: service.import_xlsx(session, actor=principal, register=register, data=data)
    )
    if done.error:
        return render(
            request,
            "registers/index.html",
            _ctx(session, principal, register, {"errors": done.messages(), "import_failed": True}),
            block="body",
            status_code=422,
        )
    return render(
        request,
        "registers/index.html",
        _ctx(session, principal, register, {"saved": f"已导入 {done.value.created} 条"}),
        block="body",
    )


@router.get("/registers/{register}/template.xlsx")
def template(register: str, principal: PagePrincipal):
    principal.require("registers:read")
    return download(service.template_xlsx(register), f"{register}-template.xlsx")


@router.get("/registers/{register}/export.xlsx")
def export(register: str, session: SessionDep, principal: PagePrincipal):
    return download(service.export_xlsx(session, actor=principal, register=register), f"{register}.xlsx")
