"""What a run is given: entrypoint.expects checks, workspace variables, child ids and triggers, and the
definitions a run carries so it can start children and its error handler."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dsl.model import WorkflowDefinition
from services.orchestrator.children import child_trigger, child_workflow_id, reachable
from services.orchestrator.inputs import InputsError, check_inputs
from services.orchestrator.variables import VarsFileError, load_vars
from tests.orchestrator.factories import make_trigger


def expects(**spec: dict[str, object]) -> dict[str, object]:
    model = WorkflowDefinition.model_validate(
        {"name": "w", "entrypoint": {"expects": spec}, "actions": [{"ref": "a", "action": "x"}]}
    )
    return dict(model.entrypoint.expects)


def test_inputs_are_defaulted_and_checked() -> None:
    spec = expects(
        team={"type": "str"},
        limit={"type": "int", "default": 10},
        ratio={"type": "float", "default": 0.5},
        level={"type": "str", "enum": ["low", "high"], "default": "low"},
    )
    assert check_inputs(spec, {"team": "soc", "ratio": 1, "extra": True}) == {  # type: ignore[arg-type]
        "team": "soc", "limit": 10, "ratio": 1, "level": "low", "extra": True,
    }  # fmt: skip
    with pytest.raises(InputsError) as raised:
        check_inputs(spec, {"limit": True, "level": "mid"})  # type: ignore[arg-type]
    assert str(raised.value) == (
        "entrypoint.expects: input 'team' is required (str); input 'limit' must be int, got bool True; "
        "input 'level' must be one of ['low', 'high'], got 'mid'"
    )


def test_vars_file_yaml_or_json_mapping(tmp_path: Path) -> None:
    assert load_vars(None) == {}
    (tmp_path / "v.json").write_text('{"team": "soc", "n": [1]}')
    assert load_vars(tmp_path / "v.json") == {"team": "soc", "n": [1]}
    (tmp_path / "v.yaml").write_text("team: soc\n")
    assert load_vars(tmp_path / "v.yaml") == {"team": "soc"}
    with pytest.raises(VarsFileError, match=r"missing\.yaml: cannot read"):
        load_vars(tmp_path / "missing.yaml")


def test_child_ids_and_trigger() -> None:
    assert child_workflow_id("p", "kid", None) == "p/kid"
    assert child_workflow_id("p", "kid", 3) == "p/kid/3"
    parent = make_trigger()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    child = child_trigger(parent, "enrich", "p/kid", {"n": 1}, uuid.UUID(int=1), now)
    assert (child.data.workflow, child.data.idempotency_key, child.data.inputs) == ("enrich", "p/kid", {"n": 1})
    assert (child.correlationid, child.causationid, child.data.alert) == (
        parent.correlationid, parent.id, parent.data.alert,
    )  # fmt: skip


def _workflow(name: str, children: list[str], handler: str | None = None) -> WorkflowDefinition:
    actions = [
        {"ref": f"c{i}", "action": "core.workflow.execute", "args": {"workflow": c}} for i, c in enumerate(children)
    ]
    return WorkflowDefinition.model_validate(
        {"name": name, "actions": actions or [{"ref": "a", "action": "x"}], "error_handler": handler}
    )


def test_reachable_definitions_follow_children_and_handlers_transitively() -> None:
    known = {
        "top": _workflow("top", ["mid"], handler="oops"),
        "mid": _workflow("mid", ["leaf"]),
        "leaf": _workflow("leaf", []),
        "oops": _workflow("oops", []),
        "other": _workflow("other", []),
    }
    assert sorted(reachable(known["top"], known)) == ["leaf", "mid", "oops"]
    assert reachable(known["leaf"], known) == {}
    dynamic = _workflow("dyn", ["${{ TRIGGER.inputs.which }}"])
    assert sorted(reachable(dynamic, known)) == sorted(known)
