"""Interoperation with the Standard Webhooks reference library from PyPI.

A receiver running the reference library must accept what protekt signs, and protekt
must accept what the reference library signs, including rotated multi-signature headers.
The reference library reads the system clock, so messages here are signed "now".
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import time
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

import protekt

webhooks = pytest.importorskip("standardwebhooks.webhooks")
StdWebhook = webhooks.Webhook

# Characters that stress the signed content: JSON escapes, non-ASCII, separators.
ALPHABET = string.ascii_letters + string.digits + ' ."\\/\t\n,:{}éß✓€\u2028😀'


class Message(NamedTuple):
    msg_id: str
    timestamp: int
    body: bytes

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)


def _random_payload(rng: random.Random, depth: int = 0) -> object:
    kind = rng.choice(["str", "int", "list", "dict"] if depth < 3 else ["str", "int"])
    if kind == "str":
        return "".join(rng.choices(ALPHABET, k=rng.randint(0, 40)))
    if kind == "int":
        return rng.randint(-(2**53), 2**53)
    if kind == "list":
        return [_random_payload(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        "".join(rng.choices(ALPHABET, k=rng.randint(1, 12))): _random_payload(
            rng, depth + 1
        )
        for _ in range(rng.randint(0, 4))
    }


@pytest.fixture(params=range(12), ids=lambda seed: f"seed-{seed}")
def message(request: pytest.FixtureRequest) -> Message:
    """A message with a random id and JSON body, reproducible from its seed."""
    rng = random.Random(request.param)
    msg_id = "msg_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24))
    payload = {"type": "user.updated", "data": _random_payload(rng)}
    body = json.dumps(payload, ensure_ascii=rng.random() < 0.5).encode()
    return Message(msg_id, int(time.time()), body)


@pytest.fixture
def secrets() -> list[str]:
    """Three shared secrets: the newest first, as during a rotation."""
    return [protekt.Webhook.generate_secret() for _ in range(3)]


def _headers(message: Message, signature: str) -> dict[str, str]:
    return {
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(message.timestamp),
        "webhook-signature": signature,
    }


def test_protekt_signs_exactly_what_the_reference_signs(secrets, message) -> None:
    ours = protekt.Webhook(secrets[0]).sign(
        message.msg_id, message.timestamp, message.body
    )
    theirs = StdWebhook(secrets[0]).sign(
        message.msg_id, message.moment, message.body.decode()
    )

    assert ours == theirs


def test_the_reference_accepts_a_protekt_signature(secrets, message) -> None:
    signature = protekt.Webhook(secrets[0]).sign(
        message.msg_id, message.timestamp, message.body
    )

    payload = StdWebhook(secrets[0]).verify(message.body, _headers(message, signature))

    assert payload == json.loads(message.body)


def test_protekt_accepts_a_reference_signature(secrets, message) -> None:
    signature = StdWebhook(secrets[0]).sign(
        message.msg_id, message.moment, message.body.decode()
    )

    payload = protekt.Webhook(secrets[0]).verify(
        message.body, _headers(message, signature)
    )

    assert payload == json.loads(message.body)


@pytest.mark.parametrize("receiver", [0, 1, 2], ids=["newest", "middle", "oldest"])
def test_the_reference_accepts_a_rotated_protekt_header_under_any_secret(
    secrets, message, receiver
) -> None:
    sender = protekt.Webhook(secrets[0], previous_secrets=secrets[1:])
    signature = sender.sign(message.msg_id, message.timestamp, message.body)

    payload = StdWebhook(secrets[receiver]).verify(
        message.body, _headers(message, signature)
    )

    assert len(signature.split(" ")) == len(secrets)
    assert payload == json.loads(message.body)


@pytest.mark.parametrize("receiver", [0, 1, 2], ids=["newest", "middle", "oldest"])
def test_protekt_accepts_a_rotated_reference_header_under_any_secret(
    secrets, message, receiver
) -> None:
    signature = " ".join(
        StdWebhook(secret).sign(message.msg_id, message.moment, message.body.decode())
        for secret in secrets
    )

    payload = protekt.Webhook(secrets[receiver]).verify(
        message.body, _headers(message, signature)
    )

    assert payload == json.loads(message.body)


def test_a_rotating_protekt_receiver_accepts_the_reference_on_an_old_secret(
    secrets, message
) -> None:
    receiver = protekt.Webhook(secrets[0], previous_secrets=secrets[1:])
    signature = StdWebhook(secrets[-1]).sign(
        message.msg_id, message.moment, message.body.decode()
    )

    payload = receiver.verify(message.body, _headers(message, signature))

    assert payload == json.loads(message.body)


@pytest.mark.parametrize("size", [24, 64], ids=["24-bytes", "64-bytes"])
def test_secrets_at_the_length_limits_interoperate(size, message) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(size)).decode()
    signature = protekt.Webhook(secret).sign(
        message.msg_id, message.timestamp, message.body
    )

    payload = StdWebhook(secret).verify(message.body, _headers(message, signature))

    assert payload == json.loads(message.body)


def test_the_reference_refuses_a_protekt_signature_under_another_secret(
    secrets, message
) -> None:
    signature = protekt.Webhook(secrets[0]).sign(
        message.msg_id, message.timestamp, message.body
    )

    with pytest.raises(webhooks.WebhookVerificationError):
        StdWebhook(secrets[1]).verify(message.body, _headers(message, signature))
