"""The mesh's services, each its own process (``python -m services.<name>``): ``webhook`` and ``ingest`` take alerts
in, ``orchestrator`` runs the workflows, ``executor`` runs their actions; ``shared`` is the plumbing they all use.

The services talk only through events on Kafka (``schemas``) and through Temporal, never by importing each other.
"""
