"""A normalized alert for tests, close to the Alertmanager sample; override any field by keyword."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.alert import Alert


def make_alert(**fields: object) -> Alert:
    base: dict[str, object] = {
        "source": "alertmanager",
        "format": "alertmanager.v4",
        "status": "firing",
        "name": "ProbeFailure",
        "severity": "critical",
        "fingerprint": "1a30ba71cca2921f",
        "starts_at": datetime(2023, 2, 6, 13, 8, 45, 828000, UTC),
        "labels": {"team": "sre"},
        "annotations": {"runbook": "https://runbooks/x"},
    }
    return Alert.model_validate(base | fields)
