"""Reading config files: YAML with errors naming the file, and pydantic errors as lines a
user can act on (key path, problem, value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from syncd.errors import ConfigError


def read_yaml(path: Path, what: str) -> Any:
    """The parsed contents of a YAML file; ConfigError naming ``what`` file otherwise."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read {what} file {path}: {exc.strerror}", source=str(path)
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", source=str(path)) from None


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
