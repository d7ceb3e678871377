"""Every example the manual shows is a file under docs/examples/, shown as it is, and checked by the code that
would read it: workflows by the validator `alertmesh validate` runs, routing files by ingest's loader, field maps
and sample payloads by ingest's parsers, webhook credentials by the webhook's loader."""

from __future__ import annotations

import hashlib
import io
import json
import re
import runpy
import textwrap
from pathlib import Path, PurePosixPath

import pytest
import yaml

from alertmesh import samples
from alertmesh.commands.route import route
from dsl.loader import check_files
from services.executor.actions import registry
from services.executor.catalog import action_catalog
from services.ingest.defaults import FIELD_MAPS_FILE
from services.ingest.parsers.field_maps import load_field_maps
from services.ingest.parsers.registry import parse_alerts, parsers_for
from services.ingest.routing.file import RoutingFileError
from services.ingest.routing.table import load_routing
from services.webhook.credentials import load_credentials
from tests.docs.markdown_files import DOCS, EXAMPLES, HAND_WRITTEN, REPO, Block, blocks

MANUAL = [page for page in HAND_WRITTEN if DOCS in page.parents]
SHOWN = [block for page in MANUAL for block in blocks(page) if block.example]
#: Languages whose blocks in the manual must come from an example file: configuration and code a reader copies.
EXAMPLE_LANGUAGES = {"yaml", "yml", "python"}


def _is_excerpt(block: str, whole: str) -> bool:
    """Whether ``block`` is a run of consecutive lines of ``whole``, both dedented (a step of a workflow is shown
    at the left margin)."""
    wanted = textwrap.dedent(block).strip("\n").splitlines()
    lines = whole.splitlines()
    return any(
        textwrap.dedent("\n".join(lines[start : start + len(wanted)])).splitlines() == wanted
        for start in range(len(lines) - len(wanted) + 1)
    )


def test_every_configuration_or_code_block_in_the_manual_comes_from_an_example_file() -> None:
    every_block = [block for page in MANUAL for block in blocks(page)]
    unmarked = [block.where() for block in every_block if block.lang in EXAMPLE_LANGUAGES and not block.example]
    assert unmarked == [], "put these in docs/examples/ and mark them with <!-- example: examples/... -->"


@pytest.mark.parametrize("block", SHOWN, ids=[block.where() for block in SHOWN])
def test_a_shown_example_is_its_file_or_a_part_of_it(block: Block) -> None:
    path = (block.page.parent / str(block.example)).resolve()
    assert EXAMPLES.resolve() in path.parents, f"{block.where()}: examples live under docs/examples/"
    assert _is_excerpt(block.text, path.read_text(encoding="utf-8")), (
        f"{block.where()} differs from {path.relative_to(REPO)}: show the file as it is"
    )


def test_the_excerpt_check_refuses_a_changed_line() -> None:
    whole = "a:\n  b: 1\n  c: 2\n"
    assert _is_excerpt("b: 1\nc: 2\n", whole)
    assert not _is_excerpt("b: 1\nc: 3\n", whole)
    assert not _is_excerpt("c: 2\nb: 1\n", whole)


def test_workflow_examples_validate_together() -> None:
    files = sorted((EXAMPLES / "workflows").glob("*.yaml"))
    report = check_files(files, closed=True, catalog=action_catalog)
    assert report.lines == []
    assert len(report.definitions) == len(files)


def test_routing_example_loads() -> None:
    table = load_routing(EXAMPLES / "routing" / "rules.yaml")
    assert [rule.name for rule in table.routes] == ["audit", "prod-pages", "probes"]


def test_invalid_routing_example_gives_the_problems_the_manual_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(RoutingFileError) as raised:
        load_routing(Path("docs/examples/routing/invalid.yaml"))
    shown = (DOCS / "routing.md").read_text(encoding="utf-8")
    assert str(raised.value).count("\n") == 2
    assert str(raised.value) in shown


def test_the_route_output_the_manual_shows_is_what_alertmesh_route_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    page = (DOCS / "routing.md").read_text(encoding="utf-8")
    command = re.search(r"^\$ alertmesh route (?P<file>\S+) --source (?P<source>\S+)$", page, re.MULTILINE)
    assert command, "docs/routing.md shows an `alertmesh route` run"
    out = io.StringIO()
    payload = samples.DIRECTORY / Path(command["file"]).name  # the samples ship in alertmesh/samples/
    assert route([payload], source=command["source"], out=out, err=io.StringIO()) == 0
    shown_start = page.index(command[0])
    shown = page[shown_start : page.index("```", shown_start)].splitlines()[2:]
    printed = out.getvalue().splitlines()
    for line in shown:
        assert line.strip() == "..." or line in printed, (
            f"docs/routing.md shows {line!r}, which `alertmesh route` no longer prints"
        )


def test_field_map_example_reads_the_example_payload() -> None:
    maps = load_field_maps(EXAMPLES / "field-maps" / "edr.yaml")
    body = (EXAMPLES / "payloads" / "edr-detections.json").read_bytes()
    alerts = parse_alerts(body, {"alertmesh-source": "edr"}, parsers_for(maps))
    assert [(alert.name, alert.severity, alert.status, alert.source) for alert in alerts] == [
        ("Credential dumping via LSASS access", "critical", "firing", "edr"),
        ("Unsigned driver loaded", "medium", "resolved", "edr"),
    ]
    assert alerts[0].urls == {"console": "https://edr.example.com/detections/812734"}


def test_the_producer_example_sends_a_cloudevent_ingest_reads() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "producers" / "publish_cloudevent.py"), run_name="example")
    alerts = parse_alerts(json.dumps(namespace["ALERT"]).encode(), {"alertmesh-source": "siem"})
    assert [(alert.name, alert.severity, alert.source) for alert in alerts] == [("Impossible travel", "high", "siem")]


def test_samples_the_manual_names_are_read_by_ingest() -> None:
    named = sorted({match for page in MANUAL for match in re.findall(r"samples/[\w.-]+\.json", page.read_text())})
    assert named, "the manual names sample payloads"
    maps = load_field_maps(FIELD_MAPS_FILE)
    for sample in named:
        path = samples.DIRECTORY / PurePosixPath(sample).name  # shipped in alertmesh/samples/
        assert path.is_file(), f"the manual names {sample}, which does not exist"
        assert parse_alerts(path.read_bytes(), {}, parsers_for(maps)), sample


def test_credentials_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAFANA_WEBHOOK_SECRET", "a-grafana-secret-of-some-length")
    monkeypatch.setenv("HOOK_SECRET", "a-hook-secret-of-some-length")
    loaded = load_credentials(EXAMPLES / "webhook" / "credentials.yaml")
    assert sorted(loaded) == ["alertmanager", "github-style", "grafana"]
    key_digest = hashlib.sha256(b"example-key-shown-in-the-docs").digest()
    assert loaded["alertmanager"].key_digests == (key_digest,)
    assert loaded["grafana"].signatures[0].timestamp_header == "X-Grafana-Alerting-Timestamp"
    assert loaded["github-style"].signatures[0].header == "X-Hub-Signature-256"


@pytest.mark.parametrize(
    ("name", "path_ends"),
    [
        ("alertmanager.yml", "/v1/alerts/alertmanager"),
        ("grafana-contact-point.yaml", "/v1/alerts/grafana"),
        ("grafana-contact-point-hmac.yaml", "/v1/alerts/grafana"),
    ],
)
def test_sender_configurations_post_to_the_webhook_path(name: str, path_ends: str) -> None:
    document = yaml.safe_load((EXAMPLES / "webhook" / name).read_text(encoding="utf-8"))
    urls = re.findall(r"'url': '([^']+)'", repr(document))
    assert urls and all(url.endswith(path_ends) for url in urls)


def test_the_falcosidekick_configuration_posts_to_the_falco_path_with_a_key() -> None:
    document = yaml.safe_load((EXAMPLES / "webhook" / "falcosidekick.yaml").read_text(encoding="utf-8"))
    assert document["webhook"]["address"].endswith("/v1/alerts/falco")
    assert document["webhook"]["customHeaders"]["Authorization"].startswith("Bearer ")


def test_the_own_action_example_registers_an_action(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the example's action goes away after
    runpy.run_path(str(EXAMPLES / "actions" / "acme_actions.py"))
    spec = registry.get_action("acme.lookup")
    assert spec.description == "Look an address up in ACME's inventory."
    assert spec.args_model.model_fields["ip"].description == "Address to look up."


def test_every_example_file_is_checked_by_a_test_here() -> None:
    checked_dirs = {"workflows", "routing", "field-maps", "payloads", "producers", "webhook", "actions"}
    files = [path.relative_to(EXAMPLES) for path in EXAMPLES.rglob("*") if path.is_file()]
    assert files
    assert [str(path) for path in files if path.parts[0] not in checked_dirs] == []
