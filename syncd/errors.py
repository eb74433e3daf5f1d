"""The exception hierarchy: one root, branches named for what the caller should do.

- ``ConfigError``: a user fixes a file or a setting; the message names the file, the key
  and what was expected. Raised at start-up, never mid-cycle.
- ``RetriableError``: a temporary failure; the same call may succeed later.
- ``FatalSyncError``: the cycle must stop now (API limit, authentication); the watermark
  does not move and the next cycle starts over from it.
- ``RecordError``: one record cannot be handled; skip it, report it, go on.
"""

from __future__ import annotations


class SyncdError(Exception):
    """Root of every error syncd raises on purpose."""


class ConfigError(SyncdError):
    """A settings, mapping, rules or data file is wrong; the message says where and how."""

    def __init__(
        self, message: str, *, source: str | None = None, problems: list[str] | None = None
    ):
        self.source = source
        self.problems = list(problems or [])
        text = message
        if self.problems:
            # A problem may itself be a multi-line error (a file with its own problems).
            text += "\n" + "\n".join(f"  - {p}".replace("\n", "\n    ") for p in self.problems)
        super().__init__(text)


class RetriableError(SyncdError):
    """A temporary failure (network, 5xx, row lock); retry with backoff."""


class FatalSyncError(SyncdError):
    """The cycle cannot go on; stop cleanly without advancing the watermark."""


class AuthenticationError(FatalSyncError):
    """Salesforce refused the credentials (or the token could not be refreshed)."""


class ApiLimitExceeded(FatalSyncError):
    """Salesforce answered REQUEST_LIMIT_EXCEEDED; hammering it would make things worse."""


class RecordError(SyncdError):
    """One record cannot be processed; it is reported and the rest go on."""

    def __init__(self, record_id: str | None, message: str):
        self.record_id = record_id
        super().__init__(f"{record_id or '<no id>'}: {message}")
