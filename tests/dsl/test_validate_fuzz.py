"""Whatever a file holds, validation reports problems as ``file:line:col: message`` lines and never crashes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.loader import check_text
from services.executor.catalog import action_catalog
from tests.conftest import REPO

CATALOG = action_catalog()
LINE = re.compile(r"^w\.yaml:\d+:\d+: \S")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "name",
    "title",
    "actions",
    "ref",
    "action",
    "args",
    "depends_on",
    "run_if",
    "for_each",
    "retry_policy",
    "max_attempts",
    "retry_until",
    "returns",
    "error_handler",
    "entrypoint",
    "expects",
    "default",
    "type",
    "enum",
    "workflow",
    "inputs",
    "wait_until",
    "options",
    "join_strategy",
    "max_concurrency",
    "value",
    "texts",
    "url",
]
STRINGS = [
    "a",
    "b",
    "x",
    "core.transform.reshape",
    "core.workflow.execute",
    "core.http_request",
    "${{ ACTIONS.a.result }}",
    "${{ for var.x in [1, 2] }}",
    "${{ var.x }}",
    "${{ SECRETS.s.K }}",
    "${{ TRIGGER.a b }}",
    "${{",
    "a.error",
    "2026-01-01T00:00:00Z",
    "int",
    "any",
    "https://example.org",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.sampled_from(STRINGS),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=30,
)


def lines_of(text: str) -> list[str]:
    return check_text(text, Path("w.yaml"), CATALOG)


@FUZZ
@given(documents)
def test_random_documents_give_only_problem_lines(document: Any) -> None:
    for line in lines_of(yaml.safe_dump(document, allow_unicode=True)):
        assert LINE.match(line), line


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n ,.$?%@`\t")), max_size=80))
def test_random_text_gives_only_problem_lines(text: str) -> None:
    for line in lines_of(text):
        assert LINE.match(line), line


@FUZZ
@given(st.data())
def test_mutated_demo_workflow_gives_only_problem_lines(data: st.DataObject) -> None:
    """Start from a real workflow and cut or replace one part of it: the interesting documents are close to valid."""
    document: Any = yaml.safe_load((REPO / "workflows" / "triage.yaml").read_text())
    node = document
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()) or not isinstance(node[key], dict | list):
            node[key] = data.draw(documents)
            break
        node = node[key]
    for line in lines_of(yaml.safe_dump(document)):
        assert LINE.match(line), line
