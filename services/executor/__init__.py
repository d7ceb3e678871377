"""Executor: the Temporal activity worker that runs each action as a Ray task."""
