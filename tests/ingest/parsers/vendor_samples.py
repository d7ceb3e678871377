"""What the tests of the vendor formats (Datadog, PagerDuty, Opsgenie, Sentry, Splunk, Elastic) share: their sample
folders, which parser takes each sample, and hypothesis strategies that spoil a real sample one field at a time."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from alertmesh.samples import DIRECTORY
from schemas import Trigger
from schemas.alert import SEVERITY_SCALE, Alert
from schemas.identity import idempotency_key
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers import PARSERS, ParseError, RefusedAlert, read_alerts
from services.ingest.parsers.base import Parser
from services.orchestrator.lifecycle import firing_run_id
from services.orchestrator.open_runs import alert_series, same_firing
from tests.shared.strategies import DEEP, EDGE_TIMES, HUGE_TEXT, JSON

WRONG = JSON | EDGE_TIMES | DEEP | HUGE_TEXT | st.sampled_from(["1772446523000", "99999999999999999999999", "P1"])


def samples(folder: str) -> list[Path]:
    """The JSON samples of one sender's folder."""
    return sorted((DIRECTORY / folder).glob("*.json"))


def every_sample() -> list[Path]:
    """Every sample of the corpus: each sender's folder and the demo's flat files."""
    return sorted(DIRECTORY.glob("*.json")) + sorted(DIRECTORY.glob("*/*.json"))


def taker(path: Path) -> Parser | None:
    """The parser ingest gives ``path``'s body to (the first that accepts it), None when none does."""
    document = orjson.loads(path.read_bytes())
    headers = {SOURCE_HEADER: path.parent.name}
    return next((parser for parser in PARSERS if parser.accepts(document, headers)), None)


def assert_samples_taken_by(folder: str, formats: Sequence[str]) -> None:
    """Every sample of ``folder`` goes to one of ``formats``, and no other sample of the corpus does."""
    assert samples(folder), f"no samples in {folder}"
    for path in every_sample():
        parser = taker(path)
        taken = parser is not None and parser.format in formats
        assert taken == (path.parent.name == folder), f"{path} is read by {parser and parser.format}"


@st.composite
def spoiled_sample(draw: st.DrawFn, folder: str) -> bytes:
    """A sample of ``folder`` with up to three values replaced by wrong ones (or removed), at any depth."""
    document = copy.deepcopy(orjson.loads(draw(st.sampled_from(samples(folder))).read_bytes()))
    for _ in range(draw(st.integers(0, 3))):
        _spoil(draw, document)
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:  # DEEP nests past what orjson writes: the decoder refuses it in the same way
        return b'{"too": "deep"}'


def _spoil(draw: st.DrawFn, document: Any) -> None:
    target = document
    while isinstance(target, dict | list) and target and draw(st.booleans()):
        key = draw(st.sampled_from(list(target) if isinstance(target, dict) else list(range(len(target)))))
        if not isinstance(target[key], dict | list) or not target[key]:
            break
        target = target[key]
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(list(target)))
        if draw(st.integers(0, 4)) == 0:
            del target[key]
        else:
            target[key] = draw(WRONG)
    elif isinstance(target, list) and target:
        target[draw(st.integers(0, len(target) - 1))] = draw(WRONG)


def assert_reads_or_refuses(body: bytes, folder: str) -> None:
    """``read_alerts`` gives valid alerts and refusals or a ``ParseError`` with a reason; nothing else escapes."""
    try:
        entries = read_alerts(body, {SOURCE_HEADER: folder})
    except ParseError as error:
        assert error.reason
        return
    assert entries
    for entry in entries:
        if isinstance(entry, RefusedAlert):
            assert entry.reason
            continue
        assert isinstance(entry, Alert) and entry.name.strip() and entry.fingerprint
        assert entry.severity in SEVERITY_SCALE
        assert all(isinstance(link, str) and link.strip() for link in entry.urls.values())


def assert_resolved_finds_its_firing_run(folder: str, firing: str, resolved: str) -> None:
    """The resolved sample reaches the run the firing sample started: by its exact id when the resolved alert
    names it (``lifecycle.firing_run_id``, alerts keyed by their start), else through the index of open firing
    runs (``open_runs``), which needs the same series (source and fingerprint) and a firing that started no later
    than the resolved alert says."""
    [fired] = read_alerts((DIRECTORY / folder / firing).read_bytes(), {SOURCE_HEADER: folder})
    [ended] = read_alerts((DIRECTORY / folder / resolved).read_bytes(), {SOURCE_HEADER: folder})
    assert isinstance(fired, Alert) and isinstance(ended, Alert)
    assert (fired.status, ended.status) == ("firing", "resolved")
    trigger = Trigger(workflow="triage", alert=ended, route="catch-all", idempotency_key="k")
    exact = firing_run_id(trigger)
    if exact is not None and exact == idempotency_key(fired, "triage"):
        return
    assert alert_series("q", "triage", ended) == alert_series("q", "triage", fired)
    start = fired.starts_at.isoformat() if fired.starts_at is not None else None
    assert same_firing(ended, start)
