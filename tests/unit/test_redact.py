"""The log filters that keep a login's one-time secrets out of the logs."""

import logging

from shared.middleware.redact import RedactAccessLog, RedactCodeVerifier, redact_query


def test_callback_code_and_state_are_masked_other_parameters_kept():
    assert (
        redact_query("/callback?code=abc123&state=xyz&lang=en") == "/callback?code=[redacted]&state=[redacted]&lang=en"
    )
    assert redact_query("/static/style.css") == "/static/style.css"
    assert redact_query("/?q=1") == "/?q=1"


def test_access_log_record_is_rewritten_before_formatting():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/callback?code=SECRET&state=S", "1.1", 303),
        None,
    )
    assert RedactAccessLog().filter(record)
    assert "SECRET" not in record.getMessage() and "/callback?code=[redacted]" in record.getMessage()


def test_authlib_code_verifier_is_masked():
    record = logging.LogRecord("authlib", logging.DEBUG, "", 0, "Using code_verifier: 'VERIFIER'", (), None)
    RedactCodeVerifier().filter(record)
    assert "VERIFIER" not in record.getMessage()
