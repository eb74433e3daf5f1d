"""benchmarks/publish.py: a table replaces exactly its marked block, nothing else."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _publish() -> ModuleType:
    path = ROOT / "benchmarks" / "publish.py"
    spec = importlib.util.spec_from_file_location("bench_publish", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_publish"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


publish = _publish()


def test_a_block_is_replaced_and_the_text_around_it_kept() -> None:
    text = "intro\n<!-- bench:cycle -->\n| old |\n<!-- /bench -->\nafter\n"
    new = publish.replace_block(text, "cycle", "| a |\n| --- |\n| 1 |")
    assert new == "intro\n<!-- bench:cycle -->\n| a |\n| --- |\n| 1 |\n<!-- /bench -->\nafter\n"
    assert publish.replace_block(new, "cycle", "| a |\n| --- |\n| 1 |") == new  # idempotent
    assert publish.replace_block(text, "fresh", "x") is None


def test_an_unclosed_block_is_refused() -> None:
    with pytest.raises(SystemExit, match="no <!-- /bench -->"):
        publish.replace_block("<!-- bench:cycle -->\n| old |\n", "cycle", "x")


def test_publish_writes_only_files_with_the_block(tmp_path: Path) -> None:
    marked, plain = tmp_path / "a.md", tmp_path / "b.md"
    marked.write_text("<!-- bench:bulk2 -->\n<!-- /bench -->\n", encoding="utf-8")
    plain.write_text("nothing here\n", encoding="utf-8")
    table = publish.Table(["| h |", "| --- |"], ["| 1 |", "| 2 |"], "*measured*")
    assert publish.publish("bulk2", table, [marked, plain]) == [marked]
    assert marked.read_text(encoding="utf-8") == (
        "<!-- bench:bulk2 -->\n| h |\n| --- |\n| 1 |\n| 2 |\n\n*measured*\n<!-- /bench -->\n"
    )
    assert plain.read_text(encoding="utf-8") == "nothing here\n"


def test_every_section_runs_an_existing_script_or_one_announced_elsewhere() -> None:
    scripts = {run[0] for runs in publish.SECTIONS.values() for run in runs}
    missing = {s for s in scripts if not (ROOT / "benchmarks" / s).exists()}
    assert missing <= {"bench_fresh.py"}  # the fresh-process benchmark comes with its change
