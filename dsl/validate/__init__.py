"""Validation of workflow definitions, each problem with its path into the document.

``definition`` runs every check on one document (``shape``: keys and types, ``args``: action arguments against the
catalog, ``expressions``: every ``${{ }}`` and what it refers to); ``workflow_set`` checks several workflows
together (names, child workflows, error handlers). The loader is the one caller outside this package.
"""

from dsl.validate.definition import check_definition, check_document
from dsl.validate.workflow_set import Member, check_set

__all__ = ["Member", "check_definition", "check_document", "check_set"]
