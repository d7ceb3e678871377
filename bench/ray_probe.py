"""``python -m bench.ray_probe COUNT``: the bare Ray task round trip, on a local Ray of its own started as the
executor starts one (loopback only, no dashboard). Starts Ray and warms up, prints ``ready``, times COUNT round
trips once a line arrives on stdin (so Ray starts while the mesh stops), prints one JSON line: the round trips
in milliseconds.

The task runs the same registered action the mesh's 1-action workflow runs (``core.transform.reshape``), called
directly, and returns its result: the round trip is submit, run, fetch, as the executor's ``await ref`` sees it."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson
import ray
from ray._private import ray_constants

from services.executor.actions.registry import get_action

WARMUP = 5
READY = "ready"


@ray.remote(max_retries=0)
def reshape(value: dict[str, Any]) -> Any:
    """``core.transform.reshape`` of ``value`` as a Ray task (never retried, so a failure shows)."""
    spec = get_action("core.transform.reshape")
    return spec.func(spec.parse_args({"value": value}))


def main() -> None:
    """The command line (see the module's docstring)."""
    count = int(sys.argv[1])
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray_constants.ENABLE_RAY_CLUSTER = False  # loopback only, as the executor's local Ray
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        ray.get([reshape.remote({"warmup": n}) for n in range(WARMUP)])
        print(READY, flush=True)
        sys.stdin.readline()
        trips = []
        for n in range(count):
            start = time.perf_counter()
            ray.get(reshape.remote({"alert": "ProbeFailure", "n": n}))
            trips.append((time.perf_counter() - start) * 1000)
    finally:
        ray.shutdown()
    print(orjson.dumps({"round_trips_ms": trips}).decode(), flush=True)


if __name__ == "__main__":
    main()
