"""The webhook bridge: HTTP in, raw records on Kafka out (``python -m services.webhook``).

``app`` builds the FastAPI application (``create_app``) around a ``Bridge`` (``bridge``: settings, authentication,
its credentials reloader, broker, raw-topic publisher); ``routes`` holds its routers; ``admission`` is the chain of
dependencies a POST passes (source, credentials, body size and read deadline, signature, then the alert's span from
``alert_span`` once authenticated, then content type, JSON and the alert cap), ``answers`` what it is answered when
refused or when Kafka does not take it, ``oversize`` when Kafka never can; ``auth`` and ``credentials`` say who
may post, ``reload`` follows the credentials file; ``body``, ``headers`` and ``ndjson`` check and translate what
they post; ``metrics`` counts requests; ``config`` holds ``WEBHOOK_*``; ``__main__`` serves it with uvicorn, and
its metrics on a port of their own.
Import the module you need: ``credentials`` is also used where no web framework is installed.
"""
