"""The workflow DSL: definitions (``model``), ``${{ }}`` templates, and their validation.

The loader (``dsl.loader``: reading files, checking actions against the executor's registry) is not imported
here: every ``dsl`` import runs this file, the workflow's too, and the workflow must not load the action library.
"""

from dsl.model import ActionStatement, RetryPolicy, WorkflowDefinition
from dsl.templates import TemplateContext, TemplateError, render

__all__ = [
    "ActionStatement",
    "RetryPolicy",
    "TemplateContext",
    "TemplateError",
    "WorkflowDefinition",
    "render",
]
