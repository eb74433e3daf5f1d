"""The lines of a CSV file Salesforce sent (Bulk API 2.0 results), decoded as they are read.

A results page or file is tens of MB. Decoding it whole and wrapping the text in a
``StringIO`` (which stores 4 bytes a character) held about six times its size at once;
a ``TextIOWrapper`` over the response's bytes decodes a buffer at a time instead, so only
the bytes are held.
"""

from __future__ import annotations

import io
from collections.abc import Iterator


def csv_lines(data: str | bytes) -> Iterator[str]:
    """The lines of ``data`` (UTF-8 bytes, or text), line ends kept as the csv module
    wants them; NUL characters dropped (the csv module refuses them). A byte sequence
    that is not UTF-8 raises ``UnicodeDecodeError`` where it is met."""
    stream: io.TextIOBase
    if isinstance(data, bytes):
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    else:
        stream = io.StringIO(data, newline="")
    for line in stream:
        yield line.replace("\x00", "") if "\x00" in line else line


__all__ = ["csv_lines"]
