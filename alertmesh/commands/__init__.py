"""One module per ``alertmesh`` command that needs more than a few lines; ``alertmesh.cli`` is the table of all."""
