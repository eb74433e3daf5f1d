"""Notifications: what a cycle's results give people to hear about, and getting it to them.

``events`` (notices from the ledger reconciliation) and ``routing``/``render`` are pure;
``outbox`` keeps messages in the state store, written in the cycle's commit; ``delivery``
and ``channels`` send them through Apprise after the commit; ``platform_events``
publishes RoE_Violation__e from inside the cycle. ``notifier.Notifier`` is what the
cycle, the daemon and the CLI use. Nothing is imported here on purpose: the store
imports ``outbox`` and must not pull in the rest (nor Apprise, which loads only when
targets are configured).
"""
