import io
import json

import structlog

from syncd.logs import configure_logging, register_secrets


def test_secrets_are_redacted_by_key_and_by_value() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    register_secrets(["s3cr3t-value-123"])
    log = structlog.get_logger()
    structlog.contextvars.bind_contextvars(run_id="run-1")
    log.info(
        "auth.failed",
        client_secret="s3cr3t-value-123",
        headers={"Authorization": "Bearer abc.def"},
        error="server said s3cr3t-value-123 is wrong",
    )
    line = json.loads(stream.getvalue())
    assert "s3cr3t" not in stream.getvalue()
    assert "abc.def" not in stream.getvalue()
    assert line["client_secret"] == "***"
    assert line["run_id"] == "run-1"
    assert line["error"] == "server said *** is wrong"


def test_console_format_when_asked() -> None:
    stream = io.StringIO()
    configure_logging("console", "warning", stream=stream)
    structlog.get_logger().info("hidden")
    structlog.get_logger().warning("shown", n=1)
    out = stream.getvalue()
    assert "hidden" not in out and "shown" in out and not out.lstrip().startswith("{")


def test_free_text_is_redacted_too() -> None:
    from syncd.logs import redact_text

    register_secrets(["free-text-secret-9"])
    assert redact_text("login failed for free-text-secret-9.") == "login failed for ***."
