"""Request bodies of the registration, review, exemption and institution endpoints."""

from __future__ import annotations

from pydantic import Field

from registry.codes import REASON_MAX

from ..web.schemas import Body


class OpenRegistrationBody(Body):
    physician_ids: list[int] = Field(default_factory=list, title="医师", max_length=100_000)
    all: bool = Field(default=False, title="全部医师")


class StepBody(Body):
    data: dict[str, object] = Field(title="内容")
    complete: bool = Field(default=False, title="是否校验完整")


class ReturnBody(Body):
    reason: str = Field(title="退回原因", max_length=REASON_MAX)
    version: int = Field(title="记录版本", ge=1)


class ApproveBody(Body):
    work_rating: str = Field(title="工作成绩评定", max_length=8)
    ethics_rating: str = Field(title="职业道德评定", max_length=8)
    comment: str = Field(default="", title="评定意见", max_length=REASON_MAX)
    version: int = Field(title="记录版本", ge=1)


class BodyApproveBody(Body):
    version: int = Field(title="记录版本", ge=1)


class BatchApproveBody(Body):
    registration_ids: list[int] = Field(title="记录", max_length=5000)


class ExemptionBody(Body):
    condition_codes: list[str] = Field(default_factory=list, title="免考条件", max_length=50)
    proof_file_ids: list[int] = Field(default_factory=list, title="证明材料", max_length=50)
    note: str = Field(default="", title="说明", max_length=REASON_MAX)


class DecisionBody(Body):
    approve: bool = Field(title="审核结论")
    reason: str = Field(default="", title="原因", max_length=REASON_MAX)
    version: int = Field(title="记录版本", ge=1)


class DepartmentBody(Body):
    name: str = Field(title="科室名称", max_length=200)


class TransferBody(Body):
    institution_id: int = Field(title="调入机构", ge=1)
    reason: str = Field(title="调整原因", max_length=REASON_MAX)


class ConditionBody(Body):
    code: str = Field(title="编码", max_length=64)
    name: str = Field(title="条件名称", max_length=1000)
    active: bool = Field(default=True, title="是否启用")
