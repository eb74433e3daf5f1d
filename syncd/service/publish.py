"""Publish the scorecards into Salesforce: RoE_Scorecard__c rows upserted by Key__c, daily.

Every dimension (rep, manager, partner, region) for this month and for rolling-90d, one
row per subject, so managers build reports and dashboards on them and partner users see
their own partner's rows (README, Scorecard sharing). The cost is the upsert alone:
1 call up to 200 rows, ceil(rows / 1000) above (``syncd.salesforce.writes``) — the
figures come from the store, with no read. A day is published at most once (the store
remembers the day), and not at all while the org's API allowance is below
``api_reserve_percent``, as cycles hold their writes; the next check that day tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import structlog

from syncd.engine.period import current_month, parse_period
from syncd.engine.scorecard import Card
from syncd.errors import SyncdError
from syncd.salesforce import OrgClient, WriteJob, Writer
from syncd.store.store import Store
from syncd.sync.insight import ScorecardReport, build_report, scorecard_inputs
from syncd.sync.orgstate import OrgState

log = structlog.get_logger("syncd.publish")

SCORECARD_OBJECT, KEY_FIELD = "RoE_Scorecard__c", "Key__c"
PERIODS = ("month", "rolling-90d")
_LOOKUP = {"rep": "User__c", "manager": "User__c", "partner": "Account__c"}
_COUNTS = {
    "Rank__c": "rank", "Deals__c": "deals", "Violations_Opened__c": "opened",
    "Violations_Resolved__c": "resolved", "Violations_Open__c": "open",
    "Median_Days_To_Resolve__c": "median_days_to_resolve",
    "Comp_Withheld_Deals__c": "comp_withheld_deals", "Remedies_Owed__c": "remedies_owed",
    "Protected_Deals__c": "protected_deals",
}  # fmt: skip
_AMOUNTS = {
    "Comp_Withheld_Amount__c": "comp_withheld_amount",
    "Remedies_Owed_Amount__c": "remedies_owed_amount",
}
_PIPELINE = {"Direct": "Pipeline_Direct__c", "Partner": "Pipeline_Partner__c",
             "Joint": "Pipeline_Joint__c"}  # fmt: skip


@dataclass(frozen=True)
class PublishOutcome:
    day: date
    status: str  # published / partial / already / budget-hold / failed
    rows: int = 0
    failed: int = 0
    api_calls: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("published", "already", "budget-hold")

    def summary(self) -> str:
        if self.status == "already":
            return f"Scorecards for {self.day} were published already; nothing sent."
        if self.status == "budget-hold":
            return f"Scorecards not published: {self.detail}."
        if self.status == "failed":
            return f"Scorecards not published: {self.detail}"
        refused = f", {self.failed} refused (see the log)" if self.failed else ""
        return (
            f"Published {self.rows} scorecard rows into {SCORECARD_OBJECT} for {self.day}"
            f"{refused}; API calls: {self.api_calls}."
        )


def scorecard_records(reports: Iterable[ScorecardReport]) -> list[dict[str, Any]]:
    """The RoE_Scorecard__c rows of every dimension of every report (pure)."""
    rows: list[dict[str, Any]] = []
    for report in reports:
        for dimension, scorecard in report.by.items():
            rows.extend(_record(report, dimension, card) for card in scorecard.cards)
    return rows


def _record(report: ScorecardReport, dimension: str, card: Card) -> dict[str, Any]:
    period = report.period
    subject = card.subject_id or card.name
    rate = card.compliance_rate
    record: dict[str, Any] = {
        KEY_FIELD: f"{period.label}|{dimension}|{subject}"[:120],
        "Period__c": period.label,
        "Dimension__c": dimension,
        "Subject_Name__c": card.name[:120],
        "User__c": None,
        "Account__c": None,
        "Region__c": card.name[:40] if dimension == "region" else None,
        "As_Of__c": period.as_of.date().isoformat(),
        "Compliance_Rate__c": None if rate is None else round(100 * rate, 2),
    }
    if dimension in _LOOKUP and card.subject_id:
        record[_LOOKUP[dimension]] = card.subject_id
    record.update({name: getattr(card, attr) for name, attr in _COUNTS.items()})
    record.update({name: _money(getattr(card, attr)) for name, attr in _AMOUNTS.items()})
    record.update({name: _money(card.pipeline[lead]) for lead, name in _PIPELINE.items()})
    return record


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


@dataclass
class Publisher:
    client: OrgClient
    store: Store
    policy: Any  # syncd.engine.policy.Policy
    reserve_percent: float
    concurrency: int = 4

    @classmethod
    def from_runtime(cls, runtime: Any) -> Publisher:
        settings = runtime.settings
        return cls(
            runtime.client,
            runtime.store,
            runtime.policy,
            settings.api_reserve_percent,
            settings.write_concurrency,
        )

    def publish_if_due(self, org: Callable[[], OrgState], now: datetime) -> PublishOutcome:
        """Publish today's scorecards unless they were published today or the budget is low."""
        today = now.date()
        last = self.store.last_publication()
        if last is not None and last >= today:
            log.info("publish.already_today", day=str(today))
            return PublishOutcome(today, "already")
        low = self._budget_low()
        if low:
            log.warning("publish.budget_hold", day=str(today), detail=low)
            return PublishOutcome(today, "budget-hold", detail=low)
        try:
            return self._publish(org(), now)
        except SyncdError as exc:
            log.error("publish.failed", error=str(exc), error_type=type(exc).__name__)
            return PublishOutcome(today, "failed", detail=str(exc))

    def reports(self, state: OrgState, now: datetime) -> list[ScorecardReport]:
        """This month's and rolling-90d's scorecards (both as of now: one evaluation)."""
        ledger = self.store.ledger()
        inputs = scorecard_inputs(state.snapshot, ledger, self.policy, now)
        return [
            build_report(state.snapshot, ledger, self.policy, period, now, inputs)
            for period in (current_month(now), parse_period("rolling-90d", now))
        ]

    def _publish(self, state: OrgState, now: datetime) -> PublishOutcome:
        rows = scorecard_records(self.reports(state, now))
        before = sum(self.client.calls.values())
        job = WriteJob(SCORECARD_OBJECT, "upsert", rows, [r[KEY_FIELD] for r in rows], KEY_FIELD)
        written = Writer(self.client, concurrency=self.concurrency).write([job] if rows else [])
        calls = sum(self.client.calls.values()) - before
        failed = len(written.failures)
        self.store.record_publication(
            now.date(), now, rows=len(rows), failed=failed, api_calls=calls
        )
        status = "partial" if failed else "published"
        log.info("publish.done", rows=len(rows), failed=failed, api_calls=calls, status=status)
        return PublishOutcome(now.date(), status, len(rows), failed, calls)

    def _budget_low(self) -> str | None:
        """Why the org's API allowance is below the reserve, from the last usage syncd saw."""
        usage = self.client.usage
        used, limit = (usage.used, usage.max) if usage else _last_seen(self.store)
        if not limit or limit - used >= limit * self.reserve_percent / 100:
            return None
        return (
            f"the org's API allowance is below the reserve ({limit - used} of {limit} calls "
            f"left, api_reserve_percent {self.reserve_percent:g})"
        )


def _last_seen(store: Store) -> tuple[int, int]:
    for run in store.recent_runs(5):
        if run.api_max:
            return run.api_used or 0, run.api_max
    return 0, 0
