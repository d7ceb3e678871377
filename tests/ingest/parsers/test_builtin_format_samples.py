"""Each built-in format reads its own sender's samples and nothing else: ``accepts`` never steals another sender's
payload, and a sender's malformed sample is refused by its own parser (with that parser's reason), not passed on to
another format or to "unsupported"."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from alertmesh.samples import DIRECTORY
from schemas.alert import Alert
from schemas.identity import idempotency_key
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers import PARSERS, read_alerts

#: Sample folder -> the format that must read every file in it.
OWNERS = {
    "prometheus": "prometheus.v2",
    "aws-sns": "aws.sns.cloudwatch",
    "azure-monitor": "azure.monitor.common",
    "gcp-monitoring": "gcp.monitoring",
    "grafana-legacy": "grafana.legacy",
}
SAMPLES = sorted(DIRECTORY.glob("**/*.json"))


def _taker(sample: Path) -> str | None:
    document = orjson.loads(sample.read_bytes())
    return next((parser.format for parser in PARSERS if parser.accepts(document, {})), None)


@pytest.mark.parametrize("sample", SAMPLES, ids=[str(path.relative_to(DIRECTORY)) for path in SAMPLES])
def test_each_sample_is_taken_by_its_senders_format_only(sample: Path) -> None:
    owner = OWNERS.get(sample.parent.name)
    taker = _taker(sample)
    if owner is not None:
        assert taker == owner, f"{sample.name} is taken by {taker}, not {owner}"
    else:
        assert taker not in OWNERS.values(), f"{sample} of another sender is taken by {taker}"


def test_every_owned_folder_has_samples() -> None:
    for folder in OWNERS:
        assert len(list((DIRECTORY / folder).glob("*.json"))) >= 4, folder


#: A firing sample and its resolved sample, for the formats whose notifications carry the episode's start in both.
EPISODES = [
    ("prometheus", "rule-group-firing.json", "rule-resolved.json"),
    ("azure-monitor", "metric-alert-fired.json", "metric-alert-resolved.json"),
    ("gcp-monitoring", "incident-open.json", "incident-closed.json"),
    ("aws-sns", "eventbridge-alarm-via-sns.json", "eventbridge-alarm-ok.json"),
]


@pytest.mark.parametrize(("folder", "firing", "resolved"), EPISODES, ids=[folder for folder, _, _ in EPISODES])
def test_a_resolved_alert_finds_its_firing_run(folder: str, firing: str, resolved: str) -> None:
    # The orchestrator signals the run whose id is the resolved alert's key with status firing (lifecycle.py).
    headers = {SOURCE_HEADER: folder}
    fired = next(e for e in read_alerts((DIRECTORY / folder / firing).read_bytes(), headers) if isinstance(e, Alert))
    ended = next(e for e in read_alerts((DIRECTORY / folder / resolved).read_bytes(), headers) if isinstance(e, Alert))
    assert (fired.status, ended.status) == ("firing", "resolved")
    as_firing = ended.model_copy(update={"status": "firing"})
    assert idempotency_key(as_firing, "triage") == idempotency_key(fired, "triage")
