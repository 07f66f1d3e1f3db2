"""The Django integration, end to end, on the example site in examples/django_project.

Django is configured once for the session from the example's settings, with its
database in a temporary directory. Each test gives the site its own protekt data
directory. Sign-ins go through Django's test client; the site's engine delivers
(``DISPATCH: "thread"``) to the same site served over HTTPS on 127.0.0.1 by a
werkzeug server thread, with a certificate from the session's trustme authority, and
the example's receiver view checks each request with ``webhook_receiver``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import protekt
from _dispatch_helpers import finished_deliveries, wait_for
from _wsgi import serving_https
from protekt import DeliveryStatus, Payload
from protekt.contrib import close_engines

django = pytest.importorskip("django")
trustme = pytest.importorskip("trustme")

from django.conf import settings  # noqa: E402
from django.test import Client, RequestFactory, override_settings  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_project"
LOGIN = "user.login.succeeded"
FAILED = "user.login.failed"
PASSWORD = "correct horse battery staple"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
LOOPBACK = ["127.0.0.0/8"]

Subscriber = Callable[..., protekt.Endpoint]

# What the tests change in the example's settings: fast password hashes, and mail
# kept in django.core.mail.outbox.
FOR_TESTS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


# ---- the site, its receiver, and a data directory per test ---------------------------


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Django set up from the example's settings, its tables created; yields the
    example's state directory (database, and the protekt directory of its worker)."""
    state = tmp_path_factory.mktemp("django-site")
    sys.path.insert(0, str(EXAMPLE))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXAMPLE_STATE_DIR", str(state))
        example = importlib.import_module("example_site.settings")
    values = {name: getattr(example, name) for name in dir(example) if name.isupper()}
    settings.configure(**{**values, **FOR_TESTS})
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    yield state
    sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="session")
def session_ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def hooks_url(site: Path, ca: trustme.CA) -> Iterator[str]:
    """The example site's /hooks/ over HTTPS, served from a thread."""
    from django.core.wsgi import get_wsgi_application

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    with serving_https(get_wsgi_application(), context) as port:
        yield f"https://localhost:{port}/hooks/"


def protekt_settings(data_dir: Path, ca_file: Path, **extra: Any) -> dict[str, Any]:
    return {
        "DATA_DIR": data_dir,
        "DISPATCH": "thread",
        "ALLOWED_NETWORKS": LOOPBACK,
        "CA_FILE": ca_file,
        **extra,
    }


@pytest.fixture
def configure(
    site: Path, tmp_path: Path, session_ca_file: Path
) -> Iterator[Callable[..., None]]:
    """Sets ``settings.PROTEKT`` for this test (a data directory of its own, this
    process delivering), with ``extra`` keys; engines are closed at teardown."""
    overrides: list[Any] = []

    def configure_(**extra: Any) -> None:
        override = override_settings(
            PROTEKT=protekt_settings(tmp_path / "data", session_ca_file, **extra)
        )
        override.enable()
        overrides.append(override)

    yield configure_
    close_engines()
    for override in reversed(overrides):
        override.disable()


@pytest.fixture
def engine(configure: Callable[..., None]) -> protekt.Engine:
    """The site's engine, delivering from this process."""
    configure()
    from protekt.contrib.django import get_engine

    return get_engine()


@pytest.fixture
def subscribe(engine: protekt.Engine, hooks_url: str) -> Subscriber:
    """An active endpoint at the site's /hooks/, with the site's secret."""

    def subscribe_(events: list[str], **options: Any) -> protekt.Endpoint:
        created = engine.endpoints.create(
            url=hooks_url,
            events=events,
            auth=protekt.SharedSecret(settings.WEBHOOK_SECRET),
            **options,
        )
        return engine.endpoints.save(created.id, skip_verification=True)

    return subscribe_


@pytest.fixture
def user(site: Path) -> Any:
    """A user who can sign in with PASSWORD."""
    from django.contrib.auth import get_user_model

    name = f"ada-{uuid.uuid4().hex[:8]}"
    return get_user_model().objects.create_user(
        name, email=f"{name}@example.com", password=PASSWORD, first_name="Ada"
    )


def received(event_id: str) -> dict[str, Any]:
    """The event as the example's receiver accepted it."""
    from example_site import views

    def accepted() -> dict[str, Any] | None:
        with views._received_lock:
            return next((e for e in views.RECEIVED if e["id"] == event_id), None)

    event: dict[str, Any] = wait_for(accepted, what=f"the receiver accepted {event_id}")
    return event


def delivered(engine: protekt.Engine, event_type: str) -> list[protekt.Delivery]:
    """The finished deliveries of the one event of ``event_type``."""
    page = wait_for(
        lambda: engine.delivery_log(event_type=event_type).deliveries,
        what=f"a delivery of {event_type}",
    )
    return finished_deliveries(engine, page[0].event_id)


def sign_in(username: str, password: str) -> Any:
    client = Client(HTTP_USER_AGENT=FIREFOX)
    return client.post("/login/", {"username": username, "password": password})


# ---- emitting ------------------------------------------------------------------------


def test_a_login_through_the_test_client_reaches_the_receiver_which_verifies_it(
    engine: protekt.Engine, subscribe: Subscriber, user: Any
) -> None:
    endpoint = subscribe(
        [LOGIN], payload=Payload(include=frozenset({"user", "ip", "device"}))
    )

    response = sign_in(user.username, PASSWORD)

    assert response.status_code == 302
    (delivery,) = delivered(engine, LOGIN)
    assert delivery.endpoint_id == endpoint.id
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert engine.attempts(delivery)[-1].status == 204
    event = received(delivery.event_id)
    assert event["type"] == LOGIN
    assert event["data"]["user"] == {
        "id": str(user.pk),
        "email": user.email,
        "name": "Ada",
    }
    assert event["data"]["ip"] == "127.0.0.1"
    assert event["data"]["user_agent"] == FIREFOX
    assert "Firefox" in event["data"]["device"]["browser"]


def test_only_the_metadata_an_endpoint_asked_for_reaches_its_body(
    engine: protekt.Engine, subscribe: Subscriber, user: Any
) -> None:
    users_only = subscribe([LOGIN], payload=Payload(include=frozenset({"user"})))
    network = subscribe([LOGIN], payload=Payload(include=frozenset({"ip", "device"})))

    sign_in(user.username, PASSWORD)

    deliveries = {d.endpoint_id: d for d in delivered(engine, LOGIN)}
    bodies = {
        endpoint.id: json.loads(engine.delivery_body(deliveries[endpoint.id]))
        for endpoint in (users_only, network)
    }
    assert set(bodies[users_only.id]["data"]) == {"user"}
    assert set(bodies[network.id]["data"]) == {"ip", "device", "user_agent"}
    assert all(d.status == DeliveryStatus.SUCCEEDED for d in deliveries.values())


def test_a_failed_login_carries_the_attempted_username_and_never_the_password(
    engine: protekt.Engine, subscribe: Subscriber, user: Any
) -> None:
    subscribe([FAILED], payload=Payload(include=frozenset({"user", "ip"})))
    wrong = "not-the-password-2f9c1e"

    response = sign_in(user.username, wrong)

    assert response.status_code == 200  # the form again, with its error
    (delivery,) = delivered(engine, FAILED)
    body = engine.delivery_body(delivery)
    assert wrong.encode() not in body
    assert b"********" not in body
    event = received(delivery.event_id)
    assert event["data"] == {
        "user": {"username": user.username},
        "ip": "127.0.0.1",
        "reason": "invalid_credentials",
    }


def test_a_logout_ends_the_session_and_a_registration_is_sent_with_its_request(
    engine: protekt.Engine, subscribe: Subscriber, user: Any
) -> None:
    from django.contrib.auth import get_user_model

    subscribe(
        ["user.session.ended", "user.registered"],
        payload=Payload(include=frozenset({"user", "ip"})),
    )
    client = Client(HTTP_USER_AGENT=FIREFOX)
    client.force_login(user)
    name = f"grace-{uuid.uuid4().hex[:8]}"

    assert client.post("/logout/").status_code == 302
    form = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/register/", form).status_code == 302

    (ended,) = delivered(engine, "user.session.ended")
    assert received(ended.event_id)["data"]["user"]["id"] == str(user.pk)
    (registered,) = delivered(engine, "user.registered")
    new = get_user_model().objects.get(username=name)
    data = received(registered.event_id)["data"]
    assert data == {
        "user": {"id": str(new.pk)},  # no email, no full name: left out
        "ip": "127.0.0.1",  # ProtektMiddleware knew the request
    }


def test_a_rolled_back_registration_sends_nothing(
    engine: protekt.Engine, site: Path
) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    users = get_user_model().objects
    before = engine.metrics().events_emitted

    def register_then_fail() -> None:
        with transaction.atomic():
            users.create_user(f"undone-{uuid.uuid4().hex[:8]}", password=PASSWORD)
            raise RuntimeError("the rest of the sign-up failed")

    with pytest.raises(RuntimeError, match="sign-up failed"):
        register_then_fail()
    assert engine.metrics().events_emitted == before

    with transaction.atomic():
        users.create_user(f"kept-{uuid.uuid4().hex[:8]}", password=PASSWORD)
        assert engine.metrics().events_emitted == before  # not before the commit
    assert engine.metrics().events_emitted == before + 1


def test_the_password_reset_form_and_the_mfa_helper_emit_their_events(
    engine: protekt.Engine, subscribe: Subscriber, user: Any
) -> None:
    from django.core import mail

    subscribe(["user.password_reset.requested", "user.mfa.completed"])
    client = Client()

    reset = client.post("/password-reset/", {"email": user.email})
    client.post("/password-reset/", {"email": "nobody@example.com"})
    client.force_login(user)
    second_factor = client.post("/mfa/", {"code": settings.EXAMPLE_MFA_CODE})

    assert reset.status_code == 302
    assert second_factor.status_code == 200
    assert any(user.email in message.to for message in mail.outbox)
    (requested,) = delivered(engine, "user.password_reset.requested")
    assert received(requested.event_id)["data"] == {
        "user": {"id": str(user.pk), "email": user.email, "name": "Ada"}
    }
    (completed,) = delivered(engine, "user.mfa.completed")
    assert received(completed.event_id)["data"]["method"] == "totp"


def test_events_the_settings_leave_out_are_not_emitted(
    configure: Callable[..., None], user: Any
) -> None:
    configure(EVENTS=[FAILED])
    from protekt.contrib.django import get_engine

    engine = get_engine()
    sign_in(user.username, PASSWORD)
    sign_in(user.username, "wrong")

    assert engine.metrics().events_emitted == 1


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        pytest.param(
            {"DATA_DIR": "x", "DISPATCH": "process"},
            r"PROTEKT\['DISPATCH'\] must be 'none'",
            id="unknown-dispatch",
        ),
        pytest.param(
            {"DISPATCH": "none"}, r"PROTEKT\['DATA_DIR'\] is required", id="no-dir"
        ),
        pytest.param(
            {"DATA_DIR": "x", "EVENTS": ["user.login"]},
            "not authentication events",
            id="unknown-event",
        ),
        pytest.param(
            {"DATA_DIR": "x", "DATADIR": "y"},
            r"unknown protekt settings \[\"PROTEKT\['DATADIR'\]\"\]",
            id="misspelt-key",
        ),
        pytest.param(
            {"DATA_DIR": "x", "PROXY_HEADER": "X-Real-IP"},
            r"PROTEKT\['PROXY_HEADER'\] must be 'x-forwarded-for' or 'forwarded'",
            id="unknown-proxy-header",
        ),
    ],
)
def test_settings_with_a_mistake_are_refused_with_the_key_named(
    site: Path, given: dict[str, Any], complaint: str
) -> None:
    from protekt.contrib.django import read_settings

    with (
        override_settings(PROTEKT=given),
        pytest.raises(protekt.ValidationError, match=complaint),
    ):
        read_settings()


def test_a_broken_setting_is_logged_and_never_fails_the_sign_in(
    site: Path, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(PROTEKT={"DATA_DIR": "x", "DISPATCH": "process"}):
        response = sign_in(user.username, PASSWORD)

    assert response.status_code == 302
    assert "could not emit user.login.succeeded" in caplog.text


@pytest.mark.parametrize(
    ("credentials", "username"),
    [
        pytest.param({"username": "ada", "password": "********************"}, "ada"),
        pytest.param({"username": "********************"}, None, id="cleansed"),
        pytest.param({"api_key": "********************"}, None, id="no-username"),
        pytest.param({"username": 42}, None, id="not-a-string"),
    ],
)
def test_only_the_username_of_the_credentials_is_kept(
    site: Path, credentials: dict[str, Any], username: str | None
) -> None:
    from protekt.contrib.django.signals import attempted_username

    assert attempted_username(credentials) == username


# ---- web processes emit, the worker command delivers ---------------------------------


def test_web_processes_only_emit_and_the_worker_command_delivers(
    site: Path,
    configure: Callable[..., None],
    hooks_url: str,
    session_ca_file: Path,
    user: Any,
) -> None:
    worker_dir = site / f"worker-{uuid.uuid4().hex[:8]}"
    configure(DATA_DIR=worker_dir / "protekt-data", DISPATCH="none")
    from protekt.contrib.django import get_engine

    engine = get_engine()
    created = engine.endpoints.create(
        url=hooks_url,
        events=[LOGIN],
        auth=protekt.SharedSecret(settings.WEBHOOK_SECRET),
    )
    engine.endpoints.save(created.id, skip_verification=True)
    sign_in(user.username, PASSWORD)
    (waiting,) = engine.delivery_log(event_type=LOGIN).deliveries
    time.sleep(0.3)
    assert (
        engine.delivery(waiting.event_id, created.id).status == DeliveryStatus.PENDING
    )

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "protekt_worker"],
        cwd=EXAMPLE,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_site.settings",
            "EXAMPLE_STATE_DIR": str(worker_dir),
            "EXAMPLE_CA_FILE": str(session_ca_file),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (delivery,) = finished_deliveries(engine, waiting.event_id, timeout=20)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=20)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert received(delivery.event_id)["type"] == LOGIN
    assert worker.returncode == 0, errors
    assert "protekt: stopped" in errors


# ---- the receiver decorator ----------------------------------------------------------


def signed(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed at ``at`` (now by default)."""
    timestamp = int(time.time()) if at is None else at
    signature = protekt.Webhook(secret).sign("msg_test", timestamp, body)
    return {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


BODY = json.dumps({"id": "evt_1", "type": LOGIN, "data": {}}).encode()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(lambda h, b: (h, b + b" "), "bad_signature", id="body-changed"),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),
            "missing_header",
            id="header-missing",
        ),
        pytest.param(None, "timestamp_out_of_tolerance", id="an-hour-old"),
    ],
)
def test_a_tampered_request_is_refused_with_400_naming_the_failed_check(
    site: Path, tamper: Callable[..., tuple[dict[str, str], bytes]] | None, reason: str
) -> None:
    if tamper is None:
        headers, body = (
            signed(settings.WEBHOOK_SECRET, BODY, at=int(time.time()) - 3600),
            BODY,
        )
    else:
        headers, body = tamper(signed(settings.WEBHOOK_SECRET, BODY), BODY)
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/hooks/", body, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"] == reason


def test_a_signed_request_passes_the_csrf_check_and_reaches_the_view(
    site: Path,
) -> None:
    client = Client(enforce_csrf_checks=True)
    headers = signed(settings.WEBHOOK_SECRET, BODY)

    response = client.post(
        "/hooks/", BODY, content_type="application/json", headers=headers
    )

    assert response.status_code == 204
    assert received("evt_1")["type"] == LOGIN


def test_a_receiver_with_an_api_token_checks_the_token_and_parses_the_body(
    site: Path,
) -> None:
    from django.http import HttpResponse

    from protekt.contrib.django import webhook_receiver

    token = protekt.ApiToken()
    seen: list[Any] = []

    @webhook_receiver(token=token)
    def view(request: Any) -> HttpResponse:
        seen.append(request.protekt_event)
        return HttpResponse(status=204)

    factory = RequestFactory()
    good = factory.post("/", BODY, "application/json", headers=token.headers())
    bad = factory.post(
        "/", BODY, "application/json", headers={"Authorization": "Bearer prt_no"}
    )

    assert view(good).status_code == 204
    assert seen == [json.loads(BODY)]
    refused = view(bad)
    assert refused.status_code == 400
    assert json.loads(refused.content)["error"] == "invalid_token"


def test_a_receiver_takes_exactly_one_kind_of_key(site: Path) -> None:
    from protekt.contrib.django import webhook_receiver

    with pytest.raises(protekt.ValidationError, match="exactly one"):
        webhook_receiver(
            secret=protekt.Webhook.generate_secret(), token=protekt.ApiToken()
        )
    with pytest.raises(protekt.ValidationError, match="exactly one"):
        webhook_receiver()


def test_an_async_view_is_verified_before_it_runs(site: Path) -> None:
    from django.http import HttpResponse

    from protekt.contrib.django import webhook_receiver

    secret = protekt.Webhook.generate_secret()

    @webhook_receiver(secret=secret)
    async def view(request: Any) -> HttpResponse:
        return HttpResponse(request.protekt_event["id"])

    factory = RequestFactory()
    good = factory.post("/", BODY, "application/json", headers=signed(secret, BODY))
    bad = factory.post("/", BODY, "application/json")

    assert asyncio.run(view(good)).content == b"evt_1"
    assert asyncio.run(view(bad)).status_code == 400
