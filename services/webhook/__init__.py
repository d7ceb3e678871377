"""The webhook bridge: HTTP in, raw records on Kafka out (``python -m services.webhook``).

``app`` builds the FastAPI application; ``auth`` and ``credentials`` say who may post; ``body``, ``headers`` and
``ndjson`` check and translate what they post; ``metrics`` counts requests; ``config`` holds ``WEBHOOK_*``.
Import the module you need: ``credentials`` is also used where no web framework is installed.
"""
