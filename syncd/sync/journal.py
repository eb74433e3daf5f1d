"""Changing a large mapping in place while keeping what it was: a journal of first values.

A daemon's org state holds a million records; copying its dictionaries to apply a
hundred changes costs more than the changes. The change applier edits them in place
through a ``Journal``, which keeps the first value each edited key had: ``was`` shows a
dictionary as it was before the edits (the cycle's "before"), ``undo`` puts it back (a
cycle that did not commit leaves the state as the last committed one left it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

MISSING: Any = object()  # the key was absent before the first edit


class Journal:
    def __init__(self) -> None:
        self._old: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def set(self, target: dict[str, Any], key: str, value: Any) -> None:
        self._keep(target, key)
        target[key] = value

    def pop(self, target: dict[str, Any], key: str) -> Any:
        self._keep(target, key)
        return target.pop(key, None)

    def _keep(self, target: dict[str, Any], key: str) -> None:
        old = self._old.setdefault(id(target), (target, {}))[1]
        if key not in old:
            old[key] = target.get(key, MISSING)

    def edited(self, target: dict[str, Any]) -> Mapping[str, Any]:
        """Key -> the value it had before the first edit (``MISSING``: it was absent)."""
        found = self._old.get(id(target))
        return found[1] if found is not None else {}

    def was(self, target: dict[str, Any]) -> Mapping[str, Any]:
        """``target`` as it was before the edits (a view, not a copy)."""
        return Before(target, self.edited(target))

    def undo(self) -> None:
        for target, old in self._old.values():
            for key, value in old.items():
                if value is MISSING:
                    target.pop(key, None)
                else:
                    target[key] = value
        self._old.clear()


class Before(Mapping[str, Any]):
    """A mapping as it was: the journal's first values over the edited live one."""

    def __init__(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> None:
        self.live, self.old = live, old

    def __getitem__(self, key: str) -> Any:
        if key in self.old:
            value = self.old[key]
            if value is MISSING:
                raise KeyError(key)
            return value
        return self.live[key]

    def __contains__(self, key: object) -> bool:
        if key in self.old:
            return self.old[key] is not MISSING  # type: ignore[index]
        return key in self.live

    def __iter__(self) -> Iterator[str]:
        for key in self.live:
            if self.old.get(key) is not MISSING:
                yield key
        for key, value in self.old.items():
            if value is not MISSING and key not in self.live:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)
