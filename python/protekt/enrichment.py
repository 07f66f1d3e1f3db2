"""Request enrichment: the client's address, device and location, as ``emit`` takes
them (docs/enrichment.md).

>>> from protekt.enrichment import Enricher
>>> enricher = Enricher(trusted_proxies=["10.0.0.0/8"])
>>> enricher.client_ip(
...     {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "81.2.69.142"}
... )
'81.2.69.142'

The user agent is parsed with ``ua-parser`` and the location read from a GeoIP2 or
GeoLite2 City database with ``geoip2``; both come with ``pip install
protekt[enrich]``. Without ua-parser, ``device`` gives None and says so once through
``logging.getLogger("protekt.enrichment")``.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import string
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

from protekt._exceptions import ProtektError, ValidationError

if TYPE_CHECKING:
    import geoip2.database
    import geoip2.models

__all__ = [
    "MAX_FORWARDED_ELEMENTS",
    "MAX_FORWARDED_LENGTH",
    "MAX_USER_AGENT_LENGTH",
    "PROXY_HEADERS",
    "ProxyHeader",
    "UNIX_SOCKET_PEER",
    "USER_AGENT_CACHE_SIZE",
    "Enricher",
]

#: Parsed user agents kept in memory (least recently used ones go first).
USER_AGENT_CACHE_SIZE: Final = 4096

#: The longest user agent kept and parsed; longer ones are cut to this length.
MAX_USER_AGENT_LENGTH: Final = 1024

#: The rightmost characters of a ``Forwarded`` header that are read; an element
#: that starts before them ends the walk.
MAX_FORWARDED_LENGTH: Final = 8192

#: The elements of a ``Forwarded`` header read from the right, empty ones included.
MAX_FORWARDED_ELEMENTS: Final = 64

#: In ``trusted_proxies``: the proxy that reaches the application over a Unix socket.
UNIX_SOCKET_PEER: Final = "unix"

#: The headers a proxy may tell the client's address in: ``proxy_header``.
ProxyHeader = Literal["x-forwarded-for", "forwarded"]
PROXY_HEADERS: Final[tuple[ProxyHeader, ...]] = ("x-forwarded-for", "forwarded")

_INSTALL_HINT: Final = "pip install protekt[enrich]"

_log = logging.getLogger("protekt.enrichment")

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 9110, section 5.6.2: the characters of a token.
_TOKEN_CHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
)
_QUOTED_PAIR: Final = re.compile(r"\\(.)", re.DOTALL)
_OBFUSCATED_PORT: Final = re.compile(r"_[A-Za-z0-9._-]+")


class Enricher:
    """Finds what ``emit`` takes as metadata in a WSGI request: ``ip``,
    ``user_agent``, ``device`` and ``location``.

    ``trusted_proxies``: addresses or networks (``"10.0.0.0/8"``) of the proxies in
    front of the application, and ``"unix"`` for a proxy that reaches it over a Unix
    socket (the WSGI server then leaves ``REMOTE_ADDR`` empty). The header they
    write is read only when the peer is one of them, and then only up to the first
    address that is not.
    ``proxy_header``: the header those proxies write, ``"x-forwarded-for"`` (the
    default) or ``"forwarded"`` (RFC 7239). Only that one is read: a proxy passes
    the other on as the client sent it.
    ``geoip_database``: a GeoIP2 or GeoLite2 City (or Country) database file; without
    it there is no ``location``.

    Thread-safe. ``close()`` releases the database; use it as a context manager.
    """

    def __init__(
        self,
        *,
        trusted_proxies: Sequence[str] = (),
        proxy_header: ProxyHeader = "x-forwarded-for",
        geoip_database: str | os.PathLike[str] | None = None,
    ) -> None:
        if proxy_header not in PROXY_HEADERS:
            raise ValidationError(
                f"proxy_header must be one of {list(PROXY_HEADERS)}, "
                f"not {proxy_header!r}",
                field="proxy_header",
            )
        self._proxy_header = proxy_header
        self._trust_unix = _names_unix(trusted_proxies)
        self._trusted = _networks(
            [p for p in trusted_proxies if p != UNIX_SOCKET_PEER]
            if self._trust_unix
            else trusted_proxies
        )
        self._database = None if geoip_database is None else _path(geoip_database)
        self._reader = None if self._database is None else _open(self._database)
        self._city = self._reader is not None and _is_city(self._reader)
        self._lock = threading.Lock()  # guards _reader and _closed
        self._closed = False
        self._reported: set[str] = set()

    # ---- the parts ----------------------------------------------------------------

    def client_ip(self, environ: Mapping[str, Any]) -> str | None:
        """The client's address: the peer (``REMOTE_ADDR``), or, when the peer is a
        trusted proxy, the rightmost forwarded address that is not one.

        The forwarded addresses are the entries of ``X-Forwarded-For`` or, with
        ``proxy_header="forwarded"``, the ``for=`` nodes of ``Forwarded``. An entry
        that is not an address (``for=unknown``, ``for=_hidden``, an element without
        ``for=``, anything malformed) ends the walk at the last address reached.
        None when the peer's address is missing or malformed."""
        remote = environ.get("REMOTE_ADDR")
        peer = _address(remote)
        unix_proxy = self._trust_unix and not remote
        if not unix_proxy and (peer is None or not self._is_trusted(peer)):
            return None if peer is None else str(peer)

        # Each proxy appends the address it saw, so the entries are only as
        # trustworthy as the proxy to their right: walk from the right.
        client = peer
        for address in _forwarded_addresses(environ, self._proxy_header):
            if address is None:
                break
            client = address
            if not self._is_trusted(address):
                break
        return None if client is None else str(client)

    def device(self, user_agent: str) -> dict[str, str] | None:
        """The browser, operating system and device a user agent names, each with
        its version where there is one: ``{"browser": "Firefox 120.0", "os":
        "Ubuntu"}``. Parts the parser does not recognise are left out; None when it
        recognises none, or when ua-parser is not installed."""
        if not isinstance(user_agent, str) or not user_agent.strip():
            return None
        if not self._has_ua_parser():
            return None
        parts = _parse_user_agent(user_agent[:MAX_USER_AGENT_LENGTH])
        return dict(parts) if parts else None

    def location(self, ip: str) -> dict[str, Any] | None:
        """Where an address is: ``city``, ``country`` (ISO code), ``latitude``,
        ``longitude`` and ``time_zone``, those the database knows. None for
        private, loopback and other non-public addresses, addresses the database
        does not hold, and when no database is configured.

        Raises ProtektError after ``close()``."""
        address = _address(ip)
        with self._lock:
            self._check_open()
            if self._reader is None:
                self._report(
                    "database", "location is left out: no geoip_database", logging.INFO
                )
                return None
            if address is None or not address.is_global:
                return None
            record = _lookup(self._reader, str(address), city=self._city)
        return None if record is None else _location(record)

    def from_environ(self, environ: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for ``emit`` found in a WSGI request, among
        ``ip``, ``user_agent``, ``device`` and ``location``; what cannot be found
        is left out. Each endpoint still receives only the metadata it asked for.

        >>> event = engine.emit(  # doctest: +SKIP
        ...     "user.login.succeeded", user=user, **enricher.from_environ(environ)
        ... )
        """
        with self._lock:
            self._check_open()
        found: dict[str, Any] = {}
        ip = self.client_ip(environ)
        if ip is not None:
            found["ip"] = ip

        user_agent = environ.get("HTTP_USER_AGENT")
        if isinstance(user_agent, str) and user_agent.strip():
            found["user_agent"] = user_agent[:MAX_USER_AGENT_LENGTH]
            device = self.device(user_agent)
            if device is not None:
                found["device"] = device

        if ip is not None and self._database is not None:
            location = self.location(ip)
            if location is not None:
                found["location"] = location
        return found

    # ---- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Releases the database. Calling it again does nothing."""
        with self._lock:
            reader, self._reader = self._reader, None
            self._closed = True
            if reader is not None:
                reader.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Enricher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        proxies = [str(n) for n in (*self._trusted[0], *self._trusted[1])]
        return (
            f"Enricher(trusted_proxies={proxies!r}, "
            f"proxy_header={self._proxy_header!r}, geoip_database={self._database!r})"
        )

    # ---- helpers ------------------------------------------------------------------

    def _is_trusted(self, address: _Address) -> bool:
        # An IPv4 address must not be tested against IPv6 networks (ipaddress does
        # not check versions in `in`), so each version has its own list.
        networks = self._trusted[0] if address.version == 4 else self._trusted[1]
        return any(address in network for network in networks)

    def _check_open(self) -> None:
        if self._closed:
            raise ProtektError("the Enricher is closed; make a new one")

    def _has_ua_parser(self) -> bool:
        try:
            import ua_parser  # noqa: F401
        except ImportError:
            self._report(
                "ua-parser",
                f"device is left out: ua-parser is not installed ({_INSTALL_HINT})",
            )
            return False
        return True

    def _report(self, what: str, message: str, level: int = logging.WARNING) -> None:
        # Once per enricher: a missing part is a set-up fact, not a per-request one.
        # Two threads may both say it; that is cheaper than a lock on every call.
        if what not in self._reported:
            self._reported.add(what)
            _log.log(level, "%s", message)


# ---- addresses -----------------------------------------------------------------------


def _names_unix(entries: Sequence[str]) -> bool:
    """Whether the trusted proxies include the one on a Unix socket."""
    if isinstance(entries, str | bytes) or not isinstance(entries, Iterable):
        return False  # _networks refuses it by name
    return UNIX_SOCKET_PEER in entries


def _networks(
    entries: Sequence[str],
) -> tuple[tuple[ipaddress.IPv4Network, ...], tuple[ipaddress.IPv6Network, ...]]:
    """The trusted proxies by IP version, each checked."""
    if isinstance(entries, str | bytes) or not isinstance(entries, Iterable):
        raise ValidationError(
            "trusted_proxies must be a list of addresses or networks, like "
            "['10.0.0.0/8']",
            field="trusted_proxies",
        )
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for entry in entries:
        network = _network(entry)
        if isinstance(network, ipaddress.IPv4Network):
            v4.append(network)
        else:
            v6.append(network)
    return tuple(v4), tuple(v6)


def _network(entry: object) -> _Network:
    try:
        if not isinstance(entry, str):
            raise TypeError
        network = ipaddress.ip_network(entry.strip())
    except (TypeError, ValueError):
        raise ValidationError(
            f"trusted_proxies: {entry!r} is not an address or a network like "
            "'10.0.0.0/8' (with no host bits set)",
            field="trusted_proxies",
        ) from None

    # An IPv4 network written in its IPv4-mapped IPv6 form trusts IPv4 peers.
    if isinstance(network, ipaddress.IPv6Network):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None and network.prefixlen >= 96:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def _address(value: object) -> _Address | None:
    """An address as a peer or a proxy gives it: IPv4 or IPv6, perhaps with a port
    (``1.2.3.4:5678``, ``[2001:db8::1]:443``). IPv4-mapped IPv6 addresses become
    IPv4. None when it is not an address."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest[:1] == ":" and _is_port(rest[1:]))):
            return None
        text = host
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _is_port(port):
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_port(digits: str) -> bool:
    return 0 < len(digits) <= 5 and digits.isascii() and digits.isdigit()


# ---- forwarding headers --------------------------------------------------------------


def _forwarded_addresses(
    environ: Mapping[str, Any], header: ProxyHeader
) -> Iterator[_Address | None]:
    """The addresses the proxies reported in header, the rightmost first: the
    ``for=`` nodes of ``Forwarded``, or the entries of ``X-Forwarded-For``. None for
    an entry that is not an address."""
    if header == "forwarded":
        forwarded = environ.get("HTTP_FORWARDED")
        if not isinstance(forwarded, str):
            return iter(())
        return (_node(node) for node in _forwarded_for(forwarded))
    x_forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
    if not isinstance(x_forwarded_for, str):
        return iter(())
    return (_address(entry) for entry in reversed(x_forwarded_for.split(",")))


def _forwarded_for(header: str) -> Iterator[str]:
    """The ``for=`` values of a ``Forwarded`` header (RFC 7239, section 4), the
    rightmost element first, up to the first element that has none or is not well
    formed. Empty list elements are skipped."""
    # Only the rightmost elements can come from trusted proxies, and they must read
    # the same whatever a client put to their left: read from the left, a client's
    # unbalanced quote would swallow them. So the header is parsed from the right.
    cut = len(header) > MAX_FORWARDED_LENGTH
    text = header[-MAX_FORWARDED_LENGTH:]
    end = len(text)
    for _ in range(MAX_FORWARDED_ELEMENTS):
        end = _skip_space(text, end)
        if end == 0:
            return
        if text[end - 1] == ",":
            end -= 1  # an empty list element, which HTTP says to ignore
            continue

        element = _element_before(text, end)
        if element is None:
            return
        node, end = element
        if node is None or (cut and end < 0):
            return  # no node, or the start of the element was cut off
        yield node
        if end < 0:
            return


def _element_before(text: str, end: int) -> tuple[str | None, int] | None:
    """The ``for=`` value of the forwarded-element that ends at ``end`` (None when
    it has none) and the index of the comma before the element (-1 when the element
    starts the text). None when the element is not well formed."""
    params: dict[str, str] = {}
    pos = end
    while True:
        pos = _skip_space(text, pos)
        if pos > 0 and text[pos - 1] not in ",;":
            pair = _pair_before(text, pos)
            if pair is None or pair[0] in params:
                return None  # each parameter may appear once in an element
            name, value, pos = pair
            params[name] = value
            pos = _skip_space(text, pos)

        if pos == 0:
            return params.get("for"), -1
        if text[pos - 1] == ",":
            return params.get("for"), pos - 1
        if text[pos - 1] != ";":
            return None
        pos -= 1


def _pair_before(text: str, end: int) -> tuple[str, str, int] | None:
    """The ``token=value`` pair that ends at ``end``: its name in lower case, its
    value with the quotes and escapes removed, and the index where it starts. None
    when it is not such a pair."""
    if text[end - 1] == '"':
        quoted = _quoted_before(text, end)
        if quoted is None:
            return None
        value, equals = quoted[0], quoted[1] - 1
    else:
        equals = _token_start(text, end) - 1
        value = text[equals + 1 : end]
        if not value:
            return None

    if equals < 0 or text[equals] != "=":
        return None
    start = _token_start(text, equals)
    if start == equals:
        return None
    return text[start:equals].lower(), value, start


def _quoted_before(text: str, end: int) -> tuple[str, int] | None:
    """The quoted string whose closing quote is at ``end - 1``, unescaped, and the
    index of its opening quote. None when its closing quote is escaped or it has no
    opening quote."""
    if _is_escaped(text, end - 1):
        return None
    start = end - 1
    while True:
        start = text.rfind('"', 0, start)
        if start < 0:
            return None
        if not _is_escaped(text, start):
            return _QUOTED_PAIR.sub(r"\1", text[start + 1 : end - 1]), start


def _is_escaped(text: str, index: int) -> bool:
    """Whether the character at ``index`` is the second of a quoted pair: after an
    odd number of backslashes."""
    start = index
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (index - start) % 2 == 1


def _token_start(text: str, end: int) -> int:
    start = end
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    return start


def _skip_space(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    return end


def _node(value: str) -> _Address | None:
    """The address of a ``for=`` node (RFC 7239, section 6): IPv4, or IPv6 in
    brackets, either perhaps with a port or an obfuscated port (``_p1``). None for
    ``unknown``, an obfuscated identifier (``_hidden``) and anything else, such as
    IPv6 without brackets, where the last group could be taken for a port."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket:
            return None
    else:
        colon = value.find(":")
        host, rest = (value, "") if colon < 0 else (value[:colon], value[colon:])
    if rest and not (rest[0] == ":" and _is_node_port(rest[1:])):
        return None
    if ":" not in host and value.startswith("["):
        return None  # brackets hold IPv6 only
    return _address(host)


def _is_node_port(port: str) -> bool:
    return _is_port(port) or _OBFUSCATED_PORT.fullmatch(port) is not None


# ---- user agents ---------------------------------------------------------------------


@functools.lru_cache(maxsize=USER_AGENT_CACHE_SIZE)
def _parse_user_agent(user_agent: str) -> tuple[tuple[str, str], ...]:
    """The named parts of a user agent, cached: parsing takes many regexes."""
    import ua_parser

    result = ua_parser.parse(user_agent)
    parts: list[tuple[str, str]] = []
    if result.user_agent is not None:
        agent = result.user_agent
        parts.append(("browser", _versioned(agent.family, agent.major, agent.minor)))
    if result.os is not None:
        system = result.os
        parts.append(("os", _versioned(system.family, system.major, system.minor)))
    if result.device is not None:
        parts.append(("device", result.device.family))
    return tuple(parts)


def _versioned(name: str, major: str | None, minor: str | None) -> str:
    version = ".".join(part for part in (major, minor) if part)
    return f"{name} {version}" if major else name


# ---- locations -----------------------------------------------------------------------


def _path(value: object) -> str:
    if not isinstance(value, str | os.PathLike):
        raise ValidationError(
            "geoip_database must be the path of a GeoIP2 or GeoLite2 database",
            field="geoip_database",
        )
    return os.fsdecode(os.fspath(value))


def _open(path: str) -> geoip2.database.Reader:
    try:
        import geoip2.database
        import maxminddb
    except ImportError as exc:
        raise ValidationError(
            f"geoip_database needs the geoip2 package: {_INSTALL_HINT}",
            field="geoip_database",
        ) from exc
    try:
        reader = geoip2.database.Reader(path)
    except FileNotFoundError as exc:
        raise ValidationError(
            f"geoip_database: there is no file {path!r}", field="geoip_database"
        ) from exc
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ValidationError(
            f"geoip_database: {path!r} is not a MaxMind DB file (GeoIP2 or GeoLite2)",
            field="geoip_database",
        ) from exc

    kind = reader.metadata().database_type
    if "City" not in kind and "Country" not in kind:
        reader.close()
        raise ValidationError(
            f"geoip_database: {path!r} is a {kind} database; give a City or Country "
            "database",
            field="geoip_database",
        )
    return reader


def _is_city(reader: geoip2.database.Reader) -> bool:
    return "City" in reader.metadata().database_type


def _lookup(
    reader: geoip2.database.Reader, ip: str, *, city: bool
) -> geoip2.models.Country | None:
    import geoip2.errors

    try:
        return reader.city(ip) if city else reader.country(ip)
    except geoip2.errors.AddressNotFoundError:
        return None


def _location(record: geoip2.models.Country) -> dict[str, Any] | None:
    import geoip2.models

    found: dict[str, Any] = {"country": record.country.iso_code}
    if isinstance(record, geoip2.models.City):
        found = {
            "city": record.city.name,
            **found,
            "latitude": record.location.latitude,
            "longitude": record.location.longitude,
            "time_zone": record.location.time_zone,
        }
    known = {name: value for name, value in found.items() if value is not None}
    return known or None
