"""Noise control: the dedup window (``dedup``), grouping (``grouping``), their durable state in a compacted topic
(``state_log``), and how the three sit between the pipeline and Kafka (``control``). The consumer uses
``noise_control``; the rest is this package's own.
"""

from services.ingest.noise.control import NoiseControl, noise_control

__all__ = ["NoiseControl", "noise_control"]
