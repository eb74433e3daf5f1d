"""Notices as messages people read: a title and a markdown body (Apprise renders it per
service: Slack mrkdwn, Teams cards, HTML email). Pure.

Internal messages name the deal (linked to the record), the rep, the partner, the
reason and the amount with its currency. A displaced partner's contact gets a message of
its own: the deal, the amount and the remedy — not the rep, not internal reasons, not a
link into an org the partner cannot open.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from syncd.notify.message import Kind, Notice, OutboxMessage

DIGEST_LINES = 100  # per kind: chat services cut long messages
_HEADLINE = {
    Kind.VIOLATION: "New rules-of-engagement violation",
    Kind.REMEDY: "Remedy owed to a displaced partner",
    Kind.EXCEPTION: "Exception requested — channel operations decides",
}
_SECTION = {
    Kind.VIOLATION: "New violations",
    Kind.REMEDY: "Remedies owed",
    Kind.EXCEPTION: "Exception requests",
}


def amount_text(amount: Decimal | None, currency: str) -> str:
    return "no amount on the deal" if amount is None else f"{amount:,.2f} {currency}"


def title(notice: Notice) -> str:
    if notice.kind is Kind.REMEDY:
        return f"[RoE] Remedy owed to {notice.partner or 'the partner'}: {notice.deal}"
    if notice.kind is Kind.EXCEPTION:
        return f"[RoE] Exception requested: {notice.deal}"
    return f"[RoE] Violation {notice.code}: {notice.deal}"


def body(notice: Notice) -> str:
    lines = [f"**{_HEADLINE[notice.kind]}**{_level(notice)}", ""]
    stage = ", closed won" if notice.closed_won else ""
    lines += [
        f"- **Deal:** [{notice.deal}]({notice.link}) — {notice.account}{stage}",
        f"- **Rep:** {notice.rep}",
        f"- **Partner:** {notice.partner or 'none on the deal'}",
        f"- **Amount:** {amount_text(notice.amount, notice.currency)}",
        f"- **Rule:** {notice.code} — {notice.rule}",
    ]
    if notice.reason:
        lines.append(f"- **Why:** {notice.reason}")
    if notice.exception_reason is not None or notice.kind is Kind.EXCEPTION:
        lines.append(f"- **The rep's reason:** {notice.exception_reason or '(none given)'}")
    if notice.remedy:
        lines.append(f"- **Remedy owed:** {notice.remedy}")
    lines += ["", _closing(notice), f"Open the deal: {notice.link}"]
    return "\n".join(lines)


def _level(notice: Notice) -> str:
    if notice.kind is not Kind.VIOLATION:
        return ""
    action = f": {notice.action.replace('_', ' ')}" if notice.action else ""
    return f" (escalation level {notice.level}{action})"


def _closing(notice: Notice) -> str:
    if notice.kind is Kind.EXCEPTION:
        return (
            "Decide with *RoE Exception Decision* (Approved or Rejected) and a reason; "
            "until then the violation, its Task and the compensation hold stand."
        )
    if notice.kind is Kind.REMEDY:
        return "Arrange the remedy with the partner; the compensation hold stays."
    return "Compensation on this deal is withheld while the violation stands."


def partner_title(notice: Notice) -> str:
    return f"Referral fee owed to {notice.partner or 'you'}: {notice.deal}"


def partner_body(notice: Notice) -> str:
    return "\n".join(
        [
            f"Dear {notice.partner or 'partner'} team,",
            "",
            f"Our rules of engagement protect your role on **{notice.deal}** "
            f"({notice.account}). The deal went ahead without you, so a remedy is owed "
            f"to you: **{notice.remedy}**.",
            "",
            f"- Deal amount: {amount_text(notice.amount, notice.currency)}",
            f"- Reference: {notice.key}",
            "",
            "Our channel operations team will contact you about it.",
        ]
    )


def summary(notice: Notice) -> str:
    """One line of a digest."""
    partner = f", partner {notice.partner}" if notice.partner else ""
    money = amount_text(notice.amount, notice.currency)
    who = f"rep {notice.rep}{partner}"
    return f"{notice.deal} ({notice.account}) — {notice.code}, {who}, {money}: {notice.link}"


def digest(rows: Sequence[OutboxMessage], at: datetime) -> tuple[str, str]:
    """(title, body) of one target's digest of held messages (at most DIGEST_LINES each kind)."""
    by_kind: dict[Kind, list[str]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.created_at, r.key)):
        by_kind[row.kind].append(row.summary)
    heading = f"[RoE] Daily digest {at:%Y-%m-%d}: {len(rows)} notifications"
    lines = [f"**{len(rows)} rules-of-engagement notifications since the last digest**"]
    for kind in (Kind.VIOLATION, Kind.REMEDY, Kind.EXCEPTION):
        found = by_kind.get(kind, [])
        if found:
            lines += ["", f"**{_SECTION[kind]} ({len(found)})**"]
            lines += [f"- {line}" for line in found[:DIGEST_LINES]]
            if len(found) > DIGEST_LINES:
                lines.append(
                    f"- … and {len(found) - DIGEST_LINES} more (`syncd violations --open`)"
                )
    return heading, "\n".join(lines)
