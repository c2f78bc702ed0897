"""Award pages: the county review queue (inline approve / reject / pay), a line's receipt, fund balances
with a chart, the forecast with what-if, 公示, the ledger export, and the awards panel on the enterprise page.

Amounts are shown and typed in 万元 and converted to integer 元 with Decimal (never float).
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards import event_models, excel, proposals, workflow
from app.awards import facts as award_facts
from app.awards import forecast as forecast_service
from app.awards import funds as fund_service
from app.awards import labels as award_labels
from app.awards import ledger as award_ledger
from app.awards.event_models import CONTEST_NAMES, FIELD_LABELS, PURPOSE_NAMES, RANK_NAMES
from app.awards.labels import EVENT_FORM_LABELS
from app.awards.schemas import ExtraFacts
from app.deps import CurrentEnterprise, PageForm, PagePrincipal, SessionDep
from app.errors import ValidationFailed
from app.money import wan_number, wan_to_yuan
from app.policies import coverage
from app.policies import store as policy_store
from app.policies.schema import FUNDER_NAMES
from app.reference import LEVEL_NAMES
from app.web.forms import attempt, form_date
from app.web.render import download, list_qs, redirect, render, templates

router = APIRouter(include_in_schema=False)


def policy_gap_today() -> str | None:
    """Why no policy document is in force today (None when one is): pages stop promising awards then.

    A hint on pages without a session at hand: the published set this process read last (every
    enterprise page reads it for its awards panel first)."""
    ps = policy_store.last_known()
    return None if ps is None else coverage.lapse_message(ps, date.today())


templates.env.globals["policy_gap_today"] = policy_gap_today
templates.env.globals.update(  # the words of this domain come from app/awards/labels.py
    describe_event=award_facts.describe_event,
    award_subject=award_ledger.subject_of,
)


# --- the enterprise panel -------------------------------------------------------------------

# Fields of each recordable event type, in the order the form shows them, with their input kind.
FIELD_INPUTS = {
    "previous_revenue_yuan": "wan",
    "revenue_yuan": "wan",
    "interest_paid_yuan": "wan",
    "amount_yuan": "wan",
    "grant_yuan": "wan",
    "benchmark_interest_yuan": "wan",
    "new_output_yuan": "wan",
    "participants": "int",
    "city_rank": "int",
    "growth_rate": "decimal",
}
# The choices of the event form, in the words of app/awards/labels.py (a talent programme is national or provincial).
CHOICE_LABELS = {
    "purpose": PURPOSE_NAMES,
    "contest": CONTEST_NAMES,
    "rank": RANK_NAMES,
    "level": {k: LEVEL_NAMES[k] for k in ("national", "provincial")},
}


def _members():
    from app.awards import event_models as events

    return [
        events.FirstAboveScaleEvent,
        events.SalesMilestoneEvent,
        events.LoanInterestEvent,
        events.EquipmentPurchaseEvent,
        events.DesignPrizeEvent,
        events.SkillsContestEvent,
        events.TalentProgramEvent,
        events.TalentLoanInterestEvent,
        events.OutputGrowthEvent,
    ]


def event_fields(event_type: str) -> list[dict]:
    """The inputs the event form shows for one event type."""
    model = {m.model_fields["type"].default: m for m in _members()}.get(event_type)
    if model is None:
        return []
    out = []
    for name in model.model_fields:
        if name in ("type", "date"):
            continue
        kind = FIELD_INPUTS.get(name, "choice" if name in CHOICE_LABELS else "text")
        label = FIELD_LABELS.get(name) or EVENT_FORM_LABELS.get(name) or award_labels.FIELDS.get(name, name)
        out.append(
            {
                "name": name,
                "input": name.removesuffix("_yuan") + "_wan" if kind == "wan" else name,
                "kind": kind,
                "label": label + ("（万元）" if kind == "wan" else ""),
                "choices": CHOICE_LABELS.get(name, {}),
            }
        )
    return out


def enterprise_panel(session: Session, principal: Principal, ent) -> dict | None:
    if not principal.has("awards:read"):
        return None
    return {
        "title": "奖补",
        "template": "awards/_panel.html",
        "context": _panel_context(session, principal, ent),
    }


def _panel_context(session, principal, ent, **extra) -> dict:
    lines = workflow.enterprise_lines(session, actor=principal, enterprise_id=ent.id)
    event_type = extra.pop("event_type", "first_above_scale")
    return {
        "lines": lines,
        "events": proposals.enterprise_events(session, actor=principal, enterprise_id=ent.id)[:20],
        "types": {t: event_models.EVENT_TYPE_NAMES[t] for t in award_facts.RECORDABLE_TYPES},
        "event_type": event_type,
        "fields": event_fields(event_type),
        "values": {},
        "errors": [],
        "warnings": [],
        "gap_today": coverage.lapse_message(policy_store.current(session), date.today()),
        **extra,
    }


def _panel(request, session, principal, ent, status=200, **extra):
    ctx = {"p": {"title": "奖补", "context": _panel_context(session, principal, ent, **extra)}, "ent": ent}
    return render(request, "awards/_panel.html", ctx, status_code=status)


@router.get("/enterprises/{enterprise_id}/awards")
def enterprise_awards(
    request: Request,
    enterprise_id: int,
    ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
):
    principal.require("awards:read")
    return _panel(request, session, principal, ent)


@router.get("/enterprises/{enterprise_id}/events/fields")
def event_form_fields(
    request: Request,
    enterprise_id: int,
    ent: CurrentEnterprise,
    principal: PagePrincipal,
    type: str = "first_above_scale",
):
    """The inputs for the chosen event type (htmx swaps them into the form)."""
    if type not in award_facts.RECORDABLE_TYPES:
        type = "first_above_scale"
    return render(
        request, "awards/_event_fields.html", {"fields": event_fields(type), "values": {}, "event_type": type}
    )


@router.post("/enterprises/{enterprise_id}/events")
def record_event(
    request: Request,
    enterprise_id: int,
    ent: CurrentEnterprise,
    session: SessionDep,
    principal: PagePrincipal,
    form: PageForm,
):
    principal.require("enterprises:write")
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items() if k != "csrf_token"}
    event_type = values.get("type") or ""

    def save():
        if event_type not in award_facts.RECORDABLE_TYPES:
            raise ValidationFailed.one("event.type", "请选择事件类型")
        event: dict[str, Any] = {"type": event_type, "date": values.get("date") or None}
        for f in event_fields(event_type):
            raw = values.get(f["input"]) or ""
            if f["kind"] == "wan":
                event[f["name"]] = wan_to_yuan(raw, f"event.{f['name']}", required=False)
            elif raw:
                event[f["name"]] = raw
        event = {k: v for k, v in event.items() if v is not None}
        facts = None
        if event_type == "talent_loan_interest":
            facts = ExtraFacts.model_validate(
                {
                    "talent_founded_date": values.get("talent_founded_date") or None,
                    "other_interest_subsidy": {"yes": True, "no": False}.get(
                        values.get("other_interest_subsidy", "")
                    ),
                }
            ).model_dump(mode="json")
        return proposals.record_event(
            session,
            actor=principal,
            enterprise_id=ent.id,
            event=event,
            facts=facts,
            note=values.get("note") or None,
        )

    done = attempt(session, save)
    if done.error:
        return _panel(
            request,
            session,
            principal,
            ent,
            status=done.status,
            event_type=event_type or "first_above_scale",
            values=values,
            errors=done.messages(),
        )
    rec = done.value
    n = len(rec.lines)
    message = (
        f"已记录{event_models.EVENT_TYPE_NAMES[event_type]}，自动生成 {n} 笔待审核奖补"
        if n
        else (f"已记录{event_models.EVENT_TYPE_NAMES[event_type]}；按现行政策没有可生成的奖补")
    )
    return _panel(
        request,
        session,
        principal,
        ent,
        event_type=event_type,
        message=message,
        not_computable=rec.proposal.result.not_computable,
        warnings=rec.warnings,
    )


# --- the county queue ------------------------------------------------------------------------


def _line_filters(request: Request) -> workflow.LineFilters:
    qp = request.query_params
    year = qp.get("year") or ""
    if year and not year.isdigit():
        raise ValidationFailed.one("year", "年度应为数字")
    status = [s for s in qp.getlist("status") if s]
    return workflow.LineFilters(
        status=status or (None if "status" in qp else ["proposed"]),
        funder=qp.get("funder") or None,
        township=qp.get("township") or None,
        year=int(year) if year else None,
        q=(qp.get("q") or "").strip()[:100] or None,
    )


@router.get("/awards")
def queue(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    principal.require("awards:read")
    filters = _line_filters(request)
    rows, next_cursor = workflow.list_lines(
        session, actor=principal, filters=filters, cursor=cursor, limit=50
    )
    shown = award_ledger.ledger_totals(session, actor=principal, filters=filters)
    # "status" stays in the links even when "全部" is chosen (status=), so the export holds the same rows.
    base_qs = list_qs(request)
    if "status" in request.query_params and not filters.status:
        base_qs = "&".join(p for p in ("status=", base_qs) if p)
    return render(
        request,
        "awards/queue.html",
        {
            "section": "awards",
            "rows": rows,
            "next_cursor": next_cursor,
            "f": filters,
            "base_qs": base_qs,
            "total": sum(v for k, v in shown.items() if k.endswith("_count")),
            "totals": award_ledger.ledger_totals(session, actor=principal),
            "funds": fund_service.balances(session),
            "is_first_page": cursor is None,
        },
        block="results",
    )


def _row(request, session, principal, line_id, *, status=200, errors=None, message=None):
    line, ent = workflow.get_line(session, actor=principal, line_id=line_id)
    return render(
        request,
        "awards/_row.html",
        {
            "line": line,
            "ent_name": ent.name,
            "township": ent.township,
            "row_errors": errors or [],
            "message": message,
            "funds": fund_service.balances(session),
            "oob_totals": award_ledger.ledger_totals(session, actor=principal),
        },
        status_code=status,
    )


def _row_after(request, session, principal, line_id, done, message: str):
    """The line's row after a decision: with the errors beside it, or with what was done."""
    if done.error:
        return _row(request, session, principal, line_id, status=done.status, errors=done.messages())
    return _row(request, session, principal, line_id, message=message)


def split_funders_of(rule_id: str) -> list[str]:
    """The funders whose shares a line of this rule is approved with (技改 ≤10% 省、市、县合计), or []."""
    rule = policy_store.rule_seen(rule_id)
    return list(rule.split_funders or []) if rule is not None else []


templates.env.globals["split_funders_of"] = split_funders_of


@router.post("/awards/lines/{line_id}/approve")
def approve(request: Request, line_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:approve")

    def save():
        fund_id = form.get("fund_id") or None
        if fund_id is not None and not str(fund_id).isdigit():
            raise ValidationFailed.one("fund_id", "请选择资金")
        split = None
        if any(k.startswith("split_") for k in form):
            split = {
                k[len("split_") : -len("_wan")]: wan_to_yuan(
                    v, f"split.{k[len('split_') : -len('_wan')]}", required=False
                )
                or 0
                for k, v in form.items()
                if k.startswith("split_") and k.endswith("_wan")
            }
            amount = None
        else:
            amount = wan_to_yuan(form.get("amount_wan"), "amount_yuan")
        workflow.approve(
            session,
            actor=principal,
            line_id=line_id,
            comment=form.get("comment") or "",
            amount_yuan=amount,
            fund_id=int(fund_id) if fund_id else None,
            split=split,
        )

    return _row_after(request, session, principal, line_id, attempt(session, save), "已批准")


@router.post("/awards/lines/{line_id}/reject")
def reject(request: Request, line_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:approve")
    done = attempt(
        session,
        lambda: workflow.reject(session, actor=principal, line_id=line_id, reason=form.get("reason") or ""),
    )
    return _row_after(request, session, principal, line_id, done, "已驳回")


@router.post("/awards/lines/{line_id}/pay")
def pay(request: Request, line_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:approve")

    def save():
        paid = form_date(form.get("paid_date"), "paid_date", "请填写拨付日期（YYYY-MM-DD）")
        workflow.pay(
            session, actor=principal, line_id=line_id, paid_date=paid, voucher_no=form.get("voucher_no") or ""
        )

    return _row_after(request, session, principal, line_id, attempt(session, save), "已登记拨付")


@router.get("/awards/lines/{line_id}")
def line_page(request: Request, line_id: int, session: SessionDep, principal: PagePrincipal):
    line, ent = workflow.get_line(session, actor=principal, line_id=line_id)
    from app.audit import service as audit

    history = [
        h
        for h in audit.for_enterprise(session, ent.id)
        if h.entity_type == "award_line" and h.entity_id == str(line.id)
    ]
    return render(
        request,
        "awards/line.html",
        {
            "section": "awards",
            "line": line,
            "ent": ent,
            "history": history,
            "recompute": workflow.recompute(session, actor=principal, line_id=line_id),
            "subject": award_ledger.subject_of(line),
            "funds": fund_service.balances(session),
        },
    )


@router.get("/awards/ledger.xlsx")
def ledger_xlsx(request: Request, session: SessionDep, principal: PagePrincipal):
    filters = _line_filters(request)  # the same filters, defaults included, as the list it is exported from
    data = excel.ledger_xlsx(session, actor=principal, filters=filters)
    return download(data, "award-ledger.xlsx")


# --- 公示 ---------------------------------------------------------------------------------------


def _year(request: Request) -> int | None:
    year = request.query_params.get("year") or ""
    if year and not (year.isdigit() and 2000 <= int(year) <= 2100):
        raise ValidationFailed.one("year", "年度应为 2000–2100 之间的数字")
    return int(year) if year else None


@router.get("/awards/notice")
def notice(request: Request, session: SessionDep, principal: PagePrincipal):
    year = _year(request)
    rows = award_ledger.notice_rows(session, actor=principal, year=year)
    return render(
        request,
        "awards/notice.html",
        {
            "section": "awards",
            "rows": rows,
            "year": year,
            "total": sum(line.amount_yuan or 0 for line, _, _ in rows),
            "subject_of": award_ledger.subject_of,
            "today": date.today(),
        },
    )


@router.get("/awards/notice.xlsx")
def notice_xlsx(request: Request, session: SessionDep, principal: PagePrincipal):
    data = excel.notice_xlsx(session, actor=principal, year=_year(request))
    return download(data, "award-notice.xlsx")


# --- funds ---------------------------------------------------------------------------------


def _funds_page(request, session, principal, *, status=200, errors=None, message=None):
    balances = fund_service.balances(session)
    chart = {
        "names": [b.fund.name for b in balances],
        "paid": [round(wan_number(b.paid_yuan), 2) for b in balances],
        "approved": [round(wan_number(b.fund.drawn_yuan - b.paid_yuan), 2) for b in balances],
        "remaining": [round(wan_number(b.remaining_yuan), 2) for b in balances],
        "proposed": [round(wan_number(b.proposed_yuan), 2) for b in balances],
    }
    by_year = award_ledger.totals_by_year_funder(session, actor=principal)
    unfunded = forecast_service.unfunded_proposed(
        session, actor=principal
    )  # the forecast shows the same figure
    ps = policy_store.current(session)
    return render(
        request,
        "awards/funds.html",
        {
            "unfunded": unfunded,
            "section": "awards",
            "balances": balances,
            "chart": chart,
            "by_year": by_year,
            "documents": ps.documents,
            "errors": errors or [],
            "message": message,
            "fund_notes": {f.id: f.note for f in ps.funds if f.note},
        },
        status_code=status,
    )


FUND_MESSAGES = {
    "created": "已设立资金",
    "top_up": "已追加资金，记入资金台账",
    "period": "已修改资金期间",
    "budget": "已调整资金额度，记入资金台账",
}


def _fund_period(form) -> tuple[date, date]:
    message = "请填写资金期间的开始和结束日期"
    return (
        form_date(form.get("period_start"), "period_start", message),
        form_date(form.get("period_end"), "period_start", message),
    )


def _funds_after(request, session, principal, done, what: str):
    if done.error:
        return _funds_page(request, session, principal, status=done.status, errors=done.messages())
    return redirect(request, f"/awards/funds?done={what}")


@router.get("/awards/funds")
def funds_page(request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None):
    principal.require("awards:read")
    return _funds_page(request, session, principal, message=FUND_MESSAGES.get(done or ""))


@router.post("/awards/funds")
def create_fund(request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:write")

    def save():
        amount = wan_to_yuan(form.get("amount_wan"), "amount_yuan")
        start, end = _fund_period(form)
        funder = form.get("funder") or ""
        if funder not in FUNDER_NAMES:
            raise ValidationFailed.one("funder", "请选择出资层级")
        name = (form.get("name") or "").strip()
        if len(name) < 2:
            raise ValidationFailed.one("name", "请填写资金名称")
        fund_service.create(
            session,
            actor=principal,
            name=name,
            funder=funder,
            period_start=start,
            period_end=end,
            amount_yuan=amount,
            document_code=form.get("document_code") or None,
            clause=(form.get("clause") or "").strip() or None,
            note=(form.get("note") or "").strip() or None,
        )

    return _funds_after(request, session, principal, attempt(session, save), "created")


@router.post("/awards/funds/{fund_id}/top-up")
def top_up(request: Request, fund_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:write")

    def save():
        amount = wan_to_yuan(form.get("amount_wan"), "amount_yuan")
        fund_service.top_up(
            session,
            actor=principal,
            fund_id=fund_id,
            amount_yuan=amount,
            note=(form.get("note") or "").strip(),
            year=_form_year(form),
        )

    return _funds_after(request, session, principal, attempt(session, save), "top_up")


def _form_year(form) -> int | None:
    text = str(form.get("year") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise ValidationFailed.one("year", f"年度“{text}”应为四位数年份")
    return int(text)


@router.post("/awards/funds/{fund_id}/budget")
def adjust_budget(
    request: Request, fund_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    """预算调整: set a year's budget of a yearly fund (or a fund's budget) with a reason."""
    principal.require("awards:write")

    def save():
        budget = wan_to_yuan(form.get("budget_wan"), "budget_yuan")
        fund_service.set_year_budget(
            session,
            actor=principal,
            fund_id=fund_id,
            year=_form_year(form),
            budget_yuan=budget,
            reason=(form.get("reason") or "").strip(),
        )

    return _funds_after(request, session, principal, attempt(session, save), "budget")


@router.post("/awards/funds/{fund_id}/period")
def set_period(request: Request, fund_id: int, session: SessionDep, principal: PagePrincipal, form: PageForm):
    principal.require("awards:write")

    def save():
        start, end = _fund_period(form)
        fund_service.update_fund(
            session, actor=principal, fund_id=fund_id, period_start=start, period_end=end
        )

    return _funds_after(request, session, principal, attempt(session, save), "period")


# --- forecast -------------------------------------------------------------------------------


def _overrides(request: Request, session: Session) -> tuple[dict[str, Decimal], list[dict]]:
    """What-if rows from the page: a rule and its new figure (万元 for amounts, % for percentages)."""
    qp = request.query_params
    rules = policy_store.current(session).rules
    overrides: dict[str, Decimal] = {}
    shown = []
    for rule_id, value in zip(qp.getlist("override_rule"), qp.getlist("override_value"), strict=False):
        if not rule_id or not value.strip():
            continue
        rule = rules.get(rule_id)
        if rule is None or rule.amount is None:
            raise ValidationFailed.one("override_rule", f"没有可测算的规则 {rule_id}")
        if rule.amount.shape in ("fixed", "up_to", "unspecified"):
            overrides[rule_id] = Decimal(wan_to_yuan(value, "override_value"))
        else:
            try:
                overrides[rule_id] = Decimal(value.strip().rstrip("%"))
            except InvalidOperation:
                raise ValidationFailed.one("override_value", f"“{value}”不是百分数") from None
        shown.append({"rule": rule_id, "value": value.strip()})
    return overrides, shown


CANDIDATE_ROWS = 5


def _who(session, principal, text: str, n: int) -> int:
    """An enterprise as picked in the search box: "名称（信用代码）", a 统一社会信用代码, or an exact name."""
    from sqlalchemy import select

    from app.enterprises import service as enterprise_service
    from app.enterprises.models import Enterprise

    m = re.search(r"[（(]([0-9A-Z]{18})[）)]\s*$", text)
    code = m.group(1) if m else text.strip().upper()
    if re.fullmatch(r"[0-9A-Z]{18}", code):
        return enterprise_service.get_by_uscc(session, actor=principal, uscc=code, with_details=False).id
    stmt = select(Enterprise.id).where(Enterprise.name == text.strip(), Enterprise.deleted_at.is_(None))
    if principal.township_filter():
        stmt = stmt.where(Enterprise.township == principal.township_filter())
    ids = session.scalars(stmt.limit(2)).all()
    if len(ids) != 1:
        raise ValidationFailed.one(
            f"candidates[{n - 1}]", f"第 {n} 行：找不到企业“{text}”，请从搜索结果中选择"
        )
    return ids[0]


def _candidates(session, principal, qp) -> tuple[list[dict], list[dict]]:
    """The candidate rows of the page: a firm picked by search, an honour and a level from lists, a date."""
    out, shown = [], []
    rows = zip(
        qp.getlist("cand_who"),
        qp.getlist("cand_honour"),
        qp.getlist("cand_level"),
        qp.getlist("cand_date"),
        strict=False,
    )
    for n, (who, honour, level, when) in enumerate(rows, start=1):
        shown.append({"who": who, "honour": honour, "level": level, "date": when})
        if not who.strip():
            continue
        if not honour or not level:
            raise ValidationFailed.one(f"candidates[{n - 1}]", f"第 {n} 行：请选择认定和级别")
        out.append(
            {
                "enterprise_id": _who(session, principal, who, n),
                "honour": honour,
                "level": level,
                "outcome": "new",
                "date": when or None,
            }
        )
    return out, shown


@router.get("/awards/forecast")
def forecast_page(request: Request, session: SessionDep, principal: PagePrincipal):
    principal.require("awards:read")
    qp = request.query_params
    scenario = qp.get("scenario") or "targets"
    year_text = qp.get("year") or "2023"
    ctx: dict[str, Any] = {
        "section": "awards",
        "scenario": scenario,
        "year": year_text,
        "candidate_rows": [],
        "CANDIDATE_ROWS": CANDIDATE_ROWS,
        "prompt": None,
        "rules": [
            r for r in policy_store.current(session).rules.values() if r.amount is not None and r.funder
        ],
        "errors": [],
        "out": None,
        "shown": [],
    }

    def compute():
        if not year_text.isdigit():
            raise ValidationFailed.one("year", "年度应为数字")
        overrides, ctx["shown"] = _overrides(request, session)
        candidates, ctx["candidate_rows"] = (
            _candidates(session, principal, qp) if scenario == "candidates" else (None, [])
        )
        if scenario == "candidates" and not candidates:
            ctx["prompt"] = "请在上方“候选企业”中搜索并选择企业、认定和级别，再点“测算”。"
        else:
            ctx["out"] = forecast_service.forecast(
                session,
                actor=principal,
                scenario=scenario,
                year=int(year_text),
                candidates=candidates,
                overrides=overrides,
            )

    # A candidate the page names but the registry does not hold is said beside the form (404), too.
    done = attempt(session, compute, inline=(404, 422))
    ctx["errors"] = done.messages()
    return render(request, "awards/forecast.html", ctx, block="results", status_code=done.status)
