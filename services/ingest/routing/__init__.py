"""Routing: which workflows run for which alert, and when noise control may let their triggers out.

``table`` is the rules file's model and the verdicts it gives; ``conditions`` the ``match:`` tests, ``when`` the
``when:`` expressions, ``time_intervals`` the named time windows routes mute or activate on, ``inhibit_rules``
Alertmanager's inhibition rules (applied by ``services.ingest.noise.inhibition``), ``thresholds`` the routes'
counting (applied by ``services.ingest.noise.counting``), ``file`` the reading of the YAML with ``file:line:col``
problems, ``reload`` the watching of the file while ingest runs. Code outside ingest's routing uses the names below.
"""

from services.ingest.routing.file import RoutingFileError
from services.ingest.routing.inhibit_rules import InhibitRule
from services.ingest.routing.reload import RoutingReloader
from services.ingest.routing.table import Route, RoutingTable, Verdict, load_routing, parse_routing
from services.ingest.routing.thresholds import Threshold
from services.ingest.routing.time_intervals import TimeInterval

__all__ = [
    "InhibitRule",
    "Route",
    "RoutingFileError",
    "RoutingReloader",
    "RoutingTable",
    "Threshold",
    "TimeInterval",
    "Verdict",
    "load_routing",
    "parse_routing",
]
