"""``alertmesh actions``: the catalog of actions, as text and as JSON."""

from __future__ import annotations

import json

import pytest

from alertmesh.cli import main
from services.executor.actions import action_names


def test_text_lists_every_action_with_its_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions"]) == 0
    out = capsys.readouterr().out
    for name in action_names():
        assert f"\n{name}" in f"\n{out}"
    assert "core.require  (pure)\n  Fail unless every named condition" in out
    assert "    conditions: array|object (required) - Named conditions" in out
    assert "    headers: object (optional) - Request headers." in out


def test_json_is_the_registry_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions", "--json"]) == 0
    catalog = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert catalog["core.kafka.publish"]["pure"] is False
    assert catalog["core.http_poll"]["args"]["properties"]["until"]["type"] == "string"
