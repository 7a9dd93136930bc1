"""The base of every JSON request body; titles are the Chinese field names used in error messages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConfirmBody(Body):
    confirm: bool = Field(title="确认")
