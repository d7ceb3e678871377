"""The embedded stack ``alertmesh up`` runs on one machine: the Tansu and Temporal binaries (``embedded``), the
plan of every part with its environment (``mesh``), the supervisor that starts, probes and restarts them
(``supervisor``), the record of what runs where (``state``: mesh.json), and a stack for tests, chaos and
benchmarks (``local``).

Import the module you need: each loads different clients, and the commands that need none must stay quick.
"""
