"""The ``alertmesh`` command: run the whole mesh on one machine, publish alerts, read results."""
