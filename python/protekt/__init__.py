"""Protekt: an embeddable webhook engine for Python auth backends.

Signing and verification follow the Standard Webhooks spec, so every receiver library
that speaks it can check what protekt sends::

    import protekt

    wh = protekt.Webhook(protekt.Webhook.generate_secret())
    header = wh.sign("msg_1", 1_700_000_000, b'{"type": "user.login.succeeded"}')
"""

from protekt._core import __version__
from protekt._exceptions import (
    CryptoError,
    InvalidKeyError,
    InvalidTokenError,
    MalformedHeaderError,
    MalformedPayloadError,
    MissingHeaderError,
    NoMatchingSignatureError,
    ProtektError,
    TimestampOutOfToleranceError,
    ValidationError,
    WebhookVerificationError,
)
from protekt._signing import AsymmetricWebhook, Webhook
from protekt._token import ApiToken

__all__ = [
    "ApiToken",
    "AsymmetricWebhook",
    "CryptoError",
    "InvalidKeyError",
    "InvalidTokenError",
    "MalformedHeaderError",
    "MalformedPayloadError",
    "MissingHeaderError",
    "NoMatchingSignatureError",
    "ProtektError",
    "TimestampOutOfToleranceError",
    "ValidationError",
    "Webhook",
    "WebhookVerificationError",
    "__version__",
]
