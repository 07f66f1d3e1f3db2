"""Failure notifications: a signed webhook to the alternate URL, or an email through
a real SMTP relay (aiosmtpd, with STARTTLS and AUTH), when deliveries fail for good or
an endpoint is disabled; and the auto-disable of an endpoint that keeps failing.

Every server runs on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from protekt import DeliveryStatus, EndpointStatus, Retry

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

LOGIN = "user.login.succeeded"
LOOPBACK = ("127.0.0.0/8",)
SMTP_USER = "alerts"
SMTP_PASSWORD = "correct horse battery staple"


# ---- a real SMTP relay ---------------------------------------------------------------


class Mail(NamedTuple):
    sender: str
    recipients: list[str]
    content: bytes
    over_tls: bool
    authenticated: bool


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mail: list[Mail] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd calls it by this name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        mail = Mail(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content or envelope.content,
            session.ssl is not None,
            bool(session.authenticated),
        )
        with self._lock:
            self._mail.append(mail)
        return "250 OK"

    @property
    def mail(self) -> list[Mail]:
        with self._lock:
            return list(self._mail)


def check_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> Any:
    login = aiosmtpd_smtp.LoginPassword
    ok = (
        isinstance(auth_data, login)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: aiosmtpd itself answers a refusal with 535; otherwise it would
    # leave the client waiting for a reply that this authenticator never sends.
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox(tls_for: Callable[..., ssl.SSLContext]) -> Iterator[tuple[Inbox, int]]:
    """An SMTP relay on 127.0.0.1 that insists on STARTTLS and on AUTH over it."""
    handler = Inbox()
    controller = aiosmtpd_controller.Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls_for("127.0.0.1"),
        require_starttls=True,
        authenticator=check_login,
        auth_require_tls=True,
        ready_timeout=10,
    )
    controller.start()
    yield handler, controller.port
    controller.stop()


# ---- engines and receivers -----------------------------------------------------------


def dispatching(open_engine: Callable[..., protekt.Engine], **options: Any) -> Any:
    engine = open_engine(allow_http=True, allowed_networks=LOOPBACK, **options)
    assert engine.start_dispatcher(stop_grace=1)
    return engine


def failing_endpoint(
    engine: protekt.Engine, url: str, notify: str, **settings: Any
) -> protekt.Endpoint:
    settings = {"retry": Retry(max_attempts=0), "dead_letter_queue": True, **settings}
    created = engine.endpoints.create(
        url=url, events=[LOGIN], failure_notification=notify, **settings
    )
    return engine.endpoints.save(created.id, skip_verification=True)


def verified_payload(
    endpoint: protekt.Endpoint, request: Any
) -> dict[str, Any]:  # request: _dispatch_helpers.Request
    assert endpoint.secret is not None
    payload: dict[str, Any] = protekt.Webhook(endpoint.secret).verify(
        request.body, request.headers
    )
    return payload


# ---- webhook notifications -----------------------------------------------------------


def test_a_failed_delivery_is_reported_to_the_alternate_url_signed(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine)
    broken = serve(ScriptedReceiver(default=Answer(500, body=b"database down")))
    alerts = serve(ScriptedReceiver())
    endpoint = failing_endpoint(engine, broken.url(), alerts.url("/alerts"))

    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)
    (request,) = wait_for(lambda: alerts.received, what="the notification")

    assert request.target == "/alerts"
    assert request.headers["content-type"] == "application/json"
    payload = verified_payload(endpoint, request)
    assert payload["type"] == "webhook.delivery.failed"
    data = payload["data"]
    assert data["endpoint"] == {"id": endpoint.id, "url": broken.url()}
    assert data["event"] == {"id": event.id, "type": LOGIN}
    assert data["attempts"] == 1
    assert data["last_error"] == {
        "status": 500,
        "class": "status",
        "message": "the endpoint answered 500",
    }
    assert data["dead_lettered"] is True
    assert data["failed_deliveries"] == 1
    # The notification is an event of its own, not the failed one.
    assert request.headers["webhook-id"] != event.id
    assert payload["id"] == request.headers["webhook-id"]

    health = engine.endpoints.health(endpoint.id)
    assert health.failing
    assert health.last_success is None
    assert health.notice is not None
    assert health.notice["failed"] == 0
    assert health.notice["last_error"] == ""


def test_failures_within_the_interval_go_out_together_in_the_next_notification(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine, notification_interval=1.5)
    broken = serve(ScriptedReceiver(default=Answer(503)))
    alerts = serve(ScriptedReceiver())
    endpoint = failing_endpoint(engine, broken.url(), alerts.url())

    first = engine.emit(LOGIN, user={"id": "u_1"})
    wait_for(lambda: alerts.received, what="the first notification")
    later = [engine.emit(LOGIN, user={"id": f"u_{i}"}) for i in (2, 3)]
    for event in later:
        finished_deliveries(engine, event.id)
    assert len(alerts.received) == 1

    first_request, second_request = wait_for(
        lambda: alerts.received if len(alerts.received) == 2 else None,
        what="the second notification",
    )
    assert second_request.arrived - first_request.arrived >= 1.0
    first_data = verified_payload(endpoint, first_request)["data"]
    second_data = verified_payload(endpoint, second_request)["data"]
    assert [f["event"]["id"] for f in first_data["failures"]] == [first.id]
    assert second_data["failed_deliveries"] == 2
    assert sorted(f["event"]["id"] for f in second_data["failures"]) == sorted(
        e.id for e in later
    )


def test_a_notification_url_that_fails_is_tried_again_later(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine)
    broken = serve(ScriptedReceiver(default=Answer(500)))
    alerts = serve(ScriptedReceiver(default=Answer(502)))
    endpoint = failing_endpoint(engine, broken.url(), alerts.url())

    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)
    wait_for(lambda: alerts.received, what="the notification attempt")

    notice = wait_for(
        lambda: (engine.endpoints.health(endpoint.id).notice or {}).get("tries"),
        what="the failed send recorded",
    )
    health = engine.endpoints.health(endpoint.id)
    assert notice == 1
    assert health.notice is not None
    assert health.notice["last_error"] == "the notification URL answered 502"
    assert health.notice["failed"] == 1  # kept for the next try


def test_a_410_disables_the_endpoint_and_says_so(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine)
    gone = serve(ScriptedReceiver(default=Answer(410)))
    alerts = serve(ScriptedReceiver())
    endpoint = failing_endpoint(engine, gone.url(), alerts.url())

    engine.emit(LOGIN, user={"id": "u_1"})
    requests = wait_for(
        lambda: alerts.received if len(alerts.received) == 2 else None,
        what="both notifications",
    )

    types = [verified_payload(endpoint, r)["type"] for r in requests]
    assert types == ["webhook.delivery.failed", "webhook.endpoint.disabled"]
    disabled = verified_payload(endpoint, requests[1])["data"]
    assert disabled["reason"] == "it answered 410 Gone"
    assert engine.endpoints.get(endpoint.id).status is EndpointStatus.DISABLED


def test_an_endpoint_failing_for_the_whole_period_is_disabled_and_notified(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine, disable_failing_after=1.5)
    broken = serve(ScriptedReceiver(default=Answer(500)))
    alerts = serve(ScriptedReceiver())
    endpoint = failing_endpoint(
        engine, broken.url(), alerts.url(), retry=Retry(max_attempts=10, interval=1)
    )

    event = engine.emit(LOGIN, user={"id": "u_1"})
    request = wait_for(
        lambda: next(
            (
                r
                for r in alerts.received
                if json.loads(r.body)["type"] == "webhook.endpoint.disabled"
            ),
            None,
        ),
        what="the endpoint disabled",
    )

    data = verified_payload(endpoint, request)["data"]
    assert data["reason"].startswith("every attempt failed since ")
    assert engine.endpoints.get(endpoint.id).status is EndpointStatus.DISABLED
    (delivery,) = finished_deliveries(engine, event.id)
    assert delivery.status is DeliveryStatus.CANCELLED
    # Two or three attempts fit in the period; far fewer than the policy allows.
    assert 2 <= delivery.attempts <= 4


def test_a_success_ends_the_failing_period(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine)
    receiver = serve(ScriptedReceiver(script=[Answer(500)], default=Answer(200)))
    created = engine.endpoints.create(
        url=receiver.url(), events=[LOGIN], retry=Retry(max_attempts=2, interval=1)
    )
    endpoint = engine.endpoints.save(created.id, skip_verification=True)

    event = engine.emit(LOGIN, user={"id": "u_1"})
    wait_for(
        lambda: engine.endpoints.health(endpoint.id).failing,
        what="the first attempt failed",
    )
    (delivery,) = finished_deliveries(engine, event.id)

    health = engine.endpoints.health(endpoint.id)
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert health.failing_since is None
    assert health.last_failure is not None
    assert health.last_success is not None
    assert health.last_success > health.last_failure


# ---- email notifications -------------------------------------------------------------


def test_a_failure_is_emailed_through_the_relay_over_starttls_with_auth(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
    inbox: tuple[Inbox, int],
    ca_file: Path,
) -> None:
    handler, port = inbox
    relay = protekt.SmtpRelay(
        "127.0.0.1",
        port,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender="alerts@protekt.test",
        ca_file=str(ca_file),
        timeout=10,
    )
    engine = dispatching(open_engine, smtp=relay)
    broken = serve(ScriptedReceiver(default=Answer(500)))
    endpoint = failing_endpoint(engine, broken.url(), "ops@example.com")

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (mail,) = wait_for(lambda: handler.mail, what="the email")

    assert mail.over_tls
    assert mail.authenticated
    assert mail.sender == "alerts@protekt.test"
    assert mail.recipients == ["ops@example.com"]
    message = message_from_bytes(mail.content)
    assert message["Subject"] == f"Protekt: 1 delivery to {broken.url()} failed"
    assert message["To"] == "<ops@example.com>"
    assert message["Date"]
    assert message["Message-ID"]
    text = message.get_payload(decode=True).decode()
    assert endpoint.id in text
    assert event.id in text
    assert "the endpoint answered 500" in text
    assert "in the dead-letter queue" in text


def test_a_relay_refusing_the_login_leaves_the_notice_with_its_error(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
    inbox: tuple[Inbox, int],
    ca_file: Path,
) -> None:
    handler, port = inbox
    relay = protekt.SmtpRelay(
        "127.0.0.1", port, username=SMTP_USER, password="wrong", ca_file=str(ca_file)
    )
    engine = dispatching(open_engine, smtp=relay)
    broken = serve(ScriptedReceiver(default=Answer(500)))
    endpoint = failing_endpoint(engine, broken.url(), "ops@example.com")

    engine.emit(LOGIN, user={"id": "u_1"})
    error = wait_for(
        lambda: (engine.endpoints.health(endpoint.id).notice or {}).get("last_error"),
        what="the refused send recorded",
    )

    assert "did not take the message" in error
    assert handler.mail == []


def test_without_a_relay_an_email_notice_says_what_is_missing(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[..., ScriptedReceiver],
) -> None:
    engine = dispatching(open_engine)
    broken = serve(ScriptedReceiver(default=Answer(500)))
    endpoint = failing_endpoint(engine, broken.url(), "ops@example.com")

    engine.emit(LOGIN, user={"id": "u_1"})
    error = wait_for(
        lambda: (engine.endpoints.health(endpoint.id).notice or {}).get("last_error"),
        what="the missing relay recorded",
    )
    assert error.startswith("no SMTP relay is configured")


def test_smtp_settings_are_checked_when_given() -> None:
    with pytest.raises(protekt.ValidationError, match=r"smtp\.port"):
        protekt.SmtpRelay("mail.example.com", 0)
    with pytest.raises(protekt.ValidationError, match=r"smtp\.security"):
        protekt.SmtpRelay("mail.example.com", security="ssl")  # type: ignore[arg-type]
    with pytest.raises(protekt.ValidationError, match="go together"):
        protekt.SmtpRelay("mail.example.com", username="u")
    with pytest.raises(protekt.ValidationError, match=r"smtp\.sender"):
        protekt.SmtpRelay("mail.example.com", sender="x\r\nBcc: y@z")
    relay = protekt.SmtpRelay("mail.example.com", username="u", password="hunter2")
    assert "hunter2" not in repr(relay)
