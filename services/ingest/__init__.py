"""Ingest: raw alerts in (Kafka consumer, webhook bridge), normalized workflow triggers out."""
