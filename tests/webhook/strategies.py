"""Hypothesis strategies for hostile webhook requests: signed timestamps, credentials, sources, alert batches."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from schemas.sources import SOURCE_PATTERN
from tests.webhook.credentials import GITHUB_SECRET, GRAFANA_SIGNATURE, GRAFANA_TIMESTAMP, KEY, OLD_KEY, hmac_hex

#: Timestamps a sender (or an attacker) may put in a signed-timestamp header: every float spelling Python accepts
#: (nan, inf, exponents, underscores, signs, non-ASCII digits, padding), huge and tiny numbers, and garbage; as a
#: server reads header bytes (latin-1, so UTF-8 digits of other scripts arrive as their bytes).
HOSTILE_STAMPS = (
    st.sampled_from(
        [
            "nan",
            "NaN",
            "-nan",
            "+nan",
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "-Infinity",
            "infinity",
            "1e400",
            "-1e400",
            "1e9",
            "1.8e9",
            "1_800_000_000",
            "+1800000000",
            "-1800000000",
            "1800000000.",
            ".5",
            "\u0661\u0668\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
            "\uff11\uff18\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10",
            "0x6b49d200",
            "9" * 400,
            "1" * 13,
            "",
            " ",
            "1800000000 1",
            "1800000000\x00",
        ]
    )
    | st.floats().map(repr)
    | st.floats().map(str)
    | st.integers().map(str)
    | st.text(max_size=30)
).map(lambda stamp: stamp.encode("utf-8", "surrogatepass").decode("latin-1"))

#: Source names as a path carries them: configured ones, unknown well-formed ones, and malformed ones.
SOURCES = st.sampled_from(["prometheus", "github", "grafana"]) | st.from_regex(SOURCE_PATTERN, fullmatch=True)

#: Credentials a request may carry (none, wrong, right for another source, a signature of another body...).
CREDENTIALS: st.SearchStrategy[dict[str, str]] = st.sampled_from(
    [
        {},
        {"x-api-key": "guess"},
        {"x-api-key": KEY + "x"},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"x-hub-signature-256": "sha256=" + "0" * 64},
        {"x-hub-signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, b"another body")},
        {GRAFANA_SIGNATURE: "0" * 64, GRAFANA_TIMESTAMP: "nan"},
        {GRAFANA_SIGNATURE: "0" * 64, GRAFANA_TIMESTAMP: "1"},
    ]
) | st.dictionaries(
    st.sampled_from(["x-api-key", "authorization", "x-hub-signature-256", GRAFANA_SIGNATURE, GRAFANA_TIMESTAMP]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=70),
    max_size=3,
).filter(lambda headers: KEY not in headers.values() and OLD_KEY not in headers.values())


def alert(number: int) -> dict[str, Any]:
    return {"labels": {"alertname": f"A{number}"}, "status": "firing"}


#: JSON documents carrying a known number of alerts: an Alertmanager payload, a list at some depth a field map's
#: ``each`` may name, a CloudEvent whose data holds the list. (document, alerts it carries)
def documents(max_alerts: int) -> st.SearchStrategy[tuple[Any, int]]:
    counts = st.integers(1, max_alerts)

    def alertmanager(count: int) -> tuple[Any, int]:
        return {"version": "4", "status": "firing", "alerts": [alert(i) for i in range(count)]}, count

    def nested(count: int, depth: int) -> tuple[Any, int]:
        document: Any = {"detections": [alert(i) for i in range(count)], "tags": ["a"] * (count + 5)}
        for level in range(depth):
            document = {f"level{level}": document}
        return document, count

    def cloudevent(count: int) -> tuple[Any, int]:
        data = {"alerts": [alert(i) for i in range(count)], "other": [alert(0)]}
        return {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": data}, count

    return st.one_of(
        counts.map(alertmanager),
        st.builds(nested, counts, st.integers(0, 40)),
        counts.map(cloudevent),
        st.just(({"title": "one"}, 1)),
    )
