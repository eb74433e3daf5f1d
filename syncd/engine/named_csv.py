"""The named-accounts CSV: one ``account_id`` column of 15- or 18-character Account Ids.

Every line that is not an Account Id is listed with its line number (a User Id pasted by
mistake, a truncated Id), and a file that is not UTF-8 (Excel's default "CSV") is named,
never a traceback.
"""

from __future__ import annotations

import csv
from pathlib import Path

from syncd.errors import ConfigError
from syncd.sfid import InvalidSalesforceId, to_18

_ACCOUNT_PREFIX = "001"
# What an Id that is not an Account's most likely is, by its key prefix.
_ID_KINDS = {"005": "a User Id", "006": "an Opportunity Id", "003": "a Contact Id",
             "00Q": "a Lead Id", "00T": "a Task Id"}  # fmt: skip


def read_named_accounts(path: Path) -> frozenset[str]:
    """Account Ids from a CSV with an ``account_id`` column; ``#`` lines are comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"cannot read named accounts file {path}: {exc.strerror} "
            "(named_accounts.csv_file is relative to the rules file)",
            source=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save the named accounts file as "
            "UTF-8 (in Excel: CSV UTF-8)",
            source=str(path),
        ) from None
    rows = [(n, line) for n, line in enumerate(text.splitlines(), 1) if _data_line(line)]
    if not rows or rows[0][1].strip().split(",")[0].strip().lower() != "account_id":
        raise ConfigError(f"{path}: expected a header line 'account_id'", source=str(path))
    column = [c.strip().lower() for c in next(csv.reader([rows[0][1]]))].index("account_id")
    ids, problems = set(), []
    for number, line in rows[1:]:
        cells = next(csv.reader([line]))
        value = cells[column].strip() if column < len(cells) else ""
        try:
            account_id = to_18(value)
        except InvalidSalesforceId as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if not account_id.startswith(_ACCOUNT_PREFIX):
            kind = _ID_KINDS.get(account_id[:3], "not an Account Id")
            problems.append(f"line {number}: {value} is {kind}; Account Ids start with 001")
            continue
        ids.add(account_id)
    if problems:
        raise ConfigError(f"{path}: bad Account Ids", source=str(path), problems=problems)
    return frozenset(ids)


def _data_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")
