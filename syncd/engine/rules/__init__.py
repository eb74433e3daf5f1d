"""Rule families of the engine, one module each; ``syncd.engine.evaluate`` strings them together.

Every module here is pure: values in, values out, no clock, no I/O.
"""
