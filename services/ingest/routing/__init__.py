"""Routing: which workflows run for which alert.

``table`` is the rules file's model and the verdicts it gives; ``conditions`` the ``match:`` tests, ``when`` the
``when:`` expressions, ``file`` the reading of the YAML with ``file:line:col`` problems, ``reload`` the watching of
the file while ingest runs. Code outside ingest's routing uses the names below.
"""

from services.ingest.routing.file import RoutingFileError
from services.ingest.routing.reload import RoutingReloader
from services.ingest.routing.table import Route, RoutingTable, Verdict, load_routing, parse_routing

__all__ = ["Route", "RoutingFileError", "RoutingReloader", "RoutingTable", "Verdict", "load_routing", "parse_routing"]
