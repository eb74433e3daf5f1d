"""The long-running service: scheduler, admin HTTP API, metrics, resync queue, runtime."""
