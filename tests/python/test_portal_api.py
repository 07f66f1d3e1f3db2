"""The portal's REST API (docs/portal-api.md), end to end.

Each test drives the app that `protekt.portal.create_app` makes, through Starlette's
TestClient, over a real engine in tmp_path. Verify endpoint, Send test event, dead
letters and metrics go to real receivers on 127.0.0.1 (`_dispatch_helpers.py`).
`api` holds the admin key; `browser` signs in and keeps the session cookie.
"""

from __future__ import annotations

import itertools
import json
import logging
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from _portal_helpers import (
    EP,
    EV,
    ROUTES,
    Route,
    TestClient,
    error_of,
    send,
)
from protekt.portal import create_app, ensure_admin_key, reset_admin_key

LOGIN = "user.login.succeeded"
FAILED_LOGIN = "user.login.failed"
LOOPBACK = ("127.0.0.0/8",)
CSRF = "X-CSRF-Token"
COOKIE = "protekt_session"

Json = dict[str, Any]
Creator = Callable[..., Json]


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    """An engine that may reach plain-HTTP receivers on loopback."""
    return open_engine(allow_http=True, allowed_networks=LOOPBACK)


@pytest.fixture
def admin_key(directory: Path, engine: protekt.Engine) -> str:
    key = ensure_admin_key(directory)
    assert key is not None
    return key


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    """The web interface's folder for this app: empty until a test fills it."""
    folder = tmp_path / "static"
    folder.mkdir()
    return folder


@pytest.fixture
def make_app(
    engine: protekt.Engine, directory: Path, admin_key: str, static_dir: Path
) -> Callable[..., FastAPI]:
    def make(**options: Any) -> FastAPI:
        return create_app(engine, data_dir=directory, static_dir=static_dir, **options)

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """A client with neither key nor session."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def api(app: FastAPI, admin_key: str) -> Iterator[TestClient]:
    """A script's client: the admin key in every request."""
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A browser's client: it keeps the cookies it is given."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def csrf(browser: TestClient, admin_key: str) -> str:
    """Signs `browser` in and returns its CSRF token."""
    answer = browser.post("/api/v1/session", json={"api_key": admin_key})
    assert answer.status_code == 200
    token: str = answer.json()["csrf_token"]
    return token


@pytest.fixture
def serve(engine: protekt.Engine) -> Iterator[Callable[..., ScriptedReceiver]]:
    """Starts receivers; closed at teardown before the engine is."""
    started: list[ScriptedReceiver] = []

    def serve_(**options: Any) -> ScriptedReceiver:
        receiver = ScriptedReceiver(**options)
        started.append(receiver)
        receiver.start()
        return receiver

    yield serve_
    for receiver in reversed(started):
        receiver.close()


@pytest.fixture
def receiver(serve: Callable[..., ScriptedReceiver]) -> ScriptedReceiver:
    """Answers 200 to everything."""
    return serve()


@pytest.fixture
def dispatching(engine: protekt.Engine) -> protekt.Engine:
    """`engine`, with its dispatcher sending to loopback."""
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)
    return engine


@pytest.fixture
def create(api: TestClient) -> Creator:
    """Creates an endpoint through the API, for logins, with `fields` changed."""

    def create_(url: str = "https://hooks.example.com/h", **fields: Any) -> Json:
        body = {"url": url, "events": [LOGIN], **fields}
        answer = api.post("/api/v1/endpoints", json=body)
        assert answer.status_code == 201, answer.text
        created: Json = answer.json()
        return created

    return create_


@pytest.fixture
def activate(engine: protekt.Engine, create: Creator) -> Creator:
    """Creates an endpoint and saves it without verification: active."""

    def activate_(url: str, **fields: Any) -> Json:
        created = create(url, **fields)
        engine.endpoints.save(created["id"], skip_verification=True)
        return created

    return activate_


def emit(api: TestClient, type_: str = LOGIN, **body: Any) -> Json:
    answer = api.post("/api/v1/events", json={"type": type_, "data": {}, **body})
    assert answer.status_code == 201, answer.text
    event: Json = answer.json()
    return event


def parse_time(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text)


# ---- access: every route -------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=Route.id)
def test_every_route_answers_401_without_a_key(
    anonymous: TestClient, route: Route
) -> None:
    error = error_of(send(anonymous, route), 401)

    assert error["type"] == "unauthenticated"


@pytest.mark.parametrize("route", ROUTES, ids=Route.id)
def test_every_route_answers_401_with_a_wrong_key(
    anonymous: TestClient, route: Route, admin_key: str
) -> None:
    wrong = {"Authorization": f"Bearer {admin_key[:-4]}AAAA"}

    error = error_of(send(anonymous, route, headers=wrong), 401)

    assert error["type"] == "unauthenticated"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.changes], ids=Route.id)
@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong"])
def test_a_change_made_with_the_cookie_needs_the_csrf_token(
    browser: TestClient, csrf: str, route: Route, token: str | None
) -> None:
    headers = {CSRF: token} if token is not None else {}

    error = error_of(send(browser, route, headers=headers), 403)

    assert error["type"] == "csrf"


def test_an_authorization_header_of_another_scheme_is_refused(
    anonymous: TestClient, admin_key: str
) -> None:
    answer = anonymous.get("/api/v1/endpoints", headers={"Authorization": admin_key})

    assert error_of(answer, 401)["type"] == "unauthenticated"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_request_without_access_gets_401_before_its_body_is_read(
    anonymous: TestClient,
) -> None:
    answer = anonymous.post("/api/v1/endpoints", content=b"{not json")

    assert error_of(answer, 401)["type"] == "unauthenticated"


# ---- the admin key -------------------------------------------------------------------


def test_the_admin_key_is_made_once_and_stored_only_as_a_hash(
    directory: Path, admin_key: str
) -> None:
    stored = directory / "portal.json"
    text = stored.read_text()

    assert admin_key not in text
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(text)["admin_key"]["algorithm"] == "sha256"
    assert ensure_admin_key(directory) is None
    assert [p.name for p in directory.iterdir() if p.name.startswith(".portal")] == []


def test_a_new_admin_key_is_long_and_random(tmp_path: Path) -> None:
    keys = {ensure_admin_key(tmp_path / str(i)) for i in range(4)}

    assert len(keys) == 4
    assert all(key is not None and len(key) >= 43 for key in keys)


def test_a_reset_key_replaces_the_old_one_and_ends_its_sessions(
    directory: Path, api: TestClient, browser: TestClient, csrf: str, admin_key: str
) -> None:
    new_key = reset_admin_key(directory)

    assert new_key != admin_key
    assert new_key not in (directory / "portal.json").read_text()
    assert error_of(api.get("/api/v1/endpoints"), 401)["type"] == "unauthenticated"
    assert error_of(browser.get("/api/v1/endpoints"), 401)["type"] == "unauthenticated"
    fresh = {"Authorization": f"Bearer {new_key}"}
    assert api.get("/api/v1/endpoints", headers=fresh).status_code == 200


def test_a_damaged_portal_file_refuses_everyone_until_reset(
    directory: Path, api: TestClient
) -> None:
    (directory / "portal.json").write_text("{not json")

    assert error_of(api.get("/api/v1/endpoints"), 401)["type"] == "unauthenticated"
    with pytest.raises(protekt.StorageError):
        ensure_admin_key(directory)

    key = reset_admin_key(directory)
    answer = api.get("/api/v1/endpoints", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200


# ---- sessions ------------------------------------------------------------------------


def test_signing_in_sets_a_strict_http_only_cookie_and_answers_a_csrf_token(
    browser: TestClient, admin_key: str
) -> None:
    answer = browser.post("/api/v1/session", json={"api_key": admin_key})

    assert answer.status_code == 200
    assert len(answer.json()["csrf_token"]) >= 32
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()
    assert browser.get("/api/v1/endpoints").status_code == 200


def test_with_secure_cookies_the_cookie_is_secure(
    make_app: Callable[..., FastAPI], admin_key: str
) -> None:
    with TestClient(make_app(secure_cookies=True)) as client:
        answer = client.post("/api/v1/session", json={"api_key": admin_key})

    assert "; secure" in answer.headers["set-cookie"].lower()


def test_a_wrong_key_does_not_sign_in_and_is_logged_without_the_key(
    browser: TestClient, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="protekt.portal")
    wrong = admin_key[:-4] + "AAAA"

    answer = browser.post("/api/v1/session", json={"api_key": wrong})

    assert error_of(answer, 401)["type"] == "unauthenticated"
    assert "set-cookie" not in answer.headers
    refusals = [r for r in caplog.records if r.name == "protekt.portal"]
    assert len(refusals) == 1
    assert "wrong admin key" in refusals[0].getMessage()
    assert wrong not in caplog.text
    assert admin_key not in caplog.text


def test_signing_in_needs_the_key_in_a_json_object(browser: TestClient) -> None:
    assert error_of(browser.post("/api/v1/session", json={}), 422)["field"] == "api_key"
    answer = browser.post("/api/v1/session", content=b"key")
    assert error_of(answer, 400)["type"] == "invalid_request"


def test_a_signed_in_browser_gets_its_csrf_token_again(
    browser: TestClient, csrf: str
) -> None:
    answer = browser.get("/api/v1/session")

    assert answer.status_code == 200
    assert answer.json()["csrf_token"] == csrf
    expires = parse_time(answer.json()["expires_at"])
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)


def test_the_admin_key_has_no_csrf_token(api: TestClient) -> None:
    assert api.get("/api/v1/session").json() == {"csrf_token": None, "expires_at": None}


def test_a_change_made_with_the_cookie_and_its_csrf_token_is_let_in(
    browser: TestClient, csrf: str
) -> None:
    body = {"url": "https://hooks.example.com/h", "events": [LOGIN]}

    answer = browser.post("/api/v1/endpoints", json=body, headers={CSRF: csrf})

    assert answer.status_code == 201


def test_a_request_with_the_key_needs_no_csrf_token(api: TestClient) -> None:
    answer = api.post("/api/v1/events", json={"type": LOGIN, "data": {}})

    assert answer.status_code == 201


def test_signing_out_ends_the_session_and_clears_the_cookie(
    browser: TestClient, csrf: str
) -> None:
    answer = browser.delete("/api/v1/session", headers={CSRF: csrf})

    assert answer.status_code == 204
    assert 'protekt_session=""' in answer.headers["set-cookie"]
    assert error_of(browser.get("/api/v1/session"), 401)["type"] == "unauthenticated"


def test_a_signed_out_session_cookie_no_longer_works(
    app: FastAPI, browser: TestClient, csrf: str
) -> None:
    session_id = browser.cookies[COOKIE]
    browser.delete("/api/v1/session", headers={CSRF: csrf})

    with TestClient(app, cookies={COOKIE: session_id}) as replayed:
        answer = replayed.get("/api/v1/endpoints")

    assert error_of(answer, 401)["type"] == "unauthenticated"


def test_a_session_ends_after_its_lifetime(
    make_app: Callable[..., FastAPI], admin_key: str
) -> None:
    with TestClient(make_app(session_lifetime=0.3)) as client:
        client.post("/api/v1/session", json={"api_key": admin_key})
        assert client.get("/api/v1/session").status_code == 200

        wait_for(
            lambda: client.get("/api/v1/session").status_code == 401,
            what="the session expired",
            timeout=5,
        )


# ---- catalogue -----------------------------------------------------------------------


def test_the_catalogue_lists_the_guides_events_metadata_and_defaults(
    api: TestClient,
) -> None:
    assert api.get("/api/v1/catalogue").json() == {
        "events": list(protekt.AUTH_EVENTS),
        "metadata": ["device", "ip", "location", "user"],
        "defaults": {
            "format": "json",
            "max_attempts": 3,
            "interval": 60,
            "timeout": 15,
        },
    }


# ---- endpoints -----------------------------------------------------------------------


def test_creating_an_endpoint_shows_its_secret_in_that_answer_only(
    api: TestClient, create: Creator
) -> None:
    created = create()

    assert created["status"] == "created"
    assert created["auth"] == {"type": "shared_secret"}
    assert created["secret"].startswith("whsec_")
    assert created["token"] is None
    shown = api.get(f"/api/v1/endpoints/{created['id']}").json()
    assert shown["secret"] is None
    listed = api.get("/api/v1/endpoints").json()["endpoints"]
    assert [(e["id"], e["secret"]) for e in listed] == [(created["id"], None)]
    assert created["secret"] not in json.dumps(listed)


def test_a_new_endpoint_takes_the_guides_defaults(create: Creator) -> None:
    created = create()

    assert created["payload"] == {"format": "json", "include": ["user"]}
    assert created["retry"] == {
        "max_attempts": 3,
        "interval": 60,
        "backoff": "fixed",
        "max_interval": 3600,
        "jitter": True,
    }
    assert created["dead_letter_queue"] is False
    assert created["failure_notification"] is None
    assert created["timeout"] == 15
    assert created["verification"] is None
    assert parse_time(created["created_at"]) == parse_time(created["updated_at"])


def test_every_setting_of_create_is_stored(api: TestClient, create: Creator) -> None:
    created = create(
        events=[LOGIN, FAILED_LOGIN],
        payload={"format": "form", "include": ["ip", "user"]},
        retry={"max_attempts": 5, "interval": 30, "backoff": "exponential"},
        dead_letter_queue=True,
        failure_notification="ops@example.com",
        timeout=2.5,
        description="the audit log",
    )

    shown = api.get(f"/api/v1/endpoints/{created['id']}").json()
    assert shown == {**created, "secret": None}
    assert sorted(shown["events"]) == sorted([LOGIN, FAILED_LOGIN])
    assert shown["payload"] == {"format": "form", "include": ["ip", "user"]}
    assert shown["retry"]["max_attempts"] == 5
    assert shown["retry"]["backoff"] == "exponential"
    assert shown["failure_notification"] == "ops@example.com"
    assert shown["timeout"] == 2.5


def test_an_api_token_endpoint_shows_its_token_once(
    api: TestClient, create: Creator, engine: protekt.Engine
) -> None:
    created = create(auth={"type": "api_token", "header": "X-Api-Key"})

    assert created["auth"]["type"] == "api_token"
    assert created["auth"]["header"].lower() == "x-api-key"  # names in any case
    assert created["secret"] is None
    assert created["token"].startswith("prt_")
    stored = engine.endpoints.get(created["id"]).auth
    assert isinstance(stored, protekt.ApiToken)
    assert stored.token == created["token"]
    assert api.get(f"/api/v1/endpoints/{created['id']}").json()["token"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"url": "ftp://hooks.example.com/"}, "url", id="bad-url"),
        pytest.param({"url": 42}, "url", id="url-not-a-string"),
        pytest.param({"events": ["user.logged_in"]}, "events", id="unknown-event"),
        pytest.param({"events": "user.login.succeeded"}, "events", id="events-a-str"),
        pytest.param({"events": []}, "events", id="no-events"),
        pytest.param(
            {"retry": {"max_attempts": -1}}, "retry.max_attempts", id="negative-retry"
        ),
        pytest.param(
            {"retry": {"max_attempts": "3"}}, "retry.max_attempts", id="retry-a-str"
        ),
        pytest.param({"retry": {"interval": 0}}, "retry.interval", id="zero-interval"),
        pytest.param(
            {"retry": {"backoff": "linear"}}, "retry.backoff", id="unknown-backoff"
        ),
        pytest.param({"retry": {"tries": 3}}, "retry.tries", id="unknown-retry-field"),
        pytest.param(
            {"payload": {"include": ["password"]}},
            "payload.include",
            id="unknown-metadata",
        ),
        pytest.param(
            {"payload": {"format": "xml"}}, "payload.format", id="unknown-format"
        ),
        pytest.param(
            {"dead_letter_queue": "yes"}, "dead_letter_queue", id="flag-a-str"
        ),
        pytest.param({"timeout": 0}, "timeout", id="zero-timeout"),
        pytest.param({"timeout": "15"}, "timeout", id="timeout-a-str"),
        pytest.param(
            {"failure_notification": "not an address"},
            "failure_notification",
            id="bad-notification",
        ),
        pytest.param({"auth": {"type": "basic"}}, "auth.type", id="unknown-auth"),
        pytest.param(
            {"auth": {"type": "shared_secret", "secret": "whsec_short"}},
            "auth.secret",
            id="bad-secret",
        ),
        pytest.param(
            {"auth": {"type": "api_token", "header": "Bad Header"}},
            "auth.header",
            id="bad-header",
        ),
        pytest.param({"max_retries": 3}, "max_retries", id="unknown-field"),
    ],
)
def test_a_wrong_field_is_refused_422_naming_it(
    api: TestClient, fields: Json, field: str
) -> None:
    body = {"url": "https://hooks.example.com/h", "events": [LOGIN], **fields}

    error = error_of(api.post("/api/v1/endpoints", json=body), 422)

    assert error["type"] == "validation"
    assert error["field"] == field
    assert error["message"]
    assert api.get("/api/v1/endpoints").json() == {"endpoints": []}


def test_a_missing_field_is_refused_422_naming_it(api: TestClient) -> None:
    answer = api.post("/api/v1/endpoints", json={"url": "https://hooks.example.com/"})

    assert error_of(answer, 422)["field"] == "events"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'"timeout": NaN', "timeout"),
        (b'"timeout": Infinity', "timeout"),
        (b'"retry": {"max_interval": -Infinity}', "retry.max_interval"),
    ],
    ids=["nan", "infinity", "minus-infinity"],
)
def test_numbers_json_cannot_hold_are_refused_422(
    api: TestClient, raw: bytes, field: str
) -> None:
    body = b'{"url": "https://hooks.example.com/", "events": ["user.login.failed"], '

    answer = api.post(
        "/api/v1/endpoints",
        content=body + raw + b"}",
        headers={"Content-Type": "application/json"},
    )

    assert error_of(answer, 422)["field"] == field


def test_a_method_a_path_does_not_have_is_405(api: TestClient) -> None:
    assert error_of(api.put("/api/v1/endpoints"), 405)["type"] == "method_not_allowed"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b""],
    ids=["not-json", "a-list", "a-string", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_400(api: TestClient, body: bytes) -> None:
    answer = api.post(
        "/api/v1/endpoints",
        content=body,
        headers={"Content-Type": "application/json"},
    )

    assert error_of(answer, 400)["type"] == "invalid_request"


def test_a_body_over_the_limit_is_refused_413_unread(
    api: TestClient, engine: protekt.Engine
) -> None:
    data = {"blob": "x" * (1 << 20)}

    answer = api.post("/api/v1/events", json={"type": LOGIN, "data": data})

    assert error_of(answer, 413)["type"] == "too_large"
    assert engine.metrics().events_emitted == 0


def test_a_body_of_unknown_length_is_refused_411(api: TestClient) -> None:
    chunks = iter([b'{"type": "user.login.succeeded", ', b'"data": {}}'])

    answer = api.post("/api/v1/events", content=chunks)

    assert error_of(answer, 411)["type"] == "invalid_request"


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if "{endpoint_id}" in r.path and "{event_id}" not in r.path],
    ids=Route.id,
)
@pytest.mark.parametrize("endpoint_id", [EP, "not-an-id"], ids=["unknown", "malformed"])
def test_an_unknown_endpoint_is_404(
    api: TestClient, route: Route, endpoint_id: str
) -> None:
    url = route.path.format(endpoint_id=endpoint_id)
    options = {"json": dict(route.body)} if route.body is not None else {}

    error = error_of(api.request(route.method, url, **options), 404)

    assert error["type"] == "not_found"


def test_an_unknown_path_is_404_with_access(api: TestClient) -> None:
    assert error_of(api.get("/api/v1/nothing"), 404)["type"] == "not_found"


def test_patch_changes_only_the_fields_sent(api: TestClient, create: Creator) -> None:
    created = create(retry={"max_attempts": 5, "interval": 30})

    answer = api.patch(
        f"/api/v1/endpoints/{created['id']}",
        json={
            "retry": {"interval": 90},
            "description": "new",
            "events": [FAILED_LOGIN],
        },
    )

    assert answer.status_code == 200
    changed = answer.json()
    assert changed["retry"]["interval"] == 90
    assert changed["retry"]["max_attempts"] == 5
    assert changed["description"] == "new"
    assert changed["events"] == [FAILED_LOGIN]
    assert changed["url"] == created["url"]
    assert changed["secret"] is None
    assert parse_time(changed["updated_at"]) >= parse_time(created["updated_at"])


def test_patch_clears_the_failure_notification_with_null(
    api: TestClient, create: Creator
) -> None:
    created = create(failure_notification="ops@example.com")

    answer = api.patch(
        f"/api/v1/endpoints/{created['id']}", json={"failure_notification": None}
    )

    assert answer.json()["failure_notification"] is None


def test_patch_refuses_null_for_a_required_field(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.patch(f"/api/v1/endpoints/{created['id']}", json={"url": None})

    assert error_of(answer, 422)["field"] == "url"


def test_a_new_url_sends_an_active_endpoint_back_to_created(
    api: TestClient, activate: Creator
) -> None:
    active = activate("https://hooks.example.com/a")

    answer = api.patch(
        f"/api/v1/endpoints/{active['id']}", json={"url": "https://hooks.example.com/b"}
    )

    assert answer.json()["status"] == "created"


def test_patch_to_an_api_token_shows_the_new_token(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.patch(
        f"/api/v1/endpoints/{created['id']}", json={"auth": {"type": "api_token"}}
    )

    changed = answer.json()
    assert changed["auth"] == {"type": "api_token", "header": "Authorization"}
    assert changed["token"].startswith("prt_")
    again = api.patch(
        f"/api/v1/endpoints/{created['id']}",
        json={"auth": {"type": "api_token", "header": "X-Key"}},
    ).json()
    assert again["auth"]["header"].lower() == "x-key"
    assert again["token"] is None  # the same token, in another header


def test_deleting_an_endpoint_answers_204_then_it_is_gone(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.delete(f"/api/v1/endpoints/{created['id']}")

    assert answer.status_code == 204
    assert answer.content == b""
    assert error_of(api.get(f"/api/v1/endpoints/{created['id']}"), 404)


def test_save_before_verify_is_a_conflict(api: TestClient, create: Creator) -> None:
    created = create()

    error = error_of(api.post(f"/api/v1/endpoints/{created['id']}/save"), 409)

    assert error["type"] == "conflict"
    assert "Verify" in error["message"]


def test_verify_then_save_activates_an_endpoint_at_a_real_receiver(
    api: TestClient, create: Creator, receiver: ScriptedReceiver
) -> None:
    created = create(receiver.url())

    verified = api.post(f"/api/v1/endpoints/{created['id']}/verify").json()

    assert verified["status"] == "verified"
    check = verified["verification"]
    assert check["passed"] is True
    assert check["status"] == 200
    assert check["error"] == ""
    assert check["duration"] >= 0
    (request,) = receiver.received
    body = protekt.Webhook(created["secret"]).verify(request.body, request.headers)
    assert body["type"] == "webhook.verification"
    saved = api.post(f"/api/v1/endpoints/{created['id']}/save").json()
    assert saved["status"] == "active"


def test_verify_reports_a_receiver_that_does_not_answer_200(
    api: TestClient, create: Creator, serve: Callable[..., ScriptedReceiver]
) -> None:
    refusing = serve(default=Answer(403))
    created = create(refusing.url())

    verified = api.post(f"/api/v1/endpoints/{created['id']}/verify").json()

    assert verified["status"] == "created"
    assert verified["verification"]["passed"] is False
    assert verified["verification"]["status"] == 403
    assert "403" in verified["verification"]["error"]
    assert error_of(api.post(f"/api/v1/endpoints/{created['id']}/save"), 409)


def test_pause_and_resume_an_active_endpoint(
    api: TestClient, activate: Creator
) -> None:
    active = activate("https://hooks.example.com/h")
    path = f"/api/v1/endpoints/{active['id']}"

    assert api.post(f"{path}/pause").json()["status"] == "paused"
    assert api.post(f"{path}/resume").json()["status"] == "active"


def test_pausing_an_endpoint_that_is_not_active_is_a_conflict(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.post(f"/api/v1/endpoints/{created['id']}/pause")

    assert error_of(answer, 409)["type"] == "conflict"


def test_rotating_shows_the_new_secret_once_and_the_old_one_still_signs(
    api: TestClient, create: Creator, engine: protekt.Engine
) -> None:
    created = create()

    answer = api.post(
        f"/api/v1/endpoints/{created['id']}/rotate-secret", json={"grace": 3600}
    )

    rotated = answer.json()
    assert answer.status_code == 200
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    stored = engine.endpoints.get(created["id"])
    assert stored.secret == rotated["secret"]
    assert stored.previous_secrets == (created["secret"],)
    assert api.get(f"/api/v1/endpoints/{created['id']}").json()["secret"] is None


def test_rotating_without_a_body_takes_the_default_grace(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.post(f"/api/v1/endpoints/{created['id']}/rotate-secret")

    assert answer.json()["secret"] not in (None, created["secret"])


def test_rotating_refuses_a_negative_grace(api: TestClient, create: Creator) -> None:
    created = create()

    answer = api.post(
        f"/api/v1/endpoints/{created['id']}/rotate-secret", json={"grace": -1}
    )

    assert error_of(answer, 422)["field"] == "grace"


def test_rotating_an_api_token_endpoint_makes_a_new_token(
    api: TestClient, create: Creator
) -> None:
    created = create(auth={"type": "api_token", "header": "X-Api-Key"})

    rotated = api.post(f"/api/v1/endpoints/{created['id']}/rotate-secret").json()

    assert rotated["token"].startswith("prt_")
    assert rotated["token"] != created["token"]
    assert rotated["auth"] == created["auth"]


def test_a_test_event_to_an_endpoint_that_is_not_active_is_a_conflict(
    api: TestClient, create: Creator
) -> None:
    created = create()

    answer = api.post(f"/api/v1/endpoints/{created['id']}/test?wait=0")

    assert error_of(answer, 409)["type"] == "conflict"


def test_send_test_event_delivers_and_answers_the_attempt_log(
    api: TestClient,
    activate: Creator,
    receiver: ScriptedReceiver,
    dispatching: protekt.Engine,
) -> None:
    active = activate(receiver.url())

    answer = api.post(f"/api/v1/endpoints/{active['id']}/test?wait=10")

    delivery = answer.json()
    assert answer.status_code == 200
    assert delivery["status"] == "succeeded"
    assert delivery["event_type"] == "webhook.test"
    assert delivery["endpoint_id"] == active["id"]
    (attempt,) = delivery["attempt_log"]
    assert attempt["number"] == 1
    assert attempt["status"] == 200
    assert attempt["response_excerpt"] == '{"ok":true}'
    (request,) = receiver.received
    body = protekt.Webhook(active["secret"]).verify(request.body, request.headers)
    assert body["id"] == delivery["event_id"]


def test_a_test_event_wait_out_of_bounds_is_refused(
    api: TestClient, activate: Creator
) -> None:
    active = activate("https://hooks.example.com/h")

    answer = api.post(f"/api/v1/endpoints/{active['id']}/test?wait=3600")

    assert error_of(answer, 422)["field"] == "wait"


# ---- stats and activity --------------------------------------------------------------


def test_stats_count_real_deliveries(
    api: TestClient,
    activate: Creator,
    serve: Callable[..., ScriptedReceiver],
    dispatching: protekt.Engine,
) -> None:
    receiver = serve(script=[Answer(200), Answer(200), Answer(500)])
    active = activate(receiver.url(), retry={"max_attempts": 0}, dead_letter_queue=True)
    for _ in range(3):
        finished_deliveries(dispatching, emit(api)["id"])

    stats = api.get(f"/api/v1/endpoints/{active['id']}/stats").json()

    assert stats["deliveries"] == 3
    assert stats["succeeded"] == 2
    assert stats["dead_lettered"] == 1
    assert stats["failed"] == 0
    assert stats["success_rate"] == pytest.approx(2 / 3)
    assert set(stats["latency"]) == {"p50", "p90", "p99"}
    assert 0 <= stats["latency"]["p50"] <= stats["latency"]["p99"]
    assert "500" in stats["last_error"]


def test_stats_of_a_new_endpoint_are_empty(api: TestClient, create: Creator) -> None:
    created = create()

    assert api.get(f"/api/v1/endpoints/{created['id']}/stats").json() == {
        "deliveries": 0,
        "succeeded": 0,
        "failed": 0,
        "dead_lettered": 0,
        "success_rate": None,
        "latency": {"p50": None, "p90": None, "p99": None},
        "last_error": None,
    }


def test_activity_counts_succeeded_and_failed_in_the_current_bucket(
    api: TestClient,
    activate: Creator,
    serve: Callable[..., ScriptedReceiver],
    dispatching: protekt.Engine,
) -> None:
    receiver = serve(script=[Answer(200), Answer(500), Answer(200)])
    active = activate(receiver.url(), retry={"max_attempts": 0})
    for _ in range(3):
        finished_deliveries(dispatching, emit(api)["id"])

    answer = api.get(
        f"/api/v1/endpoints/{active['id']}/activity", params={"hours": 6, "buckets": 3}
    ).json()

    buckets = answer["buckets"]
    assert answer["truncated"] is False
    assert len(buckets) == 3
    starts = [parse_time(b["start"]) for b in buckets]
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(hours=2)] * 2
    assert starts[-1] <= datetime.now(UTC) < starts[-1] + timedelta(hours=2)
    counts = [(b["succeeded"], b["failed"]) for b in buckets]
    assert counts[0] == (0, 0)
    # In the current bucket, or the one before if a boundary passed meanwhile.
    assert (sum(c[0] for c in counts), sum(c[1] for c in counts)) == (2, 1)


def test_activity_defaults_to_24_hourly_buckets(
    api: TestClient, create: Creator
) -> None:
    created = create()

    buckets = api.get(f"/api/v1/endpoints/{created['id']}/activity").json()["buckets"]

    assert len(buckets) == 24
    assert all(b["succeeded"] == b["failed"] == 0 for b in buckets)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"buckets": 0}, "buckets"),
        ({"hours": 100_000}, "hours"),
        ({"hours": "x"}, "hours"),
    ],
)
def test_activity_refuses_a_window_out_of_bounds(
    api: TestClient, create: Creator, query: Json, field: str
) -> None:
    created = create()

    answer = api.get(f"/api/v1/endpoints/{created['id']}/activity", params=query)

    assert error_of(answer, 422)["field"] == field


# ---- events and deliveries -----------------------------------------------------------


def test_an_emitted_event_is_answered_201_with_its_deliveries(
    api: TestClient, activate: Creator
) -> None:
    activate("https://hooks.example.com/h")

    event = emit(api, data={"user": {"id": "u_1"}, "ip": "81.2.69.142"})

    assert event["id"].startswith("evt_")
    assert event["type"] == LOGIN
    assert event["deliveries"] == 1
    assert event["duplicate"] is False
    assert abs(parse_time(event["timestamp"]) - datetime.now(UTC)) < timedelta(
        minutes=1
    )


def test_an_idempotency_key_seen_before_answers_the_first_event(
    api: TestClient,
) -> None:
    first = emit(api, idempotency_key="login-42")

    again = emit(api, idempotency_key="login-42")

    assert again["id"] == first["id"]
    assert again["duplicate"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "user.logged_in", "data": {}}, "type"),
        ({"type": "webhook.test", "data": {}}, "type"),
        ({"type": LOGIN, "data": []}, "data"),
        ({"type": LOGIN, "data": {"idempotency_key": "x"}}, "data.idempotency_key"),
        ({"type": LOGIN, "idempotency_key": 7}, "idempotency_key"),
        ({"data": {}}, "type"),
    ],
    ids=[
        "unknown",
        "engine-event",
        "data-a-list",
        "key-in-data",
        "key-a-number",
        "no-type",
    ],
)
def test_a_wrong_event_is_refused_422_naming_the_field(
    api: TestClient, body: Json, field: str
) -> None:
    error = error_of(api.post("/api/v1/events", json=body), 422)

    assert error["field"] == field


def test_the_delivery_log_filters_and_pages(
    api: TestClient, activate: Creator, create: Creator
) -> None:
    first = activate("https://hooks.example.com/1", events=[LOGIN, FAILED_LOGIN])
    second = activate("https://hooks.example.com/2")
    logins = [emit(api) for _ in range(3)]
    failure = emit(api, FAILED_LOGIN)

    everything = api.get("/api/v1/deliveries").json()
    assert len(everything["deliveries"]) == 7
    assert everything["next"] is None
    assert everything["deliveries"][0]["event_id"] == failure["id"]  # newest first

    mine = api.get("/api/v1/deliveries", params={"endpoint_id": second["id"]}).json()
    assert [d["event_id"] for d in mine["deliveries"]] == [e["id"] for e in logins][
        ::-1
    ]
    failed = api.get("/api/v1/deliveries", params={"event_type": FAILED_LOGIN}).json()[
        "deliveries"
    ]
    assert [(d["event_id"], d["endpoint_id"]) for d in failed] == [
        (failure["id"], first["id"])
    ]
    assert all(d["status"] == "pending" for d in everything["deliveries"])
    pending = api.get("/api/v1/deliveries", params={"status": "pending"}).json()
    assert len(pending["deliveries"]) == 7
    done = api.get("/api/v1/deliveries", params={"status": "succeeded"}).json()
    assert done["deliveries"] == []

    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(10):
        page = api.get("/api/v1/deliveries", params={"limit": 3, "after": after}).json()
        seen += [(d["event_id"], d["endpoint_id"]) for d in page["deliveries"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [(d["event_id"], d["endpoint_id"]) for d in everything["deliveries"]]


def test_the_delivery_log_filters_by_rfc_3339_times(
    api: TestClient, activate: Creator
) -> None:
    activate("https://hooks.example.com/h")
    emit(api)
    now = datetime.now(UTC)
    later = (now + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    earlier = (now - timedelta(minutes=5)).isoformat().lower()  # +00:00, t: fine

    since_later = api.get("/api/v1/deliveries", params={"since": later}).json()
    until_later = api.get("/api/v1/deliveries", params={"until": later}).json()
    since_earlier = api.get("/api/v1/deliveries", params={"since": earlier}).json()

    assert since_later["deliveries"] == []
    assert len(until_later["deliveries"]) == 1
    assert len(since_earlier["deliveries"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),  # no offset
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
        ({"after": "zz"}, "after"),
        ({"endpoint_id": "not-an-id"}, "endpoint_id"),
    ],
)
def test_a_wrong_filter_is_refused_422_naming_it(
    api: TestClient, query: Json, field: str
) -> None:
    error = error_of(api.get("/api/v1/deliveries", params=query), 422)

    assert error["field"] == field


def test_one_delivery_is_shown_with_its_attempt_log(
    api: TestClient,
    activate: Creator,
    serve: Callable[..., ScriptedReceiver],
    dispatching: protekt.Engine,
) -> None:
    receiver = serve(script=[Answer(503, body=b"busy \xff")], default=Answer(200))
    active = activate(receiver.url(), retry={"max_attempts": 1, "interval": 1})
    event = emit(api)
    finished_deliveries(dispatching, event["id"])

    delivery = api.get(f"/api/v1/deliveries/{event['id']}/{active['id']}").json()

    assert delivery["status"] == "succeeded"
    assert delivery["event_type"] == LOGIN
    assert delivery["attempts"] == 2
    assert delivery["last_status"] == 200
    assert parse_time(delivery["completed_at"]) >= parse_time(delivery["created_at"])
    first, second = delivery["attempt_log"]
    assert (first["number"], first["status"]) == (1, 503)
    assert first["response_excerpt"] == "busy \ufffd"
    assert (second["number"], second["status"]) == (2, 200)


def test_an_unknown_delivery_is_404(api: TestClient, create: Creator) -> None:
    created = create()

    for event_id in (EV, "nope"):
        answer = api.get(f"/api/v1/deliveries/{event_id}/{created['id']}")
        assert error_of(answer, 404)["type"] == "not_found"


def test_a_log_page_with_attempts_holds_each_deliverys_attempt_log_in_order(
    api: TestClient,
    activate: Creator,
    serve: Callable[..., ScriptedReceiver],
    dispatching: protekt.Engine,
) -> None:
    receiver = serve(script=[Answer(503, body=b"busy")], default=Answer(200))
    active = activate(receiver.url(), retry={"max_attempts": 1, "interval": 1})
    retried = emit(api)
    finished_deliveries(dispatching, retried["id"])
    first_time = emit(api)
    finished_deliveries(dispatching, first_time["id"])

    page = api.get("/api/v1/deliveries", params={"include": "attempts"}).json()

    assert page["next"] is None
    assert [d["event_id"] for d in page["deliveries"]] == [
        first_time["id"],
        retried["id"],
    ]
    newest, oldest = page["deliveries"]
    assert [(a["number"], a["status"]) for a in oldest["attempt_log"]] == [
        (1, 503),
        (2, 200),
    ]
    assert oldest["attempt_log"][0]["response_excerpt"] == "busy"
    assert [(a["number"], a["status"]) for a in newest["attempt_log"]] == [(1, 200)]
    for delivery in page["deliveries"]:
        one = api.get(f"/api/v1/deliveries/{delivery['event_id']}/{active['id']}")
        assert delivery == one.json()


def test_a_log_page_with_attempts_pages_like_the_log(
    api: TestClient, activate: Creator
) -> None:
    activate("https://hooks.example.com/h")
    events = [emit(api) for _ in range(3)]

    seen: list[str] = []
    after = None
    for _ in range(10):
        query = {"include": "attempts", "limit": 2, "after": after}
        page = api.get("/api/v1/deliveries", params=query).json()
        assert len(page["deliveries"]) <= 2
        seen += [d["event_id"] for d in page["deliveries"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [e["id"] for e in reversed(events)]


def test_a_delivery_not_attempted_yet_has_an_empty_attempt_log(
    api: TestClient, activate: Creator
) -> None:
    active = activate("https://hooks.example.com/h")  # no dispatcher runs
    event = emit(api)

    page = api.get(
        "/api/v1/deliveries",
        params={"endpoint_id": active["id"], "include": "attempts"},
    ).json()

    (delivery,) = page["deliveries"]
    assert delivery["event_id"] == event["id"]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 0)
    assert delivery["attempt_log"] == []


def test_a_log_page_leaves_the_attempts_out_unless_asked(
    api: TestClient, activate: Creator
) -> None:
    activate("https://hooks.example.com/h")
    emit(api)

    (delivery,) = api.get("/api/v1/deliveries").json()["deliveries"]

    assert "attempt_log" not in delivery


@pytest.mark.parametrize("value", ["bodies", "Attempts", "attempts,bodies", ""])
def test_an_unknown_include_is_refused_422_naming_it(
    api: TestClient, value: str
) -> None:
    answer = api.get("/api/v1/deliveries", params={"include": value})

    error = error_of(answer, 422)
    assert error["field"] == "include"
    assert "attempts" in error["message"]


def test_a_log_page_with_attempts_holds_at_most_100_deliveries(
    api: TestClient,
) -> None:
    too_many = api.get(
        "/api/v1/deliveries", params={"include": "attempts", "limit": 101}
    )
    most = api.get("/api/v1/deliveries", params={"include": "attempts", "limit": 100})
    without = api.get("/api/v1/deliveries", params={"limit": 500})

    error = error_of(too_many, 422)
    assert error["field"] == "limit"
    assert "100" in error["message"]
    assert most.status_code == 200
    assert without.status_code == 200


# ---- dead letters --------------------------------------------------------------------


@pytest.fixture
def failing(serve: Callable[..., ScriptedReceiver]) -> ScriptedReceiver:
    """Answers 500 until a test changes its default answer."""
    return serve(default=Answer(500))


@pytest.fixture
def dead_letter(
    api: TestClient,
    activate: Creator,
    failing: ScriptedReceiver,
    dispatching: protekt.Engine,
) -> tuple[Json, Json]:
    """An event whose one delivery is in the dead-letter queue, and its endpoint."""
    endpoint = activate(
        failing.url(), retry={"max_attempts": 0}, dead_letter_queue=True
    )
    event = emit(api, data={"user": {"id": "u_1"}})
    (delivery,) = finished_deliveries(dispatching, event["id"])
    assert delivery.status is protekt.DeliveryStatus.DEAD_LETTERED
    return event, endpoint


def test_a_dead_letter_is_listed_counted_and_inspected(
    api: TestClient, dead_letter: tuple[Json, Json]
) -> None:
    event, endpoint = dead_letter

    listed = api.get("/api/v1/dead-letters").json()
    detail = api.get(f"/api/v1/dead-letters/{event['id']}/{endpoint['id']}").json()

    assert listed["count"] == 1
    assert listed["next"] is None
    (letter,) = listed["dead_letters"]
    assert (letter["event_id"], letter["endpoint_id"]) == (event["id"], endpoint["id"])
    assert letter["status"] == "dead_lettered"
    assert letter["event_type"] == LOGIN
    assert detail["status"] == "dead_lettered"
    assert [a["status"] for a in detail["attempt_log"]] == [500]
    body = json.loads(detail["body"])
    assert body["id"] == event["id"]
    assert body["data"]["user"]["id"] == "u_1"
    mine = api.get("/api/v1/dead-letters", params={"endpoint_id": endpoint["id"]})
    assert mine.json()["count"] == 1


def test_a_replayed_dead_letter_is_delivered(
    api: TestClient,
    dead_letter: tuple[Json, Json],
    failing: ScriptedReceiver,
    engine: protekt.Engine,
) -> None:
    event, endpoint = dead_letter
    failing.default = Answer(200)

    answer = api.post(f"/api/v1/dead-letters/{event['id']}/{endpoint['id']}/replay")

    assert answer.status_code == 200
    assert answer.json()["status"] in ("pending", "in_flight", "succeeded")
    (delivery,) = finished_deliveries(engine, event["id"])
    assert delivery.status is protekt.DeliveryStatus.SUCCEEDED
    assert api.get("/api/v1/dead-letters").json()["count"] == 0
    gone = api.get(f"/api/v1/dead-letters/{event['id']}/{endpoint['id']}")
    assert error_of(gone, 404)["type"] == "not_found"


def test_replay_all_sends_every_dead_letter_again(
    api: TestClient,
    dead_letter: tuple[Json, Json],
    failing: ScriptedReceiver,
    engine: protekt.Engine,
) -> None:
    event, endpoint = dead_letter
    second = emit(api)
    finished_deliveries(engine, second["id"])
    failing.default = Answer(200)

    answer = api.post(
        "/api/v1/dead-letters/replay", json={"endpoint_id": endpoint["id"]}
    )

    assert answer.json() == {"replayed": 2}
    for event_id in (event["id"], second["id"]):
        (delivery,) = finished_deliveries(engine, event_id)
        assert delivery.status is protekt.DeliveryStatus.SUCCEEDED


def test_replay_all_without_a_body_takes_every_endpoint(
    api: TestClient, dead_letter: tuple[Json, Json], failing: ScriptedReceiver
) -> None:
    failing.default = Answer(200)

    assert api.post("/api/v1/dead-letters/replay").json() == {"replayed": 1}


def test_purging_empties_the_queue(
    api: TestClient, dead_letter: tuple[Json, Json]
) -> None:
    event, endpoint = dead_letter

    answer = api.delete("/api/v1/dead-letters", params={"endpoint_id": endpoint["id"]})

    assert answer.json() == {"purged": 1}
    assert api.get("/api/v1/dead-letters").json()["count"] == 0
    replay = api.post(f"/api/v1/dead-letters/{event['id']}/{endpoint['id']}/replay")
    assert error_of(replay, 404)["type"] == "not_found"


def test_a_delivery_that_is_no_dead_letter_is_404(
    api: TestClient,
    activate: Creator,
    receiver: ScriptedReceiver,
    dispatching: protekt.Engine,
) -> None:
    active = activate(receiver.url())
    event = emit(api)
    finished_deliveries(dispatching, event["id"])
    where = f"{event['id']}/{active['id']}"

    assert error_of(api.get(f"/api/v1/dead-letters/{where}"), 404)
    assert error_of(api.post(f"/api/v1/dead-letters/{where}/replay"), 404)
    unknown = api.delete("/api/v1/dead-letters", params={"endpoint_id": EP})
    assert error_of(unknown, 404)["type"] == "not_found"


# ---- metrics -------------------------------------------------------------------------


def samples_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_real_deliveries_per_endpoint(
    api: TestClient,
    activate: Creator,
    serve: Callable[..., ScriptedReceiver],
    dispatching: protekt.Engine,
) -> None:
    good = serve()
    bad = serve(default=Answer(500))
    fine = activate(good.url())
    broken = activate(
        bad.url(), retry={"max_attempts": 1, "interval": 1}, dead_letter_queue=True
    )
    for _ in range(2):
        finished_deliveries(dispatching, emit(api)["id"])

    answer = api.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = samples_of(answer.text)
    ok = (("endpoint_id", fine["id"]),)
    ko = (("endpoint_id", broken["id"]),)
    assert samples[("protekt_events_emitted_total", ())] == 2
    assert samples[("protekt_queue_depth", ())] == 0
    assert samples[("protekt_dead_letters", ())] == 2
    assert samples[("protekt_deliveries_total", ok)] == 2
    assert samples[("protekt_deliveries_delivered_total", ok)] == 2
    assert samples[("protekt_deliveries_delivered_total", ko)] == 0
    assert samples[("protekt_deliveries_failed_total", ok)] == 0
    assert samples[("protekt_deliveries_dead_lettered_total", ko)] == 2
    assert samples[("protekt_delivery_attempts_total", ko)] == 4
    assert samples[("protekt_delivery_retries_total", ko)] == 2
    assert samples[("protekt_delivery_retries_total", ok)] == 0
    assert samples[("protekt_delivery_latency_seconds_count", ok)] == 2
    assert samples[("protekt_delivery_latency_seconds_count", ko)] == 4
    inf = (*ok, ("le", "+Inf"))
    assert samples[("protekt_delivery_latency_seconds_bucket", inf)] == 2
    assert samples[("protekt_delivery_latency_seconds_sum", ok)] >= 0


def test_metrics_with_a_session_cookie(browser: TestClient, csrf: str) -> None:
    answer = browser.get("/metrics")

    assert answer.status_code == 200
    assert samples_of(answer.text)[("protekt_events_emitted_total", ())] == 0


def test_each_app_keeps_its_metrics_out_of_the_global_registry(
    make_app: Callable[..., FastAPI], admin_key: str
) -> None:
    before = set(REGISTRY._names_to_collectors)
    apps = [make_app(), make_app()]

    for app in apps:
        with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as c:
            assert c.get("/metrics").status_code == 200
    assert set(REGISTRY._names_to_collectors) == before


# ---- the web interface and the API description --------------------------------------


def test_the_root_serves_the_web_interface(
    anonymous: TestClient, static_dir: Path
) -> None:
    (static_dir / "index.html").write_text("<!doctype html><title>portal</title>")
    (static_dir / "app.js").write_text("export const ready = true;\n")

    page = anonymous.get("/")
    script = anonymous.get("/static/app.js")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == "<!doctype html><title>portal</title>"
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.text == "export const ready = true;\n"


def test_missing_web_interface_files_are_404(anonymous: TestClient) -> None:
    assert error_of(anonymous.get("/"), 404)["type"] == "not_found"
    assert error_of(anonymous.get("/static/app.js"), 404)["type"] == "not_found"
    escape = anonymous.get("/static/../portal.json")
    assert escape.status_code in (401, 404)


def test_a_missing_static_folder_serves_nothing(
    engine: protekt.Engine, directory: Path, tmp_path: Path, admin_key: str
) -> None:
    app = create_app(engine, data_dir=directory, static_dir=tmp_path / "none")

    with TestClient(app) as client:
        assert error_of(client.get("/"), 404)["type"] == "not_found"
        assert error_of(client.get("/static/app.js"), 404)["type"] == "not_found"


def test_the_package_serves_its_own_static_folder_by_default(
    engine: protekt.Engine, directory: Path, admin_key: str
) -> None:
    folder = Path(protekt.__file__).parent / "portal" / "static"
    app = create_app(engine, data_dir=directory)

    with TestClient(app) as client:
        answer = client.get("/")

    if (folder / "index.html").is_file():
        assert answer.status_code == 200
        assert answer.content == (folder / "index.html").read_bytes()
    else:
        assert error_of(answer, 404)["type"] == "not_found"


def test_the_openapi_description_lists_every_api_route(api: TestClient) -> None:
    """Also keeps ROUTES, which the access tests go through, complete."""
    answer = api.get("/openapi.json")

    described = answer.json()
    assert answer.status_code == 200
    assert described["info"]["title"] == "Protekt portal"
    documented = {
        (method.upper(), path)
        for path, operations in described["paths"].items()
        for method in operations
    }
    api_routes = {(r.method, r.path) for r in ROUTES if r.path.startswith("/api/")}
    assert api_routes | {("POST", "/api/v1/session"), ("GET", "/metrics")} == documented
    assert "HTTPBearer" in described["components"]["securitySchemes"]
    assert api.get("/docs").status_code == 200


def test_api_answers_are_not_cached_or_framed(api: TestClient) -> None:
    answer = api.get("/api/v1/endpoints")

    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


# ---- failures of the engine ----------------------------------------------------------


def test_a_closed_engine_answers_503(api: TestClient, engine: protekt.Engine) -> None:
    engine.close()

    for path in ("/api/v1/endpoints", "/metrics"):
        error = error_of(api.get(path), 503)
        assert error["type"] == "storage"
        assert "Traceback" not in error["message"]


def test_no_secret_reaches_the_log(
    api: TestClient,
    create: Creator,
    admin_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    created = create()
    token = create(auth={"type": "api_token"})
    rotated = api.post(f"/api/v1/endpoints/{created['id']}/rotate-secret").json()
    api.post("/api/v1/session", json={"api_key": admin_key + "x"})

    for secret in (created["secret"], rotated["secret"], token["token"], admin_key):
        assert secret not in caplog.text
