"""Protekt: an embeddable webhook engine for Python auth backends.

Signing and verification follow the Standard Webhooks spec, so every receiver library
that speaks it can check what protekt sends::

    import protekt

    wh = protekt.Webhook(protekt.Webhook.generate_secret())
    header = wh.sign("msg_1", 1_700_000_000, b'{"type": "user.login.succeeded"}')
"""

from protekt._config import (
    AUTH_EVENTS,
    ENGINE_EVENTS,
    Payload,
    Retry,
    SharedSecret,
    SmtpRelay,
)
from protekt._core import __version__
from protekt._dead_letters import DeadLetter, DeadLetterPage, DeadLetterQueue
from protekt._engine import (
    Attempt,
    Delivery,
    DeliveryStatus,
    EmitHandle,
    Endpoint,
    EndpointHealth,
    Endpoints,
    EndpointStatus,
    Engine,
    Event,
    Verification,
)
from protekt._exceptions import (
    CryptoError,
    EngineClosedError,
    InvalidKeyError,
    InvalidTokenError,
    MalformedHeaderError,
    MalformedPayloadError,
    MissingHeaderError,
    NoMatchingSignatureError,
    NotFoundError,
    ProtektError,
    StorageError,
    TimestampOutOfToleranceError,
    ValidationError,
    WebhookVerificationError,
)
from protekt._signing import AsymmetricWebhook, Webhook
from protekt._stats import DeliveryPage, EndpointStats, EngineMetrics
from protekt._token import ApiToken

__all__ = [
    "AUTH_EVENTS",
    "ApiToken",
    "AsymmetricWebhook",
    "Attempt",
    "CryptoError",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterQueue",
    "Delivery",
    "DeliveryPage",
    "DeliveryStatus",
    "ENGINE_EVENTS",
    "EmitHandle",
    "Endpoint",
    "EndpointHealth",
    "EndpointStats",
    "EndpointStatus",
    "Endpoints",
    "Engine",
    "EngineClosedError",
    "EngineMetrics",
    "Event",
    "InvalidKeyError",
    "InvalidTokenError",
    "MalformedHeaderError",
    "MalformedPayloadError",
    "MissingHeaderError",
    "NoMatchingSignatureError",
    "NotFoundError",
    "Payload",
    "ProtektError",
    "Retry",
    "SharedSecret",
    "SmtpRelay",
    "StorageError",
    "TimestampOutOfToleranceError",
    "ValidationError",
    "Verification",
    "Webhook",
    "WebhookVerificationError",
    "__version__",
]
