"""The test vectors of the Standard Webhooks spec, reproduced byte for byte."""

from __future__ import annotations

import json
from typing import NamedTuple

import pytest

import protekt


class Vector(NamedTuple):
    secret: str
    msg_id: str
    timestamp: int
    body: bytes
    signature: str


VECTORS = [
    pytest.param(
        Vector(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
            signature="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
        id="spec-vector-1",
    ),
    pytest.param(
        Vector(
            secret="whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            msg_id="msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            timestamp=1649367553,
            body=b'{"email":"test@example.com","username":"test_user"}',
            signature="v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ),
        id="spec-vector-2",
    ),
]


@pytest.mark.parametrize("vector", VECTORS)
def test_signing_reproduces_the_spec_signature(vector) -> None:
    webhook = protekt.Webhook(vector.secret)

    assert (
        webhook.sign(vector.msg_id, vector.timestamp, vector.body) == vector.signature
    )


@pytest.mark.parametrize("vector", VECTORS)
def test_the_spec_signature_verifies_and_yields_the_body_as_json(
    vector, make_headers
) -> None:
    webhook = protekt.Webhook(vector.secret)
    headers = make_headers(vector.msg_id, vector.timestamp, vector.signature)

    payload = webhook.verify(vector.body, headers, now=vector.timestamp)

    assert payload == json.loads(vector.body)


@pytest.mark.parametrize("vector", VECTORS)
def test_the_spec_signature_verifies_against_a_str_body(vector, make_headers) -> None:
    webhook = protekt.Webhook(vector.secret)
    headers = make_headers(vector.msg_id, vector.timestamp, vector.signature)

    payload = webhook.verify(vector.body.decode(), headers, now=vector.timestamp)

    assert payload == json.loads(vector.body)


@pytest.mark.parametrize("vector", VECTORS)
def test_the_spec_signature_does_not_verify_under_the_other_vectors_secret(
    vector, make_headers
) -> None:
    other = next(v.values[0] for v in VECTORS if v.values[0] != vector)
    headers = make_headers(vector.msg_id, vector.timestamp, vector.signature)

    with pytest.raises(protekt.NoMatchingSignatureError):
        protekt.Webhook(other.secret).verify(vector.body, headers, now=vector.timestamp)
