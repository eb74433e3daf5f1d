"""Who a deal or a violation occurrence belongs to: its rep, manager, partner and region. Pure.

Scorecards and the what-if report count by the same subjects, so they ask here:

- *rep*: a deal's owner; an occurrence's rep as first seen (the ledger keeps it);
- *manager*: that rep's manager (None: "(no manager)");
- *partner*: a deal's protected partner, else the partner account working it (its
  lookup, OpportunityPartner row or portal owner: ``Opportunity.partner_id``) when that
  is a partner account other than the customer; an occurrence's displaced partner, else
  its deal's protected partner; none at all for a deal with neither;
- *region*: the account's BillingCountry through the rules file's ``regions.countries``
  (ISO codes and names, any case); "Other" for countries it does not list, "(unknown)"
  when the account (or, for an occurrence, the deal) is not in the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from syncd.engine.domain import Decisions, Opportunity, OpportunityDecision, Snapshot
from syncd.engine.enforcement import LedgerEntry
from syncd.engine.picklist import Lookup

DIMENSIONS = ("rep", "manager", "partner", "region")
OTHER_REGION, UNKNOWN = "Other", "(unknown)"
NOBODY = {"rep": "(no owner)", "manager": "(no manager)", "partner": "(no partner)"}
Subject = tuple[str, str | None]  # (dimension, subject: a User or Account Id, a region name)


class Attribution:
    def __init__(
        self, snapshot: Snapshot, decisions: Decisions, regions: Mapping[str, Sequence[str]]
    ):
        self.snapshot = snapshot
        self.decisions = decisions.opportunities
        self.regions = Lookup((n, region) for region, names in regions.items() for n in names)

    def of_deal(self, opp: Opportunity, decision: OpportunityDecision | None) -> Iterable[Subject]:
        yield "rep", opp.owner_id
        yield "manager", self.manager(opp.owner_id)
        partner = (decision.protected_partner_id if decision else None) or self.partner(opp)
        if partner is not None:
            yield "partner", partner
        yield "region", self.region(opp.account_id)

    def of_entry(self, entry: LedgerEntry) -> Iterable[Subject]:
        yield "rep", entry.rep_id
        yield "manager", self.manager(entry.rep_id)
        decision = self.decisions.get(entry.opportunity_id)
        partner = entry.partner_id or (decision.protected_partner_id if decision else None)
        if partner is not None:
            yield "partner", partner
        opp = self.snapshot.opportunities.get(entry.opportunity_id)
        yield "region", self.region(opp.account_id) if opp is not None else UNKNOWN

    def name(self, dimension: str, subject: str | None) -> str:
        """A subject as people know it: a user's or account's name, or the region."""
        if dimension == "region":
            return subject or UNKNOWN
        records: Mapping[str, Any] = (
            self.snapshot.accounts if dimension == "partner" else self.snapshot.users
        )
        record = records.get(subject or "")
        return (record.name if record is not None else "") or subject or NOBODY[dimension]

    @staticmethod
    def subject_id(dimension: str, subject: str | None) -> str | None:
        """The Salesforce Id behind a subject (None for regions)."""
        return None if dimension == "region" else subject

    def manager(self, rep_id: str | None) -> str | None:
        rep = self.snapshot.users.get(rep_id or "")
        return rep.manager_id if rep is not None else None

    def partner(self, opp: Opportunity) -> str | None:
        account = self.snapshot.accounts.get(opp.partner_id or "")
        if account is None or not account.is_partner or account.id == opp.account_id:
            return None
        return account.id

    def region(self, account_id: str | None) -> str:
        account = self.snapshot.accounts.get(account_id or "")
        if account is None:
            return UNKNOWN
        return self.regions.get(account.billing_country, OTHER_REGION)
