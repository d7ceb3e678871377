"""The ``alertmesh`` command table: every command registered with its help, dispatch by name, the set-up only the
commands that need it get, and the light imports that keep ``--help`` and ``validate`` fast."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from alertmesh import cli
from schemas import EVENTS, jsonschema
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.webhook.credentials import hash_key, load_credentials
from tests.conftest import REPO

#: Clients no command may load before it runs (``--help``, ``validate``, ``webhook-key``).
HEAVY = ("aiokafka", "temporalio", "ray", "fastapi", "faststream")


def loaded_after(*argv: str) -> set[str]:
    """The top-level packages loaded once ``alertmesh ARGV`` ran in a fresh interpreter (exit code checked)."""
    script = (
        "import sys\nfrom alertmesh.cli import main\ntry:\n    code = main(sys.argv[1:])\nexcept SystemExit as end:\n"
        "    code = end.code\nprint(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\nsys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())  # the command's own output comes first


def test_every_command_has_a_unique_name_and_one_line_of_help() -> None:
    names = [command.NAME for command in cli.COMMANDS]
    assert len(names) == len(set(names)) == len(cli.BY_NAME)
    for command in cli.COMMANDS:
        assert command.HELP.strip() and "\n" not in command.HELP, command.NAME
        assert isinstance(command.NEEDS_SETUP, bool), command.NAME


def test_help_lists_every_command_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as end:
        cli.main(["--help"])
    assert end.value.code == 0
    listed = " ".join(capsys.readouterr().out.split())  # argparse wraps the help column
    for command in cli.COMMANDS:
        assert f"{command.NAME} {' '.join(command.HELP.split())}" in listed, command.NAME


def test_the_table_holds_every_command_of_the_cli() -> None:
    expected = {"up", "demo", "publish", "results", "rerun", "run", "actions", "validate", "route", "status", "dlq"}
    expected |= {"chaos", "asyncapi", "trace", "bench", "schemas", "docs", "webhook-key", "silence"}
    assert set(cli.BY_NAME) == expected


def test_commands_that_need_it_get_the_logging_set_up_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ALERTMESH_LOG_FORMAT", "yaml")
    assert cli.BY_NAME["actions"].NEEDS_SETUP
    assert cli.main(["actions"]) == 2
    assert "ALERTMESH_LOG_FORMAT='yaml' is not a log format" in capsys.readouterr().err
    # validate only reads files: no set-up, so the bad format does not concern it.
    assert not cli.BY_NAME["validate"].NEEDS_SETUP
    workflow = tmp_path / "w.yaml"
    workflow.write_text("name: w\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n")
    assert cli.main(["validate", str(workflow)]) == 0


def test_help_and_validate_load_no_kafka_temporal_or_ray_client() -> None:
    assert not loaded_after("--help") & set(HEAVY)
    assert not loaded_after("validate", str(WORKFLOWS_DIR / "triage.yaml")) & set(HEAVY)


def test_webhook_key_add_writes_a_private_file_without_loading_the_web_framework(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    assert not loaded_after("webhook-key", "add", str(path), "alertmanager") & set(HEAVY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(load_credentials(path)) == {"alertmanager"}


def test_webhook_key_add_prints_the_key_it_added_and_refuses_a_bad_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "creds.yaml"
    assert cli.main(["webhook-key", "add", str(path), "grafana"]) == 0
    key = capsys.readouterr().out.strip()
    assert load_credentials(path)["grafana"].key_digests == (bytes.fromhex(hash_key(key)),)
    before = path.read_bytes()
    assert cli.main(["webhook-key", "add", str(path), "not a source name"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and f"{path}: not changed:" in err
    assert path.read_bytes() == before


def test_schemas_check_passes_on_the_checked_in_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schemas", "--check"]) == 0
    assert "is current" in capsys.readouterr().out


def test_schemas_check_names_a_stale_file_and_schemas_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(jsonschema, "DIRECTORY", tmp_path / "json")
    assert cli.main(["schemas"]) == 0
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == sorted(f"{t}.json" for t in EVENTS)
    capsys.readouterr()
    stale = jsonschema.path_for("alertmesh.result.v1")
    stale.write_bytes(b"{}\n")
    assert cli.main(["schemas", "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{stale} is stale: run `alertmesh schemas`" in err
    assert err.count("is stale") == 1
    assert cli.main(["schemas"]) == 0
    assert stale.read_bytes() == jsonschema.render("alertmesh.result.v1")
    assert cli.main(["schemas", "--check"]) == 0


def test_schemas_refuses_to_rewrite_an_installed_copys_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from alertmesh.commands import schemas as command

    monkeypatch.setattr(jsonschema, "DIRECTORY", tmp_path / "json")
    monkeypatch.setattr(command, "is_checkout", lambda: False)
    assert cli.main(["schemas"]) == 2
    assert "run it from a checkout" in capsys.readouterr().err
    assert not (tmp_path / "json").exists()
