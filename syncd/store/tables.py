"""The state database's tables at the newest schema revision (SQLAlchemy Core).

The migrations under ``migrations/versions`` build the same schema step by step from
the first release's; a test compares the two, so a column added here without a
migration (or the other way round) fails loudly.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("mode", String(20), nullable=False),  # full / incremental / dry-run
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False),  # running / success / partial / failed / ...
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_written", Integer, nullable=False, default=0),
    Column("write_failures", Integer, nullable=False, default=0),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("policy_version", String(80)),
    Column("error", Text),
    # The org's daily API usage as the cycle last saw it (Sforce-Limit-Info).
    Column("api_used", Integer),
    Column("api_max", Integer),
    Column("budget_hold", Boolean, nullable=False, default=False),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("value", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    Column("key", String(80), primary_key=True),  # = Task.RoE_Key__c
    Column("kind", String(20), nullable=False),  # violation / review
    Column("opportunity_id", String(18), nullable=False, index=True),
    Column("code", String(80), nullable=False),
    Column("occurrence", Integer, nullable=False),
    Column("rep_id", String(18), index=True),
    Column("partner_id", String(18)),
    Column("level", Integer, nullable=False),
    Column("owner_id", String(18)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("task_id", String(18)),
    Column("description", Text, nullable=False, default=""),
    # Fixed when the occurrence is first seen, so a retried Task keeps them.
    Column("subject", Text, nullable=False, default=""),
    Column("priority", String(20), nullable=False, default="Normal"),
    Column("due", Date),
    Column("remedy", Text),
    Column("task_opened_at", DateTime(timezone=True)),
    # The org's Task is closed (by syncd or by a person): syncd never writes it again.
    Column("task_closed", Boolean, nullable=False, default=False),
    Column("resolution", Text),
)

mirror = Table(
    "mirror",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("id", String(18), primary_key=True),
    Column("data", Text, nullable=False),  # JSON of the record's mapped fields
)

# A full cycle streams the org here page by page; it replaces the mirror only once the
# cycle's writes are done, so a cycle that dies half way leaves the old mirror intact.
mirror_stage = Table(
    "mirror_stage",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("id", String(18), primary_key=True),
    Column("data", Text, nullable=False),
)

# What syncd's landed writes set, for records whose echo has not been read back yet: a
# fresh process overlays these on the mirror, so it plans exactly what the daemon would.
mirror_written = Table(
    "mirror_written",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("id", String(18), primary_key=True),
    Column("data", Text, nullable=False),  # JSON of the written field values
)

# The links between mirrored records that decisions follow (``syncd.engine.links``): the
# deal's account, owner, partner, registered partner; the account's parent, incumbent;
# the portal user's company. A fresh process finds what a change cascades to here, and
# loads just that from the mirror. Complete when cycle_state.links_complete says so.
mirror_links = Table(
    "mirror_links",
    metadata,
    Column("link", String(40), primary_key=True),  # syncd.engine.links.NAMES
    Column("source", String(18), primary_key=True),
    Column("target", String(18), nullable=False),
    Index("ix_mirror_links_target", "link", "target"),
)

resyncs = Table(
    "resync_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),  # full / account / opportunity
    Column("record_id", String(18)),
    Column("source", String(20), nullable=False),  # cli / http / salesforce
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
)

# One row: what the last committed cycle knew (see syncd.store.state.CycleState).
cycle_state = Table(
    "cycle_state",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("org_id", String(18)),
    Column("rules_fingerprint", String(64)),
    Column("policy_fingerprint", String(64)),
    Column("mapping_fingerprint", String(64)),
    Column("named_accounts", Text, nullable=False, default="[]"),  # JSON list of Ids
    Column("evaluated_on", Date),
    Column("retry_ids", Text, nullable=False, default="[]"),  # JSON list of Ids
    Column("state_run", String(36)),
    Column("updated_at", DateTime(timezone=True)),
    # mirror_links holds every mirrored record's links (not yet in a store migrated to 0006).
    Column("links_complete", Boolean, nullable=False, default=False),
)

# Notifications waiting to go out, and those sent (syncd.notify): one row per occurrence,
# kind and target, written in the cycle's own commit; the key keeps each message once.
notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("key", String(300), primary_key=True),  # <ledger key>|<kind>|<target>
    Column("kind", String(20), nullable=False),  # violation / remedy / exception / digest / event
    Column("target", String(200), nullable=False),  # target:<name> / email:<addr> / ...
    Column("state", String(20), nullable=False),  # pending / held / sent / digested / ...
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("opportunity_id", String(18)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Index("ix_notify_outbox_due", "state", "not_before"),
)

# One row per day the scorecards were published into Salesforce (RoE_Scorecard__c): the
# daemon and `syncd scorecard --publish` both look here, so a day is published once.
scorecard_publications = Table(
    "scorecard_publications",
    metadata,
    Column("day", Date, primary_key=True),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("api_calls", Integer, nullable=False),
)

# The decision history (syncd.engine.history): one row per change, never per cycle. Kept
# for ``history_retention_days``; the daemon's daily sweep prunes older rows.
history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),  # the cycle's now
    Column("run_id", String(36), nullable=False),
    Column("policy_version", String(80)),
    Column("sobject", String(80), nullable=False),  # Account / Opportunity
    Column("record_id", String(18), nullable=False),
    Column("account_id", String(18)),  # a deal's account: the account's timeline shows it
    Column("kind", String(40), nullable=False),
    Column("actor_id", String(18)),  # who, as Salesforce reported it (null: syncd)
    Column("acted_at", DateTime(timezone=True)),  # when, as Salesforce reported it
    Column("codes", Text),  # reason codes, space-separated
    Column("changes", Text),  # JSON {flag: [was, now]}
    Column("data", Text),  # JSON of the kind's own facts (level, owner, reason, ...)
    Index("ix_history_record", "record_id", "at"),
    Index("ix_history_account", "account_id", "at"),
)
