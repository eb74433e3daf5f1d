"""How many rows one statement carries: the store's one batch size and its two loops.

SQLite caps a statement's parameters and PostgreSQL's planner slows on huge ``IN`` lists,
and a first full cycle saves a million rows that should never be held at once: every
executemany and every ``IN`` list of the store takes ``BATCH`` rows at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

BATCH = 5000  # rows per executemany / IN list


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most BATCH items (the values of an ``IN`` list)."""
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def batches(rows: Iterable[T]) -> Iterator[list[T]]:
    """The rows, BATCH at a time, taken from the iterable as they are needed (made as
    they are saved: never all held at once)."""
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        yield batch


__all__ = ["BATCH", "batches", "chunks"]
