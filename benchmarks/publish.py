"""Run the benchmarks and rewrite their tables in benchmarks/README.md and README.md.

    make benchmarks                                    # every section (about an hour)
    .venv/bin/python benchmarks/publish.py --only cycle --only bulk2
    .venv/bin/python benchmarks/publish.py --dry-run   # the commands, nothing run

A table lives between ``<!-- bench:NAME -->`` and ``<!-- /bench -->`` in either file;
everything between the two markers is replaced: the table, then a line saying when, on
what machine and under what load (the load average before and after each run: the
machine may be shared) it was measured. Text outside the markers is never touched.

The contract for a benchmark script (``SECTIONS`` lists the runs of each table): called
with ``--markdown`` it prints ONE markdown table on stdout — a header line, the
separator line, then its rows — and nothing else (progress goes to stderr). The runs of a
section are joined under the first run's header. A section whose script does not exist
(``bench_fresh.py`` comes with its own change) is skipped with a note, its table left
as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
FILES = (HERE / "README.md", ROOT / "README.md")
END = "<!-- /bench -->"

# section -> the runs whose rows make its table (script, then its arguments)
SECTIONS: dict[str, list[list[str]]] = {
    "cycle": [
        ["bench_cycle.py", "--opportunities", "10000", "--latency", "0.05"],
        ["bench_cycle.py", "--opportunities", "100000", "--latency", "0.05", "--skip-loop"],
        ["bench_cycle.py", "--opportunities", "1000000", "--latency", "0.05", "--skip-loop"],
    ],
    "bulk2": [
        ["bench_bulk2_script.py", "--opportunities", "10000", "--latency", "0.05"],
        ["bench_bulk2_script.py", "--opportunities", "100000", "--latency", "0.05"],
    ],
    "fresh": [
        ["bench_fresh.py", "--opportunities", "10000"],
        ["bench_fresh.py", "--opportunities", "100000"],
        ["bench_fresh.py", "--opportunities", "1000000", "--prepared", "--timeout", "120"],
    ],
}


@dataclass(frozen=True)
class Table:
    header: list[str]  # the header and separator lines
    rows: list[str]
    note: str  # when, where, under what load

    def markdown(self) -> str:
        return "\n".join([*self.header, *self.rows, "", self.note])


def start(name: str) -> str:
    return f"<!-- bench:{name} -->"


def replace_block(text: str, name: str, body: str) -> str | None:
    """``text`` with the block ``name`` holding ``body``; None when it has no such block."""
    opening = start(name)
    first = text.find(opening)
    if first < 0:
        return None
    inner = first + len(opening)
    last = text.find(END, inner)
    if last < 0:
        raise SystemExit(f"{opening} has no {END} after it")
    return f"{text[:inner]}\n{body}\n{text[last:]}"


def load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def run_table(name: str, runs: Sequence[Sequence[str]]) -> Table | None:
    """Run a section's benchmarks (None: its script is not there)."""
    header: list[str] = []
    rows: list[str] = []
    loads = []
    for script, *args in runs:
        path = HERE / script
        if not path.exists():
            print(f"{name}: {script} does not exist; its table is left as it is", file=sys.stderr)
            return None
        command = [sys.executable, str(path), *args, "--markdown"]
        print(f"{name}: {' '.join(command[1:])}", file=sys.stderr)
        before = load()
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
        loads.append(f"{before} → {load()}")
        lines = [line for line in out.splitlines() if line.startswith("|")]
        if len(lines) < 2:
            raise SystemExit(f"{script} printed no markdown table with --markdown")
        header = header or lines[:2]
        rows += lines[2:]
    return Table(header, rows, note(loads))


def note(loads: Sequence[str]) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return (
        f"*Measured {day} by `make benchmarks` on Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores; load average (1 / 5 / 15 min) "
        f"before → after each run: {'; '.join(loads)}.*"
    )


def publish(name: str, table: Table, files: Sequence[Path] = FILES) -> list[Path]:
    """Write the table into every file that has its block; the files rewritten."""
    written = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = replace_block(text, name, table.markdown())
        if new is not None and new != text:
            path.write_text(new, encoding="utf-8")
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="a section")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args()
    for name in args.only or list(SECTIONS):
        if args.dry_run:
            for run in SECTIONS[name]:
                print(f"{name}: benchmarks/{' '.join(run)} --markdown")
            continue
        table = run_table(name, SECTIONS[name])
        if table is None:
            continue
        written = publish(name, table)
        if not written:
            print(f"{name}: no file has a {start(name)} block; its table:", file=sys.stderr)
            print(table.markdown())
        for path in written:
            print(f"{name}: rewrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
