"""The yearly evaluation report (printable A4, .xlsx, public version) and non-award fund spending."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.awards import funds as fund_service
from app.awards.models import FUND_ENTRY_NAMES, SPENDING_KINDS
from app.deps import PageForm, PagePrincipal, SessionDep
from app.errors import ValidationFailed
from app.evaluation import excel, report, spending
from app.money import wan_to_yuan
from app.policies.schema import FUNDER_NAMES
from app.web.forms import attempt, form_date
from app.web.render import download, redirect, render

router = APIRouter(include_in_schema=False)


def _build(session, principal, scope: str, year: int | None, public: bool):
    today = date.today()
    if scope == "year" and year is None:
        year = today.year
    return report.build(session, actor=principal, scope=scope, year=year, public=public, today=today)


@router.get("/evaluation")
def evaluation_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    scope: Annotated[str, Query(max_length=4)] = "year",
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    public: Annotated[bool, Query()] = False,
):
    rep = _build(session, principal, scope, year, public)
    return render(
        request,
        "evaluation/report.html",
        {
            "section": "support",
            "tab": "evaluation",
            "rep": rep,
            "years": list(range(2022, date.today().year + 1)),
            "today": date.today(),
            "FUNDER_NAMES": FUNDER_NAMES,
        },
    )


@router.get("/evaluation/report.xlsx")
def evaluation_xlsx(
    session: SessionDep,
    principal: PagePrincipal,
    scope: Annotated[str, Query(max_length=4)] = "year",
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    public: Annotated[bool, Query()] = False,
):
    rep = _build(session, principal, scope, year, public)
    name = f"evaluation-{rep.year or 'plan'}{'-public' if public else ''}.xlsx"
    return download(excel.report_xlsx(rep), name)


def _spending_page(request, session, principal, errors=None, message=None, status_code=200):
    principal.require("awards:read")
    return render(
        request,
        "evaluation/spending.html",
        {
            "section": "support",
            "tab": "evaluation",
            "balances": fund_service.balances(session),
            "entries": spending.entries(session),
            "kinds": {k: FUND_ENTRY_NAMES[k] for k in SPENDING_KINDS},
            "spent": spending.spending(session),
            "errors": errors or [],
            "message": message,
            "today": date.today(),
        },
        status_code=status_code,
    )


@router.get("/evaluation/spending")
def spending_page(request: Request, session: SessionDep, principal: PagePrincipal, done: bool = False):
    return _spending_page(request, session, principal, message="已记入资金台账" if done else None)


@router.post("/evaluation/spending")
def record_spending(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    def save():
        amount = wan_to_yuan(form.get("amount_wan"), "amount_yuan")
        when = form_date(form.get("spent_date"), "spent_date", "请填写支出日期（YYYY-MM-DD）")
        fund_id = str(form.get("fund_id") or "")
        if not fund_id.isdigit() or len(fund_id) > 9:
            raise ValidationFailed.one("fund_id", "请选择资金")
        spending.spend(
            session,
            actor=principal,
            fund_id=int(fund_id),
            kind=str(form.get("kind") or ""),
            amount_yuan=amount,
            spent_date=when,
            note=str(form.get("note") or ""),
        )

    done = attempt(session, save)
    if done.error:
        return _spending_page(request, session, principal, errors=done.messages(), status_code=done.status)
    return redirect(request, "/evaluation/spending?done=true")
