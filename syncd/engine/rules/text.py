"""reason_text: the codes, then a short explanation, cut to RoE_Reason__c's 255 characters."""

from __future__ import annotations

from syncd.engine.rules.codes import MEANING

MAX_REASON = 255
_CACHE: dict[tuple[tuple[str, ...], str], str] = {}


def reason_text(reasons: tuple[str, ...], detail: str = "") -> str:
    """``"PARTNER_DISPLACED: protected partner ..."``; identical inputs share one string."""
    key = (reasons, detail)
    text = _CACHE.get(key)
    if text is None:
        text = fit(_compose(reasons, detail))
        if len(_CACHE) < 100_000:  # details name records; keep the cache bounded
            _CACHE[key] = text
    return text


def _compose(reasons: tuple[str, ...], detail: str) -> str:
    # Custom rules bring their own message through ``detail``.
    meanings = [MEANING[c] for c in reasons if c in MEANING]
    body = "; ".join([*([detail] if detail else []), *meanings])
    head = ", ".join(reasons)
    return f"{head}: {body}" if body else head


def fit(text: str, limit: int = MAX_REASON) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
