"""The pure core: the domain, the policy, the rules engine, cascades and enforcement.

Nothing in this package does I/O or reads the clock: every function takes what it needs
(a snapshot, the policy, ``now``) and returns values. The Salesforce client and the state
store are never imported here.
"""
