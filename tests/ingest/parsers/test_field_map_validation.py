"""Field-map files are checked at load with ``file:line:col`` (ingest's start and ``alertmesh validate``), and no
map, however written, lets a payload raise anything but ``ParseError`` or refuse an element other than as a
``RefusedAlert``."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from alertmesh.commands.validate import validate
from schemas.alert import Alert
from services.ingest.parsers import PARSERS, ParseError, RefusedAlert, parsers_for, read_alerts
from services.ingest.parsers.field_maps import FieldMap, FieldMapFileError, load_field_maps
from tests.docs.markdown_files import EXAMPLES
from tests.shared.strategies import FUZZ, JSON, TEXT

BAD = """\
sources:
  sentry:
    shapes:
      - name: issue
        when: ${{ 'event' in TRIGGER.payload.data }}
        title: ${{ TRIGGER.item.data.event.title + }}
      - name: metric
        severity: $.action
      - drop: true
        title: $.x
  pd:
    format: pagerduty.v0
  aws:
    title: ${{ SECRETS.aws.key }}
    labels: {a: $.x, b: "${{ TRIGGER.alert.name }}"}
  splunk:
    title: Fixed text
    when: ${{ TRIGGER.item.x == }}
  mixed:
    title: $.t
    shapes: [{title: $.t}]
"""

EXPECTED = [
    "6:51: sources.sentry.shapes.0.title: invalid expression '${{ TRIGGER.item.data.event.title + }}' at column 32",
    "7:9: sources.sentry.shapes.1: 'title' is required (or format, or drop: true)",
    "10:9: sources.sentry.shapes.2: drop: true reads no fields; remove 'title'",
    "12:13: sources.pd.format: unknown format 'pagerduty.v0'; known: "
    + ", ".join(sorted(parser.format for parser in PARSERS)),
    "14:16: sources.aws.title: a field map can read only TRIGGER.payload (the message) and TRIGGER.item",
    "15:25: sources.aws.labels: b: in a field map, TRIGGER is read as TRIGGER.payload (the message) or TRIGGER.item",
    "17:12: sources.splunk.title: path 'Fixed text' must start with '$'",
    "18:32: sources.splunk.when: invalid expression '${{ TRIGGER.item.x == }}' at column 18",
    "20:5: sources.mixed: an entry with shapes keeps 'title' in each shape",
]


def test_every_problem_of_a_field_map_file_is_named_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "maps.yaml"
    path.write_text(BAD)
    with pytest.raises(FieldMapFileError) as caught:
        load_field_maps(path)
    problems = caught.value.problems
    assert len(problems) == len(EXPECTED), problems
    for line, expected in zip(problems, EXPECTED, strict=True):
        assert line.startswith(f"{path}:{expected}"), (line, expected)


def test_alertmesh_validate_checks_field_map_files_beside_workflows(tmp_path: Path) -> None:
    bad = tmp_path / "maps.yaml"
    bad.write_text(BAD)
    out, err = io.StringIO(), io.StringIO()
    assert validate([bad], out, err) == 1
    assert out.getvalue().splitlines()[0].startswith(f"{bad}:6:51: sources.sentry.shapes.0.title")
    assert "9 problems in 1 file" in err.getvalue()
    out = io.StringIO()
    assert validate([EXAMPLES / "field-maps"], out, io.StringIO()) == 0
    count = len(list((EXAMPLES / "field-maps").glob("*.yaml")))
    assert out.getvalue() == f"ok: {count} field-map files\n"


def test_formats_are_the_built_in_parsers_and_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "maps.yaml"
    path.write_text("sources:\n  dd:\n    format: acme.v9\n")
    assert load_field_maps(path, formats=["acme.v9"])["dd"].format == "acme.v9"
    with pytest.raises(FieldMapFileError, match=r":3:13: sources.dd.format: unknown format 'acme.v9'; known: "):
        load_field_maps(path)


def test_old_field_map_files_keep_working_unchanged() -> None:
    [entry] = load_field_maps(EXAMPLES / "field-maps" / "edr.yaml").values()
    assert entry.shapes is None and entry.candidates() == (entry,) and entry.reads_fields


# -- any map, any payload ---------------------------------------------------------------------------------------
#: Values a map may hold: paths, expressions that work on some payloads and fail on others, templates, constants.
VALUES = st.sampled_from(
    [
        "$.a", "$.b[0]", "$.items", "$['x y'].z", "$",
        "${{ TRIGGER.item.a }}", "${{ TRIGGER.payload.items }}", "${{ FN.from_json(TRIGGER.item.a) }}",
        "${{ FN.from_epoch(TRIGGER.item.a) }}", "${{ FN.parse_tags(TRIGGER.item.b) }}", "${{ 'constant' }}",
        "${{ TRIGGER.item.a + TRIGGER.item.b }}", "${{ TRIGGER.item.a / 0 }}", "id-${{ TRIGGER.item.a }}-x",
        "${{ FN.get(TRIGGER.item, 'a', 1e300) }}", "${{ [1, 2] }}", "${{ {'k': TRIGGER.item.a} }}",
        "${{ TRIGGER.item.a if TRIGGER.item.b else null }}", "${{ FN.from_json(TRIGGER.payload.a).items }}",
    ]
)  # fmt: skip
WHENS = st.sampled_from(
    [None, "${{ true }}", "${{ TRIGGER.payload.a == 'x' }}", "'b' in TRIGGER.payload", "$.a", "${{ TRIGGER.item.q }}"]
)
FIELDS = ["each", "title", "severity", "fingerprint", "status", "starts_at", "ends_at", "summary", "description"]


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fields", "fields", "drop", "format"]))
    shape: dict[str, Any] = {"when": draw(WHENS)} if draw(st.booleans()) else {}
    if kind == "drop":
        return shape | {"drop": True}
    if kind == "format":
        return shape | {"format": draw(st.sampled_from(["alertmanager.v4", "grafana.v1", "cloudevents"]))}
    # A title that reads (most draws), so the other fields are reached too.
    shape["title"] = draw(st.sampled_from(["${{ 'T' }}", "T-${{ FN.get(TRIGGER.item, 'a') }}"]) | VALUES)
    for field in draw(st.lists(st.sampled_from([*FIELDS[2:], "each"]), max_size=7, unique=True)):
        shape[field] = draw(VALUES)
    labels = draw(st.sampled_from(["none", "one", "named"]))
    if labels == "one":
        shape["labels"] = draw(VALUES)
    elif labels == "named":
        shape["labels"] = draw(st.dictionaries(st.sampled_from(["h", "n"]), VALUES, max_size=2))
    shape["severity_map"] = draw(st.sampled_from([{}, {"x": "critical"}]))
    return shape


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return draw(shapes())
    return {"shapes": draw(st.lists(shapes(), min_size=1, max_size=3)), "severity_map": {"constant": "low"}}


PAYLOADS = st.recursive(
    st.dictionaries(st.sampled_from(["a", "b", "items", "x y", "q"]), JSON | st.just('{"items": [{"a": 1}]}'),
                    max_size=4),
    lambda inner: st.dictionaries(st.sampled_from(["a", "b", "items"]), st.lists(inner, max_size=3) | inner,
                                  max_size=3),
    max_leaves=8,
)  # fmt: skip


@FUZZ
@given(entry=entries(), payload=PAYLOADS | JSON)
# Cases seen to matter, always tried: a number no clock holds, a value no label can be, a dropped message.
@example(entry={"title": "${{ 'T' }}", "starts_at": "${{ FN.get(TRIGGER.item, 'a', 1e300) }}"}, payload={})
@example(entry={"title": "${{ 'T' }}", "ends_at": "${{ [1, 2] }}", "labels": "${{ [1] }}"}, payload={"a": 1})
@example(entry={"shapes": [{"when": "$.a", "drop": True}, {"title": "$.a"}]}, payload={"a": 0})
def test_any_map_and_any_payload_give_alerts_refusals_or_a_parse_error(entry: dict[str, Any], payload: Any) -> None:
    try:
        field_map = FieldMap.model_validate(entry)
    except ValidationError:
        return  # a map the loader refuses never reads anything
    parsers = parsers_for({"src": field_map})
    try:
        read = read_alerts(orjson.dumps(payload), {"alertmesh-source": "src"}, parsers)
    except ParseError:
        return
    assert all(isinstance(one, Alert | RefusedAlert) for one in read)


@FUZZ
@given(text=TEXT, field=st.sampled_from([*FIELDS, "when"]))
def test_any_text_as_a_value_is_accepted_or_refused_by_validation_only(text: str, field: str) -> None:
    with contextlib.suppress(ValidationError):
        FieldMap.model_validate({"title": "$.t", field: text})
