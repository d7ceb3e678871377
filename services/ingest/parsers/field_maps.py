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
        labels: {host: $.device.name} # or one value that is an object of labels: labels: $.tags
        starts_at: $.created          # RFC 3339 text, or a Unix time (seconds, ms, us or ns by magnitude)
        summary: $.rule.description
        urls: {console: $.links.console}

Every value is a path (the JSONPath subset of ``jsonpath``, read from the ``each`` element or the body) or the
workflow language, ``${{ ... }}`` over ``TRIGGER.payload`` (the message) and ``TRIGGER.item`` (``map_values``).
An entry may instead hold:

- ``shapes:``, a list of maps each with its own ``when``: the first whose ``when`` holds reads the message (one
  URL, several kinds of message); a shape with ``drop: true`` says the message is no alert (counted, logged, no
  dead letter); no shape holding is a parse dead letter naming the shapes tried;
- ``format: <name>``: a built-in parser (``Parser.format``) reads the source's messages, forced;
- ``severity_map`` alone: applied to what the built-in parser that reads the source gives.

The file is checked whole at start (read by ``dsl.files``, as every file a user writes is): a bad one stops
ingest listing every problem as ``file:line:col: source.key: message``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dsl.files import OFFSET, PROBLEMS, ConfigFileError, load_file, problems_at_keys
from schemas.sources import SOURCE_PATTERN
from services.ingest.parsers.map_values import MapValue, MapValueError, compile_value

ScaleSeverity = Literal["critical", "high", "medium", "low", "info"]
MapStatus = Literal["firing", "resolved"]

#: The validation context key holding the ``Parser.format`` names a ``format:`` may give.
FORMATS = "formats"
#: The fields holding one value each (a path or an expression).
VALUE_FIELDS = ("each", "title", "severity", "fingerprint", "status", "starts_at", "ends_at", "summary", "description")
#: The fields that read the message; a ``drop`` or ``format`` shape has none of them.
READING_FIELDS = (*VALUE_FIELDS, "labels", "urls", "status_map")


class FieldMapFileError(ConfigFileError):
    """The field-map file cannot be used; ``problems`` are its problems as ``file:line:col: message``."""

    headline = "invalid field-map file"


def _compiled(text: str, code: str, *, bare: bool = False) -> MapValue:
    try:
        return compile_value(text, bare=bare)
    except MapValueError as error:
        raise PydanticCustomError(code, "{text}", {"text": str(error), OFFSET: error.offset}) from None


class Shape(BaseModel):
    """One kind of message a source sends and how to read it: fields (values are paths or expressions), a
    built-in ``format``, or ``drop`` (not an alert); ``when`` says whether a message is of this kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    when: str | None = None
    drop: bool = False
    format: str | None = None
    each: str | None = None
    title: str | None = None
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

    _values: dict[str, MapValue] = PrivateAttr(default_factory=dict)

    @field_validator("severity_map", "status_map", mode="before")
    @classmethod
    def _keys_as_lower_text(cls, value: object) -> object:
        # YAML reads `90:` as a number; senders' values are compared as lower-case text.
        return {str(key).strip().lower(): item for key, item in value.items()} if isinstance(value, dict) else value

    @field_validator(*VALUE_FIELDS)
    @classmethod
    def _one_value(cls, value: str | None) -> str | None:
        if value is not None:
            _compiled(value, "field_map_value")
        return value

    @field_validator("when")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is not None:
            _compiled(value, "field_map_when", bare=True)
        return value

    @field_validator("labels", "urls")
    @classmethod
    def _named_values(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, str):
            _compiled(value, "field_map_value")
        elif value:
            wrong = []
            for name, text in value.items():
                try:
                    compile_value(text)
                except MapValueError as error:
                    wrong.append(((name,), f"{name}: {error}", False))
            if wrong:
                raise PydanticCustomError("field_map_value", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None, info: ValidationInfo) -> str | None:
        known: Collection[str] | None = (info.context or {}).get(FORMATS)
        if value is not None and known is not None and value not in known:
            raise PydanticCustomError(
                "field_map_format", "{text}", {"text": f"unknown format {value!r}; known: {', '.join(sorted(known))}"}
            )
        return value

    @model_validator(mode="after")
    def _one_way_to_read(self) -> Shape:
        reading = [field for field in READING_FIELDS if field in self.model_fields_set]
        if (self.drop or self.format is not None) and reading:
            what = "drop: true" if self.drop else f"format: {self.format}"
            wrong = [((field,), f"{what} reads no fields; remove {field!r}", True) for field in reading]
            raise PydanticCustomError("field_map_shape", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})
        if self.drop and self.format is not None:
            raise PydanticCustomError("field_map_shape", "a shape is either drop: true or format, not both")
        # An entry (``FieldMap``) may hold only a severity_map; one of its shapes must read something.
        if type(self) is Shape and self.reads_fields and self.title is None:
            raise PydanticCustomError("missing", "'title' is required (or format, or drop: true)")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Pydantic's hook after validation: compiles every value once, at load (the validators checked them)."""
        for field in VALUE_FIELDS:
            text = getattr(self, field)
            if text is not None:
                self._values[field] = compile_value(text)
        if self.when is not None:
            self._values["when"] = compile_value(self.when, bare=True)
        if isinstance(self.labels, str):
            self._values["labels"] = compile_value(self.labels)
        for name, text in (self.labels if isinstance(self.labels, dict) else {}).items():
            self._values[f"labels.{name}"] = compile_value(text)
        for name, text in self.urls.items():
            self._values[f"urls.{name}"] = compile_value(text)

    def value(self, field: str) -> MapValue | None:
        """The compiled value of ``field`` ('title', 'when', 'labels.host', 'urls.console', ...), None when unset."""
        return self._values.get(field)

    @property
    def reads_fields(self) -> bool:
        """Whether this shape reads the message with its own fields (not ``drop``, not a ``format``)."""
        return not self.drop and self.format is None


class FieldMap(Shape):
    """One source's entry: a shape itself (fields, ``format`` or ``drop``), a list of ``shapes``, or only a
    ``severity_map`` for the built-in parser that reads the source."""

    shapes: tuple[Shape, ...] | None = None

    @model_validator(mode="after")
    def _entry(self) -> FieldMap:
        if self.shapes is not None:
            extra = [name for name in self.model_fields_set if name not in ("shapes", "severity_map", "name")]
            if extra:
                wrong = [((name,), f"an entry with shapes keeps {name!r} in each shape", True) for name in extra]
                raise PydanticCustomError("field_map_shapes", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})
            if not self.shapes:
                raise PydanticCustomError("field_map_shapes", "shapes must list at least one shape")
        elif (
            self.reads_fields
            and self.title is None
            and (self.model_fields_set - {"severity_map", "name"} or not self.severity_map)
        ):
            raise PydanticCustomError(
                "missing", "'title' is required (or format, drop: true, shapes, or only a severity_map)"
            )
        return self

    @property
    def severity_only(self) -> bool:
        """Whether the entry only maps the severities a built-in parser reads (no fields, format, drop or shapes)."""
        return self.shapes is None and self.reads_fields and self.title is None and bool(self.severity_map)

    def candidates(self) -> tuple[Shape, ...]:
        """The shapes tried in order: the listed ones, or the entry itself."""
        return self.shapes if self.shapes is not None else (self,)


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


def known_formats() -> list[str]:
    """The ``Parser.format`` names a ``format:`` may give: the built-in parsers' (the registry's)."""
    from services.ingest.parsers.registry import PARSERS  # the registry imports this module: read when loading

    return [parser.format for parser in PARSERS]


def load_field_maps(path: Path, formats: Collection[str] | None = None) -> dict[str, FieldMap]:
    """Read and check a field-map file; ``FieldMapFileError`` lists every problem as ``file:line:col: message``
    naming the source and the key. ``format:`` must name one of ``formats`` (default: ``known_formats()``)."""
    context = {FORMATS: list(formats if formats is not None else known_formats())}

    def validate(document: Any) -> FieldMapFile:
        return FieldMapFile.model_validate(document, context=context)

    return dict(load_file(path, validate, FieldMapFileError).sources)
