"""Reading config files: YAML with errors naming the file, and pydantic errors as lines a
user can act on (key path, problem, value).

Every YAML file syncd reads (settings, mapping, rules) goes through ``read_yaml``: a file
that is not UTF-8, not YAML, or that gives one key twice is a ConfigError naming the
file, the line and the key. PyYAML itself lets a repeated key silently win, so a rules
file with two ``registration:`` sections would quietly use the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode

from syncd.errors import ConfigError

# Parts of a key that name a secret: its value is never repeated in an error message.
SECRET_KEY_PARTS = ("password", "secret", "token", "private_key", "authorization", "url")


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping gives one key twice (valid YAML syntax, never a valid syncd file)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` merges, it does not repeat
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in seen:
                raise _DuplicateKey(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _Loader(_StrictLoader):
    """The strict loader, whose impossible dates (``2026-13-01``) stay text.

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
        text = path.read_bytes().decode("utf-8-sig")
    except IsADirectoryError:
        raise ConfigError(
            f"{what} file {path} is a directory, not a file", source=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {what} file {path}: {exc.strerror}", source=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{what} file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} on line "
            f"{line}); save it as UTF-8",
            source=str(path),
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except _DuplicateKey as exc:
        raise ConfigError(f"{what} file {path}: {_yaml_problem(exc)}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{what} file {path} is not valid YAML: {_yaml_problem(exc)}", source=str(path)
        ) from None


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """``read_yaml`` for files whose top level must be a mapping (an empty file is {})."""
    data = read_yaml(path, what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{what} file {path}: expected a mapping of keys at the top level "
            f"(`key: value` lines), got {_kind(data)}",
            source=str(path),
        )
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's explanation, with the line and column where it noticed the problem."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return str(exc)
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return where + ", ".join(parts)


def _kind(value: object) -> str:
    # Never the value itself: a file holding one pasted secret would show it.
    return "a list" if isinstance(value, list) else f"a single {type(value).__name__} value"


def is_secret_key(part: object) -> bool:
    return any(word in str(part).lower() for word in SECRET_KEY_PARTS)


def format_validation_error(
    exc: ValidationError, origin: Callable[[tuple[int | str, ...]], str | None] | None = None
) -> list[str]:
    """One line per problem: ``account.write.lead: Field required``.

    ``origin`` may say where a key's value came from (``from SYNCD_INTERVAL_SECONDS``).

    The offending value is shown only when it is a plain scalar under a key that does not
    name a secret: a model-level error's input is the whole section (client secret and
    all), and a secret's value must never reach a terminal or a log.
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        path = ".".join(str(part) for part in loc) or "<top level>"
        where = origin(loc) if origin is not None and loc else None
        if where:
            path += f" ({where})"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif _showable(error) and repr(error["input"]) not in message:
            message += f" (got {shown(error['input'])})"
        lines.append(f"{path}: {message}")
    return lines


def _showable(error: Any) -> bool:
    value = error.get("input")
    if error["type"] in _HIDDEN_INPUT or not isinstance(value, str | int | float | bool):
        return False  # a section's input is the whole section: secrets and all
    return not any(is_secret_key(part) for part in error["loc"]) and len(repr(value)) <= 200


# https://user:password@host: the part before the @ is never shown.
_URL_CREDENTIALS = re.compile(r"([A-Za-z][\w+.-]*://)[^/@\s]*@")


def shown(value: object) -> str:
    """``repr(value)`` for a message, any credentials in a URL masked."""
    return _URL_CREDENTIALS.sub(r"\1***@", repr(value))


# A missing value has no input to show; a section given as a string (an environment
# variable holding JSON that did not parse) may be full of secrets.
_HIDDEN_INPUT = {"missing", "model_type", "model_attributes_type", "dict_type"}
