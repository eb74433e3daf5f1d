"""Where settings come from besides pydantic-settings' own sources: the secrets
directory (Docker/Kubernetes secrets, one file per setting) and the settings file, read
beforehand through ``read_yaml`` so that its errors name the file, line and key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from syncd.errors import ConfigError


class SecretsDir(PydanticBaseSettingsSource):
    """Files named like ``salesforce__client_secret`` (Docker/Kubernetes secrets)."""

    def __init__(self, settings_cls: type[BaseSettings], directory: Path):
        super().__init__(settings_cls)
        self.directory = directory

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.directory.is_dir():
            raise ConfigError(f"SYNCD_SECRETS_DIR={self.directory} is not a directory")
        values: dict[str, Any] = {}
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            keys = secret_file_keys(path.name)
            target = values
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = read_secret(path)
        return values


class FileValues(PydanticBaseSettingsSource):
    """Values read beforehand: the settings file, lowest in precedence."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]):
        super().__init__(settings_cls)
        self.values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.values


def secret_file_keys(name: str) -> list[str]:
    """``salesforce__client_secret`` -> ["salesforce", "client_secret"]."""
    return name.lower().removeprefix("syncd_").split("__")


def read_secret(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8").strip()
    except UnicodeDecodeError:
        # The content is a secret: say where, never what.
        raise ConfigError(
            f"secret file {path} (SYNCD_SECRETS_DIR) is not UTF-8 text; write the secret "
            'as plain UTF-8, e.g. `printf %s "$SECRET" > FILE`'
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {path}: {exc.strerror}") from None


def env_name(path: tuple[str | int, ...]) -> str:
    return "SYNCD_" + "__".join(str(p).upper() for p in path)


def origin(loc: tuple[str | int, ...]) -> str | None:
    """Where a bad value came from when not from the settings file, for the message."""
    present = {name.upper() for name in os.environ}
    for depth in range(len(loc), 0, -1):
        if env_name(loc[:depth]) in present:
            return f"from {env_name(loc[:depth])}"
    secrets_dir = os.environ.get("SYNCD_SECRETS_DIR")
    secret = Path(secrets_dir, "__".join(str(p) for p in loc)) if secrets_dir else None
    if secret is not None and secret.is_file():
        return f"from {secret}"
    return None


def given_secrets(paths: Iterable[tuple[str, ...]]) -> list[str]:
    """The raw values of these settings in the environment and the secrets directory,
    before any validation: a secret must be masked even when its section is invalid."""
    found = {name.upper(): value for name, value in os.environ.items()}
    values = [found.get(env_name(path)) for path in paths]
    secrets_dir = os.environ.get("SYNCD_SECRETS_DIR")
    for path in paths if secrets_dir else ():
        file = Path(secrets_dir or "", "__".join(path))
        try:
            values.append(file.read_bytes().decode("utf-8").strip())
        except (OSError, UnicodeDecodeError):
            continue  # reported when the secrets directory is read
    return [v for v in values if v]
