"""The builder the demo dataset's parts share: records by sObject, each story record's Id
kept under a readable key (``user.alice``, ``c.globex``).

``dataset_demo`` creates it and hands it to ``dataset_stories`` and ``dataset_filler``;
all three import it from here, so imports between them go one way.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from syncd.sandbox.dataset_base import IdMaker, Record, days_ago, sf_date, sf_datetime


class Builder:
    """Collects records and remembers each story record's Id under its key."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.ids = IdMaker()
        self.keys: dict[str, str] = {}
        self.records: dict[str, list[Record]] = {"User": [], "Account": [], "Opportunity": []}

    def ref(self, key: str | None) -> str | None:
        return None if key is None else self.keys[key]

    def add(self, sobject: str, key: str | None, record: Record) -> str:
        record_id = self.ids(sobject)
        if key is not None:
            if key in self.keys:
                raise ValueError(f"demo dataset: record key {key!r} used twice")
            self.keys[key] = record_id
        self.records[sobject].append({"Id": record_id, **record})
        return record_id

    def record(self, sobject: str, key: str) -> Record:
        wanted = self.keys[key]
        return next(r for r in self.records[sobject] if r["Id"] == wanted)

    def opportunity(self, key: str | None, account: str, owner: str, **fields: Any) -> str:
        """A deal in the scenarios' base world (open New Business from the web, created 30
        days ago, no partner, no registration) changed only by ``fields``. ``account`` and
        ``owner`` are record keys; an account that is not a key is taken as a raw Id."""
        account_id = self.keys.get(account, account)  # a raw Id passes through (S29)
        record: Record = {
            "Name": fields.pop("Name", None) or f"{account.split('.')[-1].title()} deal",
            "AccountId": account_id,
            "OwnerId": self.keys[owner],
            "Type": "New Business",
            "LeadSource": "Web",
            "StageName": "Qualification",
            "IsClosed": False,
            "IsWon": False,
            "Amount": 60000.0,
            "CloseDate": sf_date(self.today + timedelta(days=45)),
            "CreatedDate": sf_datetime(days_ago(self.today, 30)),
            "RoE_Partner__c": None,
            "RoE_Registered_Partner__c": None,
            "RoE_Registration_Status__c": None,
            "RoE_Registration_Approved_Date__c": None,
            "RoE_Override__c": None,
            "RoE_Override_Reason__c": None,
            "RoE_Exception_Requested__c": False,
        }
        for name, value in fields.items():
            record[name] = value
        return self.add("Opportunity", key, record)
