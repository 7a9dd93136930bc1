"""The six roles of docs/assessment-rules.md and what a role's scope covers."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PHYSICIAN = "physician"
    INSTITUTION = "institution"  # the institution's assessment officer 定考负责人
    BODY = "body"  # assessment body 考核机构
    HEALTH_ADMIN = "health_admin"  # 卫生健康行政部门
    INVIGILATOR = "invigilator"
    ADMIN = "admin"


ROLE_NAMES_ZH = {
    Role.PHYSICIAN: "医师",
    Role.INSTITUTION: "医疗卫生机构",
    Role.BODY: "考核机构",
    Role.HEALTH_ADMIN: "卫生健康行政部门",
    Role.INVIGILATOR: "监考员",
    Role.ADMIN: "系统管理员",
}
