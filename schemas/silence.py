"""A silence as Alertmanager's API v2 writes it: label matchers and a time span during which matching alerts start
nothing. The same JSON is the value of a silence in the silences topic (``ALERTMESH_TOPIC_SILENCES``, compacted,
keyed by id), so a silence created with ``amtool``, the API or ``alertmesh silence`` is one record everywhere.

Matching is in ``services.shared.matchers`` (it needs the regex engine); this module is only the contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SilenceState = Literal["pending", "active", "expired"]


class Matcher(BaseModel):
    """One label matcher: ``name`` equals (or, ``is_regex``, fully matches) ``value``; ``is_equal`` false negates.
    A label the alert does not have is matched as the empty string, as in Alertmanager."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    name: str = Field(min_length=1, max_length=1024)
    value: str = Field(max_length=4096)
    is_regex: bool = Field(alias="isRegex")
    is_equal: bool = Field(True, alias="isEqual")

    @property
    def operator(self) -> str:
        """``=``, ``!=``, ``=~`` or ``!~``."""
        return ("=~" if self.is_equal else "!~") if self.is_regex else ("=" if self.is_equal else "!=")

    def __str__(self) -> str:
        quoted = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.operator}"{quoted}"'


class Silence(BaseModel):
    """A silence: while ``starts_at <= now < ends_at``, every alert all of whose labels satisfy ``matchers`` starts no
    workflow (it is still recorded, with this silence's id)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    matchers: list[Matcher] = Field(min_length=1, max_length=64)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy", max_length=1024)
    comment: str = Field(max_length=16384)
    updated_at: datetime = Field(alias="updatedAt")

    def state(self, at: datetime) -> SilenceState:
        """``pending`` before it starts, ``active`` while it runs, ``expired`` from its end on."""
        if at < self.starts_at:
            return "pending"
        return "active" if at < self.ends_at else "expired"

    def is_active(self, at: datetime) -> bool:
        """Whether it silences at ``at``."""
        return self.starts_at <= at < self.ends_at
