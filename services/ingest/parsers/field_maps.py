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
body, or against each element when ``each`` is set. The file is checked whole at start: a bad one stops ingest
with the file, the source and the key that are wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from schemas.sources import SOURCE_PATTERN
from services.ingest.parsers.jsonpath import Step, compile_path

ScaleSeverity = Literal["critical", "high", "medium", "low", "info"]
MapStatus = Literal["firing", "resolved"]


class FieldMapFileError(ValueError):
    """The field-map file cannot be used; the message names the file and what is wrong."""


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
        for name in value:
            if not SOURCE_PATTERN.fullmatch(name):
                raise ValueError(f"source {name!r} must match {SOURCE_PATTERN.pattern} (it is a webhook path)")
        return value


def load_field_maps(path: Path) -> dict[str, FieldMap]:
    """Read and check a field-map file; ``FieldMapFileError`` names the file, source and key when it is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FieldMapFileError(f"field-map file {path}: cannot read it: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise FieldMapFileError(f"field-map file {path}: not valid YAML: {error}") from None
    try:
        return dict(FieldMapFile.model_validate(document).sources)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise FieldMapFileError(f"field-map file {path}: {problems}") from None
