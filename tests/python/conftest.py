"""Shared fixtures: keys, signers, a fixed clock, and received-header mappings.

Tests take ready signers, a signed delivery and header mappings from here, so a test
body holds only the behaviour it checks.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import trustme

import protekt

EngineOpener = Callable[..., protekt.Engine]


class Server(Protocol):
    """A test server of `receivers.py` or `_dispatch_helpers.py`."""

    def start(self) -> object: ...

    def close(self) -> None: ...


S = TypeVar("S", bound=Server)

HeaderMaker = Callable[..., dict[str, str]]
MappingMaker = Callable[[dict[str, str]], Mapping[str, str]]


class CaseInsensitiveHeaders(Mapping[str, str]):
    """A read-only mapping that ignores name case, as Django's request.headers does."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._items = {name.lower(): (name, value) for name, value in headers.items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


# ---- keys and signers ----------------------------------------------------------------


@pytest.fixture
def secret() -> str:
    """A fresh whsec_ shared secret."""
    return protekt.Webhook.generate_secret()


@pytest.fixture
def webhook(secret: str) -> protekt.Webhook:
    """Signs and verifies with `secret`, default tolerance."""
    return protekt.Webhook(secret)


@pytest.fixture
def private_key() -> str:
    """A fresh whsk_ Ed25519 private key."""
    return protekt.AsymmetricWebhook.generate_key()


@pytest.fixture
def asymmetric_webhook(private_key: str) -> protekt.AsymmetricWebhook:
    """Signs and verifies with `private_key`, default tolerance."""
    return protekt.AsymmetricWebhook(private_key)


@pytest.fixture(
    params=[
        pytest.param(protekt.Webhook.generate_secret, id="hmac-whsec"),
        pytest.param(protekt.AsymmetricWebhook.generate_key, id="ed25519-whsk"),
    ]
)
def scheme(
    request: pytest.FixtureRequest,
) -> protekt.Webhook | protekt.AsymmetricWebhook:
    """Each signature scheme in turn, built from a freshly generated key."""
    key = request.param()
    if key.startswith("whsec_"):
        return protekt.Webhook(key)
    return protekt.AsymmetricWebhook(key)


# ---- one message ---------------------------------------------------------------------


@pytest.fixture
def now() -> int:
    """The receiver's clock, fixed, in Unix seconds."""
    return 1_700_000_000


@pytest.fixture
def msg_id() -> str:
    return "msg_2bJf6XkQ0yTz9wVh3LmN8pRs"


@pytest.fixture
def payload() -> dict[str, Any]:
    return {"type": "user.login.succeeded", "data": {"user": "u_42", "mfa": True}}


@pytest.fixture
def body(payload: dict[str, Any]) -> bytes:
    """`payload` as the raw bytes a sender puts on the wire."""
    return json.dumps(payload).encode()


@pytest.fixture
def make_headers() -> HeaderMaker:
    """Builds the three Standard Webhooks headers, names in lower case."""

    def make(msg_id: str, timestamp: int | str, signature: str) -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }

    return make


@pytest.fixture
def delivery(
    webhook: protekt.Webhook,
    make_headers: HeaderMaker,
    msg_id: str,
    body: bytes,
    now: int,
) -> dict[str, str]:
    """The headers `webhook` sends with `body`, signed at `now`."""
    return make_headers(msg_id, now, webhook.sign(msg_id, now, body))


# ---- the shapes received headers come in ---------------------------------------------


def _title_case(headers: dict[str, str]) -> dict[str, str]:
    return {name.title(): value for name, value in headers.items()}


def _upper_case(headers: dict[str, str]) -> dict[str, str]:
    return {name.upper(): value for name, value in headers.items()}


def _case_insensitive(headers: dict[str, str]) -> Mapping[str, str]:
    return CaseInsensitiveHeaders(_title_case(headers))


def _werkzeug(headers: dict[str, str]) -> Mapping[str, str]:
    from werkzeug.datastructures import Headers

    return Headers(list(_title_case(headers).items()))


@pytest.fixture(
    params=[
        pytest.param(dict, id="dict-lower-case"),
        pytest.param(_title_case, id="dict-title-case"),
        pytest.param(_upper_case, id="dict-upper-case"),
        pytest.param(_case_insensitive, id="case-insensitive-mapping"),
        pytest.param(_werkzeug, id="werkzeug-headers"),
    ]
)
def header_mapping(request: pytest.FixtureRequest) -> MappingMaker:
    """Turns lower-case header names into one of the mappings web frameworks hand out.

    Title case is what "Webhook-Signature" looks like on the wire; werkzeug's Headers
    is what Flask hands out, and is skipped when werkzeug is not installed.
    """
    if request.param is _werkzeug:
        pytest.importorskip("werkzeug")
    return request.param


# ---- engines -------------------------------------------------------------------------


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """Where an engine keeps its data; not created until an engine opens it."""
    return tmp_path / "data"


@pytest.fixture
def open_engine(directory: Path) -> Iterator[EngineOpener]:
    """Opens engines on `directory` with the given options; all closed at teardown."""
    opened: list[protekt.Engine] = []

    def open_(**options: Any) -> protekt.Engine:
        engine = protekt.Engine(directory, **options)
        opened.append(engine)
        return engine

    yield open_
    for engine in opened:
        engine.close()


@pytest.fixture
def engine(open_engine: EngineOpener) -> protekt.Engine:
    """An engine with every default."""
    return open_engine()


@pytest.fixture
def serve(open_engine: EngineOpener) -> Iterator[Callable[[S], S]]:
    """Starts test servers and closes them at teardown, newest first. It stands after
    `open_engine`, so the servers close before any engine does and no request is
    left hanging while a dispatcher stops."""
    started: list[Server] = []

    def serve_(server: S) -> S:
        server.start()
        started.append(server)
        return server

    yield serve_
    for server in reversed(started):
        server.close()


# ---- TLS -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority, trusted only through `ca_file`."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    """`ca`'s certificate as a PEM file, to pass as a CA bundle."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def tls_for(ca: trustme.CA) -> Callable[..., ssl.SSLContext]:
    """Makes a server-side TLS context with a certificate from `ca` for `names`."""

    def make(*names: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(context)
        return context

    return make
