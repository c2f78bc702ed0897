"""JSON API of the registers that feed the goals: training, 数字化测评, projects (/api/v1/registers)."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.config import get_settings
from app.deps import SessionDep, scoped
from app.enterprises.schemas import IsoDate, Whole
from app.errors import ValidationFailed
from app.pagination import Cursor
from app.registers import service

router = APIRouter(prefix="/api/v1/registers", tags=["registers 培训·测评·项目登记"])

Read = Annotated[Principal, scoped("registers:read")]
Write = Annotated[Principal, scoped("registers:write")]
RegisterCode = Annotated[
    Literal["training", "assessments", "projects"],
    Path(description="training 培训登记、assessments 数字化测评、projects 项目库"),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str = Field(min_length=1, max_length=18, description="企业统一社会信用代码")


class TrainingIn(_In):
    course_kind: Literal["digital_officer", "modern_manager", "entrepreneur"] = Field(
        description="digital_officer 数字专员培训、modern_manager 现代管理人员培训、entrepreneur 企业家培训"
    )
    course_name: str = Field(min_length=1, max_length=200)
    participant: str = Field(min_length=1, max_length=50, description="学员姓名")
    position: str | None = Field(default=None, max_length=50)
    training_date: IsoDate


class AssessmentIn(_In):
    assessment_date: IsoDate
    level: Whole = Field(ge=1, le=4, description="测评等级 1–4（一级–四级）")
    score: Whole | None = Field(default=None, ge=0, le=100)
    assessor: str | None = Field(default=None, max_length=100)


class ProjectIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["tech_upgrade", "key_chain"] = Field(
        description="tech_upgrade 技改项目、key_chain 强链延链补链重点项目"
    )
    stage: Literal["planned", "under_construction", "completed"]
    investment_yuan: Whole = Field(ge=0, le=10**13, description="计划总投资（元）")
    start_date: IsoDate
    completion_date: IsoDate | None = None


class RecordRead(BaseModel):
    id: int
    enterprise_id: int
    uscc: str
    enterprise_name: str
    township: str
    fields: dict[str, Any]


class RecordPage(BaseModel):
    items: list[RecordRead]
    next_cursor: str | None
    total: int


class ImportRead(BaseModel):
    # "register" is the wire name; the attribute is named otherwise because BaseModel's metaclass
    # already has a `register` method.
    register_code: str = Field(alias="register")
    created: int


class TotalsRead(BaseModel):
    start: date
    end: date
    digital_officers: int
    modern_managers: int
    entrepreneurs: int
    assessed_firms: int
    assessments: int
    projects: int
    key_projects: int
    investment_yuan: int


def _read(reg_code: str, row: service.Row) -> RecordRead:
    reg = service.get_register(reg_code)
    rec = row.record
    return RecordRead(
        id=rec.id,
        enterprise_id=rec.enterprise_id,
        uscc=row.uscc,
        enterprise_name=row.enterprise_name,
        township=row.township,
        fields={f: getattr(rec, f) for f in reg.fields},
    )


@router.get(
    "/totals",
    summary="登记簿汇总（培训人数、测评企业数、项目数）",
    response_model=TotalsRead,
    responses=responses(401, 403, 422, 429),
)
def register_totals(
    session: SessionDep, principal: Read, start: Annotated[IsoDate, Query()], end: Annotated[IsoDate, Query()]
):
    """期间内各类培训的学员人次、完成数字化测评的企业数、开工项目数和计划总投资（元）。乡镇工作人员只统计本乡镇。"""
    if end < start:
        raise ValidationFailed.one("end", "end：截止日期早于起始日期")
    t = service.totals(session, actor=principal, start=start, end=end)
    return TotalsRead(start=start, end=end, **t.__dict__)


def _lister(register: str):
    def list_records(
        session: SessionDep,
        principal: Read,
        township: Annotated[str | None, Query(max_length=20)] = None,
        start: Annotated[IsoDate | None, Query()] = None,
        end: Annotated[IsoDate | None, Query()] = None,
        cursor: Cursor = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ):
        """按日期从新到旧。乡镇工作人员只看到本乡镇企业的记录。"""
        rows, nxt, total = service.list_records(
            session,
            actor=principal,
            register=register,
            township=township,
            start=start,
            end=end,
            cursor=cursor,
            limit=limit,
        )
        return RecordPage(items=[_read(register, r) for r in rows], next_cursor=nxt, total=total)

    list_records.__name__ = f"list_{register}"
    return list_records


for _code, _name in (("training", "培训登记"), ("assessments", "数字化测评"), ("projects", "项目库")):
    router.add_api_route(
        f"/{_code}",
        _lister(_code),
        methods=["GET"],
        summary=f"{_name}记录（游标分页）",
        response_model=RecordPage,
        responses=responses(401, 403, 422, 429),
    )


def _created(session, principal, register: str, data: _In) -> RecordRead:
    rec = service.create(session, actor=principal, register=register, values=data.model_dump())
    from app.enterprises.models import Enterprise

    ent = session.get(Enterprise, rec.enterprise_id)
    return _read(register, service.Row(rec, ent.name, ent.uscc, ent.township))


@router.post(
    "/training",
    summary="登记一名培训学员",
    status_code=201,
    response_model=RecordRead,
    responses=responses(401, 403, 404, 422, 429),
)
def create_training(data: TrainingIn, session: SessionDep, principal: Write):
    """数字专员、现代管理人员培训的学员计入冠政发〔2022〕9号 二 的两项三年目标。"""
    return _created(session, principal, "training", data)


@router.post(
    "/assessments",
    summary="登记一次数字化测评",
    status_code=201,
    response_model=RecordRead,
    responses=responses(401, 403, 404, 422, 429),
)
def create_assessment(data: AssessmentIn, session: SessionDep, principal: Write):
    """计入 2023 年目标表第 5 行“中小企业数字化水平测评数量”（每家企业计一次）。"""
    return _created(session, principal, "assessments", data)


@router.post(
    "/projects",
    summary="登记一个项目",
    status_code=201,
    response_model=RecordRead,
    responses=responses(401, 403, 404, 422, 429),
)
def create_project(data: ProjectIn, session: SessionDep, principal: Write):
    """技改项目与强链延链补链重点项目（冠政办发〔2023〕7号 二（四）10）。"""
    return _created(session, principal, "projects", data)


@router.post(
    "/{register}/import",
    summary="从 Excel 导入登记簿（全部成功或全部不写入）",
    response_model=ImportRead,
    status_code=201,
    responses=responses(401, 403, 404, 422, 429),
)
def import_register(
    register: RegisterCode,
    session: SessionDep,
    principal: Write,
    file: Annotated[UploadFile, File(description=".xlsx，列同下载的模板")],
):
    """任何一处有误（含不属于本乡镇的企业），整个文件都不写入，`errors` 列出每个错误的行、列和单元格（如 C3）。"""
    data = file.file.read(get_settings().import_max_bytes + 1)
    r = service.import_xlsx(session, actor=principal, register=register, data=data)
    return ImportRead(register=r.register, created=r.created)
