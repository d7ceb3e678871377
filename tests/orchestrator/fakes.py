"""A starter that answers like Temporal does for the inputs it refuses, without a server."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from services.orchestrator.contracts import DSLRun
from services.orchestrator.starter import StartOutcome

#: Temporal's default limits (frontend): workflow id length and blob (payload) size.
MAX_WORKFLOW_ID = 1000
MAX_BLOB_BYTES = 2 * 1024 * 1024


class TemporalLikeStarter:
    """Starts (records) a run, or raises the RPCError the dev server answers with (measured against it): an
    empty or too long id, or an input over the blob limit, is INVALID_ARGUMENT."""

    def __init__(self) -> None:
        self.runs: list[DSLRun] = []

    async def start(self, run: DSLRun) -> StartOutcome:
        key = run.trigger.data.idempotency_key
        if not key:
            raise RPCError("WorkflowId is not set on request.", RPCStatusCode.INVALID_ARGUMENT, b"")
        if len(key) > MAX_WORKFLOW_ID:
            raise RPCError(
                f"WorkflowId exceeds maximum allowed length ({len(key)}/{MAX_WORKFLOW_ID})",
                RPCStatusCode.INVALID_ARGUMENT,
                b"",
            )
        [payload] = pydantic_data_converter.payload_converter.to_payloads([run])
        if len(payload.data) > MAX_BLOB_BYTES:
            raise RPCError("Blob data size exceeds limit.", RPCStatusCode.INVALID_ARGUMENT, b"")
        self.runs.append(run)
        return "started"
