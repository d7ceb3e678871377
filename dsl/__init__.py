"""The workflow DSL: definitions (``model``), ``${{ }}`` templates, and the start-up loader."""

from dsl.loader import WorkflowLoadError, load_definition, load_workflows
from dsl.model import ActionStatement, RetryPolicy, WorkflowDefinition
from dsl.templates import TemplateContext, TemplateError, render

__all__ = [
    "ActionStatement",
    "RetryPolicy",
    "TemplateContext",
    "TemplateError",
    "WorkflowDefinition",
    "WorkflowLoadError",
    "load_definition",
    "load_workflows",
    "render",
]
