"""The Flask integration, end to end, on the example app in examples/flask_app.

Each test makes the app with its own protekt data directory. Requests go through
Flask's test client; the app's engine delivers (``PROTEKT_DISPATCH="thread"``) to the
same app served over HTTPS on 127.0.0.1 by a werkzeug server thread, with a
certificate from the session's trustme authority, and the app's /hooks view checks
each request with ``webhook_receiver``.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import protekt
from _dispatch_helpers import finished_deliveries, wait_for
from _wsgi import serving_https
from protekt import DeliveryStatus, EmitHandle, Payload
from protekt.contrib import close_engines

flask = pytest.importorskip("flask")
pytest.importorskip("flask_login")
trustme = pytest.importorskip("trustme")

from protekt.contrib.flask import Protekt, read_config, webhook_receiver  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_app"
LOGIN = "user.login.succeeded"
FAILED = "user.login.failed"
PASSWORD = "correct horse battery staple"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

Subscriber = Callable[..., protekt.Endpoint]


# ---- the app, its receiver, and an engine per test -----------------------------------


@pytest.fixture(scope="session")
def example() -> Iterator[Any]:
    """The example's module."""
    sys.path.insert(0, str(EXAMPLE))
    yield importlib.import_module("app")
    sys.path.remove(str(EXAMPLE))


@pytest.fixture
def make_app(
    example: Any, tmp_path: Path, ca_file: Path
) -> Iterator[Callable[..., flask.Flask]]:
    """Makes the example app with its data in this test's directory, delivering
    from this process, with ``config`` on top; its engine is closed at teardown."""

    def make(**config: Any) -> flask.Flask:
        app: flask.Flask = example.create_app(
            {
                "PROTEKT_DATA_DIR": tmp_path / "data",
                "PROTEKT_CA_FILE": ca_file,
                "TESTING": True,
                **config,
            }
        )
        return app

    yield make
    close_engines()


@pytest.fixture
def app(make_app: Callable[..., flask.Flask]) -> flask.Flask:
    return make_app()


@pytest.fixture
def engine(app: flask.Flask) -> protekt.Engine:
    with app.app_context():
        return Protekt().engine


@pytest.fixture
def hooks_url(
    app: flask.Flask, tls_for: Callable[..., ssl.SSLContext]
) -> Iterator[str]:
    """The app's /hooks over HTTPS, served from a thread."""
    with serving_https(app, tls_for("localhost")) as port:
        yield f"https://localhost:{port}/hooks"


@pytest.fixture
def subscribe(app: flask.Flask, engine: protekt.Engine, hooks_url: str) -> Subscriber:
    """An active endpoint at the app's /hooks, with the app's secret."""

    def subscribe_(events: list[str], **options: Any) -> protekt.Endpoint:
        created = engine.endpoints.create(
            url=hooks_url,
            events=events,
            auth=protekt.SharedSecret(app.config["WEBHOOK_SECRET"]),
            **options,
        )
        return engine.endpoints.save(created.id, skip_verification=True)

    return subscribe_


@pytest.fixture
def client(app: flask.Flask) -> Any:
    """A test client of the app, and in it a user "ada" with PASSWORD."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    with app.app_context():
        app.extensions["example_users"].add(
            "ada", "ada@example.com", "Ada Lovelace", PASSWORD
        )
    return test_client


def received(app: flask.Flask, event_id: str) -> dict[str, Any]:
    """The event as the app's receiver accepted it."""

    def accepted() -> dict[str, Any] | None:
        events = list(app.extensions["example_received"])
        return next((e for e in events if e["id"] == event_id), None)

    event: dict[str, Any] = wait_for(accepted, what=f"the receiver accepted {event_id}")
    return event


def delivered(engine: protekt.Engine, event_type: str) -> list[protekt.Delivery]:
    """The finished deliveries of the one event of ``event_type``."""
    page = wait_for(
        lambda: engine.delivery_log(event_type=event_type).deliveries,
        what=f"a delivery of {event_type}",
    )
    return finished_deliveries(engine, page[0].event_id)


def sign_in(client: Any, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": "ada", "password": password})


# ---- emitting ------------------------------------------------------------------------


def test_a_flask_login_sign_in_reaches_the_receiver_which_verifies_it(
    app: flask.Flask, engine: protekt.Engine, subscribe: Subscriber, client: Any
) -> None:
    endpoint = subscribe(
        [LOGIN], payload=Payload(include=frozenset({"user", "ip", "device"}))
    )

    response = sign_in(client)

    assert response.status_code == 302
    (delivery,) = delivered(engine, LOGIN)
    assert delivery.endpoint_id == endpoint.id
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert engine.attempts(delivery)[-1].status == 204
    data = received(app, delivery.event_id)["data"]
    assert data["user"] == {
        "id": "1",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
    }
    assert data["ip"] == "127.0.0.1"
    assert data["user_agent"] == FIREFOX
    assert "Firefox" in data["device"]["browser"]


def test_only_the_metadata_an_endpoint_asked_for_reaches_its_body(
    engine: protekt.Engine, subscribe: Subscriber, client: Any
) -> None:
    users_only = subscribe([LOGIN], payload=Payload(include=frozenset({"user"})))
    network = subscribe([LOGIN], payload=Payload(include=frozenset({"ip", "device"})))

    sign_in(client)

    deliveries = {d.endpoint_id: d for d in delivered(engine, LOGIN)}
    bodies = {
        endpoint.id: json.loads(engine.delivery_body(deliveries[endpoint.id]))
        for endpoint in (users_only, network)
    }
    assert set(bodies[users_only.id]["data"]) == {"user"}
    assert set(bodies[network.id]["data"]) == {"ip", "device", "user_agent"}
    assert all(d.status == DeliveryStatus.SUCCEEDED for d in deliveries.values())


def test_a_failed_login_carries_the_attempted_username_and_never_the_password(
    app: flask.Flask, engine: protekt.Engine, subscribe: Subscriber, client: Any
) -> None:
    subscribe([FAILED], payload=Payload(include=frozenset({"user", "ip"})))
    wrong = "not-the-password-2f9c1e"

    response = sign_in(client, wrong)

    assert response.status_code == 401
    (delivery,) = delivered(engine, FAILED)
    assert wrong.encode() not in engine.delivery_body(delivery)
    assert received(app, delivery.event_id)["data"] == {
        "user": {"username": "ada"},
        "ip": "127.0.0.1",
        "reason": "invalid_credentials",
    }


def test_sign_out_reauthentication_and_the_helpers_emit_their_events(
    app: flask.Flask, engine: protekt.Engine, subscribe: Subscriber, client: Any
) -> None:
    subscribe(
        [
            "user.registered",
            "user.password_reset.requested",
            "user.mfa.completed",
            "user.session.ended",
        ]
    )
    sign_in(client)
    reauthenticating = subscribe([LOGIN])  # subscribed after the first sign-in

    client.post("/reauthenticate", data={"password": PASSWORD})
    client.post("/mfa", data={"code": app.config["MFA_CODE"]})
    client.post("/logout")
    client.post(
        "/register",
        data={"username": "grace", "email": "grace@example.com", "password": "x"},
    )
    client.post("/password-reset", data={"email": "ada@example.com"})
    client.post("/password-reset", data={"email": "nobody@example.com"})

    def data_of(event_type: str) -> dict[str, Any]:
        (delivery,) = delivered(engine, event_type)
        assert delivery.status == DeliveryStatus.SUCCEEDED
        return received(app, delivery.event_id)["data"]  # type: ignore[no-any-return]

    ada = {"user": {"id": "1", "email": "ada@example.com", "name": "Ada Lovelace"}}
    assert data_of("user.mfa.completed") == {**ada, "method": "totp"}
    assert data_of("user.session.ended") == {**ada, "reason": "logout"}
    assert data_of("user.password_reset.requested") == ada
    assert data_of("user.registered") == {
        "user": {"id": "2", "email": "grace@example.com"}
    }
    (confirmed,) = delivered(engine, LOGIN)
    assert confirmed.endpoint_id == reauthenticating.id
    assert received(app, confirmed.event_id)["data"] == {**ada, "reauthenticated": True}


def test_events_the_config_leaves_out_are_not_emitted(
    make_app: Callable[..., flask.Flask],
) -> None:
    app = make_app(PROTEKT_EVENTS=[FAILED])
    client = app.test_client()
    with app.app_context():
        app.extensions["example_users"].add("ada", "a@example.com", "Ada", PASSWORD)
        engine = Protekt().engine

    sign_in(client)
    sign_in(client, "wrong")

    assert engine.metrics().events_emitted == 1


def test_with_emit_nowait_the_helpers_return_a_handle_to_wait_on(
    make_app: Callable[..., flask.Flask],
) -> None:
    app = make_app(PROTEKT_EMIT_NOWAIT=True, PROTEKT_DISPATCH="none")

    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "81.2.69.142"}):
        handle = Protekt().mfa_completed(type("U", (), {"id": 7})(), method="sms")
        assert isinstance(handle, EmitHandle)
        event = handle.result(timeout=10)
        stored = Protekt().engine.get_event(event.id)

    assert stored["data"] == {"user": {"id": "7"}, "ip": "81.2.69.142", "method": "sms"}


@pytest.mark.parametrize(
    ("header", "environ", "ip"),
    [
        pytest.param(
            "x-forwarded-for",
            {"HTTP_X_FORWARDED_FOR": "81.2.69.142", "HTTP_FORWARDED": "for=1.2.3.4"},
            "81.2.69.142",
            id="x-forwarded-for",
        ),
        pytest.param(
            "forwarded",
            {"HTTP_X_FORWARDED_FOR": "1.2.3.4", "HTTP_FORWARDED": "for=81.2.69.142"},
            "81.2.69.142",
            id="forwarded",
        ),
    ],
)
def test_the_proxy_header_setting_chooses_the_header_the_address_comes_from(
    make_app: Callable[..., flask.Flask], header: str, environ: dict[str, str], ip: str
) -> None:
    app = make_app(
        PROTEKT_DISPATCH="none",
        PROTEKT_TRUSTED_PROXIES=["10.0.0.0/8"],
        PROTEKT_PROXY_HEADER=header,
    )
    request_environ = {"REMOTE_ADDR": "10.0.0.2", **environ}

    with app.test_request_context("/", environ_base=request_environ):
        event = Protekt().mfa_completed(type("U", (), {"id": 7})(), method="sms")
        stored = Protekt().engine.get_event(event.id)

    assert stored["data"]["ip"] == ip


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        pytest.param({}, "PROTEKT_DATA_DIR is required", id="no-dir"),
        pytest.param(
            {"PROTEKT_DATA_DIR": "x", "PROTEKT_ALLOW_HTTP": "yes"},
            "PROTEKT_ALLOW_HTTP must be True or False",
            id="string-flag",
        ),
        pytest.param(
            {"PROTEKT_DATA_DIR": "x", "PROTEKT_USER_FIELDS": {"phone": "phone"}},
            "only id, email and name",
            id="unknown-user-field",
        ),
        pytest.param(
            {"PROTEKT_DATA_DIR": "x", "PROTEKT_PROXY_HEADER": "X-Real-IP"},
            "PROTEKT_PROXY_HEADER must be 'x-forwarded-for' or 'forwarded'",
            id="unknown-proxy-header",
        ),
    ],
)
def test_config_with_a_mistake_is_refused_with_the_key_named(
    config: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(protekt.ValidationError, match=complaint):
        read_config(config)


def test_helpers_outside_an_app_with_protekt_say_what_is_missing() -> None:
    bare = flask.Flask("bare")

    with bare.app_context(), pytest.raises(protekt.ValidationError, match="init_app"):
        Protekt().registered(object())


# ---- web processes emit, the worker command delivers ---------------------------------


def test_web_processes_only_emit_and_the_worker_command_delivers(
    make_app: Callable[..., flask.Flask],
    tmp_path: Path,
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    data_dir = tmp_path / "shared"
    app = make_app(PROTEKT_DATA_DIR=data_dir, PROTEKT_DISPATCH="none")
    with serving_https(app, tls_for("localhost")) as port:
        with app.app_context():
            engine = Protekt().engine
            app.extensions["example_users"].add("ada", "a@example.com", "Ada", PASSWORD)
        created = engine.endpoints.create(
            url=f"https://localhost:{port}/hooks",
            events=[LOGIN],
            auth=protekt.SharedSecret(app.config["WEBHOOK_SECRET"]),
        )
        engine.endpoints.save(created.id, skip_verification=True)
        sign_in(app.test_client())
        (waiting,) = engine.delivery_log(event_type=LOGIN).deliveries
        time.sleep(0.3)
        pending = engine.delivery(waiting.event_id, created.id).status

        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "protekt-worker"],
            cwd=EXAMPLE,
            env={
                **os.environ,
                "EXAMPLE_STATE_DIR": str(data_dir),
                "EXAMPLE_CA_FILE": str(ca_file),
            },
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            (delivery,) = finished_deliveries(engine, waiting.event_id, timeout=20)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = worker.communicate(timeout=20)

    assert pending == DeliveryStatus.PENDING
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert received(app, delivery.event_id)["type"] == LOGIN
    assert worker.returncode == 0, errors
    assert "protekt: stopped" in errors


# ---- the receiver decorator ----------------------------------------------------------

BODY = json.dumps({"id": "evt_1", "type": LOGIN, "data": {}}).encode()


def signed(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed at ``at`` (now by default)."""
    timestamp = int(time.time()) if at is None else at
    return {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": protekt.Webhook(secret).sign("msg_test", timestamp, body),
    }


def _changed_body(headers: dict[str, str], secret: str) -> tuple[dict[str, str], bytes]:
    return headers, BODY + b" "


def _no_id(headers: dict[str, str], secret: str) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in headers.items() if k != "webhook-id"}, BODY


def _an_hour_old(headers: dict[str, str], secret: str) -> tuple[dict[str, str], bytes]:
    return signed(secret, BODY, at=int(time.time()) - 3600), BODY


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(_changed_body, "bad_signature", id="body-changed"),
        pytest.param(_no_id, "missing_header", id="header-missing"),
        pytest.param(_an_hour_old, "timestamp_out_of_tolerance", id="an-hour-old"),
    ],
)
def test_a_tampered_request_is_refused_with_400_naming_the_failed_check(
    app: flask.Flask,
    tamper: Callable[[dict[str, str], str], tuple[dict[str, str], bytes]],
    reason: str,
) -> None:
    secret = app.config["WEBHOOK_SECRET"]
    headers, body = tamper(signed(secret, BODY), secret)

    response = app.test_client().post(
        "/hooks", data=body, headers=headers, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == reason
    assert app.extensions["example_received"] == []


def test_a_receiver_with_a_public_key_accepts_what_the_private_key_signed() -> None:
    private_key = protekt.AsymmetricWebhook.generate_key()
    signer = protekt.AsymmetricWebhook(private_key)
    receiver = flask.Flask("receiver")

    @receiver.post("/hooks")
    @webhook_receiver(public_key=signer.public_key)
    def hooks() -> Any:
        return flask.jsonify(flask.g.protekt_event)

    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signer.sign("msg_1", now, BODY),
    }
    client = receiver.test_client()
    accepted = client.post("/hooks", data=BODY, headers=headers)
    forged = protekt.AsymmetricWebhook(protekt.AsymmetricWebhook.generate_key())
    headers["webhook-signature"] = forged.sign("msg_1", now, BODY)
    refused = client.post("/hooks", data=BODY, headers=headers)

    assert accepted.status_code == 200
    assert accepted.get_json() == json.loads(BODY)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "bad_signature"


def test_a_receiver_with_an_api_token_parses_a_form_body() -> None:
    token = protekt.ApiToken()
    receiver = flask.Flask("receiver")

    @receiver.post("/hooks")
    @webhook_receiver(token=token)
    def hooks() -> Any:
        return flask.jsonify(flask.g.protekt_event)

    client = receiver.test_client()
    form = {"payload": BODY.decode()}
    accepted = client.post("/hooks", data=form, headers=token.headers())
    refused = client.post("/hooks", data=form, headers={"Authorization": "Bearer no"})
    missing = client.post("/hooks", data=form)

    assert accepted.get_json() == json.loads(BODY)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_token"
    assert missing.get_json()["error"] == "missing_header"


def test_an_async_view_is_verified_before_it_runs() -> None:
    secret = protekt.Webhook.generate_secret()
    receiver = flask.Flask("receiver")

    @receiver.post("/hooks")
    @webhook_receiver(secret=secret)
    async def hooks() -> Any:
        return flask.g.protekt_event["id"]

    client = receiver.test_client()
    accepted = client.post("/hooks", data=BODY, headers=signed(secret, BODY))
    refused = client.post("/hooks", data=BODY)

    assert accepted.get_data() == b"evt_1"
    assert refused.get_json()["error"] == "missing_header"
