"""read_yaml and format_validation_error: the file, line and key in every message; no
value of a secret, a section or a URL's credentials ever in one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from syncd.errors import ConfigError
from syncd.validation import format_validation_error, read_yaml, read_yaml_mapping


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "file.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", ["duplicate key 'a'", "line 3", "first given on line 1"]),
        ("top:\n  x: 1\n  x: 2\n", ["duplicate key 'x'", "line 3"]),
        ("- {k: 1, k: 2}\n", ["duplicate key 'k'", "line 1"]),
        ("a: [1\n", ["not valid YAML", "line 2", "expected ',' or ']'"]),
        ("a: 'unclosed\n", ["not valid YAML", "quoted scalar"]),
        (b"a: caf\xe9\n", ["not UTF-8", "byte 0xe9 on line 1"]),
        (b"a: 1\nb: \xff\n", ["not UTF-8", "line 2"]),
    ],
)
def test_bad_yaml_names_the_file_and_where(
    tmp_path: Path, content: str | bytes, expected: list[str]
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        read_yaml(path, "rules")
    message = str(caught.value)
    assert message.startswith(f"rules file {path}")
    for part in expected:
        assert part in message, message
    assert "<unicode string>" not in message and caught.value.source == str(path)


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  x: 3\n")
    assert read_yaml(path, "mapping")["child"] == {"x": 3, "y": 2}


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert read_yaml(write(tmp_path, "\ufeffa: 1\n"), "settings") == {"a": 1}


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read mapping file .*absent\.yaml"):
        read_yaml(tmp_path / "absent.yaml", "mapping")
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        read_yaml(tmp_path, "mapping")


@pytest.mark.parametrize(
    ("content", "kind"),
    [("- a\n- b\n", "a list"), ("Secret-Pasted-Here\n", "a single str value"), ("7\n", "int")],
)
def test_the_top_level_must_be_a_mapping(tmp_path: Path, content: str, kind: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_yaml_mapping(write(tmp_path, content), "settings")
    assert kind in str(caught.value) and "Secret-Pasted-Here" not in str(caught.value)
    assert read_yaml_mapping(write(tmp_path, ""), "settings") == {}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = "https://x"
    client_secret: SecretStr | None = None
    count: int = 0


class _Root(BaseModel):
    model_config = ConfigDict(extra="forbid")
    section: _Section = _Section()


def test_values_are_shown_unless_secret_or_whole_sections() -> None:
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate(
            {"section": {"count": "many", "client_secret": 12345678, "colour": "x"}}
        )
    lines = format_validation_error(caught.value)
    assert any(line.startswith("section.count: ") and "(got 'many')" in line for line in lines)
    assert "section.colour: unknown key (check the spelling)" in lines
    assert not any("12345678" in line for line in lines)
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate({"section": "{client_secret: hunter2-hunter2"})
    assert "hunter2" not in "\n".join(format_validation_error(caught.value))


def test_credentials_in_a_url_are_masked() -> None:
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate({"section": {"count": "postgresql://syncd:pw-Secret@db/x"}})
    (line,) = format_validation_error(caught.value)
    assert "pw-Secret" not in line and "postgresql://***@db/x" in line


def test_origin_is_added_to_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate({"section": {"count": "x"}})
    (line,) = format_validation_error(caught.value, origin=lambda loc: "from SYNCD_X")
    assert line.startswith("section.count (from SYNCD_X): ")
