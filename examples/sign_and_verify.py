"""Signs one authentication event with each scheme and verifies it as a receiver would.

Run it through ``examples/demo.sh``, which builds and installs protekt first.
"""

from __future__ import annotations

import json
import time
import uuid

import protekt

EVENT = {
    "type": "user.login.succeeded",
    "timestamp": "2026-12-03T18:00:00Z",
    "data": {
        "user": {"id": "u_1", "email": "ada@example.com", "name": "Ada Lovelace"},
        "ip": "81.2.69.142",
        "device": {"browser": "Firefox 133", "os": "Linux"},
    },
}


def show_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        print(f"    {name}: {value}")


def signed_request(
    scheme: protekt.Webhook | protekt.AsymmetricWebhook, body: bytes
) -> dict[str, str]:
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": scheme.sign(msg_id, timestamp, body),
    }


def check(
    receiver: protekt.Webhook | protekt.AsymmetricWebhook,
    body: bytes,
    headers: dict[str, str],
) -> str:
    try:
        payload = receiver.verify(body, headers)
    except protekt.WebhookVerificationError as exc:
        return f"refused ({type(exc).__name__}: {exc})"
    return f"verified, event type {payload['type']!r}"


def demo_shared_secret(body: bytes) -> None:
    secret = protekt.Webhook.generate_secret()
    sender = protekt.Webhook(secret)
    headers = signed_request(sender, body)
    print("Shared secret (HMAC-SHA256, v1):")
    show_headers(headers)

    receiver = protekt.Webhook(secret)
    print("  receiver, body as sent:   ", check(receiver, body, headers))
    tampered = body.replace(b"ada@", b"eve@")
    print("  receiver, body tampered:  ", check(receiver, tampered, headers))

    # Rotation: the sender signs with the new and the old secret for a while, so
    # receivers still holding the old one keep accepting.
    new_secret = protekt.Webhook.generate_secret()
    rotating = protekt.Webhook(new_secret, previous_secrets=[secret])
    rotated_headers = signed_request(rotating, body)
    print("  during rotation, signatures:", rotated_headers["webhook-signature"])
    print("  receiver with old secret: ", check(receiver, body, rotated_headers))


def demo_ed25519(body: bytes) -> None:
    private_key = protekt.AsymmetricWebhook.generate_key()
    sender = protekt.AsymmetricWebhook(private_key)
    headers = signed_request(sender, body)
    print("Ed25519 (v1a), receiver holds only the public key:")
    show_headers(headers)
    receiver = protekt.AsymmetricWebhook(sender.public_key)
    print("  receiver, body as sent:   ", check(receiver, body, headers))


def demo_api_token() -> None:
    token = protekt.ApiToken()
    print("API token:")
    show_headers(token.headers())
    token.verify(token.headers())
    print("  receiver: token accepted")
    try:
        token.verify({"Authorization": "Bearer guessed"})
    except protekt.InvalidTokenError as exc:
        print(f"  receiver, wrong token: refused ({exc})")


def main() -> None:
    body = json.dumps(EVENT, separators=(",", ":")).encode()
    print(f"protekt {protekt.__version__}; event body: {body.decode()}\n")
    demo_shared_secret(body)
    print()
    demo_ed25519(body)
    print()
    demo_api_token()


if __name__ == "__main__":
    main()
