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
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from protekt._exceptions import ProtektError, ValidationError

if TYPE_CHECKING:
    import geoip2.database
    import geoip2.models

__all__ = [
    "MAX_USER_AGENT_LENGTH",
    "UNIX_SOCKET_PEER",
    "USER_AGENT_CACHE_SIZE",
    "Enricher",
]

#: Parsed user agents kept in memory (least recently used ones go first).
USER_AGENT_CACHE_SIZE: Final = 4096

#: The longest user agent kept and parsed; longer ones are cut to this length.
MAX_USER_AGENT_LENGTH: Final = 1024

#: In ``trusted_proxies``: the proxy that reaches the application over a Unix socket.
UNIX_SOCKET_PEER: Final = "unix"

_INSTALL_HINT: Final = "pip install protekt[enrich]"

_log = logging.getLogger("protekt.enrichment")

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Enricher:
    """Finds what ``emit`` takes as metadata in a WSGI request: ``ip``,
    ``user_agent``, ``device`` and ``location``.

    ``trusted_proxies``: addresses or networks (``"10.0.0.0/8"``) of the proxies in
    front of the application, and ``"unix"`` for a proxy that reaches it over a Unix
    socket (the WSGI server then leaves ``REMOTE_ADDR`` empty). ``X-Forwarded-For``
    is read only when the peer is one of them, and then only up to the first
    address that is not.
    ``geoip_database``: a GeoIP2 or GeoLite2 City (or Country) database file; without
    it there is no ``location``.

    Thread-safe. ``close()`` releases the database; use it as a context manager.
    """

    def __init__(
        self,
        *,
        trusted_proxies: Sequence[str] = (),
        geoip_database: str | os.PathLike[str] | None = None,
    ) -> None:
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
        trusted proxy, the rightmost ``X-Forwarded-For`` address that is not one.
        None when the peer's address is missing or malformed."""
        remote = environ.get("REMOTE_ADDR")
        peer = _address(remote)
        unix_proxy = self._trust_unix and not remote
        if not unix_proxy and (peer is None or not self._is_trusted(peer)):
            return None if peer is None else str(peer)

        # Each proxy appends the address it saw, so the entries are only as
        # trustworthy as the proxy to their right: walk from the right.
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if not isinstance(forwarded, str) or not forwarded.strip():
            return None if peer is None else str(peer)
        client = peer
        for entry in reversed(forwarded.split(",")):
            address = _address(entry)
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
            f"Enricher(trusted_proxies={proxies!r}, geoip_database={self._database!r})"
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
