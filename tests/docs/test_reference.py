"""The generated reference pages: current in the repository, and generated from what the code really says."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import alertmesh.reference as reference
from alertmesh.reference import actions, functions, settings
from dsl.functions import FUNCTIONS, Function
from services.executor.actions import registry
from services.executor.config import ExecutorSettings
from services.shared.kafka import KafkaSettings
from tests.docs.markdown_files import REFERENCE, REPO


def test_checked_in_pages_are_current() -> None:
    stale = reference.check(REFERENCE)
    assert stale == [], (
        f"docs/reference/ pages not current: {', '.join(stale)}; run `alertmesh docs` (or "
        "`python -c 'from alertmesh.reference import main; main(False, None)'`) and commit the result"
    )


def test_write_then_check_finds_nothing_stale(tmp_path: Path) -> None:
    written = reference.write(tmp_path / "reference")
    assert [path.name for path in written] == ["functions.md", "actions.md", "environment.md"]
    assert reference.check(tmp_path / "reference") == []


def test_check_names_missing_and_changed_pages(tmp_path: Path) -> None:
    reference.write(tmp_path)
    (tmp_path / "actions.md").write_text("# Actions\n\nedited by hand\n", encoding="utf-8")
    (tmp_path / "environment.md").unlink()
    assert reference.check(tmp_path) == ["actions.md", "environment.md"]


def test_main_check_exits_1_naming_each_stale_page_and_how_to_regenerate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reference.main(check=True, out_dir=tmp_path) == 1
    err = capsys.readouterr().err
    for name in ("functions.md", "actions.md", "environment.md"):
        assert f"{tmp_path / name} is not current: run `alertmesh docs`" in err
    assert reference.main(check=False, out_dir=tmp_path) == 0
    assert reference.main(check=True, out_dir=tmp_path) == 0


def test_the_default_place_is_docs_reference_in_the_repository() -> None:
    assert reference.DEFAULT_OUT_DIR == REPO / "docs" / "reference"


def test_every_function_is_on_its_page_with_its_docstring() -> None:
    page = functions.render()
    for function in FUNCTIONS.values():
        assert f"### `{functions.call_shape(function)}`" in page
        assert function.doc.strip() in page


def test_call_shape_shows_optional_and_variadic_arguments() -> None:
    assert functions.call_shape(FUNCTIONS["split"]) == "FN.split(value[, separator[, limit]])"
    assert functions.call_shape(FUNCTIONS["lower"]) == "FN.lower(value)"
    assert functions.call_shape(FUNCTIONS["concat"]).endswith("...)")


def test_every_built_in_action_and_argument_is_on_the_actions_page() -> None:
    page = actions.render()
    for spec in actions.built_in_actions():
        assert f"## {spec.name}" in page
        for name, field in spec.args_model.model_fields.items():
            assert f"`{field.alias or name}`" in page
            if field.description:
                assert field.description.replace("|", "\\|") in page
    assert "| `url` | `str` | required | http(s) URL; no credentials in it (use headers). |" in page


def test_actions_from_outside_the_built_in_package_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    class ProbeArgs(BaseModel):
        x: int = Field(description="A number.")

    def probe(args: ProbeArgs) -> int:
        return args.x

    probe.__module__ = "tests.docs.probe_actions"
    spec = registry.ActionSpec(name="probe.not_built_in", func=probe, args_model=ProbeArgs)
    monkeypatch.setitem(registry._REGISTRY, "probe.not_built_in", spec)
    assert "probe.not_built_in" in registry.action_names()
    assert "probe.not_built_in" not in actions.render()
    assert "core.http_request" in [spec.name for spec in actions.built_in_actions()]


def test_every_settings_class_is_found_in_the_source() -> None:
    found = {(item.module, item.name) for item in settings.find_settings_classes(REPO)}
    assert {
        ("services.ingest.config", "IngestSettings"),
        ("services.webhook.config", "WebhookSettings"),
        ("services.orchestrator.config", "OrchestratorSettings"),
        ("services.executor.config", "ExecutorSettings"),
        ("services.shared.kafka", "KafkaSettings"),
        ("services.shared.temporal", "TemporalSettings"),
        ("services.shared.topics", "TopicSettings"),
        ("services.shared.tracing", "TracingSettings"),
        ("services.shared.blobs", "BlobSettings"),
        ("alertmesh.stack.mesh", "MeshSettings"),
        ("alertmesh.status.report", "StatusSettings"),
    } <= found
    for item in settings.find_settings_classes(REPO):
        assert issubclass(item.load(), BaseSettings)


def test_a_settings_class_in_new_source_is_found_with_its_comments(tmp_path: Path) -> None:
    package = tmp_path / "services" / "newservice"
    package.mkdir(parents=True)
    (package / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n\n\n"
        "class NewSettings(BaseSettings):\n"
        "    # Why this is 5:\n"
        "    #   two lines of it.\n"
        "    limit: int = 5\n"
        "    plain: str = 'x'\n",
        encoding="utf-8",
    )
    (tmp_path / "alertmesh").mkdir()
    [found] = settings.find_settings_classes(tmp_path)
    assert (found.module, found.name) == ("services.newservice.config", "NewSettings")
    assert found.comments == {"limit": "Why this is 5: two lines of it.", "plain": ""}


def test_environment_page_rows() -> None:
    page = settings.render(REPO)
    # prefix + name, the type, the default and the comment above the field
    assert (
        "| `INGEST_DEDUP_WINDOW_S` | `float` | `300.0` | Noise control (services.ingest.noise): the same "
        "(route, source, fingerprint, status) within this many seconds of the trigger it last caused gives no new "
        "trigger; 0 turns dedup off. |"
    ) in page
    # a field with an alias reads exactly that variable
    assert "| `RAY_ADDRESS` | `str \\| None` | `none` |" in page
    # a nested settings class links to its own table, which appears once
    assert "| `KAFKA_*` | [KafkaSettings](#kafkasettings) |" in page
    assert page.count("## KafkaSettings") == 1
    assert page.count("| `KAFKA_BOOTSTRAP_SERVERS` | `str` |") == 1


def test_env_name_and_nested_detection() -> None:
    executor = ExecutorSettings.model_fields
    assert settings.env_name("EXECUTOR_", "ray_address", executor["ray_address"]) == "RAY_ADDRESS"
    assert settings.env_name("EXECUTOR_", "egress_allow", executor["egress_allow"]) == "EXECUTOR_EGRESS_ALLOW"
    assert settings.nested_settings(executor["kafka"]) is KafkaSettings
    assert settings.nested_settings(executor["egress_allow"]) is None


def test_a_machine_dependent_default_is_written_the_same_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class WithTempDefault(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="PROBE_")
        dir: Path = Path(__import__("tempfile").gettempdir()) / "probe"

    assert settings.default_text(WithTempDefault.model_fields["dir"]) == "`<temp dir>/probe`"


def test_functions_registered_outside_the_language_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def shout(value: str) -> str:
        """``value`` loudly."""
        return value.upper()

    shout.__module__ = "tests.docs.probe_functions"
    monkeypatch.setitem(FUNCTIONS, "shout", Function("shout", shout, 1, 1, "``value`` loudly."))
    assert "FN.shout" not in functions.render()
    assert "FN.lower(value)" in functions.render()


def test_alertmesh_docs_check_is_the_command_line_of_check(capsys: pytest.CaptureFixture[str]) -> None:
    """``alertmesh docs --check`` runs the same check as the test above, through the command table."""
    from alertmesh import cli

    assert cli.main(["docs", "--check"]) == 0
