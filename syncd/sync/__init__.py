"""One sync cycle and its parts: mapping, reading the org, the org state, plan, push.

``cycle`` is the only module that wires the engine, the Salesforce client and the store.
"""
