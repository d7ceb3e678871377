"""Every sample under ``alertmesh/samples/<sender>/`` reads as its ``expected.yaml`` says, through ingest's own
reading path (``read_alerts`` with the configured field maps).

A sender's folder holds payloads written from the sender's documented format (its ``README.md`` names, for each
file, the document or code that defines it) and ``expected.yaml``:

    <file>.json:
      headers: {content-type: ...}        # optional; alertmesh-source defaults to the folder's name
      source: <name>                      # optional: the source header's value, when not the folder's name
      alerts:                             # in order; each key given is compared, the others are not
        - {name: ..., severity: ..., status: ..., labels: {k: v}, starts_at: "...", urls: {...}, group: {...}}
      refused:                            # elements that cannot be alerts, each with a word its reason holds
        - {index: 0, reason: alertname}
      error: "a word the reason holds"    # instead of alerts: the whole message is refused

Across the corpus, fingerprints are stable (the same bytes read twice give the same) and distinct: two alerts
share one only where ``expected.yaml`` gives both the same ``fingerprint_group``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from alertmesh.samples import DIRECTORY
from schemas.alert import Alert
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers import ParseError, RefusedAlert, parsers_for, read_alerts
from services.ingest.parsers.field_maps import load_field_maps

SENDERS = sorted(path for path in DIRECTORY.iterdir() if path.is_dir() and (path / "expected.yaml").is_file())


def cases() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for folder in SENDERS:
        expected = yaml.safe_load((folder / "expected.yaml").read_text()) or {}
        for name, case in expected.items():
            yield folder, name, case


CASES = list(cases())


def read(folder: Path, case: dict[str, Any], name: str) -> list[Alert | RefusedAlert]:
    headers = {SOURCE_HEADER: case.get("source", folder.name), **case.get("headers", {})}
    maps_file = folder / "field-maps.yaml"
    parsers = parsers_for(load_field_maps(maps_file) if maps_file.is_file() else {})
    return read_alerts((folder / name).read_bytes(), headers, parsers)


def test_every_sample_has_its_expectation_and_its_defining_document() -> None:
    for folder in SENDERS:
        listed = yaml.safe_load((folder / "expected.yaml").read_text()) or {}
        readme = (folder / "README.md").read_text()
        for sample in sorted(folder.glob("*.json")):
            assert sample.name in listed, f"{sample} has no entry in expected.yaml"
            assert sample.name in readme, f"{folder}/README.md does not say where {sample.name}'s format is defined"
        assert "http" in readme, f"{folder}/README.md names no defining document"


@pytest.mark.parametrize(("folder", "name", "case"), CASES, ids=[f"{f.name}/{n}" for f, n, _ in CASES])
def test_a_sample_reads_as_expected(folder: Path, name: str, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ParseError) as refused:
            read(folder, case, name)
        assert case["error"].lower() in refused.value.reason.lower()
        return
    entries = read(folder, case, name)
    alerts = [entry for entry in entries if isinstance(entry, Alert)]
    refused = [entry for entry in entries if isinstance(entry, RefusedAlert)]
    for entry, want in zip(refused, case.get("refused", []), strict=True):
        assert entry.index == want["index"] and want["reason"].lower() in entry.reason.lower(), entry.reason
    assert len(alerts) == len(case.get("alerts", [])), [alert.name for alert in alerts]
    for alert, want in zip(alerts, case.get("alerts", []), strict=True):
        compare(alert, want)
    again = [entry for entry in read(folder, case, name) if isinstance(entry, Alert)]
    assert [alert.fingerprint for alert in again] == [alert.fingerprint for alert in alerts], "fingerprints unstable"


def compare(alert: Alert, want: dict[str, Any]) -> None:
    for key, value in want.items():
        if key == "fingerprint_group":
            continue
        got = getattr(alert, key)
        if key == "labels" or key == "urls" or key == "annotations":
            assert {k: got.get(k) for k in value} == value, f"{key}: {got}"
        elif key == "group":  # the keys given of the notification's group context
            assert got is not None and {k: getattr(got, k) for k in value} == value, f"{key}: {got}"
        elif isinstance(got, datetime):
            assert got == datetime.fromisoformat(str(value).replace("Z", "+00:00")), f"{key}: {got}"
        else:
            assert got == value, f"{key}: {got!r} != {value!r}"


def test_distinct_alerts_never_share_a_fingerprint() -> None:
    seen: dict[tuple[str, str], str] = {}
    for folder, name, case in CASES:
        if "error" in case:
            continue
        alerts = [entry for entry in read(folder, case, name) if isinstance(entry, Alert)]
        for index, (alert, want) in enumerate(zip(alerts, case.get("alerts", []), strict=False)):
            where = want.get("fingerprint_group", f"{folder.name}/{name}[{index}]")
            key = (alert.source, alert.fingerprint)
            assert seen.setdefault(key, where) == where, f"{where} shares a fingerprint with {seen[key]}"
