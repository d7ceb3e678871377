# One image recipe for every alertmesh service. EXTRAS picks the pip extras, so each image carries only its own
# heavy dependencies: ingest (none beyond the base), webhook (FastAPI, uvicorn), orchestrator (temporalio),
# executor (temporalio, Ray client).
# The Ray head and workers run the executor image, so every Ray node has the actions' code and the same Ray.
#   docker build --build-arg EXTRAS=webhook -t alertmesh-webhook .
FROM python:3.11-slim

ARG EXTRAS=ingest

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0

# A fixed uid so volume permissions are predictable across rebuilds.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin alertmesh

WORKDIR /app

# What the package is built from. .dockerignore lets in only what is copied here (tests/deploy/test_dockerfile.py
# reads these lines), so a folder added here must be added there too.
COPY pyproject.toml README.md ./
COPY schemas/ schemas/
COPY dsl/ dsl/
COPY services/ services/
COPY alertmesh/ alertmesh/

# A regular (non-editable) install: the code and its default files (ingest's routing rules, the orchestrator's
# workflows) run from site-packages, as package data. The sources are removed after: `python -m` puts the working
# directory first on sys.path, so a copy left in /app would be imported instead of what was installed.
RUN pip install --no-cache-dir ".[${EXTRAS}]" && rm -rf /app/*

# The executors' store of large results (EXECUTOR_BLOB_DIR in compose.yaml). Docker fills a new named volume from
# the image's directory at its mount point, owner and mode included, so the results-blobs volume starts out
# writable by the service user and private to it.
RUN install -d -o alertmesh -g alertmesh -m 0700 /var/lib/alertmesh /var/lib/alertmesh/blobs

USER alertmesh
