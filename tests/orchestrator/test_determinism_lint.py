"""A lint over the code DSLWorkflow runs: no clocks, randomness, environment, I/O or threads.

Why a lint: the orchestrator's worker runs DSLWorkflow without Temporal's sandbox (``services.orchestrator.worker``:
the sandbox re-imports and proxies modules for every run and cost a third of the worker's CPU, measured). The
sandbox exists to stop *arbitrary user* workflow code from doing non-deterministic things at run time; ours is one
fixed interpreter of YAML definitions, so it is enough to check its source once, here, in CI, plus the replay
tests (``test_replay*.py``) which also replay real histories inside the sandbox to catch what a lint cannot see.

What is refused, in every first-party module loaded with the workflow (found by following its imports, so a
new module is linted without being listed) and by name after import aliasing (``from datetime import datetime`` then
``datetime.now()`` is caught): wall or monotonic clocks (``time``, ``datetime.now/utcnow/today``), ``random`` and
``secrets``, ``uuid1``/``uuid4`` (``uuid5`` of run ids is deterministic and used), the environment
(``os.environ``, ``os.getenv``), ``open()`` and ``input()``, ``hash()`` (salted per process for strings),
``global`` statements (unsandboxed, runs share module state; the sandbox gave each run fresh modules), and importing
threads, processes, sockets, HTTP or Kafka clients. Time comes from ``workflow.now()``.

``asyncio`` is allowed only through ``ASYNCIO_ALLOWED``: inside a workflow the running loop is Temporal's
deterministic one, so ``asyncio.create_task`` (the scheduler starts ready actions with it) schedules in creation
order and is replay-safe. ``asyncio.wait`` returns *sets* whose iteration order is not stable (the workflow uses
``workflow.wait`` instead, and the scheduler sorts what completed); ``sleep``/``wait_for``/``timeout`` are legal
(Temporal turns them into durable timers) but the workflow takes its timers from ``workflow.sleep`` (the retry
backoff), so they stay refused. Anything else is a decision: add it here with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FIRST_PARTY = ("dsl", "schemas", "services", "alertmesh")
#: Imported by workflow code for a constant only, never called from a workflow: not linted, not followed.
IMPORT_TIME_ONLY = {
    # contracts.py reads KafkaSettings' field default (the record size limit) when it is imported; the settings
    # class reads the environment, but only in the orchestrator's service code, which passes the value in DSLRun.
    "services.shared.kafka",
}


def _module_file(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(path: Path) -> set[str]:
    """First-party modules ``path`` imports, and the packages above them (whose ``__init__`` runs too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for module in modules:
            parts = module.split(".")
            if parts[0] in FIRST_PARTY:
                found.update(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return found


def workflow_modules() -> dict[str, Path]:
    """Every first-party module loaded with DSLWorkflow, following imports from ``workflow.py``."""
    modules: dict[str, Path] = {}
    pending = ["services.orchestrator.workflow"]
    while pending:
        module = pending.pop()
        path = _module_file(module)
        if module in modules or module in IMPORT_TIME_ONLY or path is None:
            continue  # None: a name imported from a module (``from schemas import Alert``), not a module
        modules[module] = path
        pending.extend(_imports_of(path))
    return modules


CHECKED = sorted(workflow_modules().values())

FORBIDDEN_IMPORTS = frozenset(
    {
        "time", "random", "secrets", "threading", "multiprocessing", "concurrent", "subprocess", "signal",
        "socket", "ssl", "select", "selectors", "http", "urllib", "requests", "httpx", "aiohttp", "aiokafka",
        "faststream",
    }
)  # fmt: skip
#: Qualified names (after resolving imports) that must not be referenced; a name refuses its attributes too.
FORBIDDEN_NAMES = frozenset(
    {
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
        "uuid.uuid1", "uuid.uuid4", "os.environ", "os.getenv", "os.putenv", "os.urandom", "os.getpid",
    }
)  # fmt: skip
FORBIDDEN_BUILTINS = frozenset({"open", "input", "hash"})
ASYNCIO_ALLOWED = frozenset(
    {"create_task", "Task", "CancelledError", "FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"}
)


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name for every import in the module (at any depth)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualified(node: ast.expr, names: dict[str, str]) -> str | None:
    """``a.b.c`` with ``a`` resolved through the imports, or None if it does not start at an imported name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in names:
        return None
    return ".".join([names[node.id], *reversed(parts)])


def _forbidden(qualified: str, verb: str = "imports") -> str | None:
    """The rule importing (or using) ``qualified`` breaks, if any."""
    parts = qualified.split(".")
    if parts[0] in FORBIDDEN_IMPORTS:
        return f"{verb} {qualified}"
    for name in FORBIDDEN_NAMES:
        if qualified == name or qualified.startswith(f"{name}."):
            return f"{verb} {name}"
    if parts[0] == "asyncio" and len(parts) > 1 and parts[1] not in ASYNCIO_ALLOWED:
        return f"uses asyncio.{parts[1]} (not in ASYNCIO_ALLOWED)"
    return None


def violations(source: str) -> set[str]:
    """Every non-deterministic use in ``source``, as ``line: what``."""
    tree = ast.parse(source)
    names = _imported_names(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        problems: list[str | None] = []
        if isinstance(node, ast.Import):
            problems = [_forbidden(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # The module itself, then each name taken from it (``from uuid import uuid4``).
            problems = [_forbidden(node.module)]
            if problems == [None]:
                problems = [_forbidden(f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Attribute | ast.Name):
            qualified = _qualified(node, names)
            problems = [_forbidden(qualified, "uses") if qualified and "." in qualified else None]
        elif isinstance(node, ast.Global):
            problems = [f"rebinds module state: global {', '.join(node.names)}"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            builtin = node.func.id in FORBIDDEN_BUILTINS and node.func.id not in names
            problems = [f"calls {node.func.id}()" if builtin else None]
        found.update(f"{getattr(node, 'lineno', 0)}: {problem}" for problem in problems if problem)
    return found


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: str(path.relative_to(REPO)))
def test_workflow_code_has_no_non_deterministic_calls(path: Path) -> None:
    assert sorted(violations(path.read_text(encoding="utf-8"))) == []


def test_the_lint_follows_the_workflow_imports() -> None:
    """What DSLWorkflow runs is found from its imports, so a new module it uses is linted without listing it."""
    modules = workflow_modules()
    for expected in ("scheduler", "results", "result_size", "contracts"):
        assert f"services.orchestrator.{expected}" in modules
    assert {"dsl", "dsl.model", "dsl.templates", "dsl.expressions", "schemas.result"} <= modules.keys()
    assert "services.shared.kafka" not in modules


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import time\ntime.monotonic()", ["1: imports time", "2: uses time.monotonic"]),
        ("from datetime import datetime as dt\ndt.now()", ["2: uses datetime.datetime.now"]),
        ("import datetime\ndatetime.date.today()", ["2: uses datetime.date.today"]),
        ("from uuid import uuid4\nuuid4()", ["1: imports uuid.uuid4", "2: uses uuid.uuid4"]),
        ("import os\nx = os.environ['A']", ["2: uses os.environ"]),
        ("import os\nos.getenv('A')", ["2: uses os.getenv"]),
        ("open('f')", ["1: calls open()"]),
        ("import asyncio\nasyncio.gather()", ["2: uses asyncio.gather (not in ASYNCIO_ALLOWED)"]),
        ("import asyncio\nasyncio.wait(tasks)", ["2: uses asyncio.wait (not in ASYNCIO_ALLOWED)"]),
        ("from concurrent.futures import ThreadPoolExecutor", ["1: imports concurrent.futures"]),
        ("def f():\n    global SEEN\n    SEEN = 1", ["2: rebinds module state: global SEEN"]),
        ("import uuid\nuuid.uuid5(uuid.NAMESPACE_URL, 'x')", []),
        ("import asyncio\nasyncio.create_task(f())", []),
        ("from datetime import datetime, timedelta\nx: datetime = y + timedelta(seconds=1)", []),
    ],
)  # fmt: skip
def test_the_lint_catches_what_it_claims(source: str, found: list[str]) -> None:
    assert sorted(violations(source)) == found
