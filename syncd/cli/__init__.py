"""The ``syncd`` command line and what it prints."""
