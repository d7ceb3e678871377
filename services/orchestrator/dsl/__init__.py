"""The workflow DSL: definitions (``model``), ``${{ }}`` templates, and the start-up loader."""

from services.orchestrator.dsl.loader import WorkflowLoadError, load_definition, load_workflows
from services.orchestrator.dsl.model import ActionOptions, ActionStatement, WorkflowDefinition
from services.orchestrator.dsl.templates import TemplateContext, TemplateError, render

__all__ = [
    "ActionOptions",
    "ActionStatement",
    "TemplateContext",
    "TemplateError",
    "WorkflowDefinition",
    "WorkflowLoadError",
    "load_definition",
    "load_workflows",
    "render",
]
