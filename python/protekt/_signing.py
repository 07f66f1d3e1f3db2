"""Standard Webhooks signatures: shared secrets (v1) and Ed25519 keys (v1a)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from protekt import _core
from protekt._exceptions import InvalidKeyError, ValidationError

__all__ = ["AsymmetricWebhook", "Webhook", "header_value"]

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)

Body = bytes | bytearray | memoryview | str
Timestamp = int | datetime


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Looks up a header by its lower-case name in any mapping of headers.

    Case-insensitive mappings (Django's ``request.headers``, Flask's, httpx's) answer
    directly; a plain dict with other casing is scanned once.
    """
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


# Timestamps and tolerances travel as signed 64-bit integers in the core.
_MAX_SECONDS: Final = 2**63 - 1


def _seconds(timestamp: Timestamp, field: str) -> int:
    """Unix seconds from an int or a datetime (naive ones are local time)."""
    if isinstance(timestamp, datetime):
        seconds = int(timestamp.timestamp())
    elif isinstance(timestamp, int) and not isinstance(timestamp, bool):
        seconds = timestamp
    else:
        raise ValidationError(
            f"{field} must be an int of Unix seconds or a datetime, "
            f"not {type(timestamp).__name__}",
            field=field,
        )
    if not 0 <= seconds <= _MAX_SECONDS:
        raise ValidationError(
            f"{field} must be between 0 and 2**63 - 1 seconds, not {seconds}",
            field=field,
        )
    return seconds


def _tolerance_seconds(tolerance: timedelta | int) -> int:
    if isinstance(tolerance, timedelta):
        seconds = tolerance.total_seconds()
    elif isinstance(tolerance, int) and not isinstance(tolerance, bool):
        seconds = tolerance
    else:
        raise ValidationError(
            "tolerance must be a timedelta or an int of seconds, "
            f"not {type(tolerance).__name__}",
            field="tolerance",
        )
    if seconds < 0:
        raise ValidationError("tolerance cannot be negative", field="tolerance")
    if seconds > _MAX_SECONDS:
        raise ValidationError(
            "tolerance must be below 2**63 seconds", field="tolerance"
        )
    return int(seconds)


def _body(body: Body) -> bytes | str:
    if isinstance(body, bytes | str):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    raise ValidationError(
        f"body must be bytes or str, not {type(body).__name__}", field="body"
    )


class _Scheme:
    """What Webhook and AsymmetricWebhook share: sign with every key, verify any."""

    _signer: _core.Signer | None
    _verifier: _core.Verifier
    _key_count: int

    def __init__(
        self,
        keys: Sequence[str | bytes],
        *,
        can_sign: bool,
        tolerance: timedelta | int,
    ) -> None:
        self._signer = _core.Signer(keys) if can_sign else None
        self._verifier = _core.Verifier(keys, _tolerance_seconds(tolerance))
        self._key_count = len(keys)

    @property
    def tolerance(self) -> timedelta:
        """How far webhook-timestamp may be from now, either way."""
        return timedelta(seconds=self._verifier.tolerance)

    def sign(self, msg_id: str, timestamp: Timestamp, body: Body) -> str:
        """Returns the webhook-signature header value for one message.

        With several keys (a rotation in progress) the value holds one signature per
        key, space-separated, the newest first.
        """
        if self._signer is None:
            raise InvalidKeyError(
                "a public key (whpk_) can only verify; sign with the whsk_ private key",
                field="key",
            )
        if not isinstance(msg_id, str) or not msg_id:
            raise ValidationError("msg_id must be a non-empty str", field="msg_id")
        return self._signer.sign(msg_id, _seconds(timestamp, "timestamp"), _body(body))

    def verify(
        self,
        body: Body,
        headers: Mapping[str, str],
        *,
        now: Timestamp | None = None,
    ) -> Any:
        """Checks a received webhook and returns its parsed JSON payload.

        ``headers`` is any mapping of header names to values; names are matched
        without regard to case. ``body`` is the raw request body, exactly as received.
        ``now`` replaces the clock, for replaying a stored request.

        Raises a subclass of ``WebhookVerificationError`` that says what failed.
        """
        if now is None:
            return self._verifier.verify_request(body, headers)
        return self._verifier.verify_request(body, headers, _seconds(now, "now"))


class Webhook(_Scheme):
    """Signs and verifies webhooks with a shared secret (HMAC-SHA256, ``v1,``).

    >>> secret = Webhook.generate_secret()
    >>> wh = Webhook(secret)
    >>> header = wh.sign("msg_1", 1_700_000_000, b'{"ok": true}')
    >>> wh.verify(b'{"ok": true}', {"webhook-id": "msg_1",
    ...     "webhook-timestamp": "1700000000", "webhook-signature": header},
    ...     now=1_700_000_000)
    {'ok': True}

    ``secret`` is ``"whsec_"`` followed by base64 of 24 to 64 bytes, or the raw key
    bytes. While a secret is being rotated, pass the old ones as ``previous_secrets``:
    ``sign`` then signs with each, and ``verify`` accepts a signature by any.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        previous_secrets: Sequence[str | bytes] = (),
        tolerance: timedelta | int = DEFAULT_TOLERANCE,
    ) -> None:
        keys = [secret, *previous_secrets]
        for key in keys:
            _check_key_type(key, field="secret")
            if isinstance(key, str) and not key.startswith("whsec_"):
                raise InvalidKeyError(
                    _wrong_prefix("whsec_", key, "AsymmetricWebhook"), field="secret"
                )
        super().__init__(keys, can_sign=True, tolerance=tolerance)

    @staticmethod
    def generate_secret() -> str:
        """A new ``whsec_`` secret of 32 bytes from OpenSSL's CSPRNG."""
        return _core.generate_secret()

    def __repr__(self) -> str:
        return (
            f"Webhook(secret='whsec_…', previous_secrets={self._key_count - 1}, "
            f"tolerance={self._verifier.tolerance}s)"
        )


class AsymmetricWebhook(_Scheme):
    """Signs and verifies webhooks with Ed25519 keys (``v1a,``).

    ``key`` is a private key (``whsk_``, signs and verifies) or a public key
    (``whpk_``, verifies only). Receivers get the public key, so a leaked receiver
    configuration cannot forge messages.
    """

    def __init__(
        self,
        key: str,
        *,
        previous_keys: Sequence[str] = (),
        tolerance: timedelta | int = DEFAULT_TOLERANCE,
    ) -> None:
        keys = [key, *previous_keys]
        for k in keys:
            _check_key_type(k, field="key")
            if not k.startswith(("whsk_", "whpk_")):
                raise InvalidKeyError(
                    _wrong_prefix("whsk_ or whpk_", k, "Webhook"), field="key"
                )
        can_sign = all(k.startswith("whsk_") for k in keys)
        super().__init__(keys, can_sign=can_sign, tolerance=tolerance)
        self._public_key = _core.public_key_of(key) if key.startswith("whsk_") else key

    @staticmethod
    def generate_key() -> str:
        """A new ``whsk_`` Ed25519 private key from OpenSSL's CSPRNG."""
        return _core.generate_private_key()

    @property
    def public_key(self) -> str:
        """The ``whpk_`` public key to give receivers."""
        return self._public_key

    def __repr__(self) -> str:
        return (
            f"AsymmetricWebhook(public_key={self._public_key!r}, "
            f"previous_keys={self._key_count - 1}, "
            f"tolerance={self._verifier.tolerance}s)"
        )


def _check_key_type(key: object, *, field: str) -> None:
    """Shared secrets may be raw bytes; Ed25519 keys are always text."""
    allowed = (str, bytes) if field == "secret" else (str,)
    if not isinstance(key, allowed):
        kinds = " or ".join(t.__name__ for t in allowed)
        raise ValidationError(
            f"a {field} must be {kinds}, not {type(key).__name__}", field=field
        )


def _wrong_prefix(wanted: str, key: str, other: str) -> str:
    found = next((p for p in ("whsec_", "whsk_", "whpk_") if key.startswith(p)), None)
    if found is None:
        return f"the key must start with {wanted}, but it has no known prefix"
    return (
        f"the key must start with {wanted}, but it starts with {found}; "
        f"{found} keys belong to protekt.{other}"
    )
