"""Plumbing every service shares: connection settings, topic names, health endpoint, logging."""
