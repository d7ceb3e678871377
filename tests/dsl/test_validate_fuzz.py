"""Whatever a file holds, validation reports problems as ``file:line:col: message`` lines and never crashes.

Each example goes through ``check_files``, the path ``alertmesh validate`` and the orchestrator's loader take."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dsl.loader import check_files
from services.executor.catalog import action_catalog
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.shared.strategies import FUZZ

CATALOG = action_catalog()

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
    # The duration-like keys (dsl.durations): YAML floats reach them as .inf, .nan and 1e300 too.
    "config",
    "timeout",
    "start_delay",
    "initial_interval",
    "maximum_interval",
    "backoff_coefficient",
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
    st.sampled_from([float("inf"), float("-inf"), 1e15, 31_622_401, -1]),
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


@pytest.fixture(scope="module")
def workflow_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file the examples take turns to write (module-scoped: Hypothesis runs many examples per test)."""
    return tmp_path_factory.mktemp("fuzz") / "w.yaml"


def problem_line(path: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(str(path))}:\d+:\d+: \S")


def lines_of(text: str, path: Path) -> list[str]:
    """The problem lines of ``text`` as a workflow file checked alone."""
    path.write_bytes(text.encode())
    return check_files([path], closed=False, catalog=CATALOG).lines


@FUZZ
@given(documents)
def test_random_documents_give_only_problem_lines(workflow_file: Path, document: Any) -> None:
    for line in lines_of(yaml.safe_dump(document, allow_unicode=True), workflow_file):
        assert problem_line(workflow_file).match(line), line


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n ,.$?%@`\t")), max_size=80))
def test_random_text_gives_only_problem_lines(workflow_file: Path, text: str) -> None:
    for line in lines_of(text, workflow_file):
        assert problem_line(workflow_file).match(line), line


@FUZZ
@given(st.data())
def test_mutated_demo_workflow_gives_only_problem_lines(workflow_file: Path, data: st.DataObject) -> None:
    """Start from a real workflow and cut or replace one part of it: the interesting documents are close to valid."""
    document: Any = yaml.safe_load((WORKFLOWS_DIR / "triage.yaml").read_text())
    node = document
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()) or not isinstance(node[key], dict | list):
            node[key] = data.draw(documents)
            break
        node = node[key]
    for line in lines_of(yaml.safe_dump(document), workflow_file):
        assert problem_line(workflow_file).match(line), line
