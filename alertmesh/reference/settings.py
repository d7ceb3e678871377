"""The environment variables reference page, from every ``BaseSettings`` class under ``services/`` and ``alertmesh/``.

The classes are found by reading the source (not by importing every module, which would start nothing useful
and pull in Ray and Temporal for no reason); only the modules that define one are imported, for the fields'
types and defaults. A field's description is its ``Field(description=...)``, else the comment block right above
it in the source, where this project writes the why of each setting.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from alertmesh.reference.markdown import GENERATED_NOTE, cell, code, table, type_name, value_text

#: The packages whose settings classes are documented, relative to the repository root.
PACKAGES = ("services", "alertmesh")


@dataclass(frozen=True)
class SettingsClass:
    """One settings class: where it is and the comment above each of its fields."""

    module: str
    name: str
    comments: dict[str, str]

    def load(self) -> type[BaseSettings]:
        """The class itself (its module imported)."""
        found = getattr(importlib.import_module(self.module), self.name)
        if not (isinstance(found, type) and issubclass(found, BaseSettings)):
            raise TypeError(f"{self.module}.{self.name} is not a BaseSettings class")
        return found


def _comment_above(lines: list[str], line_number: int) -> str:
    """The ``#`` comment lines right above line ``line_number`` (1-based), joined."""
    found: list[str] = []
    index = line_number - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        found.insert(0, lines[index].strip().lstrip("#:").strip())
        index -= 1
    return " ".join(part for part in found if part)


def find_settings_classes(root: Path) -> list[SettingsClass]:
    """Every class deriving from ``BaseSettings`` by name in the packages' source, sorted by module and name."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            if "BaseSettings" not in source:
                continue
            lines = source.splitlines()
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = {base.id if isinstance(base, ast.Name) else ast.unparse(base) for base in node.bases}
                if not bases & {"BaseSettings", "pydantic_settings.BaseSettings"}:
                    continue
                comments = {
                    item.target.id: _comment_above(lines, item.lineno)
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
                found.append(SettingsClass(module.removesuffix(".__init__"), node.name, comments))
    return sorted(found, key=lambda found_class: (found_class.module, found_class.name))


def env_prefix(settings: type[BaseSettings]) -> str:
    """The class's environment variable prefix."""
    return str(settings.model_config.get("env_prefix", ""))


def nested_settings(field: FieldInfo) -> type[BaseSettings] | None:
    """The settings class a field holds (built by its default factory, so it reads its own prefix), or None."""
    candidate = field.annotation
    if isinstance(candidate, type) and issubclass(candidate, BaseSettings):
        return candidate
    return None


def env_name(prefix: str, name: str, field: FieldInfo) -> str:
    """The variable a field reads: its alias when it has one (such a field reads that exact name), else prefixed."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    return (prefix + name).upper()


def default_text(field: FieldInfo) -> str:
    """A field's default as written in the environment, or ``required``."""
    if field.default_factory is not None:
        return code(value_text(field.default_factory()))  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "required"
    return code(value_text(field.default))


def heading_anchor(settings: type[BaseSettings]) -> str:
    """The anchor of a settings class's section (its heading is the class name)."""
    return settings.__name__.lower()


def render_class(found: SettingsClass) -> list[str]:
    """One class's section: its docstring, prefix and a row per variable; nested settings link to their table."""
    settings = found.load()
    prefix = env_prefix(settings)
    doc = " ".join((settings.__doc__ or "").split()) if "__doc__" in settings.__dict__ else ""
    lines = ["", f"## {settings.__name__}", "", f"`{found.module}`, prefix {code(prefix) if prefix else 'none'}."]
    if doc:
        lines += ["", doc]
    rows = []
    for name, field in settings.model_fields.items():
        nested = nested_settings(field)
        if nested is not None:
            rows.append([f"{code(env_prefix(nested) + '*')}", f"[{nested.__name__}](#{heading_anchor(nested)})",
                         "", f"`{name}`: read from its own variables, see [{nested.__name__}]"
                         f"(#{heading_anchor(nested)})"])  # fmt: skip
            continue
        description = field.description or found.comments.get(name, "")
        rows.append([code(env_name(prefix, name, field)), code(type_name(field.annotation)), default_text(field),
                     cell(description)])  # fmt: skip
    return [*lines, "", *table(["variable", "type", "default", "description"], rows)]


def render(root: Path) -> str:
    """The page's Markdown for the source tree at ``root``."""
    classes = find_settings_classes(root)
    lines = [
        GENERATED_NOTE,
        "",
        "# Environment variables",
        "",
        "Every setting of every service and of the `alertmesh` command, one table per settings class. "
        "A variable's name is the class's prefix and the field's name in upper case, unless the table names "
        "another (such a field reads that exact variable, for example Ray's own `RAY_ADDRESS`). A class that "
        "holds another (the services' `KAFKA_*` and `TEMPORAL_*`) reads it from that class's own variables, "
        "listed once in its own table. Values are checked at start-up; a service refuses to start with an "
        "invalid one and names it.",
        "",
        *table(
            ["class", "prefix", "module"],
            [
                [
                    f"[{c.name}](#{c.name.lower()})",
                    code(env_prefix(c.load())) if env_prefix(c.load()) else "none",
                    code(c.module),
                ]
                for c in classes
            ],
        ),
    ]
    for found in classes:
        lines += render_class(found)
    return "\n".join(lines) + "\n"
