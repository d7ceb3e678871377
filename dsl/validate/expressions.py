"""Checks of the ``${{ }}`` expressions in a definition: they parse, and read only what their place can see.

Where an expression is evaluated decides what it may read:

============================  =========================  =======  ========================
place                         ACTIONS.<ref>              SECRETS  var.<name> (for_each)
============================  =========================  =======  ========================
args (executor action)        upstream refs              yes      yes
args of core.workflow.execute upstream refs              no       yes
run_if, wait_until            upstream refs              no       no (once per action)
for_each                      upstream refs              no       no
retry_policy.retry_until      upstream refs and its own  no       yes
returns                       any ref                    no       no
============================  =========================  =======  ========================

Secrets are resolved only inside the executor, for the args of the action it runs; everything else is evaluated
by the workflow (or its result travels in the report), where a secret's value would be kept in history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dsl import nodes
from dsl.errors import TemplateSyntaxError
from dsl.expressions import Expression, parse_expression, template_spans
from dsl.graph import upstream
from dsl.loops import parse_for_each
from dsl.model import CHILD_WORKFLOW_ACTION, ActionStatement, WorkflowDefinition
from dsl.problems import Path, Problem


@dataclass(frozen=True)
class _Place:
    """What an expression at one place may read."""

    name: str
    action: str | None  # the action's ref; None for returns
    refs: frozenset[str] | None  # None: any ref of the workflow
    secrets: bool
    loop: frozenset[str] | None  # bound var names; None: the place is not per item


_WHY_NO_SECRETS = {
    "args": "the workflow renders the args of core.workflow.execute, and its history would keep the secret",
    "run_if": "the workflow evaluates run_if, and its history would keep the secret",
    "for_each": "the workflow evaluates for_each, and its history would keep the secret",
    "wait_until": "the workflow evaluates wait_until, and its history would keep the secret",
    "retry_until": "retry_until judges the result; secrets are resolved for args only",
    "returns": "the result event would carry the secret",
}


def check_expressions(definition: WorkflowDefinition) -> list[Problem]:
    """Every expression problem, in document order of the places."""
    problems: list[Problem] = []
    edges = definition.dependencies()
    refs = frozenset(edges)
    for i, statement in enumerate(definition.actions):
        allowed = frozenset(upstream(statement.ref, edges))
        loop = _loop_names(statement, ("actions", i), allowed, problems)
        executor = statement.action != CHILD_WORKFLOW_ACTION
        args = _Place("args", statement.ref, allowed, executor, loop)
        for path, text in _strings(statement.args, ("actions", i, "args")):
            for expression, offset in _parse(text, path, problems):
                problems += _reads(expression, path, args, offset)
        if statement.run_if is not None:
            place = _Place("run_if", statement.ref, allowed, False, None)
            problems += _single(statement.run_if, ("actions", i, "run_if"), place)
        if statement.wait_until is not None:
            place = _Place("wait_until", statement.ref, allowed, False, None)
            problems += _wait_until(statement.wait_until, ("actions", i, "wait_until"), place)
        retry_until = statement.retry_policy.retry_until
        if retry_until is not None:
            place = _Place("retry_until", statement.ref, allowed | {statement.ref}, False, loop)
            problems += _single(retry_until, ("actions", i, "retry_policy", "retry_until"), place)
    returns = _Place("returns", None, None, False, None)
    for path, text in _strings(definition.returns, ("returns",)):
        for expression, offset in _parse(text, path, problems):
            problems += _reads(expression, path, returns, offset, known=refs)
    return problems


def _loop_names(
    statement: ActionStatement, path: Path, allowed: frozenset[str], problems: list[Problem]
) -> frozenset[str]:
    """The var names ``for_each`` binds (checking its headers); empty without for_each."""
    if statement.for_each is None:
        return frozenset()
    items = [statement.for_each] if isinstance(statement.for_each, str) else statement.for_each
    names: set[str] = set()
    parsed = True
    place = _Place("for_each", statement.ref, allowed, False, None)
    for j, item in enumerate(items):
        at = (*path, "for_each") if isinstance(statement.for_each, str) else (*path, "for_each", j)
        try:
            (header,) = parse_for_each(item)
        except TemplateSyntaxError as error:
            problems.append(Problem(at, str(error)))
            parsed = False
            continue
        names.add(header.name)
        problems += _reads(header.iterable, at, place, None)
    if parsed:
        try:
            parse_for_each(items)
        except TemplateSyntaxError as error:
            problems.append(Problem((*path, "for_each"), str(error)))
    return frozenset(names)


def _single(text: str, path: Path, place: _Place) -> list[Problem]:
    """``text`` must be exactly one expression (its value is tested for truth): bare, as the runtime also takes
    it (``ACTIONS.a.result.ok``), or one template (``${{ ACTIONS.a.result.ok }}``)."""
    try:
        spans = template_spans(text)
    except TemplateSyntaxError as error:
        return [Problem(path, str(error))]
    problems: list[Problem] = []
    if not spans:
        try:
            parsed = [(parse_expression(text), len(text) - len(text.lstrip()))]
        except TemplateSyntaxError as error:
            offset = len(text) - len(text.lstrip()) + (error.column or 1) - 1
            return [Problem(path, str(error), offset=offset)]
    elif len(spans) != 1 or text[spans[0][0] : spans[0][1]] != text.strip():
        message = f"{place.name} must be one expression (bare, or one '${{{{ ... }}}}'), not text with templates"
        return [Problem(path, f"{message}: {text[:80]!r}")]
    else:
        parsed = _parse(text, path, problems)
    for expression, offset in parsed:
        problems += _reads(expression, path, place, offset)
    return problems


def _wait_until(text: str, path: Path, place: _Place) -> list[Problem]:
    """An expression (checked as any other), or a literal ISO 8601 date-time."""
    problems: list[Problem] = []
    expressions = _parse(text, path, problems)
    if expressions or problems:
        for expression, offset in expressions:
            problems += _reads(expression, path, place, offset)
        return problems
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return [Problem(path, f"wait_until {text!r} is not an ISO 8601 date-time (e.g. 2026-01-31T09:00:00Z)")]
    return []


def _parse(text: str, path: Path, problems: list[Problem]) -> list[tuple[Expression, int]]:
    """Every expression in ``text`` with the offset of its ``${{``; a syntax error is a problem at the offset
    of the character the expression fails at."""
    try:
        spans = template_spans(text)
    except TemplateSyntaxError as error:
        problems.append(Problem(path, str(error)))
        return []
    parsed: list[tuple[Expression, int]] = []
    for start, _, body in spans:
        try:
            parsed.append((parse_expression(body), start))
        except TemplateSyntaxError as error:
            # The expression's columns count from its first non-blank character, after the ``${{``.
            inside = len(body) - len(body.lstrip()) + (error.column or 1) - 1
            problems.append(Problem(path, str(error), offset=start + 3 + inside))
    return parsed


def _reads(
    expression: Expression, path: Path, place: _Place, offset: int | None, known: frozenset[str] = frozenset()
) -> list[Problem]:
    """Problems with what ``expression`` (at ``offset`` in its string) reads at ``place``."""
    shown = f"'${{{{ {expression.text} }}}}'"
    problems: list[Problem] = []
    if place.refs is None:
        unknown = sorted(expression.refs - known) if place.name == "returns" else []
        if unknown:
            problems.append(Problem(path, f"{shown}: no action '{unknown[0]}'"))
    else:
        outside = sorted(expression.refs - place.refs)
        if outside:
            names = " and ".join(f"'{ref}'" for ref in outside)
            verb = "is" if len(outside) == 1 else "are"
            problems.append(
                Problem(
                    path, f"{shown} reads {names}, which {verb} not upstream of '{place.action}' (add it to depends_on)"
                )
            )
    if expression.secrets and not place.secrets:
        name, key = sorted(expression.secrets)[0]
        problems.append(
            Problem(
                path,
                f"{shown} reads SECRETS.{name}.{key}: secrets can only be read in the args of an action the "
                f"executor runs ({_WHY_NO_SECRETS[place.name]})",
            )
        )
    problems += _loop_reads(expression, path, place, shown)
    return [Problem(p.path, p.message, offset=offset) for p in problems]


def _loop_reads(expression: Expression, path: Path, place: _Place, shown: str) -> list[Problem]:
    found = nodes.walk(expression.tree)
    named = {id(node.value): node.name for node in found if isinstance(node, nodes.Attribute)}
    roots = [node for node in found if isinstance(node, nodes.Root) and node.name == "var"]
    if not roots:
        return []
    if place.loop is None:
        whole = "run" if place.action is None else "action"
        return [
            Problem(
                path,
                f"{shown} reads var: loop variables are only bound in args and retry_until of an action with "
                f"for_each, and {place.name} is evaluated once for the whole {whole}",
            )
        ]
    for root in roots:
        name = named.get(id(root))
        if name is None or name not in place.loop:
            read = f"var.{name}" if name is not None else "var"
            bound = ", ".join(f"var.{n}" for n in sorted(place.loop))
            has = f"its for_each binds {bound}" if bound else "it has no for_each"
            return [Problem(path, f"{shown} reads {read}, which '{place.action}' does not bind ({has})")]
    return []


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string inside a JSON-like value, with its path, in document order."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
