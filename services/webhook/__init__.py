"""The webhook bridge: HTTP in, raw records on Kafka out (``python -m services.webhook``).

``app`` builds the FastAPI application (``create_app``) around a ``Bridge`` (``bridge``: settings, authentication,
broker, raw-topic publisher); ``routes`` holds its routers; ``alert_span`` and ``admission`` are the dependencies a
POST passes (the alert's span, then source, credentials, body size, signature, content type), ``answers`` what it is
answered when refused or when Kafka does not take it; ``auth`` and ``credentials`` say who may post; ``body``,
``headers`` and ``ndjson`` check and translate what they post; ``metrics`` counts requests; ``config`` holds
``WEBHOOK_*``; ``__main__`` serves it with uvicorn.
Import the module you need: ``credentials`` is also used where no web framework is installed.
"""
