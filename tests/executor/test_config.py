"""Executor settings that bound what actions may do: egress allow-list and result size."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from pydantic import ValidationError

from services.executor.config import ExecutorSettings
from services.shared.egress import EgressPolicy


def test_defaults_allow_public_addresses_only_and_1_mib_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXECUTOR_EGRESS_ALLOW", raising=False)
    monkeypatch.delenv("EXECUTOR_MAX_RESULT_BYTES", raising=False)
    settings = ExecutorSettings()
    limits = settings.action_limits()
    assert (limits.max_result_bytes, limits.egress) == (1024 * 1024, EgressPolicy())
    # core.kafka.publish writes to the mesh's own broker
    assert limits.kafka is not None and limits.kafka["bootstrap_servers"] == settings.kafka.bootstrap_servers
    assert settings.blob_threshold_bytes == 131072 and settings.secrets_file is None


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_EGRESS_ALLOW", "127.0.0.1/32,internal.example.com")
    monkeypatch.setenv("EXECUTOR_MAX_RESULT_BYTES", "500000")
    limits = ExecutorSettings().action_limits()
    assert limits.max_result_bytes == 500_000
    assert limits.egress == EgressPolicy(
        networks=(ip_network("127.0.0.1/32"),), hosts=frozenset({"internal.example.com"})
    )


@pytest.mark.parametrize(
    ("env", "value", "problem"),
    [
        ("EXECUTOR_EGRESS_ALLOW", "0.0.0.0/0", "would allow every address"),
        ("EXECUTOR_EGRESS_ALLOW", "10.0.0.0/8;x", "is neither an IP address"),
        ("EXECUTOR_MAX_RESULT_BYTES", str(65 * 1024 * 1024), "less than or equal to 67108864"),
        ("EXECUTOR_BLOB_THRESHOLD_BYTES", str(2 * 1024 * 1024), "less than or equal to 2031616"),
        ("EXECUTOR_SECRETS_FILE", "/nonexistent/secrets.yaml", "No such file"),
        ("EXECUTOR_MAX_RESULT_BYTES", "10", "greater than or equal to 1024"),
    ],
)
def test_unsafe_values_are_refused(monkeypatch: pytest.MonkeyPatch, env: str, value: str, problem: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError, match=problem):
        ExecutorSettings()
