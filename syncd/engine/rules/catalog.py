"""Every rule family and what it reads, in one list (see ``syncd.engine.inputs``).

The cascade, the explain fetch plan and the facts explain lists are all derived from
``FAMILIES``; a new family is a line here.
"""

from __future__ import annotations

from syncd.engine.inputs import (
    DEAL_ACCOUNT,
    DEAL_OWNER,
    MANAGER,
    OPPORTUNITY,
    Family,
    Hop,
    Read,
    family,
)
from syncd.engine.rules.custom import CUSTOM
from syncd.engine.rules.deal import ELIGIBILITY
from syncd.engine.rules.lead import LEAD_READS
from syncd.engine.rules.named import ACCOUNT_LEAD
from syncd.engine.rules.overrides import OVERRIDES
from syncd.engine.rules.partners import DEAL_PARTNER_READS
from syncd.engine.rules.regions import ENFORCEMENT_DATE
from syncd.engine.rules.registration import REGISTRATION
from syncd.engine.rules.remedy import REMEDY
from syncd.engine.rules.telesales import UNPARTNERED
from syncd.engine.rules.words import WORDS

# Not a rule but enforcement (``syncd.engine.enforcement``): a violation's Task goes to
# the rep's manager while that manager is active, else to channel operations.
ESCALATION = family(
    "escalation",
    OPPORTUNITY,
    ((DEAL_OWNER,), "manager_id"),
    ((DEAL_OWNER, MANAGER), "is_active name"),
    decides=False,
)

# Not read by any rule: who last changed the deal (set an override, decided an exception),
# shown by explain for the record.
AUDIT = family("audit", OPPORTUNITY, ((), "last_modified_by"), decides=False)

FAMILIES: tuple[Family, ...] = (
    ACCOUNT_LEAD,
    ELIGIBILITY,
    ACCOUNT_LEAD.via(DEAL_ACCOUNT),  # a deal reads its account's facts
    DEAL_PARTNER_READS,
    OVERRIDES,
    REGISTRATION,
    LEAD_READS,
    UNPARTNERED,
    CUSTOM,
    ENFORCEMENT_DATE,
    REMEDY,
    WORDS,
    ESCALATION,
    AUDIT,
)


def reads(root: str, *, deciding_only: bool = False) -> list[Read]:
    """The distinct reads of every family deciding records of kind ``root``, in order."""
    found: dict[tuple[tuple[Hop, ...], tuple[str, ...]], Read] = {}
    for fam in FAMILIES:
        if fam.root == root and (fam.decides or not deciding_only):
            for read in fam.reads:
                found.setdefault((read.path, read.fields), read)
    return list(found.values())


def decision_paths() -> list[tuple[str, tuple[Hop, ...]]]:
    """(root, path) for every path a decision follows, prefixes included (following a hop
    reads the link on the record before it)."""
    paths: dict[tuple[str, tuple[Hop, ...]], None] = {}
    for fam in FAMILIES:
        if not fam.decides:
            continue
        paths[(fam.root, ())] = None
        for read in fam.reads:
            for end in range(1, len(read.path) + 1):
                paths[(fam.root, read.path[:end])] = None
    return list(paths)
