"""Reading config files: YAML with errors naming the file, and pydantic errors as lines a
user can act on (key path, problem, value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from syncd.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """SafeLoader whose impossible dates (``2026-13-01``) stay text.

    PyYAML raises a bare ValueError for them, with no file or key; as text they reach the
    model's validation, which names the key and says a date was expected.
    """

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read_yaml(path: Path, what: str) -> Any:
    """The parsed contents of a YAML file; ConfigError naming ``what`` file otherwise."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except OSError as exc:
        raise ConfigError(
            f"cannot read {what} file {path}: {exc.strerror}", source=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}); save the {what} file as UTF-8",
            source=str(path),
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", source=str(path)) from None


# Never echoed in an error: a whole section's input may hold its secrets, and so may these.
_SECRET_PARTS = ("password", "secret", "token", "url")


def _echo(error: Any) -> bool:
    """Whether an error may show the value it got (a scalar that is not a secret)."""
    if error["type"] in ("missing", "extra_forbidden") or "input" not in error:
        return False
    if isinstance(error["input"], dict | list | tuple):
        return False
    last = str(error["loc"][-1]).lower() if error["loc"] else ""
    return not any(part in last for part in _SECRET_PARTS)


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem: ``account.write.lead: Field required``."""
    lines = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "<top level>"
        message = error["msg"]
        if _echo(error):
            message += f" (got {error['input']!r})"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        lines.append(f"{path}: {message}")
    return lines
