"""The AsyncAPI document: the checked-in file is what the code generates, its structure holds, and it names every
topic, the schema files, and the services' real client ids and consumer groups."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from alertmesh import cli
from alertmesh.asyncapi import generate, structure
from alertmesh.asyncapi.topics import TOPICS
from schemas.jsonschema import path_for
from services.ingest.defaults import ROUTING_FILE
from services.shared.topics import TopicSettings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(generate.render())
    return loaded


def test_checked_in_document_is_current() -> None:
    assert generate.DOCUMENT.read_bytes() == generate.render(), (
        "asyncapi.yaml is stale: run `alertmesh asyncapi` and commit the result"
    )


def test_structure_has_no_problems(document: dict[str, Any]) -> None:
    assert structure.problems(document, generate.DOCUMENT.parent) == []


def test_every_topic_has_a_channel_with_writers_and_readers(document: dict[str, Any]) -> None:
    topics = TopicSettings.model_construct()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {*topics.all(), topics.ingest_state, topics.silences, topics.alerts}
    for name, channel in document["channels"].items():
        assert channel["x-producers"] and channel["x-consumers"], name
        actions = {op["action"] for op in document["operations"].values() if op["channel"]["$ref"].endswith(name)}
        assert actions == {"send", "receive"}, name


def test_event_payloads_are_the_checked_in_schema_files(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["WorkflowTrigger"] == {"$ref": "schemas/json/alertmesh.trigger.v1.json"}
    for topic in TOPICS:
        if topic.event_type is not None:
            reference = schemas[topic.message_title]["$ref"]
            assert (generate.DOCUMENT.parent / reference).resolve() == path_for(topic.event_type).resolve()
            message = document["components"]["messages"][topic.message_title]
            assert message["headers"]["properties"]["ce_type"]["const"] == topic.event_type
            assert message["correlationId"]["location"] == "$message.header#/correlationid"


def test_participants_name_the_services_real_client_ids_and_groups(document: dict[str, Any]) -> None:
    from services.ingest.app import CLIENT_ID as INGEST
    from services.ingest.config import IngestSettings
    from services.orchestrator.config import OrchestratorSettings
    from services.orchestrator.service import CLIENT_ID as ORCHESTRATOR
    from services.webhook.app import CLIENT_ID as WEBHOOK

    operations = document["operations"]
    kafka = operations["ingest.receive.rawAlerts"]["bindings"]["kafka"]
    assert kafka["clientId"]["enum"] == [INGEST]
    assert kafka["groupId"]["enum"] == [IngestSettings.model_fields["group_id"].default]
    kafka = operations["orchestrator.receive.triggers"]["bindings"]["kafka"]
    assert kafka["clientId"]["enum"] == [ORCHESTRATOR]
    assert kafka["groupId"]["enum"] == [OrchestratorSettings.model_fields["group_id"].default]
    assert operations["webhook.send.rawAlerts"]["bindings"]["kafka"]["clientId"]["enum"] == [WEBHOOK]


def test_the_ingest_apps_own_broker_declares_what_the_document_says() -> None:
    """FastStream's document of the real ingest app's broker (its subscribers and publishers) lists only uses the
    document gives ingest."""
    from faststream.specification import AsyncAPI

    from services.ingest.app import build_app
    from services.ingest.config import IngestSettings

    _, broker = build_app(IngestSettings(routing_file=ROUTING_FILE))
    own = AsyncAPI(broker, schema_version="3.0.0").to_specification().to_jsonable()
    declared = {
        (operation["action"], own["channels"][operation["channel"]["$ref"].split("/")[-1]]["address"])
        for operation in own["operations"].values()
    }
    documented = {
        (use.action, topic.address) for topic in TOPICS for use in topic.uses if use.participant.name == "ingest"
    }
    assert {("receive", "alerts.raw"), ("send", "alertmesh.triggers"), ("send", "alertmesh.dlq")} <= declared
    assert declared <= documented


def test_structure_finds_broken_references_and_missing_fields(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["WorkflowResult"] = {"$ref": "schemas/json/alertmesh.result.v9.json"}
    broken["operations"]["ingest.send.triggers"]["messages"] = [{"$ref": "#/channels/results/messages/WorkflowResult"}]
    del broken["info"]["version"]
    del broken["components"]["messages"]["DeadLetter"]
    found = structure.problems(broken, generate.DOCUMENT.parent)
    assert any("alertmesh.result.v9.json" in problem for problem in found)
    assert any("ingest.send.triggers" in problem for problem in found)
    assert any("info needs" in problem for problem in found)
    assert any("#/components/messages/DeadLetter" in problem for problem in found)


def test_command_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "asyncapi.yaml"
    assert cli.main(["asyncapi", "--check", "--output", str(target)]) == 1  # missing counts as stale
    assert "is stale" in capsys.readouterr().err
    # Written outside the repository, the schema files are referenced relative to where it is.
    (tmp_path / "schemas").symlink_to(generate.REPO_ROOT / "schemas")
    assert cli.main(["asyncapi", "--output", str(target)]) == 0
    assert cli.main(["asyncapi", "--check", "--output", str(target)]) == 0
    target.write_bytes(target.read_bytes().replace(b"alerts.raw", b"alerts.old"))
    assert cli.main(["asyncapi", "--check", "--output", str(target)]) == 1
    assert cli.main(["asyncapi", "--check"]) == 0
