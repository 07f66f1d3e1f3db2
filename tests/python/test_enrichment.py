"""Request enrichment: the client address behind trusted proxies, user agents parsed
by ua-parser, locations from MaxMind's GeoLite2 test database, and what of it reaches
each endpoint's body."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import protekt
from protekt.enrichment import (
    MAX_FORWARDED_ELEMENTS,
    MAX_FORWARDED_LENGTH,
    MAX_USER_AGENT_LENGTH,
    Enricher,
)

GEOIP_DATABASE = (
    Path(__file__).parents[3] / "shared" / "data" / "geoip" / "GeoLite2-City-Test.mmdb"
)

# Real user agents, as browsers and crawlers send them.
FIREFOX_UBUNTU = (
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

LONDON = "81.2.69.142"  # in the test database, as its README lists


@pytest.fixture
def geoip_database() -> Path:
    if not GEOIP_DATABASE.is_file():
        pytest.skip(
            f"the GeoLite2 test database is not at {GEOIP_DATABASE} (shared/ beside "
            "the repository)"
        )
    return GEOIP_DATABASE


@pytest.fixture
def enricher() -> Iterator[Enricher]:
    """Trusts the proxies 10.0.0.0/8 and ::1; no database."""
    with Enricher(trusted_proxies=["10.0.0.0/8", "::1"]) as enricher:
        yield enricher


@pytest.fixture
def rfc7239() -> Iterator[Enricher]:
    """As `enricher`, reading the RFC 7239 `Forwarded` header instead of
    `X-Forwarded-For`."""
    with Enricher(
        trusted_proxies=["10.0.0.0/8", "::1"], proxy_header="forwarded"
    ) as enricher:
        yield enricher


@pytest.fixture
def located(geoip_database: Path) -> Iterator[Enricher]:
    """Trusts 10.0.0.0/8 and reads the GeoLite2 test database."""
    with Enricher(
        trusted_proxies=["10.0.0.0/8"], geoip_database=geoip_database
    ) as enricher:
        yield enricher


def environ(
    peer: str | None, forwarded: str | None = None, **more: str
) -> dict[str, Any]:
    """A WSGI environ from `peer`, with `X-Forwarded-For` when given."""
    result: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/login", **more}
    if peer is not None:
        result["REMOTE_ADDR"] = peer
    if forwarded is not None:
        result["HTTP_X_FORWARDED_FOR"] = forwarded
    return result


def forwarded_environ(peer: str | None, header: str, **more: str) -> dict[str, Any]:
    """A WSGI environ from `peer`, with an RFC 7239 `Forwarded` header."""
    return environ(peer, HTTP_FORWARDED=header, **more)


# ---- the client's address ------------------------------------------------------------


def test_without_proxies_the_peer_is_the_client(enricher: Enricher) -> None:
    assert enricher.client_ip(environ("198.51.100.20")) == "198.51.100.20"


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(enricher: Enricher) -> None:
    spoofed = environ("198.51.100.20", "81.2.69.142")

    assert enricher.client_ip(spoofed) == "198.51.100.20"


def test_a_trusted_proxy_tells_the_client_address(enricher: Enricher) -> None:
    assert enricher.client_ip(environ("10.0.0.2", "81.2.69.142")) == "81.2.69.142"


def test_a_chain_of_two_trusted_proxies_is_walked_from_the_right(
    enricher: Enricher,
) -> None:
    # The client sent a forged first entry; the proxies appended what they saw.
    chain = environ("10.0.0.2", "1.2.3.4, 81.2.69.142, 10.0.0.1")

    assert enricher.client_ip(chain) == "81.2.69.142"


def test_a_proxy_on_a_unix_socket_is_trusted_when_named() -> None:
    # gunicorn behind nginx over a Unix socket: REMOTE_ADDR is empty.
    with Enricher(trusted_proxies=["unix", "10.0.0.0/8"]) as enricher:
        assert enricher.client_ip(environ("", "81.2.69.142, 10.0.0.1")) == "81.2.69.142"
        assert enricher.client_ip(environ("", None)) is None
        assert enricher.client_ip(environ("10.0.0.2", "81.2.69.142")) == "81.2.69.142"


def test_a_unix_socket_peer_is_not_trusted_unless_named(enricher: Enricher) -> None:
    assert enricher.client_ip(environ("", "81.2.69.142")) is None


def test_several_forwarded_headers_joined_with_commas_are_one_list(
    enricher: Enricher,
) -> None:
    joined = environ("10.0.0.2", "1.2.3.4,81.2.69.142,10.0.0.1, 10.0.0.3")

    assert enricher.client_ip(joined) == "81.2.69.142"


def test_a_malformed_entry_stops_the_walk_at_the_last_trusted_address(
    enricher: Enricher,
) -> None:
    broken = environ("10.0.0.2", "81.2.69.142, not-an-address, 10.0.0.1")

    assert enricher.client_ip(broken) == "10.0.0.1"


@pytest.mark.parametrize(
    "forwarded", ["", "  ", "81.2.69.142, ", "999.1.1.1", "unknown"]
)
def test_an_empty_or_malformed_last_entry_leaves_the_peer(
    enricher: Enricher, forwarded: str
) -> None:
    assert enricher.client_ip(environ("10.0.0.2", forwarded)) == "10.0.0.2"


def test_when_every_entry_is_a_trusted_proxy_the_leftmost_is_the_client(
    enricher: Enricher,
) -> None:
    assert enricher.client_ip(environ("10.0.0.2", "10.0.0.9, 10.0.0.1")) == "10.0.0.9"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        pytest.param("::1", "2001:db8::7", "2001:db8::7", id="ipv6"),
        pytest.param("::1", "[2001:db8::7]:4711", "2001:db8::7", id="ipv6-port"),
        pytest.param("::1", "[2001:db8::7]", "2001:db8::7", id="ipv6-brackets"),
        pytest.param("::1", "81.2.69.142:51234", "81.2.69.142", id="ipv4-port"),
        pytest.param("::ffff:10.0.0.2", "81.2.69.142", "81.2.69.142", id="mapped-peer"),
        pytest.param("10.0.0.2", "::ffff:81.2.69.142", "81.2.69.142", id="mapped"),
        pytest.param("::1", "[::ffff:10.0.0.1]:80, ::1", "10.0.0.1", id="mapped-proxy"),
    ],
)
def test_ipv6_mapped_addresses_and_ports_are_understood(
    enricher: Enricher, peer: str, forwarded: str, client: str
) -> None:
    assert enricher.client_ip(environ(peer, forwarded)) == client


@pytest.mark.parametrize(
    "forwarded", ["[2001:db8::7", "[2001:db8::7]x", "81.2.69.142:port", "1.2.3.4:"]
)
def test_addresses_with_broken_brackets_or_ports_are_malformed(
    enricher: Enricher, forwarded: str
) -> None:
    assert enricher.client_ip(environ("10.0.0.2", forwarded)) == "10.0.0.2"


def test_an_ipv4_peer_is_not_trusted_through_an_ipv6_network() -> None:
    enricher = Enricher(trusted_proxies=["::/0"])

    assert enricher.client_ip(environ("198.51.100.20", "1.2.3.4")) == "198.51.100.20"


def test_an_ipv4_mapped_network_trusts_ipv4_peers() -> None:
    enricher = Enricher(trusted_proxies=["::ffff:10.0.0.0/104"])

    assert enricher.client_ip(environ("10.0.0.2", "81.2.69.142")) == "81.2.69.142"


@pytest.mark.parametrize("peer", [None, "", "localhost", "10.0.0.300"])
def test_a_missing_or_malformed_peer_gives_no_address(
    enricher: Enricher, peer: str | None
) -> None:
    assert enricher.client_ip(environ(peer, "81.2.69.142")) is None


@pytest.mark.parametrize(
    "proxies",
    [
        pytest.param("10.0.0.0/8", id="a-str"),
        pytest.param(["10.0.0.1/8"], id="host-bits"),
        pytest.param(["proxy.internal"], id="a-name"),
        pytest.param([10], id="an-int"),
    ],
)
def test_trusted_proxies_that_are_not_networks_are_refused(proxies: Any) -> None:
    with pytest.raises(protekt.ValidationError) as refused:
        Enricher(trusted_proxies=proxies)

    assert refused.value.field == "trusted_proxies"


# ---- the Forwarded header ------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        pytest.param("10.0.0.2", "for=81.2.69.142", "81.2.69.142", id="ipv4"),
        pytest.param("10.0.0.2", 'for="81.2.69.142:47011"', "81.2.69.142", id="port"),
        pytest.param("::1", 'for="[2001:db8::7]:4711"', "2001:db8::7", id="ipv6-port"),
        pytest.param("::1", 'for="[2001:db8::7]"', "2001:db8::7", id="ipv6"),
        pytest.param(
            "10.0.0.2", 'for="81.2.69.142:_p1"', "81.2.69.142", id="obfuscated-port"
        ),
        pytest.param(
            "10.0.0.2", 'for="[::ffff:81.2.69.142]"', "81.2.69.142", id="mapped"
        ),
        pytest.param(
            "10.0.0.2",
            "for=81.2.69.142;proto=https;by=10.0.0.2;host=example.com",
            "81.2.69.142",
            id="other-parameters",
        ),
        pytest.param(
            "10.0.0.2", "proto=https ; for=81.2.69.142 ;", "81.2.69.142", id="spaces"
        ),
    ],
)
def test_a_trusted_proxy_tells_the_client_address_in_forwarded(
    rfc7239: Enricher, peer: str, header: str, client: str
) -> None:
    assert rfc7239.client_ip(forwarded_environ(peer, header)) == client


@pytest.mark.parametrize("name", ["For", "FOR", "fOr"])
def test_forwarded_parameter_names_are_case_insensitive(
    rfc7239: Enricher, name: str
) -> None:
    header = f"{name}=81.2.69.142, {name}=10.0.0.1"

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


@pytest.mark.parametrize(
    ("header", "client"),
    [
        pytest.param(r'for="81.2.69.\142"', "81.2.69.142", id="escaped-digit"),
        pytest.param(
            r'for="\[2001:db8::7\]:4711"', "2001:db8::7", id="escaped-brackets"
        ),
        pytest.param(
            r'for=81.2.69.142;ext="say \"hi, for=1.2.3.4\"", for=10.0.0.1',
            "81.2.69.142",
            id="escaped-quotes-elsewhere",
        ),
        pytest.param(
            r'for=81.2.69.142;ext="a\\", for=10.0.0.1',
            "81.2.69.142",
            id="escaped-backslash-before-closing-quote",
        ),
    ],
)
def test_quoted_forwarded_values_are_unescaped(
    rfc7239: Enricher, header: str, client: str
) -> None:
    assert rfc7239.client_ip(forwarded_environ("::1", header)) == client


def test_commas_and_semicolons_in_quoted_strings_do_not_split_elements(
    rfc7239: Enricher,
) -> None:
    header = 'for=81.2.69.142;host="a,b;for=1.2.3.4", for=10.0.0.1'

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(
            "for=1.2.3.4, for=81.2.69.142, for=10.0.0.1;by=10.0.0.2", id="one-header"
        ),
        # What a WSGI server makes of three Forwarded header lines.
        pytest.param(
            'for=1.2.3.4,for=81.2.69.142;proto=https,for="10.0.0.1:80"',
            id="joined-headers",
        ),
        pytest.param("for=1.2.3.4, for=81.2.69.142, , for=10.0.0.1,", id="empty"),
    ],
)
def test_forwarded_elements_are_walked_from_the_right_past_trusted_proxies(
    rfc7239: Enricher, header: str
) -> None:
    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


def test_when_every_forwarded_node_is_a_trusted_proxy_the_leftmost_is_the_client(
    rfc7239: Enricher,
) -> None:
    header = "for=10.0.0.9, for=10.0.0.1"

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "10.0.0.9"


def test_forwarded_from_an_untrusted_peer_is_ignored(rfc7239: Enricher) -> None:
    spoofed = forwarded_environ("198.51.100.20", "for=81.2.69.142")

    assert rfc7239.client_ip(spoofed) == "198.51.100.20"


@pytest.mark.parametrize("node", ["_hidden", '"_hidden"', "unknown", "UNKNOWN"])
def test_an_obfuscated_or_unknown_node_stops_the_walk(
    rfc7239: Enricher, node: str
) -> None:
    behind = forwarded_environ("10.0.0.2", f"for=81.2.69.142, for={node}, for=10.0.0.1")
    alone = forwarded_environ("10.0.0.2", f"for={node}")

    assert rfc7239.client_ip(behind) == "10.0.0.1"
    assert rfc7239.client_ip(alone) == "10.0.0.2"


def test_an_element_without_for_stops_the_walk(rfc7239: Enricher) -> None:
    header = "for=81.2.69.142, proto=https;by=10.0.0.1, for=10.0.0.3"

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "10.0.0.3"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param('for="81.2.69.142', id="unterminated-quote"),
        pytest.param(r'for="81.2.69.142\"', id="escaped-closing-quote"),
        pytest.param("for81.2.69.142", id="missing-equals"),
        pytest.param('for "81.2.69.142"', id="space-for-equals"),
        pytest.param("for = 81.2.69.142", id="spaces-around-equals"),
        pytest.param("for=", id="empty-value"),
        pytest.param("=81.2.69.142", id="empty-name"),
        pytest.param("for=81.2.69.142:47011", id="unquoted-port"),
        pytest.param("for=[2001:db8::7]", id="unquoted-ipv6"),
        pytest.param('for="2001:db8::7"', id="ipv6-without-brackets"),
        pytest.param('for="[81.2.69.142]"', id="ipv4-in-brackets"),
        pytest.param('for="81.2.69.142:port"', id="bad-port"),
        pytest.param("for=81.2.69.142;for=1.2.3.4", id="for-twice"),
        pytest.param("for=81.2.69.142 for=1.2.3.4", id="no-separator"),
        pytest.param(";;", id="no-pairs"),
    ],
)
def test_a_malformed_last_forwarded_element_leaves_the_peer(
    rfc7239: Enricher, header: str
) -> None:
    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "10.0.0.2"


def test_a_malformed_forwarded_element_stops_the_walk_at_the_last_trusted_address(
    rfc7239: Enricher,
) -> None:
    header = 'for=81.2.69.142, for="1.2.3.4, for=10.0.0.1'

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "10.0.0.1"


def test_a_clients_unbalanced_quote_cannot_hide_the_address_the_proxy_added(
    rfc7239: Enricher,
) -> None:
    # The client sent `Forwarded: for="`; its proxy added its own header line.
    header = 'for=", for=81.2.69.142'

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


@pytest.mark.parametrize(
    ("header", "client"),
    [
        pytest.param("for=81.2.69.142", "81.2.69.142", id="forwarded"),
        pytest.param("for=_hidden", "10.0.0.2", id="obfuscated-forwarded"),
        pytest.param("proto=https", "10.0.0.2", id="forwarded-without-for"),
        pytest.param('for="81.2.69.142', "10.0.0.2", id="malformed-forwarded"),
        pytest.param("  ", "10.0.0.2", id="blank-forwarded"),
    ],
)
def test_with_forwarded_chosen_x_forwarded_for_is_not_read(
    rfc7239: Enricher, header: str, client: str
) -> None:
    both = environ("10.0.0.2", "198.51.100.20", HTTP_FORWARDED=header)

    assert rfc7239.client_ip(both) == client


def test_by_default_a_forwarded_header_a_client_sent_is_not_read(
    enricher: Enricher,
) -> None:
    # A proxy that writes X-Forwarded-For passes the client's Forwarded on as is.
    spoofed = environ("10.0.0.2", "198.51.100.20", HTTP_FORWARDED="for=81.2.69.142")
    only_forwarded = forwarded_environ("10.0.0.2", "for=81.2.69.142")

    assert enricher.client_ip(spoofed) == "198.51.100.20"
    assert enricher.client_ip(only_forwarded) == "10.0.0.2"


@pytest.mark.parametrize("header", ["Forwarded", "x_forwarded_for", "", None])
def test_a_proxy_header_that_is_not_known_is_refused_by_name(header: Any) -> None:
    with pytest.raises(protekt.ValidationError) as refused:
        Enricher(proxy_header=header)

    assert refused.value.field == "proxy_header"
    assert "x-forwarded-for" in str(refused.value)


def test_a_proxy_on_a_unix_socket_is_trusted_with_forwarded_when_named() -> None:
    # nginx over a Unix socket: REMOTE_ADDR is empty.
    header = 'for="81.2.69.142:51234";proto=https, for=10.0.0.1'
    with Enricher(
        trusted_proxies=["unix", "10.0.0.0/8"], proxy_header="forwarded"
    ) as enricher:
        assert enricher.client_ip(forwarded_environ("", header)) == "81.2.69.142"
        assert enricher.client_ip(forwarded_environ("", "for=unknown")) is None
        assert enricher.client_ip(forwarded_environ("", "for=10.0.0.1")) == "10.0.0.1"


def test_forwarded_through_a_unix_socket_is_ignored_unless_named(
    rfc7239: Enricher,
) -> None:
    assert rfc7239.client_ip(forwarded_environ("", "for=81.2.69.142")) is None


def test_padding_before_an_over_long_forwarded_header_is_not_read(
    rfc7239: Enricher,
) -> None:
    padding = "for=1.2.3.4, " * (MAX_FORWARDED_LENGTH // 10)
    header = padding + "for=81.2.69.142, for=10.0.0.1"
    assert len(header) > MAX_FORWARDED_LENGTH

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


def _of_length(length: int, first: str, last: str) -> str:
    """`first` and `last` with enough padding between them to make `length`."""
    return first + "y" * (length - len(first) - len(last)) + last


def test_a_forwarded_header_of_the_maximum_length_is_read_whole(
    rfc7239: Enricher,
) -> None:
    header = _of_length(MAX_FORWARDED_LENGTH, "for=81.2.69.142;pad=", ", for=10.0.0.1")

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "81.2.69.142"


def test_an_element_cut_by_the_length_limit_is_not_read(rfc7239: Enricher) -> None:
    # The limit cuts off the X: what is left reads `for=`, but the name is `Xfor`.
    header = _of_length(
        MAX_FORWARDED_LENGTH + 1, "Xfor=81.2.69.142;pad=", ", for=10.0.0.1"
    )

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", header)) == "10.0.0.1"


def test_at_most_max_forwarded_elements_are_read(rfc7239: Enricher) -> None:
    proxies = [f"for=10.0.0.{n}" for n in range(MAX_FORWARDED_ELEMENTS - 1, 0, -1)]
    within = ", ".join(["for=81.2.69.142", *proxies])
    beyond = ", ".join(["for=81.2.69.142", "for=10.0.0.200", *proxies])

    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", within)) == "81.2.69.142"
    assert rfc7239.client_ip(forwarded_environ("10.0.0.2", beyond)) == "10.0.0.200"


# ---- devices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        pytest.param(
            FIREFOX_UBUNTU, {"browser": "Firefox 120.0", "os": "Ubuntu"}, id="firefox"
        ),
        pytest.param(
            CHROME_WINDOWS, {"browser": "Chrome 120.0", "os": "Windows 10"}, id="chrome"
        ),
        pytest.param(
            SAFARI_IPHONE,
            {"browser": "Mobile Safari 17.1", "os": "iOS 17.1", "device": "iPhone"},
            id="safari-iphone",
        ),
        pytest.param(
            EDGE_WINDOWS, {"browser": "Edge 120.0", "os": "Windows 10"}, id="edge"
        ),
        pytest.param(
            GOOGLEBOT, {"browser": "Googlebot 2.1", "device": "Spider"}, id="bot"
        ),
    ],
)
def test_a_user_agent_names_its_browser_os_and_device(
    enricher: Enricher, user_agent: str, device: dict[str, str]
) -> None:
    assert enricher.device(user_agent) == device


@pytest.mark.parametrize("user_agent", ["", "   ", "zzz"])
def test_a_user_agent_nothing_is_known_of_gives_no_device(
    enricher: Enricher, user_agent: str
) -> None:
    assert enricher.device(user_agent) is None


def test_parsed_user_agents_are_cached_and_each_caller_gets_its_own_dict(
    enricher: Enricher,
) -> None:
    from protekt import enrichment

    first = enricher.device(SAFARI_IPHONE)
    assert first is not None
    first["browser"] = "changed by the caller"
    hits = enrichment._parse_user_agent.cache_info().hits

    again = enricher.device(SAFARI_IPHONE)

    assert again is not None
    assert again["browser"] == "Mobile Safari 17.1"
    assert enrichment._parse_user_agent.cache_info().hits == hits + 1
    assert enrichment._parse_user_agent.cache_info().maxsize == (
        enrichment.USER_AGENT_CACHE_SIZE
    )


def test_without_ua_parser_there_is_no_device_and_it_is_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ua_parser", None)  # what import sees if absent
    enricher = Enricher()

    with caplog.at_level(logging.WARNING, logger="protekt.enrichment"):
        first = enricher.device(FIREFOX_UBUNTU)
        second = enricher.device(CHROME_WINDOWS)
        found = enricher.from_environ(
            environ("81.2.69.142", HTTP_USER_AGENT=FIREFOX_UBUNTU)
        )

    assert first is None
    assert second is None
    assert found == {"ip": "81.2.69.142", "user_agent": FIREFOX_UBUNTU}
    [record] = caplog.records
    assert "pip install protekt[enrich]" in record.getMessage()


# ---- locations -----------------------------------------------------------------------


def test_a_public_address_is_located_by_the_database(located: Enricher) -> None:
    assert located.location(LONDON) == {
        "city": "London",
        "country": "GB",
        "latitude": 51.5142,
        "longitude": -0.0931,
        "time_zone": "Europe/London",
    }


def test_an_ipv6_address_the_database_knows_only_by_country_has_no_city(
    located: Enricher,
) -> None:
    location = located.location("2001:218::1")

    assert location is not None
    assert location["country"] == "JP"
    assert "city" not in location


def test_an_ipv4_mapped_address_is_located_as_its_ipv4_address(
    located: Enricher,
) -> None:
    assert located.location(f"::ffff:{LONDON}") == located.location(LONDON)


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "127.0.0.1", "::1", "192.168.1.1", "fe80::1", "not an address"]
)
def test_private_loopback_and_malformed_addresses_have_no_location(
    located: Enricher, ip: str
) -> None:
    assert located.location(ip) is None


def test_an_address_the_database_does_not_hold_has_no_location(
    located: Enricher,
) -> None:
    assert located.location("8.8.8.8") is None  # a file lookup; nothing is sent


def test_without_a_database_there_is_no_location(enricher: Enricher) -> None:
    assert enricher.location(LONDON) is None


def test_a_database_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(protekt.ValidationError, match="no file") as refused:
        Enricher(geoip_database=tmp_path / "GeoLite2-City.mmdb")

    assert refused.value.field == "geoip_database"


def test_a_file_that_is_not_a_maxmind_database_is_refused(tmp_path: Path) -> None:
    not_a_database = tmp_path / "GeoLite2-City.mmdb"
    not_a_database.write_text("city,country\nLondon,GB\n")

    with pytest.raises(protekt.ValidationError, match="not a MaxMind DB") as refused:
        Enricher(geoip_database=not_a_database)

    assert refused.value.field == "geoip_database"


def test_a_database_without_geoip2_installed_is_refused_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, geoip_database: Path
) -> None:
    monkeypatch.setitem(sys.modules, "geoip2", None)
    monkeypatch.setitem(sys.modules, "geoip2.database", None)

    with pytest.raises(protekt.ValidationError, match=r"protekt\[enrich\]") as refused:
        Enricher(geoip_database=geoip_database)

    assert refused.value.field == "geoip_database"


def test_closing_twice_is_harmless_and_a_closed_enricher_locates_nothing(
    geoip_database: Path,
) -> None:
    enricher = Enricher(geoip_database=str(geoip_database))
    assert enricher.location(LONDON) is not None

    enricher.close()
    enricher.close()

    assert enricher.closed
    with pytest.raises(protekt.ProtektError, match="closed"):
        enricher.location(LONDON)
    with pytest.raises(protekt.ProtektError, match="closed"):
        enricher.from_environ(environ(LONDON))


# ---- from a request to the endpoints -------------------------------------------------


def test_from_environ_finds_every_part_it_can(located: Enricher) -> None:
    found = located.from_environ(
        environ("10.0.0.2", LONDON, HTTP_USER_AGENT=SAFARI_IPHONE)
    )

    assert list(found) == ["ip", "user_agent", "device", "location"]
    assert found["ip"] == LONDON
    assert found["user_agent"] == SAFARI_IPHONE
    assert found["device"]["device"] == "iPhone"
    assert found["location"]["city"] == "London"


def test_from_environ_leaves_out_what_the_request_does_not_tell(
    located: Enricher,
) -> None:
    assert located.from_environ(environ("10.1.2.3")) == {"ip": "10.1.2.3"}
    assert located.from_environ(environ(None)) == {}


def test_a_very_long_user_agent_is_cut_to_the_limit(enricher: Enricher) -> None:
    padded = FIREFOX_UBUNTU + " x" * MAX_USER_AGENT_LENGTH

    found = enricher.from_environ(environ(LONDON, HTTP_USER_AGENT=padded))

    assert found["user_agent"] == padded[:MAX_USER_AGENT_LENGTH]
    assert found["device"] == {"browser": "Firefox 120.0", "os": "Ubuntu"}


def _active(engine: protekt.Engine, name: str, include: set[str]) -> protekt.Endpoint:
    created = engine.endpoints.create(
        url=f"https://hooks.example.com/{name}",
        events=["user.login.succeeded"],
        payload=protekt.Payload(include=frozenset(include)),
    )
    return engine.endpoints.save(created.id, skip_verification=True)


def _data_for(
    engine: protekt.Engine, event: protekt.Event, endpoint: protekt.Endpoint
) -> dict[str, Any]:
    delivery = engine.delivery(event.id, endpoint.id)
    data: dict[str, Any] = json.loads(engine.delivery_body(delivery))["data"]
    return data


def test_each_endpoint_gets_only_the_enrichment_it_asked_for(
    engine: protekt.Engine, located: Enricher
) -> None:
    everything = _active(engine, "everything", {"user", "ip", "device", "location"})
    no_location = _active(engine, "no-location", {"user", "ip", "device"})
    user_only = _active(engine, "user-only", {"user"})
    request = environ("10.0.0.2", LONDON, HTTP_USER_AGENT=FIREFOX_UBUNTU)

    event = engine.emit(
        "user.login.succeeded",
        user={"id": "u_1", "email": "ada@example.com"},
        **located.from_environ(request),
        method="password",
    )

    assert _data_for(engine, event, everything) == {
        "user": {"id": "u_1", "email": "ada@example.com"},
        "ip": LONDON,
        "user_agent": FIREFOX_UBUNTU,
        "device": {"browser": "Firefox 120.0", "os": "Ubuntu"},
        "location": located.location(LONDON),
        "method": "password",
    }
    without = _data_for(engine, event, no_location)
    assert "location" not in without
    assert without["ip"] == LONDON
    assert without["device"] == {"browser": "Firefox 120.0", "os": "Ubuntu"}
    assert _data_for(engine, event, user_only) == {
        "user": {"id": "u_1", "email": "ada@example.com"},
        "method": "password",
    }
