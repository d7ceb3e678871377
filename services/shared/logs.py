"""One log format for every service, so ``alertmesh up`` output reads as one stream."""

from __future__ import annotations

import faulthandler
import logging


def configure(service: str, level: str = "INFO") -> None:
    # A crash in native code (Temporal's Rust core, Ray, librdkafka) then prints every thread's Python stack.
    faulthandler.enable()
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # aiokafka logs every rebalance and metadata hiccup at INFO; keep warnings and worse.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    # FastStream's app logger prints with its own format and ANSI colours; send it through ours instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers.clear()
    faststream.propagate = True
