"""The HTTP client that delivers webhooks, against real receivers on loopback.

Requests go through `protekt._core._post`, which sends them with one client, one after
another, and reports each response (or the class of failure) and how many keep-alive
connections the client still holds. Receivers are real servers in threads
(`receivers.py`); TLS uses certificates from a throwaway `trustme` authority. Nothing
here connects anywhere but 127.0.0.1 and ::1, or resolves any name but "localhost".
"""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

import protekt
from protekt import _core
from receivers import (
    AnswersOnceReceiver,
    EndlessBodyReceiver,
    GarbageReceiver,
    HangingUpReceiver,
    Receiver,
    Reply,
    SilentReceiver,
)

trustme = pytest.importorskip("trustme")

LOOPBACK = ("127.0.0.0/8",)
BODY = b'{"type":"user.created","data":{"id":"u_1"}}'


class Response(NamedTuple):
    status: int
    excerpt: bytes
    retry_after: str
    error_class: str
    error: str
    duration_ms: int


class Outcome(NamedTuple):
    responses: list[Response]
    idle: int

    @property
    def only(self) -> Response:
        (response,) = self.responses
        return response


def post(
    url: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = BODY,
    timeout_s: float = 5.0,
    connect_timeout_s: float = 5.0,
    ca_file: str | Path = "",
    allowed_networks: Sequence[str] = LOOPBACK,
    repeat: int = 1,
    later_timeout_s: float | None = None,
    keep: bool = False,
) -> Outcome:
    """POSTs `body` to `url` `repeat` times with one client; the requests after the
    first have `later_timeout_s` as their timeout when it is given. With `keep`, the
    requests go over one kept connection, as a dispatcher lane sends them."""
    responses, idle = _core._post(
        url,
        list(headers),
        body,
        timeout_s,
        connect_timeout_s,
        str(ca_file),
        list(allowed_networks),
        repeat,
        later_timeout_s,
        keep,
    )
    return Outcome([Response(*r) for r in responses], idle)


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def receiver(serve: Callable[[Receiver], Receiver]) -> Receiver:
    """A plain HTTP/1.1 keep-alive receiver on 127.0.0.1 that answers 200."""
    return serve(Receiver())


@pytest.fixture
def tls_receiver(
    serve: Callable[[Receiver], Receiver], tls_for: Callable[..., ssl.SSLContext]
) -> Receiver:
    """A TLS receiver whose certificate names both localhost and 127.0.0.1."""
    return serve(Receiver(tls=tls_for("localhost", "127.0.0.1")))


def closed_port() -> int:
    """A loopback port that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- the request on the wire ---------------------------------------------------------


def test_post_sends_the_body_and_the_given_headers_to_the_target(
    receiver: Receiver,
) -> None:
    given = [("webhook-id", "msg_1"), ("x-tenant", "acme")]

    outcome = post(f"http://127.0.0.1:{receiver.port}/hooks/in?tenant=7", headers=given)

    assert outcome.only.error_class == ""
    assert outcome.only.status == 200
    (request,) = receiver.received
    assert request.method == "POST"
    assert request.target == "/hooks/in?tenant=7"
    assert request.body == BODY
    assert request.header("webhook-id") == ["msg_1"]
    assert request.header("x-tenant") == ["acme"]


def test_post_adds_host_user_agent_content_type_and_content_length(
    receiver: Receiver,
) -> None:
    post(f"http://127.0.0.1:{receiver.port}/")

    (request,) = receiver.received
    assert request.header("host") == [f"127.0.0.1:{receiver.port}"]
    assert request.header("user-agent") == ["Protekt-Webhooks"]
    assert request.header("content-type") == ["application/json"]
    assert request.header("content-length") == [str(len(BODY))]


def test_a_given_field_replaces_the_built_in_one_but_not_the_length(
    receiver: Receiver,
) -> None:
    post(
        f"http://127.0.0.1:{receiver.port}/",
        headers=[("Content-Type", "text/plain"), ("Content-Length", "1")],
    )

    (request,) = receiver.received
    assert request.header("content-type") == ["text/plain"]
    assert request.header("content-length") == [str(len(BODY))]
    assert request.body == BODY


@pytest.mark.parametrize(
    "field", [("x-note", "a\r\nx-injected: 1"), ("x-bad\r\nname", "v")]
)
def test_a_field_with_a_line_break_is_refused_before_sending(
    receiver: Receiver, field: tuple[str, str]
) -> None:
    outcome = post(f"http://127.0.0.1:{receiver.port}/", headers=[field])

    assert (outcome.only.status, outcome.only.error_class) == (0, "internal")
    assert "line break" in outcome.only.error
    assert receiver.connections == 0


def test_an_empty_target_is_sent_as_the_root_path(receiver: Receiver) -> None:
    post(f"http://127.0.0.1:{receiver.port}")

    assert [r.target for r in receiver.received] == ["/"]


@needs_ipv6
def test_an_ipv6_literal_is_bracketed_in_the_host_header(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(host="::1"))

    outcome = post(f"http://[::1]:{receiver.port}/", allowed_networks=["::1"])

    assert outcome.only.status == 200
    (request,) = receiver.received
    assert request.header("host") == [f"[::1]:{receiver.port}"]


# ---- keep-alive ----------------------------------------------------------------------


@pytest.mark.parametrize("keep", [False, True], ids=["pool", "kept"])
def test_three_requests_share_one_keep_alive_connection(
    receiver: Receiver, keep: bool
) -> None:
    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=3, keep=keep)

    assert [r.status for r in outcome.responses] == [200, 200, 200]
    assert receiver.connections == 1
    assert outcome.idle == 1


def test_a_connection_the_receiver_asks_to_close_is_not_kept(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(reply=Reply(headers=(("connection", "close"),))))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=3)

    assert [r.status for r in outcome.responses] == [200, 200, 200]
    assert receiver.connections == 3
    assert outcome.idle == 0


@pytest.mark.parametrize("keep", [False, True], ids=["pool", "kept"])
def test_a_kept_connection_the_receiver_hung_up_is_retried_on_a_new_one(
    serve: Callable[[Receiver], Receiver], keep: bool
) -> None:
    receiver = serve(Receiver(hang_up_after_reply=True))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=3, keep=keep)

    assert [(r.status, r.error_class) for r in outcome.responses] == [(200, "")] * 3
    assert len(receiver.received) == 3
    assert receiver.connections == 3


def test_tls_requests_share_one_keep_alive_connection(
    tls_receiver: Receiver, ca_file: Path
) -> None:
    outcome = post(f"https://localhost:{tls_receiver.port}/", ca_file=ca_file, repeat=3)

    assert [r.status for r in outcome.responses] == [200, 200, 200]
    assert tls_receiver.connections == 1


def test_a_kept_tls_connection_the_receiver_hung_up_is_retried_on_a_new_one(
    serve: Callable[[Receiver], Receiver],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    receiver = serve(
        Receiver(tls=tls_for("localhost", "127.0.0.1"), hang_up_after_reply=True)
    )

    outcome = post(f"https://localhost:{receiver.port}/", ca_file=ca_file, repeat=3)

    assert [(r.status, r.error_class) for r in outcome.responses] == [(200, "")] * 3
    assert receiver.connections == 3


# ---- what the response gives back ----------------------------------------------------


def test_a_redirect_is_not_followed(serve: Callable[[Receiver], Receiver]) -> None:
    moved = Reply(301, (("location", "/elsewhere"),), b"moved")
    receiver = serve(Receiver(reply=moved))

    outcome = post(f"http://127.0.0.1:{receiver.port}/hook")

    assert outcome.only.status == 301
    assert outcome.only.error_class == ""
    assert [r.target for r in receiver.received] == ["/hook"]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_given_back(
    serve: Callable[[Receiver], Receiver], status: int
) -> None:
    receiver = serve(Receiver(reply=Reply(status, (("retry-after", "120"),), b"")))

    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert outcome.only.status == status
    assert outcome.only.retry_after == "120"


def test_retry_after_is_empty_when_the_receiver_sends_none(
    receiver: Receiver,
) -> None:
    assert post(f"http://127.0.0.1:{receiver.port}/").only.retry_after == ""


def test_a_short_body_is_the_whole_excerpt(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(reply=Reply(400, (), b'{"error":"bad signature"}')))

    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert outcome.only.status == 400
    assert outcome.only.excerpt == b'{"error":"bad signature"}'


def test_the_excerpt_is_the_first_kibibyte_of_a_longer_body(
    serve: Callable[[Receiver], Receiver],
) -> None:
    body = bytes(range(256)) * 20  # 5 KiB, under the read limit
    receiver = serve(Receiver(reply=Reply(200, (), body)))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=2)

    assert [r.excerpt for r in outcome.responses] == [body[:1024]] * 2
    assert outcome.idle == 1


def test_a_body_at_the_read_limit_is_read_whole_and_its_connection_kept(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(reply=Reply(200, (), b"x" * 64 * 1024)))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=2)

    assert [(r.status, r.error_class) for r in outcome.responses] == [(200, "")] * 2
    assert receiver.connections == 1
    assert outcome.idle == 1


def test_a_body_over_the_read_limit_keeps_its_status_but_not_its_connection(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(reply=Reply(500, (), b"x" * (64 * 1024 + 1))))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", repeat=2)

    assert [(r.status, r.error_class) for r in outcome.responses] == [(500, "")] * 2
    assert receiver.connections == 2
    assert outcome.idle == 0


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_endless_body_still_gives_its_status_quickly_and_is_not_kept(
    serve: Callable[[EndlessBodyReceiver], EndlessBodyReceiver], chunked: bool
) -> None:
    receiver = serve(EndlessBodyReceiver(chunked=chunked))

    outcome = post(f"http://127.0.0.1:{receiver.port}/", timeout_s=10.0)

    assert (outcome.only.status, outcome.only.error_class) == (200, "")
    assert outcome.only.duration_ms < 3000
    excerpt = outcome.only.excerpt
    assert excerpt == (EndlessBodyReceiver.PATTERN * 4)[: len(excerpt)]
    assert outcome.idle == 0


def test_the_excerpt_of_an_endless_chunked_body_is_its_first_kibibyte(
    serve: Callable[[EndlessBodyReceiver], EndlessBodyReceiver],
) -> None:
    receiver = serve(EndlessBodyReceiver(chunked=True))

    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert outcome.only.excerpt == EndlessBodyReceiver.PATTERN * 4


def test_a_quick_answer_reports_a_short_duration(receiver: Receiver) -> None:
    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert 0 <= outcome.only.duration_ms < 2000


# ---- failures ------------------------------------------------------------------------


def test_a_receiver_that_never_answers_times_out_after_the_timeout(
    serve: Callable[[SilentReceiver], SilentReceiver],
) -> None:
    receiver = serve(SilentReceiver())

    outcome = post(f"http://127.0.0.1:{receiver.port}/", timeout_s=0.5)

    assert (outcome.only.status, outcome.only.error_class) == (0, "timeout")
    assert 500 <= outcome.only.duration_ms <= 2500
    assert outcome.idle == 0


@pytest.mark.parametrize(
    ("first_timeout_s", "later_timeout_s"),
    [(0.5, None), (5.0, 0.5)],
    ids=["same-timeout", "shorter-timeout"],
)
def test_a_request_on_a_kept_connection_gets_its_own_whole_timeout(
    serve: Callable[[AnswersOnceReceiver], AnswersOnceReceiver],
    first_timeout_s: float,
    later_timeout_s: float | None,
) -> None:
    # The first request is answered after 0.3 s, inside its timeout. The second, on
    # the same connection, is never answered: it times out 0.5 s after it started,
    # not at the first request's deadline, sooner or later.
    receiver = serve(AnswersOnceReceiver(delay_s=0.3))

    outcome = post(
        f"http://127.0.0.1:{receiver.port}/",
        timeout_s=first_timeout_s,
        repeat=2,
        later_timeout_s=later_timeout_s,
        keep=True,
    )

    first, second = outcome.responses
    assert (first.status, first.error_class) == (200, "")
    assert (second.status, second.error_class) == (0, "timeout")
    assert receiver.connections == 1
    assert 480 <= second.duration_ms <= 2500
    assert outcome.idle == 0


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_receiver_that_hangs_up_without_answering_is_a_reset(
    serve: Callable[[HangingUpReceiver], HangingUpReceiver], reset: bool
) -> None:
    receiver = serve(HangingUpReceiver(reset=reset))

    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert (outcome.only.status, outcome.only.error_class) == (0, "reset")
    assert outcome.only.error
    assert outcome.idle == 0


def test_a_new_connection_that_fails_is_not_retried(
    serve: Callable[[HangingUpReceiver], HangingUpReceiver],
) -> None:
    receiver = serve(HangingUpReceiver(reset=False))

    post(f"http://127.0.0.1:{receiver.port}/")

    assert receiver.connections == 1


def test_an_answer_that_is_not_http_is_a_protocol_error(
    serve: Callable[[GarbageReceiver], GarbageReceiver],
) -> None:
    receiver = serve(GarbageReceiver())

    outcome = post(f"http://127.0.0.1:{receiver.port}/")

    assert (outcome.only.status, outcome.only.error_class) == (0, "protocol")


def test_a_closed_port_is_refused() -> None:
    port = closed_port()

    outcome = post(f"http://127.0.0.1:{port}/")

    assert (outcome.only.status, outcome.only.error_class) == (0, "refused")
    assert f"127.0.0.1:{port}" in outcome.only.error


def test_failures_come_back_for_every_request_of_a_series() -> None:
    outcome = post(f"http://127.0.0.1:{closed_port()}/", repeat=3)

    assert [r.error_class for r in outcome.responses] == ["refused"] * 3


def test_a_url_that_is_not_http_is_rejected_before_sending() -> None:
    with pytest.raises(protekt.ValidationError, match="http and https"):
        post("ftp://127.0.0.1/hook")


# ---- TLS -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_tls_succeeds_with_the_authority_in_the_ca_file(
    tls_receiver: Receiver, ca_file: Path, host: str
) -> None:
    outcome = post(f"https://{host}:{tls_receiver.port}/hook", ca_file=ca_file)

    assert (outcome.only.status, outcome.only.error_class) == (200, "")
    assert [r.body for r in tls_receiver.received] == [BODY]


def test_tls_fails_without_the_authority_naming_the_issuer(
    tls_receiver: Receiver,
) -> None:
    outcome = post(f"https://localhost:{tls_receiver.port}/")

    assert (outcome.only.status, outcome.only.error_class) == (0, "tls")
    assert "issuer" in outcome.only.error
    assert tls_receiver.received == []


def test_a_certificate_for_another_host_name_is_a_hostname_mismatch(
    serve: Callable[[Receiver], Receiver],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    receiver = serve(Receiver(tls=tls_for("hooks.example.org")))

    outcome = post(f"https://localhost:{receiver.port}/", ca_file=ca_file)

    assert outcome.only.error_class == "tls"
    assert "hostname mismatch" in outcome.only.error
    assert receiver.received == []


def test_a_certificate_for_another_address_is_an_ip_address_mismatch(
    serve: Callable[[Receiver], Receiver],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    receiver = serve(Receiver(tls=tls_for("localhost", "127.0.0.2")))

    outcome = post(f"https://127.0.0.1:{receiver.port}/", ca_file=ca_file)

    assert outcome.only.error_class == "tls"
    assert "IP address mismatch" in outcome.only.error


def test_a_certificate_naming_only_localhost_does_not_cover_127_0_0_1(
    serve: Callable[[Receiver], Receiver],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    receiver = serve(Receiver(tls=tls_for("localhost")))

    outcome = post(f"https://127.0.0.1:{receiver.port}/", ca_file=ca_file)

    assert outcome.only.error_class == "tls"


def _tls_1_1_only(context: ssl.SSLContext) -> None:
    # Python warns that these versions are deprecated; that is the point here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")


def _negotiates_tls_1_1(port: int, ca_file: Path) -> bool:
    """Whether a client that allows TLS 1.1 gets it from the receiver on `port`."""
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        _tls_1_1_only(context)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            return tls.version() == "TLSv1.1"
    except (ssl.SSLError, ValueError, OSError):
        return False


def test_a_receiver_offering_only_tls_1_1_is_refused(
    serve: Callable[[Receiver], Receiver],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
) -> None:
    context = tls_for("localhost", "127.0.0.1")
    try:
        _tls_1_1_only(context)
    except (ssl.SSLError, ValueError) as exc:
        pytest.skip(f"the local OpenSSL cannot serve TLS 1.1: {exc}")
    receiver = serve(Receiver(tls=context))
    if not _negotiates_tls_1_1(receiver.port, ca_file):
        pytest.skip("the local OpenSSL will not negotiate TLS 1.1")

    outcome = post(f"https://localhost:{receiver.port}/", ca_file=ca_file)

    assert (outcome.only.status, outcome.only.error_class) == (0, "tls")
    assert receiver.received == []


def test_a_tls_handshake_that_never_completes_times_out_after_the_timeout(
    serve: Callable[[SilentReceiver], SilentReceiver], ca_file: Path
) -> None:
    receiver = serve(SilentReceiver())

    outcome = post(
        f"https://127.0.0.1:{receiver.port}/",
        timeout_s=0.5,
        connect_timeout_s=4.0,
        ca_file=ca_file,
    )

    assert outcome.only.error_class == "timeout"
    assert 500 <= outcome.only.duration_ms <= 2500


def test_a_tls_handshake_that_never_completes_times_out(
    serve: Callable[[SilentReceiver], SilentReceiver], ca_file: Path
) -> None:
    receiver = serve(SilentReceiver())

    outcome = post(
        f"https://127.0.0.1:{receiver.port}/",
        timeout_s=0.5,
        connect_timeout_s=1.0,
        ca_file=ca_file,
    )

    assert (outcome.only.status, outcome.only.error_class) == (0, "timeout")
    assert outcome.only.duration_ms <= 3000


def test_a_ca_file_that_cannot_be_read_is_a_tls_error_about_the_ca_bundle(
    tls_receiver: Receiver, tmp_path: Path
) -> None:
    outcome = post(
        f"https://localhost:{tls_receiver.port}/", ca_file=tmp_path / "missing.pem"
    )

    assert (outcome.only.status, outcome.only.error_class) == (0, "tls")
    assert "CA bundle" in outcome.only.error


def test_a_ca_file_that_cannot_be_read_is_named_in_the_error(
    tls_receiver: Receiver, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.pem"

    outcome = post(f"https://localhost:{tls_receiver.port}/", ca_file=missing)

    assert str(missing) in outcome.only.error


# ---- the SSRF guard ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_allowed_and_no_connection_is_made(
    receiver: Receiver, host: str
) -> None:
    refused = post(f"http://{host}:{receiver.port}/", allowed_networks=[])
    allowed = post(f"http://{host}:{receiver.port}/")

    assert (refused.only.status, refused.only.error_class) == (0, "ssrf")
    assert "127.0.0.1" in refused.only.error
    assert "loopback" in refused.only.error
    assert allowed.only.status == 200
    # Connections are accepted in order, so the allowed one would follow any other.
    assert receiver.connections == 1


def test_an_allowed_network_that_does_not_hold_the_address_still_refuses(
    receiver: Receiver,
) -> None:
    outcome = post(
        f"http://127.0.0.1:{receiver.port}/", allowed_networks=["10.0.0.0/8", "::1"]
    )

    assert outcome.only.error_class == "ssrf"


@needs_ipv6
def test_an_ipv4_mapped_loopback_address_is_refused_unless_allowed(
    receiver: Receiver,
) -> None:
    outcome = post(f"http://[::ffff:127.0.0.1]:{receiver.port}/", allowed_networks=[])

    assert (outcome.only.status, outcome.only.error_class) == (0, "ssrf")
    assert "::ffff:127.0.0.1" in outcome.only.error
    assert "loopback" in outcome.only.error
    assert receiver.connections == 0


@needs_ipv6
def test_ipv6_loopback_is_refused_when_only_ipv4_loopback_is_allowed(
    serve: Callable[[Receiver], Receiver],
) -> None:
    receiver = serve(Receiver(host="::1"))

    outcome = post(f"http://[::1]:{receiver.port}/")

    assert outcome.only.error_class == "ssrf"
    assert "loopback" in outcome.only.error
    assert receiver.connections == 0


def test_a_network_that_is_not_one_is_rejected() -> None:
    with pytest.raises(protekt.ValidationError, match="allowed_networks"):
        post("http://127.0.0.1:9/", allowed_networks=["loopback"])
