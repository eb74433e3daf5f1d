"""reason_text: the codes, then what they mean, cut to RoE_Reason__c's 255 characters.

``"PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner the rules
protect, is not on the deal; registered by Northwind Solutions, approved
2026-11-01, valid through 2027-01-30"``: the codes first (the Lightning component shows
them apart from the words), then the details a rule found, then each code's words — its
own words on this deal where it names partners and dates (``rules.words``), else its
generic meaning (``codes.MEANING``).

Most reasons tuples say the same on every deal: one cached string each. A tuple with a
code that names partners and dates gets a ``Plan`` instead (once per tuple), and its text
is put together per deal from the plan — on the hot path, so with as little as possible:
the words come squeezed (``squeeze``), so only the length is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from syncd.engine.rules.codes import MEANING

MAX_REASON = 255
MAX_CACHED = 100_000  # details name records: keep the cache bounded
_CACHE: dict[tuple[tuple[str, ...], str], str] = {}

# (context, deal) -> this code's words on the deal (squeezed), or None for its meaning.
Words = Callable[[Any, Any], "str | None"]


class Plan(NamedTuple):
    """How to word one reasons tuple per deal: the fixed text around each worded code.

    ``segments[0] + words₀ + segments[1] + words₁ + …``, each words its own or, when it has
    none on the deal, the code's meaning: a few concatenations per deal (a million deals
    per full cycle), not a join of every part.
    """

    head: str  # "CODE, CODE"
    segments: tuple[str, ...]  # one more than ``worded``
    worded: tuple[tuple[str, Words], ...]  # (meaning, words) of each worded code
    # Words of the deal's own (a registration's dates): else they name only the partner
    # the rules protect, and one text per protected partner serves every deal.
    by_deal: bool


def reason_text(reasons: tuple[str, ...], detail: str = "") -> str:
    """The text of ``reasons`` in their generic meanings; identical inputs share one string."""
    key = (reasons, detail)
    text = _CACHE.get(key)
    if text is None:
        text = fit(_compose(reasons, detail))
        if len(_CACHE) < MAX_CACHED:
            _CACHE[key] = text
    return text


def _compose(reasons: tuple[str, ...], detail: str) -> str:
    # Custom rules bring their own message through ``detail``.
    meanings = [MEANING[c] for c in reasons if c in MEANING]
    body = "; ".join([*([detail] if detail else []), *meanings])
    head = ", ".join(reasons)
    return f"{head}: {body}" if body else head


def plan(
    reasons: tuple[str, ...], own: Mapping[str, Words], by_deal: Collection[str]
) -> Plan | None:
    """How to word ``reasons`` per deal; None when no code has words of its own.
    ``by_deal``: the codes whose words are the deal's own, not its protected partner's."""
    codes = [c for c in reasons if c in MEANING]
    if not any(c in own for c in codes):
        return None
    head = ", ".join(reasons)
    segments, worded, pending = [], [], f"{head}: "
    for i, code in enumerate(codes):
        last = i == len(codes) - 1
        if code in own:
            segments.append(pending)
            worded.append((MEANING[code], own[code]))
            pending = "" if last else "; "
        else:
            pending += MEANING[code] + ("" if last else "; ")
    segments.append(pending)
    return Plan(head, tuple(segments), tuple(worded), any(c in by_deal for c in codes))


def planned_text(planned: Plan, detail: str, ctx: Any, deal: Any) -> str | None:
    """The reason text of one deal, each worded code in its own words where it has some;
    None when none has any (the tuple's shared text then serves)."""
    segments, worded = planned.segments, planned.worded
    if len(worded) == 1:  # the common case, without the loop
        own = worded[0][1](ctx, deal)
        if own is None:
            return None
        text = segments[0] + own + segments[1]
    else:
        text, said = segments[0], False
        for i, (meaning, words) in enumerate(worded):
            own = words(ctx, deal)
            said = said or own is not None
            text += (own or meaning) + segments[i + 1]
        if not said:
            return None
    if detail:  # a rule's finding goes first, as in reason_text; it may need squeezing
        cut = len(planned.head) + 2
        return fit(f"{text[:cut]}{detail}; {text[cut:]}")
    return text if len(text) <= MAX_REASON else fit(text)  # the words come squeezed


def with_words(reasons: tuple[str, ...], text: str, words: str) -> str:
    """``text`` (a reason text of ``reasons``) with ``words`` first after the codes: what
    must not be cut off, such as why compensation is still withheld."""
    head = ", ".join(reasons)
    body = text[len(head) + 2 :] if text.startswith(f"{head}: ") else ""
    return fit(f"{head}: {words}" + (f"; {body}" if body else ""))


def fit(text: str, limit: int = MAX_REASON) -> str:
    """One line, single spaces, at most ``limit`` characters (cut with an ellipsis)."""
    text = squeeze(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def squeeze(text: str) -> str:
    """One line with single spaces (names and reasons people typed may hold line breaks)."""
    # isprintable() is False for every whitespace but the ASCII space: most texts need
    # nothing, and checking is cheaper than splitting and joining.
    if not text.isprintable() or "  " in text or text[:1] == " " or text[-1:] == " ":
        return " ".join(text.split())
    return text
