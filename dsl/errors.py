"""The two errors templates raise; both name the expression so a user can find it in the definition."""

from __future__ import annotations


class TemplateError(ValueError):
    """An expression could not be evaluated (missing key, wrong type, bad function argument)."""


class TemplateSyntaxError(TemplateError):
    """A ``${{ ... }}`` that is not a valid expression (the message gives the column of the problem)."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        #: The 1-based column in the (stripped) expression, when the problem is at one place in it.
        self.column = column
