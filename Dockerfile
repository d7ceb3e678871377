# One image recipe for every alertmesh service. EXTRAS picks the pip extras, so each image carries only its own
# heavy dependencies: ingest (FastAPI, uvicorn), orchestrator (temporalio), executor (temporalio, Ray client).
# The Ray head and workers run the executor image, so every Ray node has the actions' code and the same Ray.
#   docker build --build-arg EXTRAS=ingest -t alertmesh-ingest .
FROM python:3.11-slim

ARG EXTRAS=ingest

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0

# A fixed uid so volume permissions are predictable across rebuilds.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin alertmesh

WORKDIR /app

COPY pyproject.toml README.md ./
COPY schemas/ schemas/
COPY dsl/ dsl/
COPY services/ services/
COPY alertmesh/ alertmesh/
COPY routing.yaml ./
COPY workflows/ workflows/

# A regular (non-editable) install: the code runs from site-packages, /app keeps routing.yaml and workflows/,
# which the services find relative to the working directory.
RUN pip install --no-cache-dir ".[${EXTRAS}]" && rm -rf build ./*.egg-info

USER alertmesh
