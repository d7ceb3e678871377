"""Keeps a WorkflowResult within the results topic's record size and Temporal's payload limit.

Pure and deterministic (the workflow calls it): the same result and limit always give the same cut. The largest
values go first: ``returns`` and action ``result`` values become a marker object, error messages keep their start;
each cut is listed in ``Result.cut`` with the value's size and sha256. Only if cutting every value is not enough
does the ``actions`` list go too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from schemas import ActionReport, CutValue, WorkflowResult

#: Room left in a Kafka record next to the value: key (the workflow id), headers and batch framing.
RECORD_OVERHEAD_BYTES = 4096
#: The workflow also returns the result, so it is a Temporal payload too: the server refuses payloads over 2 MiB
#: (and warns above 512 KiB); stay well below the refusal.
TEMPORAL_RESULT_BYTES = 1_572_864
#: A cut message keeps this many leading characters, so a failure still says what went wrong.
KEPT_CHARS = 200
#: Estimated growth per cut (the marker plus its ``cut`` entry), to cut enough values in one round.
_CUT_COST_ESTIMATE = 200


def result_limit(max_message_bytes: int) -> int:
    """Largest serialized result for a results topic that takes records of ``max_message_bytes``."""
    return min(max_message_bytes - RECORD_OVERHEAD_BYTES, TEMPORAL_RESULT_BYTES)


def result_size(result: WorkflowResult) -> int:
    """Bytes of the larger of its two encodings: the Kafka record value and the Temporal payload (with nulls)."""
    return max(len(result.to_json()), len(result.model_dump_json()))


@dataclass(frozen=True)
class _Candidate:
    path: str
    value: Any
    encoded: bytes

    @property
    def entry(self) -> CutValue:
        return CutValue(path=self.path, bytes=len(self.encoded), sha256=hashlib.sha256(self.encoded).hexdigest())


def _candidates(result: WorkflowResult) -> list[_Candidate]:
    """Every cuttable value, largest first (ties in document order, so the choice is deterministic)."""
    data = result.data
    found: list[tuple[str, Any]] = [("/returns", data.returns), ("/error", data.error)]
    for index, report in enumerate(data.actions):
        found.append((f"/actions/{index}/result", report.result))
        found.append((f"/actions/{index}/error/message", report.error.message if report.error else None))
    candidates = [_Candidate(path, value, orjson.dumps(value)) for path, value in found if value is not None]
    return sorted(candidates, key=lambda candidate: -len(candidate.encoded))


def _marker(candidate: _Candidate) -> Any:
    entry = candidate.entry
    if isinstance(candidate.value, str) and candidate.path.endswith(("/error", "/message")):
        return f"{candidate.value[:KEPT_CHARS]}... [cut: {entry.bytes} bytes, sha256 {entry.sha256}]"
    return {"$cut": {"bytes": entry.bytes, "sha256": entry.sha256}}


def _apply(result: WorkflowResult, cuts: list[_Candidate]) -> WorkflowResult:
    markers = {candidate.path: _marker(candidate) for candidate in cuts}
    data = result.data
    actions: list[ActionReport] = []
    for index, report in enumerate(data.actions):
        update: dict[str, Any] = {}
        if (path := f"/actions/{index}/result") in markers:
            update["result"] = markers[path]
        if report.error is not None and (path := f"/actions/{index}/error/message") in markers:
            update["error"] = report.error.model_copy(update={"message": markers[path]})
        actions.append(report.model_copy(update=update) if update else report)
    fitted = data.model_copy(
        update={
            "returns": markers.get("/returns", data.returns),
            "error": markers.get("/error", data.error),
            "actions": actions,
            "cut": [candidate.entry for candidate in cuts],
        }
    )
    return result.model_copy(update={"data": fitted})


def _without_actions(result: WorkflowResult, cuts: list[_Candidate]) -> WorkflowResult:
    """Last resort (thousands of actions): drop the reports, keep the top-level cuts, say so."""
    actions = orjson.dumps([report.model_dump(mode="json") for report in result.data.actions])
    kept = [candidate for candidate in cuts if not candidate.path.startswith("/actions/")]
    fitted = _apply(result.model_copy(update={"data": result.data.model_copy(update={"actions": []})}), kept)
    dropped = _Candidate("/actions", None, actions).entry
    return fitted.model_copy(update={"data": fitted.data.model_copy(update={"cut": [*fitted.data.cut, dropped]})})


def fit_result(result: WorkflowResult, limit: int) -> WorkflowResult:
    """``result`` itself when it fits ``limit`` bytes, else a copy with the largest values cut (see module doc)."""
    size = result_size(result)
    if size <= limit:
        return result
    remaining = _candidates(result)
    cuts: list[_Candidate] = []
    fitted = result
    while size > limit and remaining:
        excess, saved = size - limit, 0
        while remaining and saved < excess:  # one measurement per round, not per value
            candidate = remaining.pop(0)
            cuts.append(candidate)
            saved += len(candidate.encoded) - _CUT_COST_ESTIMATE
        fitted = _apply(result, cuts)
        size = result_size(fitted)
    return fitted if size <= limit else _without_actions(result, cuts)
