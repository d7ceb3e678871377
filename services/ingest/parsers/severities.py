"""Senders' severities onto alertmesh's fixed scale (unknown < info < low < medium < high < critical).

Words that mean one thing wherever they come from (``error``, ``warning``, ``fatal``, ``disaster``) and prefixed
levels (``Sev2``, ``P1``, ``SEV-1``, ``Priority 1``) map by rule in ``normalize_severity``. A bare number does not:
``1`` is the highest level for PagerDuty or Opsgenie and the lowest for a 1-5 score where 5 is worst, so a parser
that knows its sender's scale calls ``severity_from_scale``; without that context a bare number stays ``unknown``.
A source's own ``severity_map`` comes before both (``apply_severity_map``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal, get_args, overload

from schemas.alert import Alert, Severity

#: The numbered scales senders use: ``p`` (P0-P5, P1 highest: PagerDuty priorities, Opsgenie), ``sev`` (Sev0-Sev5,
#: Sev0 highest: Azure Monitor), ``syslog`` (RFC 5424 levels 0 emergency ... 7 debug), ``one_high`` (1-5, 1 highest)
#: and ``five_high`` (1-5, 5 highest).
SeverityScale = Literal["p", "sev", "syslog", "one_high", "five_high"]
SEVERITY_SCALES: tuple[SeverityScale, ...] = get_args(SeverityScale)

# Each scale: its lowest level number and what each level from there means, in order.
_LEVELS: dict[SeverityScale, tuple[int, tuple[Severity, ...]]] = {
    # P0 is the "above P1" level of teams that have one; P5 is Opsgenie's informational.
    "p": (0, ("critical", "critical", "high", "medium", "low", "info")),
    # Azure Monitor defines Sev0 Critical, Sev1 Error, Sev2 Warning, Sev3 Informational, Sev4 Verbose: five levels
    # laid one for one on the top five of ours (Sev3 low, Sev4 info), so Sev0 alone pages as critical and each
    # level sits below the one before it. Sev5, the lowest of the SEV1-SEV5 scales some teams use, is info.
    "sev": (0, ("critical", "high", "medium", "low", "info", "info")),
    # RFC 5424: 0 emerg, 1 alert, 2 crit, 3 err, 4 warning, 5 notice, 6 info, 7 debug.
    "syslog": (0, ("critical", "critical", "critical", "high", "medium", "low", "info", "info")),
    "one_high": (1, ("critical", "high", "medium", "low", "info")),
    "five_high": (1, ("info", "low", "medium", "high", "critical")),
}

#: Vendor severity words mapped onto alertmesh's scale (case-insensitive); any other word is "unknown".
SEVERITY_SYNONYMS: dict[str, Severity] = {
    # critical: syslog emerg/alert/crit, Sentry/Go fatal, Zabbix Disaster, "page" (wake someone up).
    "critical": "critical", "crit": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "emerg": "critical", "alert": "critical", "disaster": "critical", "blocker": "critical",
    # high: syslog err, PagerDuty/Datadog/Sentry error, Dynatrace-like major, Splunk severe, Zabbix High.
    "high": "high", "error": "high", "err": "high", "major": "high", "severe": "high",
    # medium: warnings everywhere, Zabbix Average.
    "medium": "medium", "warning": "medium", "warn": "medium", "moderate": "medium", "average": "medium",
    # low: syslog notice, minor.
    "low": "low", "minor": "low", "notice": "low",
    # info: informational and below; Datadog's "success" is a recovery's alert type.
    "info": "info", "informational": "info", "information": "info", "debug": "info", "verbose": "info",
    "trace": "info", "none": "info", "ok": "info", "success": "info",
}  # fmt: skip

# "P1", "p 2", "P-3", "Priority 1", "Sev2", "SEV-1", "sev_0": a prefix that names the scale, then the level.
_PREFIXED = re.compile(r"(?P<prefix>priority|p|sev)[ _:-]?(?P<level>[0-9]{1,3})", re.ASCII)
_PREFIX_SCALE: dict[str, SeverityScale] = {"p": "p", "priority": "p", "sev": "sev"}
_DIGITS = re.compile(r"[0-9]{1,3}", re.ASCII)


def normalize_severity(value: Any) -> Severity:
    """A severity the value states without context: a known word (``error``, ``Warning``) or a level with its
    scale's prefix (``Sev2``, ``P1``, ``SEV-1``, ``Priority 1``); anything else, bare numbers included, is
    'unknown' (use ``severity_from_scale`` when the sender's scale is known)."""
    if not isinstance(value, str):
        return "unknown"
    word = value.strip().lower()
    known = SEVERITY_SYNONYMS.get(word)
    if known is not None:
        return known
    prefixed = _PREFIXED.fullmatch(word)
    if prefixed is None:
        return "unknown"
    return _on_scale(int(prefixed["level"]), _PREFIX_SCALE[prefixed["prefix"]])


def severity_from_scale(value: Any, scale: SeverityScale) -> Severity:
    """The severity of a level on a scale the caller knows its sender uses (see ``SeverityScale``): a number
    (``2``, ``2.0``, ``" 2"``) is read on that scale and one off the scale is 'unknown'; anything else is read as
    ``normalize_severity`` reads it (words, and prefixed levels on their own prefix's scale: "P1" is critical
    whatever ``scale`` says)."""
    level = _level(value)
    if level is None:
        return normalize_severity(value)
    return _on_scale(level, scale)


@overload
def apply_severity_map(alert_or_value: Alert, mapping: Mapping[str, Severity]) -> Alert: ...


@overload
def apply_severity_map(alert_or_value: str | float | None, mapping: Mapping[str, Severity]) -> Severity: ...


def apply_severity_map(alert_or_value: Alert | str | float | None, mapping: Mapping[str, Severity]) -> Alert | Severity:
    """A source's own ``severity_map`` (sender value -> severity, keys compared trimmed and case-insensitively)
    over the rules. Given an ``Alert``: a copy whose severity is what the map gives its ``severity_original`` (the
    alert itself when the map has no entry; ``severity_original`` stays as sent). Given a value (a string or a
    number, as sent): its mapped severity, else what ``normalize_severity`` makes of it."""
    if isinstance(alert_or_value, Alert):
        mapped = _mapped(alert_or_value.severity_original, mapping)
        if mapped is None or mapped == alert_or_value.severity:
            return alert_or_value
        return alert_or_value.model_copy(update={"severity": mapped})
    mapped = _mapped(alert_or_value, mapping)
    return mapped if mapped is not None else normalize_severity(alert_or_value)


def _on_scale(level: int, scale: SeverityScale) -> Severity:
    lowest, levels = _LEVELS[scale]
    index = level - lowest
    return levels[index] if 0 <= index < len(levels) else "unknown"


def _level(value: Any) -> int | None:
    """An integral level from a number or a string of digits (prefixed strings name their own scale)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _DIGITS.fullmatch(text) else None
    return None


def _key(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _mapped(value: Any, mapping: Mapping[str, Severity]) -> Severity | None:
    key = _key(value)
    if key is None or not mapping:
        return None
    # Field maps store their keys trimmed and lower-case already; other callers' maps are compared the same way.
    found = mapping.get(key)
    if found is not None:
        return found
    return next((target for name, target in mapping.items() if name.strip().lower() == key), None)
