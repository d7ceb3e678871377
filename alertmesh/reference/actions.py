"""The actions reference page, from the executor's action registry: each built-in action and its arguments model."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from alertmesh.reference.markdown import GENERATED_NOTE, cell, code, table, type_name, value_text
from services.executor.actions import registry

#: Where the built-in actions live. Actions registered from elsewhere (a package's entry point, a test's module)
#: depend on what is installed or imported, so the checked-in page holds only these; ``alertmesh actions`` lists all.
BUILT_IN_PACKAGE = "services.executor.actions"


def built_in_actions() -> list[registry.ActionSpec]:
    """The built-in actions, sorted by name."""
    specs = (registry.get_action(name) for name in registry.action_names())
    return [spec for spec in specs if spec.func.__module__.startswith(BUILT_IN_PACKAGE + ".")]


def argument_rows(model: type[BaseModel]) -> list[list[str]]:
    """One row per argument: name (with its alias), type, required or its default, description."""
    rows = []
    for name, field in model.model_fields.items():
        shown = field.alias or name
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = code(value_text(field.default_factory()))  # type: ignore[call-arg]
        elif field.default is PydanticUndefined:
            default = "required"
        else:
            default = code(value_text(field.default))
        rows.append([code(shown), code(type_name(field.annotation)), default, cell(field.description or "")])
    return rows


def render() -> str:
    """The page's Markdown."""
    specs = built_in_actions()
    lines = [
        GENERATED_NOTE,
        "",
        "# Actions",
        "",
        "Every built-in action a workflow step can name in `action:`, with its arguments (the step's `args`). "
        "`alertmesh actions` lists the actions of your installation, your own included, and `alertmesh actions "
        "--json` gives each one's arguments as JSON Schema. A *pure* action has no side effects and its result "
        "depends on its arguments alone, so a dependent step may run in the same batch "
        "(see [Actions](../actions.md)). Unknown arguments are refused.",
        "",
        *table(
            ["action", "pure", "what it does"],
            [[f"[`{s.name}`](#{anchor(s.name)})", "yes" if s.pure else "no", cell(s.description)] for s in specs],
        ),
    ]
    for spec in specs:
        lines += ["", f"## {spec.name}", "", spec.description, ""]
        lines += table(["argument", "type", "default", "description"], argument_rows(spec.args_model))
    return "\n".join(lines) + "\n"


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading made of ``heading`` (lower case, punctuation other than ``-_`` dropped)."""
    return "".join(char for char in heading.lower().replace(" ", "-") if char.isalnum() or char in "-_")
