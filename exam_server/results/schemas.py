"""Request bodies of the result, review, certificate and seal endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from registry.codes import REASON_MAX

from ..web.schemas import Body


class PublishBody(Body):
    institution_id: int | None = Field(default=None, title="机构", ge=1)

    @field_validator("institution_id", mode="before")
    @classmethod
    def _blank_is_all(cls, value: object) -> object:
        return None if value == "" else value  # the page's "all institutions" option


class ReviewRequestBody(Body):
    reason: str = Field(title="复核理由", min_length=1, max_length=REASON_MAX)


class ReviewDecisionBody(Body):
    decision: Literal["upheld", "changed"] = Field(title="复核结论")
    note: str = Field(title="复核说明", min_length=1, max_length=REASON_MAX)


class RevokeBody(Body):
    # reports.REVOCATION_CATEGORIES: the public verification states this category
    category: Literal["result_changed", "violation", "wrong_facts", "reissued", "other"] = Field(
        title="撤销原因类别", description="复核后考核结果已变更 / 考试违规经查实 / 证书信息有误 / 已重新签发证书 / 其他原因")
    reason: str = Field(title="撤销原因", min_length=1, max_length=REASON_MAX)
