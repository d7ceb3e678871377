"""Temporal connection settings (``TEMPORAL_*``) and the client every service connects with."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client, TLSConfig
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter


class TemporalSettings(BaseSettings):
    """Where and how every service connects to Temporal (``TEMPORAL_*``): address, namespace, task queues, TLS and API
    key. Refuses half a client certificate, and an API key without TLS."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    # Task queues: workflows (and result publishing) run in the orchestrator, actions in the executor.
    workflow_task_queue: str = "alertmesh-workflows"
    action_task_queue: str = "alertmesh-actions"
    tls: bool = False
    tls_client_cert_path: Path | None = None
    tls_client_key_path: Path | None = None
    tls_server_ca_path: Path | None = None
    api_key: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> TemporalSettings:
        if (self.tls_client_cert_path is None) != (self.tls_client_key_path is None):
            raise ValueError("TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together")
        if self.api_key is not None and not self._uses_tls():
            raise ValueError("TEMPORAL_API_KEY requires TLS; set TEMPORAL_TLS=true")
        return self

    def _uses_tls(self) -> bool:
        return self.tls or self.tls_client_cert_path is not None

    def _tls_config(self) -> TLSConfig | bool:
        if not self._uses_tls():
            return False

        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path else None

        return TLSConfig(
            client_cert=read(self.tls_client_cert_path),
            client_private_key=read(self.tls_client_key_path),
            server_root_ca_cert=read(self.tls_server_ca_path),
        )

    async def connect(self) -> Client:
        """A client using the pydantic data converter, as every workflow and activity exchanges models, and
        Temporal's OpenTelemetry interceptor, which every worker built from the client gets too: it carries the
        trace context (and the correlation id baggage) from a workflow start into the run and each activity. It
        adds headers only, never workflow commands, so histories replay the same (tests/orchestrator)."""
        return await Client.connect(
            self.address,
            namespace=self.namespace,
            data_converter=pydantic_data_converter,
            interceptors=[TracingInterceptor()],
            tls=self._tls_config(),
            api_key=self.api_key.get_secret_value() if self.api_key else None,
        )
