"""The load: distinct alerts, exact duplicates of some of them, malformed payloads of every kind."""

from __future__ import annotations

from collections import Counter

import orjson

from alertmesh.chaos.payloads import MALFORMED_KINDS, build_load


def test_load_mix_is_seeded_and_distinct() -> None:
    messages = build_load(100, seed=5, run_tag="t5", duplicate_share=0.1, malformed_share=0.1)
    assert messages == build_load(100, seed=5, run_tag="t5", duplicate_share=0.1, malformed_share=0.1)
    kinds = Counter(m.kind for m in messages)
    assert kinds == {"alert": 100, "duplicate": 10, "malformed": 10}
    alerts = [m for m in messages if m.kind == "alert"]
    assert len({m.fingerprint for m in alerts}) == 100
    assert len({orjson.loads(m.payload)["alerts"][0]["startsAt"] for m in alerts}) == 100
    originals = {m.fingerprint: m.payload for m in alerts}
    for duplicate in (m for m in messages if m.kind == "duplicate"):
        assert duplicate.payload == originals[duplicate.fingerprint]
        assert messages.index(duplicate) > next(i for i, m in enumerate(messages) if m.payload == duplicate.payload)


def test_every_malformed_kind_is_sent_and_each_payload_is_unique() -> None:
    malformed = [m for m in build_load(100, seed=1, run_tag="t1", malformed_share=0.1) if m.kind == "malformed"]
    assert {m.label for m in malformed} == set(MALFORMED_KINDS)
    assert len({m.payload for m in malformed}) == len(malformed)
