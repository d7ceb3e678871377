"""Every file a user writes (routing, field maps, workflows, webhook credentials, secrets, workspace variables) is
read by ``dsl.files``: a wrong value deep inside and a YAML syntax error are both ``file:line:col: message``, and
each file's error is a ``ConfigFileError`` (still catchable by its own class)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsl.files import ConfigFileError
from dsl.loader import WorkflowLoadError, load_definition
from services.executor.catalog import action_catalog
from services.executor.secrets import InvalidSecretsFile, parse_secrets_file
from services.ingest.parsers.field_maps import FieldMapFileError, load_field_maps
from services.ingest.routing import RoutingFileError, load_routing
from services.orchestrator.variables import VarsFileError, load_vars
from services.webhook.credentials import CredentialsFileError, hash_key, load_credentials

DIGEST = hash_key("k" * 32)


@dataclass(frozen=True)
class UserFile:
    load: Callable[[Path], object]
    error: type[ConfigFileError]
    headline: str
    #: A valid file but for a wrong value in its third entry, and the one problem line it gives (after the path).
    deep: str
    problem: str
    #: Text that is not YAML, and where YAML gives up.
    broken: str
    broken_at: str


FILES = {
    "routing": UserFile(
        load_routing,
        RoutingFileError,
        "invalid routing file",
        """\
        routes:
          - {name: a, workflow: w}
          - {name: b, workflow: w}
          - name: c
            workflow: w
            group_wait: soon
        """,
        ":6:17: routes.2.group_wait: Input should be a valid number, unable to parse string as a number",
        "routes:\n  - {name: a\n",
        ":3:1:",
    ),
    "field maps": UserFile(
        load_field_maps,
        FieldMapFileError,
        "invalid field-map file",
        """\
        sources:
          a: {title: $.t}
          b: {title: $.t}
          c:
            title: $.t
            severity_map: {"90": critical, "70": urgent}
        """,
        ":6:42: sources.c.severity_map.70: Input should be 'critical', 'high', 'medium', 'low' or 'info'",
        "sources:\n  a: {title: $.t\n",
        ":3:1:",
    ),
    "workflows": UserFile(
        lambda path: load_definition(path, action_catalog),
        WorkflowLoadError,
        "invalid workflow definitions",
        """\
        name: w
        actions:
          - {ref: a, action: core.transform.reshape, args: {value: 1}}
          - {ref: b, action: core.transform.reshape, args: {value: 1}}
          - ref: c
            action: core.transform.reshape
            args: {value: 1}
            retry_policy: {max_attempts: many}
        """,
        ":8:34: max_attempts: Input should be a valid integer, unable to parse string as an integer (got 'many')",
        "name: w\nactions: [\n",
        ":3:1:",
    ),
    "webhook credentials": UserFile(
        load_credentials,
        CredentialsFileError,
        "invalid webhook credentials",
        f"""\
        sources:
          a: {{api_keys: [{{sha256: {DIGEST}}}]}}
          b: {{api_keys: [{{sha256: {DIGEST}}}]}}
          c:
            api_keys:
              - sha256: {DIGEST}
              - sha256: {DIGEST}
              - sha256: 12
        """,
        ":8:17: sources.c.api_keys[2].sha256: Input should be a valid string",
        "sources:\n  a: {api_keys: [\n",
        ":3:1:",
    ),
    "secrets": UserFile(
        parse_secrets_file,
        InvalidSecretsFile,
        "invalid secrets file",
        """\
        a: {KEY: one}
        b: {KEY: two}
        c:
          URL: https://vault
          TOKEN: [hunter2]
        """,
        ":5:10: secret 'c' must map string keys to string values",
        "a: {KEY: one\n",
        ":2:1:",
    ),
    "workspace variables": UserFile(
        load_vars,
        VarsFileError,
        "invalid workspace variables",
        """\
        team: soc
        oncall:
          primary: ann
        3: three
        """,
        ":4:1: workspace variables must be a mapping with string keys",
        "team: [soc\n",
        ":2:1:",
    ),
}


@pytest.mark.parametrize("kind", FILES)
def test_a_wrong_value_deep_inside_is_named_at_its_line_and_column(tmp_path: Path, kind: str) -> None:
    file = FILES[kind]
    path = tmp_path / "file.yaml"
    path.write_text(textwrap.dedent(file.deep))
    with pytest.raises(file.error) as caught:
        file.load(path)
    assert isinstance(caught.value, ConfigFileError)
    assert caught.value.problems == [f"{path}{file.problem}"]
    assert str(caught.value) == f"{file.headline} (1 problem):\n{path}{file.problem}"


@pytest.mark.parametrize("kind", FILES)
def test_a_yaml_syntax_error_is_named_at_its_line_and_column(tmp_path: Path, kind: str) -> None:
    file = FILES[kind]
    path = tmp_path / "file.yaml"
    path.write_text(file.broken)
    with pytest.raises(file.error) as caught:
        file.load(path)
    [line] = caught.value.problems
    assert line.startswith(f"{path}{file.broken_at} invalid YAML"), line


@pytest.mark.parametrize("kind", FILES)
def test_a_key_given_twice_deep_inside_is_refused(tmp_path: Path, kind: str) -> None:
    """YAML would silently keep the last of two equal keys; every user file refuses them instead."""
    file = FILES[kind]
    lines = textwrap.dedent(file.deep).splitlines()
    path = tmp_path / "file.yaml"
    # A nested line (not a list item) written twice: the same key twice in one mapping below the top.
    repeated = next(
        index
        for index, line in enumerate(lines)
        if index >= 2 and line.startswith(" ") and not line.strip().startswith("- ")
    )
    path.write_text("\n".join([*lines[: repeated + 1], lines[repeated], *lines[repeated + 1 :]]) + "\n")
    with pytest.raises(file.error) as caught:
        file.load(path)
    found = [line for line in caught.value.problems if "duplicate key" in line]
    assert found and found[0].startswith(f"{path}:{repeated + 2}:"), caught.value.problems


@pytest.mark.parametrize("kind", FILES)
def test_a_file_that_cannot_be_read_is_named(tmp_path: Path, kind: str) -> None:
    file = FILES[kind]
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(file.error) as caught:
        file.load(tmp_path / "latin1.yaml")
    assert caught.value.problems == [
        f"{tmp_path / 'latin1.yaml'}: cannot read it: not UTF-8 text (invalid continuation byte at byte 9)"
    ]
