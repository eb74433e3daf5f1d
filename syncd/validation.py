"""Turn pydantic validation errors into lines a user can act on: key path, problem, value."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem: ``account.write.lead: Field required``."""
    lines = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "<top level>"
        message = error["msg"]
        if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
            message += f" (got {error['input']!r})"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        lines.append(f"{path}: {message}")
    return lines
