"""Field maps: how to read a source's own JSON as alerts, set in a YAML file instead of code.

``INGEST_FIELD_MAPS_FILE`` names the file; each entry of ``sources`` is the webhook path's ``{source}`` (or the
``alertmesh-source`` header a Kafka producer sets) whose bodies the map reads::

    sources:
      edr:
        each: $.detections            # optional: one alert per element of this list (else the body is one alert)
        title: $.rule.name            # required
        severity: $.severity          # optional; the sender's word is kept in severity_original
        severity_map: {"90": critical, "70": high}   # optional: sender value -> critical/high/medium/low/info
        fingerprint: $.id             # optional; default: a hash of title and labels
        status: $.state               # optional; default firing
        status_map: {open: firing, closed: resolved}
        labels: {host: $.device.name} # or one path to an object of labels: labels: $.tags
        starts_at: $.created          # RFC 3339 text, or Unix seconds (milliseconds above 10^11)
        summary: $.rule.description
        urls: {console: $.links.console}

Paths are the JSONPath subset of ``jsonpath`` (``$.a.b``, ``$['a b']``, ``$.list[0]``), evaluated against the
body, or against each element when ``each`` is set. The file is checked whole at start (read by ``dsl.files``, as
every file a user writes is): a bad one stops ingest listing every problem as ``file:line:col: source.key: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from dsl.files import ConfigFileError, load_file, problems_at_keys
from schemas.sources import SOURCE_PATTERN
from services.ingest.parsers.jsonpath import Step, compile_path

ScaleSeverity = Literal["critical", "high", "medium", "low", "info"]
MapStatus = Literal["firing", "resolved"]


class FieldMapFileError(ConfigFileError):
    """The field-map file cannot be used; ``problems`` are its problems as ``file:line:col: message``."""

    headline = "invalid field-map file"


class FieldMap(BaseModel):
    """Where each alert field is in one source's JSON (values are paths)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    each: str | None = None
    title: str
    severity: str | None = None
    severity_map: dict[str, ScaleSeverity] = Field(default_factory=dict)
    fingerprint: str | None = None
    status: str | None = None
    status_map: dict[str, MapStatus] = Field(default_factory=dict)
    labels: str | dict[str, str] | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    summary: str | None = None
    description: str | None = None
    urls: dict[str, str] = Field(default_factory=dict)

    _steps: dict[str, tuple[Step, ...]] = PrivateAttr(default_factory=dict)

    @field_validator("severity_map", "status_map", mode="before")
    @classmethod
    def _keys_as_lower_text(cls, value: object) -> object:
        # YAML reads `90:` as a number; senders' values are compared as lower-case text.
        return {str(key).strip().lower(): item for key, item in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _compile(self) -> FieldMap:
        for field in ("each", "title", "severity", "fingerprint", "status", "starts_at", "ends_at", "summary"):
            path = getattr(self, field)
            if path is not None:
                self._steps[field] = compile_path(path)
        if self.description is not None:
            self._steps["description"] = compile_path(self.description)
        if isinstance(self.labels, str):
            self._steps["labels"] = compile_path(self.labels)
        elif self.labels is not None:
            for name, path in self.labels.items():
                self._steps[f"labels.{name}"] = compile_path(path)
        for name, path in self.urls.items():
            self._steps[f"urls.{name}"] = compile_path(path)
        return self

    def steps(self, field: str) -> tuple[Step, ...] | None:
        """The compiled path of ``field`` ('title', 'labels.host', 'urls.console', ...), None when unset."""
        return self._steps.get(field)


class FieldMapFile(BaseModel):
    """The whole file: one map per source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, FieldMap]

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, FieldMap]) -> dict[str, FieldMap]:
        if bad := [name for name in value if not SOURCE_PATTERN.fullmatch(name)]:
            wrong = [
                (name, f"source {name!r} must match {SOURCE_PATTERN.pattern} (it is a webhook path)") for name in bad
            ]
            raise problems_at_keys("source_name", wrong)
        return value


def load_field_maps(path: Path) -> dict[str, FieldMap]:
    """Read and check a field-map file; ``FieldMapFileError`` lists every problem as ``file:line:col: message``
    naming the source and the key."""
    return dict(load_file(path, FieldMapFile.model_validate, FieldMapFileError).sources)
