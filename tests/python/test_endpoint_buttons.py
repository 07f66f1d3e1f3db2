"""The guide's Verify endpoint and Send test event, against real receivers.

Verify endpoint posts a signed `webhook.verification` event straight away and waits for
the answer; only a `200` verifies. Send test event queues a signed `webhook.test`
event that the dispatcher delivers like any other, so it shows in the attempt log.
Receivers run on 127.0.0.1 (HTTPS with a throwaway `trustme` authority); every wait
is bounded.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver
from protekt import DeliveryStatus, EndpointStatus, Payload, Retry, ValidationError

pytest.importorskip("trustme")

LOGIN = "user.login.succeeded"
LOOPBACK = ("127.0.0.0/8",)


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine], ca_file: Path) -> protekt.Engine:
    """An engine that reaches loopback, trusts the test authority, and allows http."""
    return open_engine(allow_http=True, allowed_networks=LOOPBACK, ca_file=ca_file)


@pytest.fixture
def https_receiver(
    serve: Callable[[ScriptedReceiver], ScriptedReceiver],
    tls_for: Callable[..., ssl.SSLContext],
) -> ScriptedReceiver:
    """An HTTPS receiver answering 200, its certificate from the test authority."""
    return serve(ScriptedReceiver(tls=tls_for("localhost")))


def create(engine: protekt.Engine, url: str, **settings: Any) -> protekt.Endpoint:
    settings.setdefault("events", [LOGIN])
    return engine.endpoints.create(url=url, **settings)


def verified_payload(endpoint: protekt.Endpoint, receiver: ScriptedReceiver) -> Any:
    """The one request `receiver` got, checked against the endpoint's secret."""
    (request,) = receiver.received
    assert endpoint.secret is not None
    return protekt.Webhook(endpoint.secret).verify(request.body, request.headers)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ---- Verify endpoint -----------------------------------------------------------------


def test_a_200_to_the_signed_challenge_verifies_the_endpoint(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    endpoint = create(engine, https_receiver.url())

    verified = engine.endpoints.verify(endpoint.id)

    assert verified.status is EndpointStatus.VERIFIED
    assert verified.verification is not None
    assert verified.verification.passed
    assert verified.verification.status == 200
    assert verified.verification.error == ""
    assert 0 <= verified.verification.duration < 5
    assert engine.endpoints.get(endpoint.id).verification == verified.verification


def test_the_verification_request_is_a_signed_challenge_for_this_endpoint(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    endpoint = create(engine, https_receiver.url())

    engine.endpoints.verify(endpoint.id)

    payload = verified_payload(endpoint, https_receiver)
    assert payload["type"] == "webhook.verification"
    assert payload["data"]["endpoint_id"] == endpoint.id
    assert len(payload["data"]["challenge"]) >= 32
    (request,) = https_receiver.received
    assert request.method == "POST"
    assert request.headers["webhook-id"] == payload["id"]


def test_each_verification_sends_a_new_challenge_and_id(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    endpoint = create(engine, https_receiver.url())

    engine.endpoints.verify(endpoint.id)
    engine.endpoints.verify(endpoint.id)

    first, second = (json.loads(r.body) for r in https_receiver.received)
    assert first["data"]["challenge"] != second["data"]["challenge"]
    assert first["id"] != second["id"]


def test_a_verified_endpoint_saves_without_skipping_verification(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    endpoint = create(engine, https_receiver.url())
    engine.endpoints.verify(endpoint.id)

    saved = engine.endpoints.save(endpoint.id)

    assert saved.status is EndpointStatus.ACTIVE


@pytest.mark.parametrize("status", [204, 301, 401, 500])
def test_an_answer_other_than_200_leaves_the_endpoint_unverified(
    engine: protekt.Engine,
    serve: Callable[[ScriptedReceiver], ScriptedReceiver],
    status: int,
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(status, body=b"")))
    endpoint = create(engine, receiver.url())

    refused = engine.endpoints.verify(endpoint.id)

    assert refused.status is EndpointStatus.CREATED
    assert refused.verification is not None
    assert not refused.verification.passed
    assert refused.verification.status == status
    assert f"answered {status}" in refused.verification.error
    with pytest.raises(ValidationError, match="Verify endpoint"):
        engine.endpoints.save(endpoint.id)


def test_a_failed_verification_after_a_passed_one_replaces_its_result(
    engine: protekt.Engine, serve: Callable[[ScriptedReceiver], ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(script=[Answer(200)], default=Answer(503)))
    endpoint = create(engine, receiver.url())
    engine.endpoints.verify(endpoint.id)

    again = engine.endpoints.verify(endpoint.id)

    assert again.verification is not None
    assert again.verification.status == 503
    assert engine.endpoints.get(endpoint.id).verification == again.verification


def test_an_endpoint_nothing_listens_on_keeps_the_connection_error(
    engine: protekt.Engine,
) -> None:
    endpoint = create(engine, f"http://127.0.0.1:{closed_port()}/hooks")

    refused = engine.endpoints.verify(endpoint.id)

    assert refused.status is EndpointStatus.CREATED
    assert refused.verification is not None
    assert refused.verification.status is None
    assert "refused" in refused.verification.error


def test_a_receiver_slower_than_the_timeout_fails_verification_in_time(
    engine: protekt.Engine, serve: Callable[[ScriptedReceiver], ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(200, delay=3)))
    endpoint = create(engine, receiver.url(), timeout=0.5)

    started = time.monotonic()
    refused = engine.endpoints.verify(endpoint.id)
    took = time.monotonic() - started

    assert refused.verification is not None
    assert refused.verification.status is None
    assert "time" in refused.verification.error
    assert took < 2.5


def test_a_certificate_the_engine_does_not_trust_fails_verification(
    open_engine: Callable[..., protekt.Engine], https_receiver: ScriptedReceiver
) -> None:
    engine = open_engine(allowed_networks=LOOPBACK)  # the system's trust store only
    endpoint = create(engine, https_receiver.url())

    refused = engine.endpoints.verify(endpoint.id)

    assert refused.verification is not None
    assert refused.verification.status is None
    assert "certificate" in refused.verification.error
    assert https_receiver.received == []


def test_loopback_is_refused_as_ssrf_and_nothing_is_sent(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[[ScriptedReceiver], ScriptedReceiver],
) -> None:
    engine = open_engine(allow_http=True)  # no allowed networks
    receiver = serve(ScriptedReceiver())
    endpoint = create(engine, receiver.url())

    refused = engine.endpoints.verify(endpoint.id)

    assert refused.status is EndpointStatus.CREATED
    assert refused.verification is not None
    assert "127.0.0.1" in refused.verification.error
    assert receiver.connections == 0


def test_a_form_endpoint_is_verified_with_a_form_body(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    endpoint = create(engine, https_receiver.url(), payload=Payload(format="form"))

    engine.endpoints.verify(endpoint.id)

    (request,) = https_receiver.received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert verified_payload(endpoint, https_receiver)["type"] == "webhook.verification"


def test_an_api_token_endpoint_is_verified_with_its_token(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> None:
    token = protekt.ApiToken(header="X-Api-Key")
    endpoint = create(engine, https_receiver.url(), auth=token)

    verified = engine.endpoints.verify(endpoint.id)

    assert verified.status is EndpointStatus.VERIFIED
    (request,) = https_receiver.received
    token.verify(request.headers)
    assert "webhook-signature" not in request.headers


def test_verifying_an_unknown_endpoint_is_not_found(engine: protekt.Engine) -> None:
    with pytest.raises(protekt.NotFoundError):
        engine.endpoints.verify("ep_" + "0" * 26)


# ---- Send test event -----------------------------------------------------------------


@pytest.fixture
def active(
    engine: protekt.Engine, https_receiver: ScriptedReceiver
) -> protekt.Endpoint:
    """An endpoint at `https_receiver`, verified and saved."""
    endpoint = create(engine, https_receiver.url())
    engine.endpoints.verify(endpoint.id)
    return engine.endpoints.save(endpoint.id)


@pytest.fixture
def dispatching(engine: protekt.Engine, ca_file: Path) -> protekt.Engine:
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, ca_file=ca_file)
    return engine


def test_a_test_event_is_delivered_signed_and_its_attempt_is_logged(
    dispatching: protekt.Engine,
    active: protekt.Endpoint,
    https_receiver: ScriptedReceiver,
) -> None:
    delivery = dispatching.endpoints.send_test_event(active.id, wait=10)

    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert delivery.endpoint_id == active.id
    (attempt,) = dispatching.attempts(delivery)
    assert attempt.status == 200
    assert attempt.response_excerpt == b'{"ok":true}'
    test_request = https_receiver.received[-1]
    assert active.secret is not None
    payload = protekt.Webhook(active.secret).verify(
        test_request.body, test_request.headers
    )
    assert payload["type"] == "webhook.test"
    assert payload["id"] == delivery.event_id
    assert payload["data"]["endpoint_id"] == active.id


def test_a_test_event_shows_in_the_endpoints_delivery_log(
    dispatching: protekt.Engine, active: protekt.Endpoint
) -> None:
    delivery = dispatching.endpoints.send_test_event(active.id, wait=10)

    (logged,) = dispatching.delivery_log(endpoint_id=active.id)
    assert logged.event_id == delivery.event_id
    assert logged.event_type == "webhook.test"
    assert logged.status is DeliveryStatus.SUCCEEDED


def test_a_test_event_goes_only_to_the_endpoint_it_was_sent_from(
    dispatching: protekt.Engine,
    active: protekt.Endpoint,
    serve: Callable[[ScriptedReceiver], ScriptedReceiver],
) -> None:
    other_receiver = serve(ScriptedReceiver())
    other = create(dispatching, other_receiver.url(), events=["webhook.test"])
    dispatching.endpoints.save(other.id, skip_verification=True)

    delivery = dispatching.endpoints.send_test_event(active.id, wait=10)

    assert [d.endpoint_id for d in dispatching.deliveries(delivery.event_id)] == [
        active.id
    ]
    assert other_receiver.received == []


def test_a_test_event_to_a_failing_endpoint_reports_the_failure(
    open_engine: Callable[..., protekt.Engine],
    serve: Callable[[ScriptedReceiver], ScriptedReceiver],
) -> None:
    engine = open_engine(allow_http=True, allowed_networks=LOOPBACK)
    receiver = serve(ScriptedReceiver(default=Answer(500, body=b"broken")))
    endpoint = create(engine, receiver.url(), retry=Retry(max_attempts=0))
    engine.endpoints.save(endpoint.id, skip_verification=True)
    assert engine.start_dispatcher(allowed_networks=LOOPBACK)

    delivery = engine.endpoints.send_test_event(endpoint.id, wait=10)

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_status == 500
    (attempt,) = engine.attempts(delivery)
    assert attempt.response_excerpt == b"broken"


def test_without_waiting_the_test_event_is_queued_for_the_dispatcher(
    engine: protekt.Engine, active: protekt.Endpoint, ca_file: Path
) -> None:
    queued = engine.endpoints.send_test_event(active.id, wait=None)
    assert queued.status is DeliveryStatus.PENDING

    assert engine.start_dispatcher(allowed_networks=LOOPBACK, ca_file=ca_file)
    delivered = engine.endpoints.send_test_event(active.id, wait=10)

    assert delivered.status is DeliveryStatus.SUCCEEDED
    first = engine.delivery(queued.event_id, active.id)
    assert first.status is DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("state", ["created", "verified", "paused"])
def test_a_test_event_needs_an_active_endpoint(
    engine: protekt.Engine, https_receiver: ScriptedReceiver, state: str
) -> None:
    endpoint = create(engine, https_receiver.url())
    if state != "created":
        engine.endpoints.verify(endpoint.id)
    if state == "paused":
        engine.endpoints.save(endpoint.id)
        engine.endpoints.pause(endpoint.id)
    received_before = len(https_receiver.received)

    with pytest.raises(ValidationError, match="Save webhook") as refused:
        engine.endpoints.send_test_event(endpoint.id, wait=None)

    assert refused.value.field == "status"
    assert engine.queue_depth == 0
    assert len(https_receiver.received) == received_before


def test_a_test_event_to_an_unknown_endpoint_is_not_found(
    engine: protekt.Engine,
) -> None:
    with pytest.raises(protekt.NotFoundError):
        engine.endpoints.send_test_event("ep_" + "0" * 26, wait=None)
