"""What a Ray cluster's workers get in the job's runtime environment: the action modules and the tracing
variables they need, never a credential (OTLP headers carry an exporter's token; Ray keeps and shows the job's
runtime environment)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import services.executor.__main__ as executor_main
from services.executor.config import ExecutorSettings
from services.shared import tracing
from tests.shared.strategies import FUZZ

TOKEN = "Bearer otlp-t0ken-9f8e"
ENVIRONMENT = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example:4318/v1/traces",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_SERVICE_NAME": "alertmesh-executor",
    "OTEL_EXPORTER_OTLP_HEADERS": f"authorization={TOKEN}",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"x-api-key={TOKEN}",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/etc/otel/client.key",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": "/etc/otel/client.pem",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS": f"authorization={TOKEN}",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://collector.example:4318/v1/logs",
    "ALERTMESH_TRACES_DIR": "/var/lib/alertmesh/traces",
    "ALERTMESH_SECRET_VT__API_KEY": TOKEN,
    "AWS_SECRET_ACCESS_KEY": TOKEN,
}


def test_only_what_workers_need_to_trace_is_forwarded() -> None:
    assert tracing.forwarded_env(ENVIRONMENT) == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example:4318/v1/traces",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": "alertmesh-executor",
        "ALERTMESH_TRACES_DIR": "/var/lib/alertmesh/traces",
    }


def test_an_endpoint_with_credentials_in_it_is_not_forwarded() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:pa55@collector.example:4318", "OTEL_SERVICE_NAME": "x"}
    assert tracing.forwarded_env(environ) == {"OTEL_SERVICE_NAME": "x"}


def test_a_joined_clusters_runtime_environment_holds_no_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    # start_ray writes these into this process's environment: monkeypatch puts them back afterwards.
    monkeypatch.setenv("EXECUTOR_ACTION_MODULES", "")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    started: dict[str, Any] = {}
    monkeypatch.setattr(executor_main.ray, "init", lambda **kwargs: started.update(kwargs))
    executor_main.start_ray(ExecutorSettings(ray_address="ray-head.internal:6379", action_modules=["my.actions"]))
    env_vars = started["runtime_env"]["env_vars"]
    assert env_vars["EXECUTOR_ACTION_MODULES"] == "my.actions"
    assert env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"] == "https://collector.example:4318"
    assert TOKEN not in repr(started) and "CLIENT_KEY" not in repr(started)


NAMES = st.builds(
    lambda signal, part: f"OTEL_EXPORTER_OTLP_{part}{signal}",
    st.sampled_from(["HEADERS", "CLIENT_KEY", "CLIENT_CERTIFICATE", "PASSWORD", "TOKEN", "API_KEY", "SECRET"]),
    st.sampled_from(["", "TRACES_", "METRICS_", "LOGS_"]),
) | st.from_regex(r"OTEL_[A-Z_]{1,30}", fullmatch=True)


@FUZZ
@given(names=st.lists(NAMES, max_size=8), token=st.text(min_size=6, max_size=20).filter(str.strip))
def test_no_variable_outside_the_list_is_ever_forwarded(names: list[str], token: str) -> None:
    environ = {name: f"key={token}" for name in names}
    forwarded = tracing.forwarded_env(environ)
    assert set(forwarded) <= tracing.FORWARDED_OTEL
    assert not any("HEADERS" in name or "CLIENT_KEY" in name for name in forwarded)
