"""How the registers feed target measures (the vocabulary in app/reference/targets_2023.yaml):

  training_count       participants (training records) of the given course kinds dated in the window
  digital_assessments  distinct enterprises with an assessment dated in the window
  project_count        projects of one kind under way in the window (counted by app/targets/progress.py;
                       here only the enterprises behind a cell and what was counted for them)

Each gives app/targets/progress.py one small SQL statement grouped by township, never a Python loop.
"""

from datetime import date

from sqlalchemy import Select, String, func, literal, select
from sqlalchemy.orm import Session

from app.enterprises.models import Enterprise
from app.registers.labels import COURSE_NAMES, LEVEL_NAMES, PROJECT_KIND_NAMES, STAGE_NAMES
from app.registers.models import DigitalAssessment, Project, TrainingRecord

KINDS = ("training_count", "digital_assessments", "project_count")  # cells, bases and descriptions
COUNTED = ("training_count", "digital_assessments")  # counted by statement() below
MEASURE_NAMES = {
    "training_count": "培训人数（培训登记）",
    "digital_assessments": "数字化测评企业数（测评登记）",
}


def _where(m: dict, start: date, end: date):
    if m["kind"] == "training_count":
        return TrainingRecord, [
            TrainingRecord.course_kind.in_(m["courses"]),
            TrainingRecord.training_date.between(start, end),
        ]
    if m["kind"] == "digital_assessments":
        return DigitalAssessment, [DigitalAssessment.assessment_date.between(start, end)]
    # under way in the window: past planning, started by its end, not completed before its start
    return Project, [
        Project.kind == m["project_kind"],
        Project.stage != "planned",
        Project.start_date <= end,
        (Project.completion_date.is_(None)) | (Project.completion_date >= start),
    ]


def statement(key: str, m: dict, start: date, end: date) -> tuple[str, Select]:
    """("pairs", SELECT key, enterprise_id) for distinct-enterprise counts, or ("parts", SELECT key, township, n)
    for counts of records (participants, projects)."""
    model, conds = _where(m, start, end)
    if m["kind"] == "digital_assessments":
        return "pairs", select(
            literal(key, String).label("key"), model.enterprise_id.label("enterprise_id")
        ).where(*conds)
    return "parts", (
        select(literal(key, String).label("key"), Enterprise.township, func.count(model.id).label("n"))
        .select_from(model)
        .join(Enterprise, Enterprise.id == model.enterprise_id)
        .where(*conds)
        .group_by(Enterprise.township)
    )


def enterprises(m: dict, start: date, end: date) -> Select:
    model, conds = _where(m, start, end)
    return select(model.enterprise_id).where(*conds)


def describe(m: dict, start: date, end: date) -> str:
    span = f"{start.isoformat()} 至 {end.isoformat()}"
    if m["kind"] == "training_count":
        names = "、".join(COURSE_NAMES[c] for c in m["courses"])
        return f"{span} 期间参加“{names}”的学员人数（培训登记，每条记录一人次）"
    if m["kind"] == "digital_assessments":
        return f"{span} 期间完成中小企业数字化水平测评的企业数（测评登记，每家企业计一次）"
    return f"{span} 期间在建或竣工的{PROJECT_KIND_NAMES[m['project_kind']]}个数（项目库，谋划储备阶段不计）"


def bases(session: Session, m: dict, start: date, end: date, ids: list[int]) -> dict[int, str]:
    """What was counted for each enterprise of a page: one query."""
    model, conds = _where(m, start, end)
    out: dict[int, list[str]] = {}
    if model is TrainingRecord:
        stmt = select(model.enterprise_id, model.course_kind, model.participant, model.training_date)
        fmt = lambda r: f"{COURSE_NAMES[r[1]]}：{r[2]}（{r[3].isoformat()}）"  # noqa: E731
        order = model.training_date
    elif model is DigitalAssessment:
        stmt = select(model.enterprise_id, model.level, model.assessment_date)
        fmt = lambda r: f"数字化测评 {LEVEL_NAMES[r[1]]}（{r[2].isoformat()}）"  # noqa: E731
        order = model.assessment_date
    else:
        stmt = select(model.enterprise_id, model.name, model.kind, model.stage, model.start_date)
        fmt = lambda r: f"{r[1]}（{PROJECT_KIND_NAMES[r[2]]}，{STAGE_NAMES[r[3]]}，{r[4].isoformat()} 开工）"  # noqa: E731
        order = model.start_date
    for r in session.execute(stmt.where(*conds, model.enterprise_id.in_(ids)).order_by(order)):
        out.setdefault(r[0], []).append(fmt(r))
    return {eid: "；".join(v) for eid, v in out.items()}
