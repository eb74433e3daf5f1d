"""What the rules read — record fields and the relationships they follow — declared once.

Every rule family (a module of ``syncd.engine.rules``) declares a ``Family``: the fields it
reads on the record it decides and on the records it reaches through ``Hop``s (the deal's
account, the account's parent chain, the deal's owner, ...). ``syncd.engine.rules.catalog``
lists the families, and three things are derived from that list, never written by hand:

- the cascade (``syncd.engine.cascade``): a changed record re-decides every decision whose
  declared reads reach it;
- the explain fetch plan (``syncd.sync.related``): the records deciding one deal needs;
- the facts ``explain`` lists (``syncd.engine.explain``).

A rule that reads a new field or follows a new relationship says so in its family, and
all three follow (the cascade property test checks that the declarations are complete).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import attrgetter

from syncd.engine.domain import Account, Opportunity, User

Record = Account | Opportunity | User
OPPORTUNITY, ACCOUNT, USER = "Opportunity", "Account", "User"
KINDS: dict[str, type[Record]] = {OPPORTUNITY: Opportunity, ACCOUNT: Account, USER: User}
ALL = "*"  # every field of the record (custom rules may test any of them)
# Never a rule input: audit only (syncd's own writes change it, so a rule reading it would
# flip on every echo of those writes).
NOT_INPUTS = frozenset({"last_modified_by"})


@dataclass(frozen=True, slots=True)
class Hop:
    """A relationship the rules follow from a record of kind ``source`` to ``target``s.

    ``attr`` is the source's attribute holding the target's Id, or — ``shared`` — a value
    the targets hold in the same attribute (the deals on the same account). A
    ``transitive`` hop is followed again from every target (parent, grandparent, ...).
    """

    name: str  # how explain names what it reaches ("account", "owner", "partner", ...)
    source: str
    target: str
    attr: str  # a domain attribute of the source; "registration.partner_id" reads through
    shared: bool = False
    transitive: bool = False

    def key(self, record: Record) -> str | None:
        """The Id (or shared value) this hop follows from ``record``; None when unset."""
        value = getter(self.attr)(record)
        return value if isinstance(value, str) and value else None


@functools.cache
def getter(attr: str) -> Callable[[object], object]:
    """``attr`` of a record, through a nested value that may be None (``registration``)."""
    if "." not in attr:
        return attrgetter(attr)
    head, _, rest = attr.partition(".")
    inner = getter(rest)
    first = attrgetter(head)

    def get(record: object) -> object:
        value = first(record)
        return None if value is None else inner(value)

    return get


@dataclass(frozen=True, slots=True)
class Read:
    """Fields read on the records at the end of ``path`` (the decided record itself: ``()``)."""

    path: tuple[Hop, ...]
    fields: tuple[str, ...]

    @property
    def kind(self) -> str | None:
        """The kind of record read, or None for the decided record (the family's root)."""
        return self.path[-1].target if self.path else None


@dataclass(frozen=True, slots=True)
class Family:
    """What one rule family reads to decide records of kind ``root``.

    ``decides=False``: read by enforcement (who receives a Task), not by any decision, so
    a change there re-decides nothing; explain still fetches and shows it.
    """

    name: str
    root: str
    reads: tuple[Read, ...]
    decides: bool = True

    def via(self, hop: Hop, name: str | None = None) -> Family:
        """This family's reads as seen from ``hop``'s source (a deal reads its account's facts)."""
        assert hop.target == self.root, (hop, self.root)
        reads = tuple(Read((hop, *r.path), r.fields) for r in self.reads)
        return Family(name or self.name, hop.source, reads, self.decides)


def family(
    name: str, root: str, *reads: tuple[tuple[Hop, ...], str], decides: bool = True
) -> Family:
    """``family("renewal", OPPORTUNITY, ((), "is_renewal type"), ((DEAL_ACCOUNT,), "named"))``:
    each read is a path and the fields read there, space separated."""
    return Family(name, root, tuple(Read(path, tuple(f.split())) for path, f in reads), decides)


def field_names(kind: str) -> tuple[str, ...]:
    """The domain attributes of a record kind that rules may read (``ALL`` expands to these)."""
    return tuple(f.name for f in fields(KINDS[kind]) if f.name not in NOT_INPUTS)


# -- the relationships the rules follow --------------------------------------------------

DEAL_ACCOUNT = Hop("account", OPPORTUNITY, ACCOUNT, "account_id")
PARENTS = Hop("parents", ACCOUNT, ACCOUNT, "parent_id", transitive=True)
DEAL_OWNER = Hop("owner", OPPORTUNITY, USER, "owner_id")
MANAGER = Hop("manager", USER, USER, "manager_id")
DEAL_PARTNER = Hop("partner", OPPORTUNITY, ACCOUNT, "partner_id")
INCUMBENT = Hop("incumbent", ACCOUNT, ACCOUNT, "incumbent_partner_id")
REGISTERED_PARTNER = Hop("registered_partner", OPPORTUNITY, ACCOUNT, "registration.partner_id")
# Registration conflicts are decided among the deals on the same account.
CONFLICT_GROUP = Hop("conflict_group", OPPORTUNITY, OPPORTUNITY, "account_id", shared=True)
PORTAL_PARTNER = Hop("partner_account", USER, ACCOUNT, "partner_account_id")
HOPS = (
    DEAL_ACCOUNT, PARENTS, DEAL_OWNER, MANAGER, DEAL_PARTNER, INCUMBENT, REGISTERED_PARTNER,
    CONFLICT_GROUP, PORTAL_PARTNER,
)  # fmt: skip
