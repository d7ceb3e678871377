"""The files ingest ships with, read from the installed package (``importlib.resources``), so an install finds
them wherever it runs: ``ROUTING_FILE``, the routing rules used when ``INGEST_ROUTING_FILE`` is unset, and
``FIELD_MAPS_FILE``, example field maps for ``INGEST_FIELD_MAPS_FILE`` (not used unless that names a file)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Ingest watches its routing file for changes and names it in file:line:col problems, so the settings hold a
# file system path, not a resource handle. pip installs a wheel unpacked, so the package's files are real files.
_HERE = Path(str(files(__name__)))

#: The demo routing rules (they start the workflows in ``services.orchestrator.defaults``).
ROUTING_FILE = _HERE / "routing.yaml"
#: Example field maps: read a source's own JSON as alerts, without code.
FIELD_MAPS_FILE = _HERE / "field-maps.yaml"
