"""The exceptions protekt raises: one tree, one root.

    ProtektError
    ├── ValidationError (also a ValueError): an argument was refused; .field names it
    │   └── InvalidKeyError: a secret, key or token could not be parsed
    ├── CryptoError: OpenSSL failed where it should not
    ├── StorageError: the data directory could not be read or written
    ├── NotFoundError (also a LookupError): no endpoint or event with that id
    ├── EngineClosedError: the engine was closed
    └── WebhookVerificationError: a received webhook was refused
        ├── MissingHeaderError
        ├── MalformedHeaderError
        ├── TimestampOutOfToleranceError
        ├── NoMatchingSignatureError
        ├── InvalidTokenError
        └── MalformedPayloadError

The C++ core raises these same classes: its exceptions are translated at the boundary,
so ``except protekt.ProtektError`` catches everything the package raises on purpose.
"""

from __future__ import annotations


class ProtektError(Exception):
    """Root of every exception protekt raises."""


class ValidationError(ProtektError, ValueError):
    """An argument or configuration value was refused.

    ``field`` names the argument, for example ``"secret"`` or ``"url"``.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidKeyError(ValidationError):
    """A secret, key or token has the wrong prefix, bad base64, or a bad length."""


class CryptoError(ProtektError):
    """OpenSSL failed (allocation, missing provider); not caused by the caller."""


class StorageError(ProtektError):
    """The data directory could not be read or written (disk full, permissions).

    Nothing committed before the failure is lost.
    """


class NotFoundError(ProtektError, LookupError):
    """No endpoint, event or delivery has the given id."""


class EngineClosedError(ProtektError):
    """The engine was closed; open a new one."""


class WebhookVerificationError(ProtektError):
    """A received webhook was refused. Answer the sender with 400."""


class MissingHeaderError(WebhookVerificationError):
    """A required header is absent."""


class MalformedHeaderError(WebhookVerificationError):
    """A header is present but not in the form the spec gives it."""


class TimestampOutOfToleranceError(WebhookVerificationError):
    """webhook-timestamp is too far in the past (a replay) or in the future."""


class NoMatchingSignatureError(WebhookVerificationError):
    """No signature in webhook-signature matches the body under any known key."""


class InvalidTokenError(WebhookVerificationError):
    """The API token header carries a value other than the configured one."""


class MalformedPayloadError(WebhookVerificationError):
    """The signature matched, but the body is not the JSON the sender promised."""
