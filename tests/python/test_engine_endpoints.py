"""Endpoints of the embedded engine: defaults, validation, storage, lifecycle, secrets.

Every test runs against a real LMDB directory under pytest's tmp_path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import protekt
from conftest import EngineOpener
from protekt import (
    ApiToken,
    Endpoint,
    Endpoints,
    EndpointStatus,
    Engine,
    NotFoundError,
    Payload,
    Retry,
    SharedSecret,
    ValidationError,
)

URL = "https://receiver.example/webhooks"
LOGIN = "user.login.succeeded"
FAILED_LOGIN = "user.login.failed"
GENERATED_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")

# Well formed, but no endpoint ever gets it: its time part is the Unix epoch.
UNKNOWN_ID = "ep_" + "0" * 26

EndpointMaker = Callable[..., Endpoint]


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def endpoints(engine: Engine) -> Endpoints:
    return engine.endpoints


@pytest.fixture
def create(endpoints: Endpoints) -> EndpointMaker:
    """Creates an endpoint for logins at URL, with the given settings changed."""

    def make(**changes: Any) -> Endpoint:
        settings: dict[str, Any] = {"url": URL, "events": [LOGIN]}
        settings.update(changes)
        return endpoints.create(**settings)

    return make


@pytest.fixture
def endpoint(create: EndpointMaker) -> Endpoint:
    """A new endpoint, every setting at its default, in status created."""
    return create()


@pytest.fixture
def active(endpoints: Endpoints, endpoint: Endpoint) -> Endpoint:
    """`endpoint`, saved without verification: active."""
    return endpoints.save(endpoint.id, skip_verification=True)


@pytest.fixture
def token_endpoint(create: EndpointMaker) -> Endpoint:
    """An endpoint authenticated with an API token in a custom header."""
    return create(auth=ApiToken(token="prt_known_to_the_receiver", header="X-Api-Key"))


# ---- defaults ------------------------------------------------------------------------


def test_a_new_endpoint_starts_in_status_created(endpoint: Endpoint) -> None:
    assert endpoint.status is EndpointStatus.CREATED
    assert endpoint.id.startswith("ep_")


def test_a_new_endpoint_takes_the_guides_defaults(endpoint: Endpoint) -> None:
    assert endpoint.url == URL
    assert endpoint.events == (LOGIN,)
    assert endpoint.payload == Payload(format="json", include=frozenset({"user"}))
    assert endpoint.retry == Retry(
        max_attempts=3, interval=60, backoff="fixed", max_interval=3600, jitter=True
    )
    assert endpoint.dead_letter_queue is False
    assert endpoint.failure_notification is None
    assert endpoint.timeout == 15
    assert endpoint.description == ""
    assert endpoint.created_at == endpoint.updated_at


def test_a_new_endpoint_gets_a_generated_signing_secret(endpoint: Endpoint) -> None:
    assert isinstance(endpoint.auth, SharedSecret)
    assert endpoint.secret is not None
    assert GENERATED_SECRET.fullmatch(endpoint.secret)
    assert endpoint.previous_secrets == ()
    protekt.Webhook(endpoint.secret)  # usable as it is


def test_every_endpoint_gets_a_secret_of_its_own(create: EndpointMaker) -> None:
    secrets = {create().secret for _ in range(8)}

    assert len(secrets) == 8


def test_a_given_secret_is_kept(create: EndpointMaker) -> None:
    secret = protekt.Webhook.generate_secret()

    assert create(auth=SharedSecret(secret)).secret == secret


def test_every_setting_given_is_stored(create: EndpointMaker) -> None:
    retry = Retry(max_attempts=5, interval=30, backoff="exponential", jitter=False)
    payload = Payload(format="form", include=frozenset({"user", "ip", "device"}))

    endpoint = create(
        events=[LOGIN, FAILED_LOGIN],
        payload=payload,
        retry=retry,
        dead_letter_queue=True,
        failure_notification="security@example.com",
        timeout=timedelta(seconds=30),
        description="SIEM ingest",
    )

    assert set(endpoint.events) == {LOGIN, FAILED_LOGIN}
    assert endpoint.payload == payload
    assert endpoint.retry == retry
    assert endpoint.dead_letter_queue is True
    assert endpoint.failure_notification == "security@example.com"
    assert endpoint.timeout == 30
    assert endpoint.description == "SIEM ingest"


# ---- validation ----------------------------------------------------------------------


REFUSED_SETTINGS = [
    pytest.param({"url": "http://receiver.example/"}, "url", id="url-plain-http"),
    pytest.param({"url": "ftp://receiver.example/"}, "url", id="url-ftp"),
    pytest.param({"url": "https://me:pw@receiver.example/"}, "url", id="url-userinfo"),
    pytest.param({"url": "https://receiver.example/#top"}, "url", id="url-fragment"),
    pytest.param({"url": "receiver.example/hooks"}, "url", id="url-relative"),
    pytest.param({"url": "https://recei ver.example/"}, "url", id="url-malformed"),
    pytest.param({"url": "https://"}, "url", id="url-no-host"),
    pytest.param({"url": "https://receiver.example:0/"}, "url", id="url-port-zero"),
    pytest.param({"url": URL + "?" + "a" * 2048}, "url", id="url-too-long"),
    pytest.param({"url": URL.encode()}, "url", id="url-bytes"),
    pytest.param({"url": URL + "\ud800"}, "url", id="url-lone-surrogate"),
    pytest.param(
        {"description": "\udc00"}, "description", id="description-lone-surrogate"
    ),
    pytest.param({"events": []}, "events", id="events-empty"),
    pytest.param({"events": ["user.logged_in"]}, "events", id="events-unknown"),
    pytest.param({"events": LOGIN}, "events", id="events-a-str"),
    pytest.param({"events": [LOGIN, 7]}, "events", id="events-not-str"),
    pytest.param({"payload": {"format": "json"}}, "payload", id="payload-a-dict"),
    pytest.param(
        {"retry": Retry(max_attempts=-1)}, "retry.max_attempts", id="retry-negative"
    ),
    pytest.param(
        {"retry": Retry(max_attempts=51)}, "retry.max_attempts", id="retry-too-many"
    ),
    pytest.param({"retry": Retry(interval=0)}, "retry.interval", id="interval-zero"),
    pytest.param(
        {"retry": Retry(interval=0.5)}, "retry.interval", id="interval-below-1s"
    ),
    pytest.param(
        {"retry": Retry(interval=timedelta(days=8), max_interval=timedelta(days=8))},
        "retry.interval",
        id="interval-over-7-days",
    ),
    pytest.param(
        {"retry": Retry(interval=600, max_interval=60)},
        "retry.max_interval",
        id="max-interval-below-interval",
    ),
    pytest.param(
        {"retry": Retry(max_interval=timedelta(days=8))},
        "retry.max_interval",
        id="max-interval-over-7-days",
    ),
    pytest.param({"retry": Retry(jitter="yes")}, "retry.jitter", id="jitter-a-str"),
    pytest.param({"retry": {"max_attempts": 3}}, "retry", id="retry-a-dict"),
    pytest.param({"timeout": 0.05}, "timeout", id="timeout-below-100ms"),
    pytest.param({"timeout": 301}, "timeout", id="timeout-over-300s"),
    pytest.param({"timeout": "15"}, "timeout", id="timeout-a-str"),
    pytest.param({"timeout": True}, "timeout", id="timeout-a-bool"),
    pytest.param({"timeout": float("nan")}, "timeout", id="timeout-nan"),
    pytest.param({"timeout": float("inf")}, "timeout", id="timeout-infinite"),
    pytest.param({"timeout": 1e300}, "timeout", id="timeout-huge"),
    pytest.param(
        {"failure_notification": "the security team"},
        "failure_notification",
        id="notify-neither-email-nor-url",
    ),
    pytest.param(
        {"failure_notification": "ftp://alerts.example/"},
        "failure_notification",
        id="notify-ftp",
    ),
    pytest.param(
        {"failure_notification": "http://alerts.example/"},
        "failure_notification",
        id="notify-plain-http",
    ),
    pytest.param(
        {"failure_notification": 42}, "failure_notification", id="notify-an-int"
    ),
    pytest.param({"auth": "whsec_abc"}, "auth", id="auth-a-str"),
    pytest.param(
        {"auth": SharedSecret("not-a-secret")}, "auth.secret", id="bad-secret"
    ),
    pytest.param({"dead_letter_queue": "yes"}, "dead_letter_queue", id="dlq-a-str"),
    pytest.param({"description": "d" * 1025}, "description", id="description-long"),
    pytest.param({"description": 3}, "description", id="description-an-int"),
]


@pytest.mark.parametrize(("changes", "field"), REFUSED_SETTINGS)
def test_a_refused_setting_is_named_in_the_error(
    create: EndpointMaker, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        create(**changes)

    assert refused.value.field == field


@pytest.mark.parametrize(("changes", "field"), REFUSED_SETTINGS)
def test_nothing_is_stored_when_a_setting_is_refused(
    create: EndpointMaker, endpoints: Endpoints, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError):
        create(**changes)

    assert endpoints.list() == []


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda: Payload(format="xml"), "payload.format", id="format"),
        pytest.param(
            lambda: Payload(include=frozenset({"email"})),
            "payload.include",
            id="include",
        ),
        pytest.param(lambda: Retry(max_attempts="3"), "retry.max_attempts", id="str"),
        pytest.param(lambda: Retry(max_attempts=3.0), "retry.max_attempts", id="float"),
        pytest.param(lambda: Retry(max_attempts=True), "retry.max_attempts", id="bool"),
        pytest.param(lambda: Retry(backoff="linear"), "retry.backoff", id="backoff"),
        pytest.param(lambda: Retry(interval="60"), "retry.interval", id="interval"),
        pytest.param(
            lambda: Retry(max_interval=[60]), "retry.max_interval", id="max-interval"
        ),
    ],
)
def test_settings_objects_refuse_bad_values_when_made(
    make: Callable[[], object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make()

    assert refused.value.field == field


def test_an_unknown_event_is_refused_with_the_list_of_known_ones(
    create: EndpointMaker,
) -> None:
    with pytest.raises(ValidationError) as refused:
        create(events=["user.logged_in"])

    message = str(refused.value)
    assert "user.logged_in" in message
    for name in protekt.AUTH_EVENTS:
        assert name in message


def test_plain_http_is_refused_with_advice_on_allow_http(create: EndpointMaker) -> None:
    with pytest.raises(ValidationError, match="allow_http"):
        create(url="http://receiver.example/")


def test_plain_http_is_accepted_when_the_engine_allows_it(
    open_engine: EngineOpener,
) -> None:
    engine = open_engine(allow_http=True)

    endpoint = engine.endpoints.create(url="http://localhost:8000/", events=[LOGIN])

    assert endpoint.url == "http://localhost:8000/"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"retry": Retry(max_attempts=0)}, id="no-retries"),
        pytest.param({"retry": Retry(max_attempts=50)}, id="50-retries"),
        pytest.param({"retry": Retry(interval=1, max_interval=1)}, id="interval-1s"),
        pytest.param(
            {
                "retry": Retry(
                    interval=timedelta(days=7), max_interval=timedelta(days=7)
                )
            },
            id="interval-7-days",
        ),
        pytest.param({"timeout": 0.1}, id="timeout-100ms"),
        pytest.param({"timeout": 300}, id="timeout-300s"),
        pytest.param({"timeout": timedelta(minutes=5)}, id="timeout-a-timedelta"),
        pytest.param({"description": "d" * 1024}, id="description-1024"),
        pytest.param({"url": "https://receiver.example:8443/a?b=c"}, id="port-query"),
    ],
)
def test_values_at_the_limits_are_accepted(
    create: EndpointMaker, changes: dict[str, Any]
) -> None:
    endpoint = create(**changes)

    assert endpoint.status is EndpointStatus.CREATED


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("security@example.com", id="email"),
        pytest.param("https://alerts.example/protekt", id="https-url"),
    ],
)
def test_failure_notification_goes_to_an_email_or_an_https_url(
    create: EndpointMaker, target: str
) -> None:
    assert create(failure_notification=target).failure_notification == target


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("whsec_" + "!" * 44, id="bad-base64"),
        pytest.param("whsec_c2hvcnQ=", id="too-short"),
        pytest.param("sk_live_0123456789abcdef", id="wrong-prefix"),
    ],
)
def test_a_refused_secret_is_not_repeated_in_the_error(
    create: EndpointMaker, secret: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        create(auth=SharedSecret(secret))

    assert secret not in str(refused.value)
    assert secret[6:] not in str(refused.value)


# ---- get, list, update, delete -------------------------------------------------------


def test_get_returns_the_endpoint_as_created(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    assert endpoints.get(endpoint.id) == endpoint


def test_list_returns_every_endpoint(
    endpoints: Endpoints, create: EndpointMaker
) -> None:
    created = [create(description=str(n)) for n in range(3)]

    assert sorted(endpoints.list(), key=lambda e: e.id) == created
    assert sorted(endpoints, key=lambda e: e.id) == created


def test_an_endpoint_outlives_the_engine_that_made_it(
    open_engine: EngineOpener,
) -> None:
    first = open_engine()
    created = first.endpoints.create(
        url=URL, events=[LOGIN], payload=Payload("form", frozenset({"ip"}))
    )
    first.close()

    assert open_engine().endpoints.get(created.id) == created


def test_update_changes_only_the_settings_named(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    updated = endpoints.update(endpoint.id, timeout=5, description="changed")

    assert updated.timeout == 5
    assert updated.description == "changed"
    assert updated.url == endpoint.url
    assert updated.secret == endpoint.secret
    assert updated.retry == endpoint.retry
    assert updated.created_at == endpoint.created_at
    assert updated.updated_at >= endpoint.updated_at
    assert endpoints.get(endpoint.id) == updated


def test_update_can_switch_an_endpoint_to_an_api_token(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    token = ApiToken(token="prt_switched")

    updated = endpoints.update(endpoint.id, auth=token)

    assert updated.auth == token
    assert updated.secret is None


def test_update_clears_the_failure_notification_with_none(
    endpoints: Endpoints, create: EndpointMaker
) -> None:
    endpoint = create(failure_notification="security@example.com")

    updated = endpoints.update(endpoint.id, failure_notification=None)

    assert updated.failure_notification is None


@pytest.mark.parametrize("setting", ["status", "id", "created_at", "colour"])
def test_update_refuses_what_is_not_a_setting(
    endpoints: Endpoints, endpoint: Endpoint, setting: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        endpoints.update(endpoint.id, **{setting: "active"})

    assert refused.value.field == setting
    assert "description" in str(refused.value)  # the settings are listed
    assert endpoints.get(endpoint.id) == endpoint


@pytest.mark.parametrize(("changes", "field"), REFUSED_SETTINGS)
def test_update_refuses_what_create_refuses(
    endpoints: Endpoints, endpoint: Endpoint, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        endpoints.update(endpoint.id, **changes)

    assert refused.value.field == field
    assert endpoints.get(endpoint.id) == endpoint


def test_update_checks_the_whole_result_not_only_the_change(
    open_engine: EngineOpener,
) -> None:
    development = open_engine(allow_http=True)
    endpoint = development.endpoints.create(url="http://localhost/", events=[LOGIN])
    development.close()
    production = open_engine()

    with pytest.raises(ValidationError) as refused:
        production.endpoints.update(endpoint.id, description="unrelated change")

    assert refused.value.field == "url"
    assert production.endpoints.get(endpoint.id).description == ""


def test_a_new_url_sends_an_active_endpoint_back_to_created(
    endpoints: Endpoints, active: Endpoint
) -> None:
    updated = endpoints.update(active.id, url="https://elsewhere.example/hook")

    assert updated.status is EndpointStatus.CREATED
    assert endpoints.get(active.id).status is EndpointStatus.CREATED


def test_other_changes_leave_an_active_endpoint_active(
    endpoints: Endpoints, active: Endpoint
) -> None:
    updated = endpoints.update(active.id, url=active.url, events=[FAILED_LOGIN])

    assert updated.status is EndpointStatus.ACTIVE
    assert updated.events == (FAILED_LOGIN,)


def test_a_deleted_endpoint_is_gone(endpoints: Endpoints, endpoint: Endpoint) -> None:
    endpoints.delete(endpoint.id)

    assert endpoints.list() == []
    with pytest.raises(NotFoundError):
        endpoints.get(endpoint.id)


def test_deleting_one_endpoint_keeps_the_others(
    endpoints: Endpoints, create: EndpointMaker
) -> None:
    kept, deleted = create(), create()

    endpoints.delete(deleted.id)

    assert endpoints.list() == [kept]


OPERATIONS = [
    pytest.param(lambda e, id_: e.get(id_), id="get"),
    pytest.param(lambda e, id_: e.delete(id_), id="delete"),
    pytest.param(lambda e, id_: e.update(id_, description="x"), id="update"),
    pytest.param(lambda e, id_: e.save(id_, skip_verification=True), id="save"),
    pytest.param(lambda e, id_: e.pause(id_), id="pause"),
    pytest.param(lambda e, id_: e.resume(id_), id="resume"),
    pytest.param(lambda e, id_: e.disable(id_), id="disable"),
    pytest.param(lambda e, id_: e.rotate_secret(id_), id="rotate_secret"),
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_id_is_not_found(
    endpoints: Endpoints, operation: Callable[[Endpoints, str], object]
) -> None:
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        operation(endpoints, UNKNOWN_ID)

    assert endpoints.list() == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_deleted_id_is_not_found(
    endpoints: Endpoints,
    endpoint: Endpoint,
    operation: Callable[[Endpoints, str], object],
) -> None:
    endpoints.delete(endpoint.id)

    with pytest.raises(NotFoundError):
        operation(endpoints, endpoint.id)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param("ep_123", id="too-short"),
        pytest.param("evt_" + "0" * 26, id="an-event-id"),
        pytest.param("ep_" + "U" * 26, id="not-base32"),
        pytest.param("", id="empty"),
    ],
)
def test_a_malformed_id_is_refused_as_invalid(
    endpoints: Endpoints,
    operation: Callable[[Endpoints, str], object],
    malformed: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        operation(endpoints, malformed)

    assert refused.value.field == "endpoint_id"


def test_not_found_is_also_a_lookup_error(endpoints: Endpoints) -> None:
    with pytest.raises(LookupError):
        endpoints.get(UNKNOWN_ID)


# ---- lifecycle -----------------------------------------------------------------------


def test_save_is_refused_before_verification(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    with pytest.raises(ValidationError, match="Verify endpoint") as refused:
        endpoints.save(endpoint.id)

    assert refused.value.field == "status"
    assert endpoints.get(endpoint.id).status is EndpointStatus.CREATED


def test_save_without_verification_activates(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    saved = endpoints.save(endpoint.id, skip_verification=True)

    assert saved.status is EndpointStatus.ACTIVE
    assert endpoints.get(endpoint.id).status is EndpointStatus.ACTIVE


def test_pause_and_resume_an_active_endpoint(
    endpoints: Endpoints, active: Endpoint
) -> None:
    assert endpoints.pause(active.id).status is EndpointStatus.PAUSED
    assert endpoints.get(active.id).status is EndpointStatus.PAUSED

    assert endpoints.resume(active.id).status is EndpointStatus.ACTIVE
    assert endpoints.get(active.id).status is EndpointStatus.ACTIVE


@pytest.mark.parametrize("change", ["pause", "resume"])
def test_an_endpoint_never_activated_cannot_be_paused_or_resumed(
    endpoints: Endpoints, endpoint: Endpoint, change: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        getattr(endpoints, change)(endpoint.id)

    assert refused.value.field == "status"
    assert endpoints.get(endpoint.id).status is EndpointStatus.CREATED


def test_a_disabled_endpoint_must_be_saved_again(
    endpoints: Endpoints, active: Endpoint
) -> None:
    assert endpoints.disable(active.id).status is EndpointStatus.DISABLED

    with pytest.raises(ValidationError):
        endpoints.save(active.id)
    with pytest.raises(ValidationError):
        endpoints.resume(active.id)
    saved = endpoints.save(active.id, skip_verification=True)
    assert saved.status is EndpointStatus.ACTIVE


def test_a_status_change_keeps_the_settings(
    endpoints: Endpoints, active: Endpoint
) -> None:
    paused = endpoints.pause(active.id)

    assert paused.secret == active.secret
    assert paused.events == active.events
    assert paused.created_at == active.created_at


# ---- secret rotation -----------------------------------------------------------------


def test_rotation_makes_a_new_secret_and_keeps_the_old_one(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    rotated = endpoints.rotate_secret(endpoint.id)

    assert rotated.secret != endpoint.secret
    assert rotated.secret is not None
    assert GENERATED_SECRET.fullmatch(rotated.secret)
    assert rotated.previous_secrets == (endpoint.secret,)
    assert endpoints.get(endpoint.id) == rotated


def test_rotation_to_a_given_secret(endpoints: Endpoints, endpoint: Endpoint) -> None:
    secret = protekt.Webhook.generate_secret()

    rotated = endpoints.rotate_secret(endpoint.id, secret)

    assert rotated.secret == secret
    assert rotated.previous_secrets == (endpoint.secret,)


def test_rotations_keep_the_previous_secrets_newest_first(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    second = endpoints.rotate_secret(endpoint.id)
    third = endpoints.rotate_secret(endpoint.id)

    assert third.previous_secrets == (second.secret, endpoint.secret)


def test_rotation_without_grace_drops_the_old_secret_at_once(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    rotated = endpoints.rotate_secret(endpoint.id, grace=0)

    assert rotated.previous_secrets == ()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"interval": float("nan")}, "retry.interval"),
        ({"max_interval": float("inf")}, "retry.max_interval"),
        ({"interval": 1e300}, "retry.interval"),
    ],
)
def test_a_retry_with_a_duration_that_is_not_finite_is_refused(
    settings: dict[str, float], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Retry(**settings)

    assert refused.value.field == field


@pytest.mark.parametrize(
    "grace", [-1, timedelta(seconds=-1), "1h", float("nan"), 1e300, timedelta.max]
)
def test_rotation_refuses_a_bad_grace(
    endpoints: Endpoints, endpoint: Endpoint, grace: Any
) -> None:
    with pytest.raises(ValidationError) as refused:
        endpoints.rotate_secret(endpoint.id, grace=grace)

    assert refused.value.field == "grace"
    assert endpoints.get(endpoint.id) == endpoint


def test_rotation_keeps_the_status(endpoints: Endpoints, active: Endpoint) -> None:
    assert endpoints.rotate_secret(active.id).status is EndpointStatus.ACTIVE


def test_rotation_refuses_a_malformed_secret(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    with pytest.raises(ValidationError):
        endpoints.rotate_secret(endpoint.id, "not-a-secret")

    assert endpoints.get(endpoint.id) == endpoint


def test_rotation_refuses_an_api_token_endpoint(
    endpoints: Endpoints, token_endpoint: Endpoint
) -> None:
    with pytest.raises(ValidationError, match="API token") as refused:
        endpoints.rotate_secret(token_endpoint.id)

    assert refused.value.field == "auth"
    assert endpoints.get(token_endpoint.id) == token_endpoint


# ---- API tokens ----------------------------------------------------------------------


def test_an_api_token_endpoint_keeps_its_header_and_value(
    endpoints: Endpoints, token_endpoint: Endpoint
) -> None:
    stored = endpoints.get(token_endpoint.id).auth

    assert isinstance(stored, ApiToken)
    assert stored == ApiToken(token="prt_known_to_the_receiver", header="X-Api-Key")
    assert stored.header.lower() == "x-api-key"  # header names ignore case
    assert stored.value == "prt_known_to_the_receiver"
    assert token_endpoint.secret is None
    assert token_endpoint.previous_secrets == ()


def test_a_default_api_token_round_trips_as_a_bearer_authorization(
    endpoints: Endpoints, create: EndpointMaker
) -> None:
    token = ApiToken()

    stored = endpoints.get(create(auth=token).id).auth

    assert isinstance(stored, ApiToken)
    assert stored.headers() == token.headers()
    assert stored.token == token.token
    assert stored.scheme == "Bearer"


def test_a_stored_api_token_still_verifies_what_it_sends(
    endpoints: Endpoints, token_endpoint: Endpoint
) -> None:
    stored = endpoints.get(token_endpoint.id).auth
    assert isinstance(stored, ApiToken)

    stored.verify({"x-api-key": "prt_known_to_the_receiver"})
    with pytest.raises(protekt.InvalidTokenError):
        stored.verify({"x-api-key": "prt_guessed"})


# ---- nothing secret in a repr --------------------------------------------------------


def test_an_endpoint_repr_shows_no_secret(
    endpoints: Endpoints, endpoint: Endpoint
) -> None:
    rotated = endpoints.rotate_secret(endpoint.id)
    assert rotated.secret is not None
    assert endpoint.secret is not None

    for text in (repr(rotated), str(rotated), repr(rotated.auth)):
        assert rotated.secret not in text
        assert endpoint.secret not in text
        assert rotated.secret[6:16] not in text
    assert rotated.id in repr(rotated)


def test_an_api_token_endpoint_repr_shows_no_token(
    token_endpoint: Endpoint,
) -> None:
    for text in (repr(token_endpoint), str(token_endpoint), repr(token_endpoint.auth)):
        assert "prt_known_to_the_receiver" not in text
