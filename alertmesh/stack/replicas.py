"""How many processes of each service ``alertmesh up`` runs (``--replicas ingest=2,executor=2``) and what each
replica's part is called. Plain parsing, no clients: the command line reads it before anything heavy loads."""

from __future__ import annotations

from collections.abc import Mapping

#: The services ``up`` can run several of, in the order it starts them.
SERVICES = ("ingest", "webhook", "orchestrator", "executor")
#: Every replica is a Python process of its own (100-300 MB each, the executor more with Ray) on one machine;
#: more than this is a typo, not a plan. A real deployment scales with compose or Kubernetes instead.
MAX_REPLICAS = 8
#: Ray nodes ``up`` may start on this one machine (a head and workers), for the same reason.
MAX_RAY_NODES = 4


class ReplicasError(ValueError):
    """A ``--replicas`` value ``up`` refuses; the message says which entry and why."""


def parse_replicas(text: str) -> dict[str, int]:
    """``"ingest=2,executor=2"`` as ``{"ingest": 2, "executor": 2}``; services not named keep 1.
    ``ReplicasError`` for an unknown service, a count that is not a whole number from 1 to ``MAX_REPLICAS``,
    or a service named twice."""
    counts: dict[str, int] = {}
    for entry in (item.strip() for item in text.split(",")):
        if not entry:
            continue
        name, equals, count = (part.strip() for part in entry.partition("="))
        if not equals:
            raise ReplicasError(f"{entry!r}: write SERVICE=COUNT, e.g. ingest=2")
        if name in counts:
            raise ReplicasError(f"{name!r} is named twice")
        try:
            counts[name] = int(count)
        except ValueError:
            raise ReplicasError(f"{entry!r}: the count must be a whole number") from None
    return check_replicas(counts)


def check_replicas(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` when every name is a service and every count is within 1..``MAX_REPLICAS``; ``ReplicasError``
    naming the first one that is not."""
    for name, count in counts.items():
        if name not in SERVICES:
            raise ReplicasError(f"unknown service {name!r}: one of {', '.join(SERVICES)}")
        if count < 1:
            raise ReplicasError(f"{name}={count}: every service needs at least 1 replica (the mesh needs all four)")
        if count > MAX_REPLICAS:
            raise ReplicasError(
                f"{name}={count}: at most {MAX_REPLICAS} replicas per service on one machine (each is a process "
                "of its own); scale a real deployment with compose or Kubernetes"
            )
    return dict(counts)


def replica_name(service: str, index: int) -> str:
    """The part name of replica ``index`` (1-based): the first keeps the service's own name, so a mesh of one
    replica each looks as it always did; the others are ``<service>-<index>``."""
    return service if index == 1 else f"{service}-{index}"


def service_of(part: str) -> str:
    """The service a part name belongs to (``ingest-2`` -> ``ingest``); any other part's name as it is."""
    base, dash, index = part.rpartition("-")
    return base if dash and index.isdigit() and base in SERVICES else part
