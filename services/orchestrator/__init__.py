"""Orchestrator: workflow triggers in, durable Temporal workflow runs, results out."""
