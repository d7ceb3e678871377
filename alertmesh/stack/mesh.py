"""What ``alertmesh up`` runs: the embedded servers (unless pointed elsewhere), then the four services."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import ipaddress
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from alertmesh import kafka_tools
from alertmesh.samples import DEMO_ALERT
from alertmesh.stack.embedded import free_port, port_open, tansu_command, temporal_command
from alertmesh.stack.ray_cluster import NODE_READY_TIMEOUT_S, cluster_nodes
from alertmesh.stack.replicas import MAX_RAY_NODES, SERVICES, check_replicas, parse_replicas, replica_name
from alertmesh.stack.supervisor import Part, Probe
from services.ingest.defaults import ROUTING_FILE
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings
from services.webhook.credentials import add_key, new_key

#: In the state dir: the webhook credentials file (hashed keys) and the demo key itself, both 0600.
CREDENTIALS_FILE_NAME = "webhook-credentials.yaml"
DEMO_KEY_FILE_NAME = "webhook-demo-key"
#: Sources the demo key may post as; add others to the credentials file.
DEMO_SOURCES = ("alertmanager", "grafana", "prometheus")
#: The umask of every part ``up`` starts: what they create is 0600 (files) and 0700 (directories).
PRIVATE_UMASK = 0o077
#: In the state dir: the token local Ray requires of every client (``RAY_AUTH_TOKEN_PATH``), 0600.
RAY_TOKEN_FILE_NAME = "ray-auth-token"
#: In the state dir: local Ray's temp dir (``RAY_TMPDIR``; Ray keeps its sessions in ``ray/`` inside it).
RAY_DIR_NAME = "ray"
#: Longest Unix socket path Ray accepts (``ray._private.utils.validate_socket_filepath``).
SOCKET_PATH_MAX = (104 if sys.platform == "darwin" else 108) - 1
#: In Ray's temp root: the temp dir of the cluster ``--ray-nodes`` starts (``ray start --temp-dir``), and the
#: prefix of the own temp root of executor replica 2, 3, ... when each starts Ray in-process (``e2``, ``e3``).
RAY_CLUSTER_DIR_NAME = "rc"
RAY_REPLICA_DIR_PREFIX = "e"
#: What Ray appends to ``RAY_TMPDIR`` for its longest socket (a 7-digit pid, the largest Linux gives), after an
#: executor replica's own directory (``/e8``).
RAY_SOCKET_TAIL = "/e8/ray/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store"


class UnsafeDirectoryError(RuntimeError):
    """A directory ``up`` would keep private is someone else's, or a symlink: the message says which and why."""


class MeshSettings(BaseSettings):
    """Settings of the local mesh (``ALERTMESH_*``). Setting ``KAFKA_BOOTSTRAP_SERVERS`` or
    ``TEMPORAL_ADDRESS`` points the services at an existing server and that server is not started;
    ``RAY_ADDRESS`` makes the executor join a Ray cluster instead of starting local Ray."""

    model_config = SettingsConfigDict(env_prefix="ALERTMESH_", extra="ignore", populate_by_name=True)

    state_dir: Path = Path(".alertmesh")
    host: str = "127.0.0.1"
    kafka_port: int = 9092
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    topic_partitions: int = Field(3, ge=1)
    webhook_port: int = Field(8080, validation_alias="WEBHOOK_PORT")
    routing_file: Path = Field(ROUTING_FILE, validation_alias="INGEST_ROUTING_FILE")
    workflows_dir: Path = Field(WORKFLOWS_DIR, validation_alias="ORCHESTRATOR_WORKFLOWS_DIR")
    external_kafka: str | None = Field(None, validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    external_temporal: str | None = Field(None, validation_alias="TEMPORAL_ADDRESS")
    ray_address: str | None = Field(None, validation_alias="RAY_ADDRESS")
    # The webhook's credentials; unset: ``up`` keeps a demo key in the state dir (see ``ensure_webhook_key``).
    webhook_credentials_file: Path | None = Field(None, validation_alias="WEBHOOK_CREDENTIALS_FILE")
    # Processes per service, e.g. ``ingest=2,orchestrator=2,executor=2`` (``up --replicas``); a service not named
    # runs once. Replicas share their service's consumer group (Kafka spreads the partitions over them) or task
    # queue; each has its own health and metrics port and log file. At most 8 each.
    replicas: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # Ray nodes to start with Ray's own CLI (``ray start``: a head, then worker nodes) for every executor replica
    # to join (``up --ray-nodes``); 0: each executor starts Ray in-process. At most 4 on one machine.
    ray_nodes: int = Field(0, ge=0, le=MAX_RAY_NODES)
    # CPUs each of those Ray nodes offers (``ray start --num-cpus``): as many actions run at once per node.
    ray_node_cpus: int = Field(1, ge=1, le=64)

    @field_validator("replicas", mode="before")
    @classmethod
    def _replicas(cls, value: Any) -> Any:
        """``ALERTMESH_REPLICAS=ingest=2,executor=2`` as on the command line; a mapping is checked the same way."""
        if isinstance(value, str):
            return parse_replicas(value)
        return check_replicas(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _one_ray(self) -> MeshSettings:
        if self.ray_nodes and self.ray_address:
            raise ValueError("--ray-nodes starts a local Ray cluster; RAY_ADDRESS names another one: choose one")
        return self

    def replicas_of(self, service: str) -> int:
        """How many processes of ``service`` to run."""
        return self.replicas.get(service, 1)

    def credentials_file(self) -> Path:
        """The credentials file the webhook reads: the one configured, else the state dir's."""
        return (self.webhook_credentials_file or self.state_dir / CREDENTIALS_FILE_NAME).resolve()


@dataclass(frozen=True)
class MeshPlan:
    """Where everything will be, and the two stages to start: servers, then services."""

    kafka_bootstrap: str
    temporal_address: str
    temporal_ui: str | None
    webhook_url: str
    ray: str
    #: Each service's HTTP base URL (``/healthz`` and ``/metrics`` are under it), by part name.
    http_urls: dict[str, str]
    servers: list[Part]
    services: list[Part]
    #: Creates the topics that are missing (the embedded broker's part runs it itself, after every start).
    ensure_topics: Callable[[], Awaitable[None]]
    #: The local Ray cluster's nodes (``--ray-nodes``), started after the servers, in stages: the head, then the
    #: others. Empty when every executor starts Ray in-process or joins ``RAY_ADDRESS``.
    ray_stages: list[list[Part]] = dataclasses.field(default_factory=list)
    #: Every webhook replica's base URL, the first being ``webhook_url``.
    webhook_urls: list[str] = dataclasses.field(default_factory=list)

    @property
    def stages(self) -> list[list[Part]]:
        """What ``up`` starts, in order, each stage's parts in parallel: the servers, the Ray nodes, the services."""
        return [stage for stage in [self.servers, *self.ray_stages, self.services] if stage]

    def describe(self) -> list[str]:
        """The addresses ``up`` prints once the mesh is ready, one per line."""
        return [
            f"Kafka bootstrap  {self.kafka_bootstrap}",
            f"Temporal         {self.temporal_address}",
            f"Temporal UI      {self.temporal_ui or '(external Temporal: see its own UI)'}",
            f"Webhook          {self.webhook_url}/v1/alerts/{{source}}",
            *(f"Webhook replica  {url}/v1/alerts/{{source}}" for url in self.webhook_urls[1:]),
            f"Ray              {self.ray}",
        ]


def port_probe(host: str, port: int) -> Probe:
    """True once something accepts TCP connections on ``host:port`` (the embedded broker)."""

    async def probe() -> bool:
        return await asyncio.to_thread(port_open, host, port)

    return probe


def temporal_probe(address: str) -> Probe:
    """True once the Temporal server at ``address`` answers its health check (an open port is not enough)."""

    async def probe() -> bool:
        client = await TemporalSettings(address=address).connect()
        return await client.service_client.check_health()

    return probe


def healthz_probe(host: str, port: int) -> Probe:
    """True when ``GET /healthz`` answers 200 (every service exposes one)."""

    async def probe() -> bool:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
            return status_line.split()[1:2] == [b"200"]
        finally:
            writer.close()

    return probe


def _service(
    name: str,
    module: str,
    env: dict[str, str],
    probe: Probe,
    timeout_s: float,
    after_ready: Callable[[], Awaitable[None]] | None = None,
) -> Part:
    command = [sys.executable, "-m", module]
    return Part(name, command, probe, env, ready_timeout_s=timeout_s, after_ready=after_ready, umask=PRIVATE_UMASK)


def _port_for(env_name: str) -> int:
    """Health ports nobody needs to know: honour an explicit setting, else take any free port."""
    return int(os.environ.get(env_name) or free_port())


def traces_dir(settings: MeshSettings) -> Path:
    """Where ``alertmesh up`` keeps the spans of its services (``services.shared.span_store``):
    ALERTMESH_TRACES_DIR, else ``<state-dir>/traces``."""
    return Path(os.environ.get("ALERTMESH_TRACES_DIR") or settings.state_dir.resolve() / "traces")


def local_ray(settings: MeshSettings) -> bool:
    """Whether the executor starts Ray itself (no ``RAY_ADDRESS``), so ``up`` decides its auth and temp dir."""
    return not settings.ray_address


def ray_temp_root(settings: MeshSettings) -> Path:
    """Local Ray's ``RAY_TMPDIR``: ``<state-dir>/ray``, private with the state dir. Ray's sockets live under it and
    a Unix socket path has at most 107 bytes, so a state dir too deep for them gets a per-user directory in the
    temp dir instead (``alertmesh-ray-<uid>``, made 0700 and checked to be this user's by
    ``prepare_private_dirs``), not Ray's shared, world-writable ``/tmp/ray``."""
    per_user = f"alertmesh-ray-{os.getuid()}"
    candidates = (
        settings.state_dir.resolve() / RAY_DIR_NAME,
        Path(tempfile.gettempdir()) / per_user,
        Path("/tmp") / per_user,  # TMPDIR itself may be too deep; this one is checked like the rest
    )
    for candidate in candidates:
        if len(str(candidate).encode()) + len(RAY_SOCKET_TAIL) <= SOCKET_PATH_MAX:
            return candidate
    return candidates[-1]


def ray_token_file(settings: MeshSettings) -> Path:
    """The token local Ray requires (``ensure_ray_token`` writes it)."""
    return settings.state_dir.resolve() / RAY_TOKEN_FILE_NAME


def ray_env(settings: MeshSettings) -> dict[str, str]:
    """Local Ray's own variables for the executor (it starts Ray; Ray's processes inherit them) and for the Ray
    nodes ``--ray-nodes`` starts: token authentication, so another local user who finds its ports cannot run code
    with the executor's environment (secrets included), and its temp dir private to this user. Nothing for a
    cluster at ``RAY_ADDRESS``: its own settings decide. An explicit ``RAY_AUTH_MODE`` in the environment is
    honoured."""
    if not local_ray(settings):
        return {}
    return {
        "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE") or "token",
        "RAY_AUTH_TOKEN_PATH": str(ray_token_file(settings)),
        "RAY_TMPDIR": str(ray_temp_root(settings)),
    }


def executor_ray_dir(settings: MeshSettings, replica: int) -> Path:
    """The ``RAY_TMPDIR`` of executor replica ``replica`` starting Ray in-process: the first uses Ray's temp root,
    the others a directory of their own inside it. Given the same directory, ``ray.init()`` joins the Ray it
    finds recorded there, so the second executor would share (and die with) the first one's Ray."""
    root = ray_temp_root(settings)
    return root if replica == 1 else root / f"{RAY_REPLICA_DIR_PREFIX}{replica}"


def ray_cluster_dir(settings: MeshSettings) -> Path:
    """The temp dir of the Ray nodes ``--ray-nodes`` starts (``ray start --temp-dir``)."""
    return ray_temp_root(settings) / RAY_CLUSTER_DIR_NAME


@dataclass(frozen=True)
class _Ports:
    """Each replica's health port (the webhook's: its metrics port) and the webhook replicas' public ports."""

    health: dict[str, int]
    public: dict[str, int]


def _replica_ports(settings: MeshSettings) -> _Ports:
    """Ports nobody needs to know come free; the first replica honours an explicit ``<SERVICE>_HEALTH_PORT`` (the
    webhook's ``WEBHOOK_METRICS_PORT``) and the first webhook listens on ``webhook_port``: two processes cannot
    listen on one port, so webhook replica 2, 3, ... get ports of their own (``up`` prints them; a load balancer
    in front spreads senders over them)."""
    health: dict[str, int] = {}
    public: dict[str, int] = {}
    for service in SERVICES:
        variable = "WEBHOOK_METRICS_PORT" if service == "webhook" else f"{service.upper()}_HEALTH_PORT"
        for index in range(1, settings.replicas_of(service) + 1):
            name = replica_name(service, index)
            health[name] = _port_for(variable) if index == 1 else free_port()
            if service == "webhook":
                public[name] = settings.webhook_port if index == 1 else free_port()
    return _Ports(health, public)


def _service_parts(settings: MeshSettings, env: dict[str, str], ports: _Ports, ray: dict[str, str]) -> list[Part]:
    """Every replica of the four services, each with its own ports in its environment."""
    host = settings.host
    parts = []
    for service in SERVICES:
        for index in range(1, settings.replicas_of(service) + 1):
            name = replica_name(service, index)
            own = dict(env)
            if service == "webhook":
                own |= {"WEBHOOK_PORT": str(ports.public[name]), "WEBHOOK_METRICS_PORT": str(ports.health[name])}
                probe = healthz_probe(host, ports.public[name])
            else:
                own[f"{service.upper()}_HEALTH_PORT"] = str(ports.health[name])
                probe = healthz_probe(host, ports.health[name])
            if service != "executor":
                parts.append(_service(name, f"services.{service}", own, probe, 60))
                continue
            own |= ray
            after_ready = None
            if local_ray(settings):
                # Starting local Ray takes a few seconds on its own. Ray makes its session directories 0777
                # whatever the umask (ray._common.utils.try_make_directory_shared), also when a client joins a
                # local cluster: once it runs, they are made private again.
                private = executor_ray_dir(settings, index) if not settings.ray_nodes else ray_temp_root(settings)
                after_ready = functools.partial(asyncio.to_thread, make_private, private)
            if local_ray(settings) and not settings.ray_nodes:
                own["RAY_TMPDIR"] = str(executor_ray_dir(settings, index))
            parts.append(_service(name, "services.executor", own, probe, 120, after_ready=after_ready))
    return parts


def _ray_stages(settings: MeshSettings, ray: dict[str, str]) -> tuple[list[list[Part]], str]:
    """The head, then the other nodes (they join the head, so it must answer first), and the address every
    executor joins; no stages without ``--ray-nodes``."""
    if not settings.ray_nodes:
        return [], ""
    host, gcs_port = settings.host, free_port()
    temp_dir = ray_cluster_dir(settings)
    env = {**ray, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    # Ray makes its temp and session directories 0777 whatever the umask, every time a node or a client joins: they
    # are made private again once each node is up (and each executor, see ``_service_parts``). Ray's temp root
    # around them is 0700 from the start and Ray never touches it, so no other user can reach them meanwhile.
    private = functools.partial(asyncio.to_thread, make_private, ray_temp_root(settings))
    parts = []
    for node in cluster_nodes(host, gcs_port, settings.ray_nodes, settings.ray_node_cpus, temp_dir):
        probe = port_probe(host, node.node_manager_port)
        part = Part(node.name, node.command, probe, env, NODE_READY_TIMEOUT_S, after_ready=private, umask=PRIVATE_UMASK)
        parts.append(part)
    stages = [parts[:1], parts[1:]] if len(parts) > 1 else [parts]
    return stages, f"{host}:{gcs_port}"


def plan(settings: MeshSettings) -> MeshPlan:
    """What ``up`` will run for ``settings``: the embedded servers not pointed elsewhere, the local Ray cluster
    asked for, then every replica of the four services, each with the environment that points it at the servers
    and at the routing rules and workflows."""
    host = settings.host
    servers: list[Part] = []
    kafka = settings.external_kafka or f"{host}:{settings.kafka_port}"
    topics = functools.partial(
        kafka_tools.ensure_topics,
        KafkaSettings(bootstrap_servers=kafka),
        TopicSettings().all(),
        settings.topic_partitions,
    )
    if settings.external_kafka is None:
        # The embedded broker keeps data in memory: after a restart it is empty, so the topics are made anew
        # (unless a reconnecting service's request has the broker auto-create one first, with its default count).
        command = tansu_command(host, settings.kafka_port)
        probe = port_probe(host, settings.kafka_port)
        servers.append(Part("kafka", command, probe, ready_timeout_s=30, after_ready=topics, umask=PRIVATE_UMASK))
    temporal = settings.external_temporal or f"{host}:{settings.temporal_port}"
    ui = None
    if settings.external_temporal is None:
        ui = f"http://{host}:{settings.temporal_ui_port}"
        db_file = settings.state_dir.resolve() / "temporal.db"
        command = temporal_command(host, settings.temporal_port, settings.temporal_ui_port, db_file)
        probe = temporal_probe(temporal)
        servers.append(Part("temporal", command, probe, ready_timeout_s=90, quiet_on_stop=True, umask=PRIVATE_UMASK))

    ports = _replica_ports(settings)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "TEMPORAL_ADDRESS": temporal,
        "INGEST_ROUTING_FILE": str(settings.routing_file.resolve()),
        "ORCHESTRATOR_WORKFLOWS_DIR": str(settings.workflows_dir.resolve()),
        # Large results live next to the Temporal database whose histories refer to them.
        "EXECUTOR_BLOB_DIR": os.environ.get("EXECUTOR_BLOB_DIR") or str(settings.state_dir.resolve() / "blobs"),
        # Every service (and Ray worker) keeps its spans here for `alertmesh trace` (bounded in size).
        "ALERTMESH_TRACES_DIR": str(traces_dir(settings)),
        "WEBHOOK_HOST": host,
        "WEBHOOK_METRICS_HOST": host,
        "WEBHOOK_CREDENTIALS_FILE": str(settings.credentials_file()),
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
        **{f"{name.upper()}_HEALTH_HOST": host for name in ("ingest", "orchestrator", "executor")},
    }
    ray = ray_env(settings)
    ray_stages, cluster = _ray_stages(settings, ray)
    if cluster:
        # Every executor replica joins the cluster (the executor forwards what Ray workers need through the
        # job's runtime environment); the cluster's temp dir, not an in-process one.
        ray = ray | {"RAY_ADDRESS": cluster, "RAY_TMPDIR": str(ray_cluster_dir(settings))}
        where = f"local cluster of {settings.ray_nodes} nodes at {cluster} (ray start; token auth, temp dir "
        ray_line = where + f"{ray_cluster_dir(settings)})"
    else:
        ray_line = settings.ray_address or (
            f"local (started by each executor; token auth, temp dir {ray_temp_root(settings)})"
        )
    return MeshPlan(
        kafka_bootstrap=kafka,
        temporal_address=temporal,
        temporal_ui=ui,
        webhook_url=f"http://{host}:{settings.webhook_port}",
        ray=ray_line,
        http_urls={name: f"http://{host}:{port}" for name, port in ports.health.items()},
        servers=servers,
        services=_service_parts(settings, env, ports, ray),
        ensure_topics=topics,
        ray_stages=ray_stages,
        webhook_urls=[f"http://{host}:{port}" for port in ports.public.values()],
    )


@dataclass(frozen=True)
class WebhookKey:
    """The webhook credentials ``up`` uses. ``new_key`` is set only on the run that generated it."""

    credentials_file: Path
    key_file: Path | None
    new_key: str | None


def private_directory(path: Path) -> None:
    """Make ``path`` a directory only this user can enter (0700), creating it if need be. ``UnsafeDirectoryError``
    when it is a symlink, not a directory, or another user's: a directory someone else controls is no place for
    Temporal's database, the keys or Ray's sockets."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(parents=True, mode=0o700)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory (a symlink or a file): remove it or choose another")
    if info.st_uid != os.getuid():
        raise UnsafeDirectoryError(f"{path} belongs to uid {info.st_uid}, not to you: remove it or choose another")
    path.chmod(0o700)  # mkdir's mode is masked by the umask; an existing directory may be open to others


def make_private(directory: Path) -> None:
    """Take the group's and others' access away from everything of this user's under ``directory`` (symlinks
    are left alone, never followed): what an older version, or Ray, made readable stays the user's alone."""
    uid = os.getuid()
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
                mode = stat.S_IMODE(info.st_mode)
                if info.st_uid == uid and not stat.S_ISLNK(info.st_mode) and mode & 0o077:
                    os.chmod(path, mode & ~0o077 | (0o700 if stat.S_ISDIR(info.st_mode) else 0))
            except FileNotFoundError:
                continue  # gone meanwhile (a Ray worker's file): nothing to protect


def prepare_state_dir(state_dir: Path) -> None:
    """Create the state dir private to this user (0700), or make an existing one private again, with everything
    in it: it holds Temporal's database, the webhook and Ray keys, stored results, spans and Ray's sessions."""
    private_directory(state_dir)
    make_private(state_dir)


def prepare_private_dirs(settings: MeshSettings) -> None:
    """The state dir (``prepare_state_dir``) and, for local Ray, its temp dir and token (``ensure_ray_token``)."""
    prepare_state_dir(settings.state_dir)
    if local_ray(settings):
        root = ray_temp_root(settings)
        private_directory(root)
        make_private(root)
        # Made here, private, rather than by Ray (0777 whatever the umask).
        if settings.ray_nodes:
            private_directory(ray_cluster_dir(settings))
        else:
            for replica in range(2, settings.replicas_of("executor") + 1):
                private_directory(executor_ray_dir(settings, replica))
        ensure_ray_token(settings)


def ensure_ray_token(settings: MeshSettings) -> Path:
    """The token local Ray requires of every client, made once (random, 256 bits) and kept 0600 in the state dir:
    the executor's Ray processes read it, anyone else would have to."""
    path = ray_token_file(settings)
    if path.exists():
        return path
    # O_EXCL: never write into a file someone else put there; 0600 from the start, not chmod'ed later.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(secrets.token_hex(32))
    return path


def ensure_webhook_key(settings: MeshSettings) -> WebhookKey:
    """Keep an existing credentials file as it is (senders configured with its key keep working); otherwise
    generate a demo key for ``DEMO_SOURCES``: its SHA-256 in the credentials file, the key itself in
    ``webhook-demo-key`` so a later ``up`` can say where it is. Both files are created 0600."""
    credentials = settings.credentials_file()
    key_file = settings.state_dir.resolve() / DEMO_KEY_FILE_NAME
    if credentials.exists():
        return WebhookKey(credentials, key_file if key_file.exists() else None, None)
    key = new_key()
    # The key file first: should writing the credentials fail, the next ``up`` makes both anew.
    key_file.unlink(missing_ok=True)
    # O_EXCL: never write into a file someone else put there; 0600 from the start, not chmod'ed later.
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key + "\n")
    add_key(credentials, DEMO_SOURCES, key)
    return WebhookKey(credentials, key_file, key)


def webhook_usage(plan: MeshPlan, key: WebhookKey) -> list[str]:
    """What ``up`` prints about the webhook key: the key and a ready-to-paste curl line."""
    sample = DEMO_ALERT
    url = f"{plan.webhook_url}/v1/alerts/alertmanager"
    if key.new_key is not None:
        lines = [f"Webhook key      {key.new_key}  (new; also in {key.key_file}, hashed in {key.credentials_file})"]
        bearer = key.new_key
    elif key.key_file is not None:
        lines = [f"Webhook key      unchanged, in {key.key_file} (hashed in {key.credentials_file})"]
        bearer = f"$(cat {key.key_file})"
    else:
        return [f"Webhook auth     {key.credentials_file} (your credentials file; alertmesh made no key)"]
    curl = (
        f"curl -sS -X POST -H \"Authorization: Bearer {bearer}\" -H 'content-type: application/json' "
        f"--data-binary @{sample} {url}"
    )
    return [*lines, f"Try it           {curl}"]


def exposure_warnings(settings: MeshSettings) -> list[str]:
    """What ``up`` warns about once ready: the embedded servers it started accept any local user (Tansu's
    authentication cannot be used with its in-memory storage, the Temporal dev server has no TLS or auth)."""
    open_servers = [
        name
        for name, external in (("Kafka", settings.external_kafka), ("Temporal and its UI", settings.external_temporal))
        if external is None
    ]
    if not open_servers:
        return []
    who = "any user of this machine" if _is_loopback(settings.host) else f"anyone who can reach {settings.host}"
    return [
        f"no authentication on the embedded {' and '.join(open_servers)} at {settings.host}: {who} can read and "
        "write alerts and results and start workflows (docs/security.md, 'The local stack')"
    ]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def ports_in_use(settings: MeshSettings) -> list[str]:
    """Ports the embedded parts need that something else already holds (e.g. another ``alertmesh up``)."""
    wanted = [("webhook", settings.webhook_port)]
    if settings.external_kafka is None:
        wanted.append(("kafka", settings.kafka_port))
    if settings.external_temporal is None:
        wanted += [("temporal", settings.temporal_port), ("temporal UI", settings.temporal_ui_port)]
    return [f"{name} port {port}" for name, port in wanted if port_open(settings.host, port)]


def kafka_settings(plan: MeshPlan) -> KafkaSettings:
    """Kafka client settings for the mesh's broker."""
    return KafkaSettings(bootstrap_servers=plan.kafka_bootstrap)
