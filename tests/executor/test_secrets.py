"""The default secrets backend (environment variables over a secrets file) and masking."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from services.executor.masking import mask_text, mask_value
from services.executor.secrets import (
    EnvironmentSecrets,
    FileSecrets,
    InvalidSecretsFile,
    StepSecrets,
    default_backend,
    env_variable,
    parse_secrets_file,
)


def test_environment_variable_naming() -> None:
    assert env_variable("virus-total", "API_KEY") == "ALERTMESH_SECRET_VIRUS_TOTAL__API_KEY"
    environ = {"ALERTMESH_SECRET_VIRUS_TOTAL__API_KEY": "k", "ALERTMESH_SECRET_VIRUS_TOTAL__url": "u", "OTHER": "x"}
    assert EnvironmentSecrets(environ).get("virus-total") == {"API_KEY": "k", "url": "u"}
    assert EnvironmentSecrets(environ).get("nothing") is None


def test_a_secrets_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("vt:\n  API_KEY: one\n")
    secrets = FileSecrets(path)
    assert secrets.get("vt") == {"API_KEY": "one"}
    path.write_text('{"vt": {"API_KEY": "rotated-two"}}')  # JSON is fine too
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert secrets.get("vt") == {"API_KEY": "rotated-two"}


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"vt": {"API_KEY": "from-file", "URL": "https://vt"}}')
    monkeypatch.setenv("ALERTMESH_SECRET_VT__API_KEY", "from-env")
    assert default_backend(path).get("vt") == {"API_KEY": "from-env", "URL": "https://vt"}


@pytest.mark.parametrize("text", ["[1, 2]", "vt: plain", "vt: {KEY: 3}", "vt: [unclosed"])
def test_a_malformed_file_is_refused_without_quoting_values(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    with pytest.raises(InvalidSecretsFile) as refused:
        parse_secrets_file(path)
    assert str(path) in str(refused.value) and "plain" not in str(refused.value)


def test_step_secrets_look_up_only_what_is_read_and_remember_it() -> None:
    looked_up: list[str] = []

    class Backend:
        def get(self, name: str) -> dict[str, str] | None:
            looked_up.append(name)
            return {"KEY": "v"} if name == "a" else None

    view = StepSecrets(Backend())
    assert looked_up == [] and view.used == set()
    assert "a" in view and view["a"]["KEY"] == "v" and view.used == {"v"}
    assert "b" not in view and view.missing == ("b", None)
    assert looked_up == ["a", "b"]


def test_masking_replaces_longest_values_first_everywhere() -> None:
    secrets = {"abc", "abcdef", ""}
    assert mask_text("x-abcdef-abc-ab", secrets) == "x-***-***-ab"
    value = {"abc": ["abcdef", 1, None, {"k": "zabcz"}], "n": 2}
    assert mask_value(value, secrets) == {"***": ["***", 1, None, {"k": "z***z"}], "n": 2}
    assert mask_value(value, set()) is value


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('vt: {API_KEY: "hunter2\\q"}\n', ":1:24: invalid YAML (ScannerError)"),  # YAML would quote the bad escape
        ("vt:\n  API_KEY: one\n  URL: [hunter2]\n", ":3:8: secret 'vt' must map string keys to string values"),
        ("vt:\n  API_KEY: {hunter2: 1, hunter2: 2}\n", ":2:25: duplicate key (YAML would keep only the last)"),
        ('{"vt": {"API_KEY": 7}, "gh": "hunter2"}', ":1:20: secret 'vt' must map string keys to string values"),
    ],
)
def test_problems_of_a_secrets_file_say_where_but_never_what(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    with pytest.raises(InvalidSecretsFile) as refused:
        parse_secrets_file(path)
    assert refused.value.problems[0] == f"{path}{where}"
    assert "hunter2" not in str(refused.value) and "\\q" not in str(refused.value)


GOOD = '{"vt": {"API_KEY": "hunter2-good"}, "gh": {"TOKEN": "gh-token-1"}}'


@pytest.mark.parametrize(
    "broken",
    [
        GOOD[: len(GOOD) // 2],  # half-written: a deploy tool replacing the file in place
        "",  # truncated to nothing first
        '{"vt": {"API_KEY": 7}}',  # malformed
        None,  # removed
    ],
)
def test_a_file_that_breaks_keeps_the_last_good_copy_and_warns_once(
    tmp_path: Path, broken: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(GOOD)
    secrets = FileSecrets(path)
    assert secrets.get("vt") == {"API_KEY": "hunter2-good"}
    if broken is None:
        path.unlink()
    else:
        path.write_text(broken)
        os.utime(path, ns=(1, 1))
    with caplog.at_level(logging.WARNING, logger="services.executor.secrets"):
        for _ in range(3):
            assert secrets.get("vt") == {"API_KEY": "hunter2-good"}
            assert secrets.get("gh") == {"TOKEN": "gh-token-1"}
    [warning] = caplog.records
    assert str(path) in warning.getMessage() and "last good copy" in warning.getMessage()
    assert "hunter2" not in warning.getMessage()
    path.write_text('{"vt": {"API_KEY": "rotated"}}')  # fixed: read again
    os.utime(path, ns=(2, 2))
    assert secrets.get("vt") == {"API_KEY": "rotated"} and secrets.get("gh") is None


def test_a_file_broken_before_any_good_copy_holds_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"vt": {"API_K')
    assert FileSecrets(path).get("vt") is None


def test_a_backend_that_fails_names_the_secret_not_the_failure() -> None:
    class Down:
        def get(self, name: str) -> dict[str, str] | None:
            raise ConnectionError("vault at https://user:hunter2@vault answered 503")

    view = StepSecrets(Down())
    assert "vt" not in view
    error = view.missing_error()
    assert error is not None and "'vt'" in str(error) and "ConnectionError" in str(error)
    assert "hunter2" not in str(error)
