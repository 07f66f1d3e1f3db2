"""The engine's log reaches logging.getLogger("protekt"): one line per significant
event, at a level that means something, with ids and never a secret or a payload.

Lines are forwarded by a thread, so each test waits (bounded) for the record it
expects. Receivers run on 127.0.0.1.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from protekt import Retry

LOGIN = "user.login.succeeded"
LOOPBACK = ("127.0.0.0/8",)
EMAIL = "ada@example.com"

Serve = Callable[[ScriptedReceiver], ScriptedReceiver]


def logged(
    caplog: pytest.LogCaptureFixture, text: str, level: int = logging.NOTSET
) -> logging.LogRecord:
    """The first record of the "protekt" logger holding `text`, once it is there."""

    def find() -> logging.LogRecord | None:
        for record in caplog.records:
            if record.name == "protekt" and text in record.getMessage():
                return record if record.levelno >= level else None
        return None

    found: logging.LogRecord = wait_for(find, what=f"a log line with {text!r}")
    return found


def protekt_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "protekt"]


def failing_endpoint(
    engine: protekt.Engine, serve: Serve, **settings: object
) -> protekt.Endpoint:
    receiver = serve(ScriptedReceiver(default=Answer(500, body=b"broken")))
    created = engine.endpoints.create(url=receiver.url(), events=[LOGIN], **settings)
    return engine.endpoints.save(created.id, skip_verification=True)


def test_opening_and_closing_an_engine_are_info_lines(
    caplog: pytest.LogCaptureFixture, directory: Path
) -> None:
    caplog.set_level(logging.INFO, logger="protekt")

    protekt.Engine(directory).close()

    opened = logged(caplog, f"opened the data directory {directory}")
    assert opened.levelno == logging.INFO
    logged(caplog, f"closed the data directory {directory}")


def test_a_delivery_that_fails_for_good_is_a_warning_naming_its_ids(
    caplog: pytest.LogCaptureFixture,
    open_engine: Callable[..., protekt.Engine],
    serve: Serve,
) -> None:
    engine = open_engine(allow_http=True)
    endpoint = failing_endpoint(
        engine, serve, retry=Retry(max_attempts=0), dead_letter_queue=True
    )
    assert engine.start_dispatcher(allowed_networks=LOOPBACK)

    event = engine.emit(LOGIN, user={"id": "u_1", "email": EMAIL})
    finished_deliveries(engine, event.id)

    record = logged(caplog, f"delivery of {event.id} to {endpoint.id} failed for good")
    assert record.levelno == logging.WARNING
    assert "HTTP 500" in record.getMessage()
    assert "dead-letter queue" in record.getMessage()


def test_a_retry_is_an_info_line_with_the_next_attempts_delay(
    caplog: pytest.LogCaptureFixture,
    open_engine: Callable[..., protekt.Engine],
    serve: Serve,
) -> None:
    caplog.set_level(logging.INFO, logger="protekt")
    engine = open_engine(allow_http=True)
    endpoint = failing_endpoint(engine, serve, retry=Retry(max_attempts=1, interval=30))
    assert engine.start_dispatcher(allowed_networks=LOOPBACK)

    event = engine.emit(LOGIN, user={"id": "u_1"})

    record = logged(caplog, f"attempt 1 of {event.id} to {endpoint.id} failed")
    assert record.levelno == logging.INFO
    assert "next attempt in 30 s" in record.getMessage()


def test_no_line_holds_a_secret_a_token_or_the_payload(
    caplog: pytest.LogCaptureFixture,
    open_engine: Callable[..., protekt.Engine],
    serve: Serve,
) -> None:
    caplog.set_level(logging.DEBUG, logger="protekt")
    engine = open_engine(allow_http=True)
    signed = failing_endpoint(engine, serve, retry=Retry(max_attempts=0))
    token = protekt.ApiToken()
    tokened = failing_endpoint(engine, serve, auth=token, retry=Retry(max_attempts=0))
    assert engine.start_dispatcher(allowed_networks=LOOPBACK)
    engine.endpoints.verify(signed.id)

    event = engine.emit(LOGIN, user={"id": "u_1", "email": EMAIL}, ip="81.2.69.142")
    finished_deliveries(engine, event.id)
    logged(caplog, f"{event.id} to {tokened.id} failed for good")

    text = "\n".join(protekt_lines(caplog))
    assert signed.secret is not None
    for secret in (signed.secret, signed.secret.removeprefix("whsec_"), token.token):
        assert secret not in text
    assert EMAIL not in text
    assert "81.2.69.142" not in text
    assert "broken" not in text  # the receiver's answer is in the attempt log only


def test_successful_deliveries_are_logged_only_at_debug(
    caplog: pytest.LogCaptureFixture,
    open_engine: Callable[..., protekt.Engine],
    serve: Serve,
) -> None:
    caplog.set_level(logging.INFO, logger="protekt")
    engine = open_engine(allow_http=True)
    receiver = serve(ScriptedReceiver())
    created = engine.endpoints.create(url=receiver.url(), events=[LOGIN])
    endpoint = engine.endpoints.save(created.id, skip_verification=True)
    assert engine.start_dispatcher(allowed_networks=LOOPBACK)

    quiet = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, quiet.id)
    caplog.set_level(logging.DEBUG, logger="protekt")
    time.sleep(0.6)  # the forwarding thread follows the level within 0.25 s
    loud = engine.emit(LOGIN, user={"id": "u_2"})

    record = logged(caplog, f"delivered {loud.id} to {endpoint.id}")
    assert record.levelno == logging.DEBUG
    assert not any(quiet.id in line for line in protekt_lines(caplog))


def test_below_the_loggers_level_nothing_is_forwarded(
    caplog: pytest.LogCaptureFixture, directory: Path
) -> None:
    caplog.set_level(logging.WARNING, logger="protekt")

    with protekt.Engine(directory):
        pass
    # The second engine's line comes after the first one's would have.
    caplog.set_level(logging.INFO, logger="protekt")
    with protekt.Engine(directory):
        pass

    logged(caplog, "opened the data directory")
    assert len([line for line in protekt_lines(caplog) if "opened" in line]) == 1


def _log_in_a_forked_child(directory: str, log_file: str) -> None:
    handler = logging.FileHandler(log_file)
    logger = logging.getLogger("protekt")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    protekt.Engine(directory).close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        handler.flush()
        if "closed the data directory" in Path(log_file).read_text():
            return
        time.sleep(0.02)


def test_a_forked_child_forwards_its_own_engines_lines(tmp_path: Path) -> None:
    # The parent's forwarding thread runs; a fork (as gunicorn makes workers) must
    # start one of its own in the child.
    with protekt.Engine(tmp_path / "parent"):
        pass
    log_file = tmp_path / "child.log"
    log_file.touch()

    child = multiprocessing.get_context("fork").Process(
        target=_log_in_a_forked_child, args=(str(tmp_path / "child"), str(log_file))
    )
    child.start()
    child.join(20)

    assert child.exitcode == 0
    assert f"opened the data directory {tmp_path / 'child'}" in log_file.read_text()
