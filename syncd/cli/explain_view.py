"""`syncd explain` output: the facts, the deciding rule, the rules that did not apply.

The engine names facts by domain attribute (``Account.named``); people want the
Salesforce field it came from (``RoE_Named_Account__c``), so the mapping translates.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd.cli.names import Directory
from syncd.cli.words import amount, day, moment
from syncd.engine.domain import AccountDecision, OpportunityDecision
from syncd.engine.explain import Explanation
from syncd.sync.mapping import FieldMapping


def salesforce_fields(source: str, mapping: FieldMapping) -> str:
    """``"Account.named"`` -> ``"Account.RoE_Named_Account__c"`` (or the source as is).

    The mapping says which fields a domain attribute comes from, computed ones included
    (``Opportunity.registration`` -> every registration field, expiry too).
    """
    kind, _, attr = source.partition(".")
    if kind not in ("Account", "Opportunity", "User") or not attr:
        return source
    found = mapping.source_fields(kind, attr)
    return f"{mapping.section(kind).sobject}.{', '.join(found)}" if found else source


def render_explanation(
    console: Console,
    explanation: Explanation,
    mapping: FieldMapping,
    output: str,
    names: Directory | None = None,
) -> None:
    """``names``: the records the explanation refers to, so Ids are read with their names."""
    names = names or Directory()
    if output == "json":
        console.print_json(json.dumps({**as_json(explanation, mapping), "names": _names(
            explanation, names)}))  # fmt: skip
        return
    decision = explanation.decision
    title = names.label(explanation.record_id)
    console.print(f"[bold]{explanation.sobject} {title}[/bold]", highlight=False)
    if decision is None:
        console.print(f"Not evaluated: {explanation.not_evaluated or 'outside the rules'}")
    else:
        _print_decision(console, decision, names)
    if explanation.error:
        console.print(
            f"[red]syncd failed on this record (please report): {explanation.error}[/red]"
        )
    facts = Table(title="Facts used", show_lines=False)
    for column in ("fact", "value", "from Salesforce field"):
        facts.add_column(column)
    currency = next((f.value for f in explanation.facts if f.name.endswith(".currency")), None)
    for fact in explanation.facts:
        facts.add_row(
            fact.name,
            _words(fact.value, names, currency if isinstance(currency, str) else None),
            salesforce_fields(fact.source, mapping),
        )
    console.print(facts)
    rules = Table(title="Rules, in order of precedence")
    for column in ("rule", "applied", "why"):
        rules.add_column(column)
    for outcome in explanation.trace:
        rules.add_row(outcome.rule, "yes" if outcome.applied else "no", outcome.detail)
    console.print(rules)
    console.print(f"Policy version: {explanation.policy_version}")


def _print_decision(
    console: Console, decision: AccountDecision | OpportunityDecision, names: Directory
) -> None:
    if isinstance(decision, AccountDecision):
        console.print(f"Lead: {_text(decision.lead)}")
        if decision.lead_partner_id:
            console.print(f"Partner: {names.label(decision.lead_partner_id)}", highlight=False)
    else:
        console.print(f"Lead: {_text(decision.expected_lead)}")
        if decision.protected_partner_id:
            console.print(f"Partner: {names.label(decision.protected_partner_id)}", highlight=False)
        console.print(f"Status: {_text(decision.status)}")
    console.print(f"Reasons: {', '.join(decision.reasons)}")
    console.print(f"Reason text: {decision.reason_text}")
    if isinstance(decision, OpportunityDecision):
        for violation in decision.violations:
            console.print(
                f"[red]Violation {violation.code}[/red] ({_text(violation.severity)}): "
                f"{violation.message}",
                highlight=False,
            )
        if decision.violations:
            held = "withheld" if decision.enforced else "not withheld (advisory)"
            console.print(f"Compensation: {held}")
        if decision.remedy:
            console.print(f"Remedy: {decision.remedy}")


def as_json(explanation: Explanation, mapping: FieldMapping) -> dict[str, Any]:
    decision = explanation.decision
    return {
        "record_id": explanation.record_id,
        "sobject": explanation.sobject,
        "policy_version": explanation.policy_version,
        "not_evaluated": explanation.not_evaluated,
        "error": explanation.error,
        "decision": _plain({k: v for k, v in asdict(decision).items() if k != "trace"})
        if decision is not None and is_dataclass(decision)
        else None,
        "facts": [
            {
                "name": f.name,
                "value": _plain(f.value),
                "source": f.source,
                "salesforce_field": salesforce_fields(f.source, mapping),
            }
            for f in explanation.facts
        ],
        "rules": [
            {"rule": o.rule, "applied": o.applied, "detail": o.detail} for o in explanation.trace
        ],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    return value


def _words(value: Any, names: Directory, currency: str | None) -> str:
    """A fact for people: Ids with their names, amounts with their currency, dates as dates."""
    if isinstance(value, str) and names.name(value):
        return names.label(value)
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return amount(value, currency)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return day(value)
    if is_dataclass(value) and not isinstance(value, type):
        parts = (f"{k.replace('_', ' ')} {_words(v, names, currency)}"
                 for k, v in asdict(value).items())  # fmt: skip
        return ", ".join(parts)
    return _text(value)


def _names(explanation: Explanation, names: Directory) -> dict[str, str]:
    ids = {explanation.record_id, *(f.value for f in explanation.facts if isinstance(f.value, str))}
    return {i: n for i in sorted(ids) if (n := names.name(i))}


def _text(value: Any) -> str:
    plain = _plain(value)
    return "–" if plain is None else str(plain)
