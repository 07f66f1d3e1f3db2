"""API-token authentication: one header whose value the receiver knows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from protekt import _core
from protekt._exceptions import InvalidTokenError, MissingHeaderError, ValidationError
from protekt._signing import header_value

__all__ = ["ApiToken"]

DEFAULT_HEADER: Final = "Authorization"
DEFAULT_SCHEME: Final = "Bearer"


class ApiToken:
    """A header sent with every delivery, and the receiver's check of it.

    >>> token = ApiToken(token="prt_example")
    >>> token.headers()
    {'Authorization': 'Bearer prt_example'}
    >>> token.verify({"authorization": "Bearer prt_example"})

    With no ``token`` a new one is generated (``prt_`` and 32 random bytes). The value
    sent is ``"<scheme> <token>"`` when a scheme is set; the scheme defaults to
    ``Bearer`` for the ``Authorization`` header and to none for any other header, and
    ``scheme=""`` sends the bare token.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        header: str = DEFAULT_HEADER,
        scheme: str | None = None,
    ) -> None:
        if not isinstance(header, str):
            raise ValidationError(
                f"header must be a str, not {type(header).__name__}", field="header"
            )
        if token is None:
            token = _core.generate_token()
        if not isinstance(token, str) or not token:
            raise ValidationError("token must be a non-empty str", field="token")
        if scheme is None and header.lower() == DEFAULT_HEADER.lower():
            scheme = DEFAULT_SCHEME
        if scheme is not None and " " in scheme:
            raise ValidationError("scheme must be one word", field="scheme")
        value = f"{scheme} {token}" if scheme else token
        self._native = _core.ApiToken(header, value)
        self._header = header
        self._token = token
        self._scheme = scheme

    @classmethod
    def _from_header_value(cls, header: str, value: str) -> ApiToken:
        """The token that sends exactly ``value`` in ``header``, as stored."""
        if header.lower() == DEFAULT_HEADER.lower():
            scheme, _, rest = value.partition(" ")
            if rest:
                return cls(token=rest, header=DEFAULT_HEADER, scheme=scheme)
        return cls(token=value, header=header, scheme="")

    @property
    def header(self) -> str:
        return self._header

    @property
    def token(self) -> str:
        return self._token

    @property
    def scheme(self) -> str | None:
        return self._scheme

    @property
    def value(self) -> str:
        """The exact header value sent, scheme included."""
        return self._native.value

    def headers(self) -> dict[str, str]:
        """The header to add to a request."""
        return {self._header: self._native.value}

    def verify(self, headers: Mapping[str, str]) -> None:
        """Checks a received request's headers in constant time.

        Raises ``MissingHeaderError`` or ``InvalidTokenError``.
        """
        presented = header_value(headers, self._native.header)
        if presented is None:
            raise MissingHeaderError(f"the {self._header} header is missing")
        if not self._native.matches(presented):
            raise InvalidTokenError(f"the {self._header} header holds the wrong token")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiToken):
            return NotImplemented
        return self._native.header == other._native.header and self._native.matches(
            other.value
        )

    def __hash__(self) -> int:
        return hash((self._native.header, self._native.value))

    def __repr__(self) -> str:
        return f"ApiToken(header={self._header!r}, token='…')"
