"""Signing and verifying webhooks: round trips, tampering, tolerance, rotation, keys."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

import pytest

import protekt


def whsec(size: int) -> str:
    """A whsec_ secret of `size` random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


def entries(signature_header: str) -> list[str]:
    return signature_header.split(" ")


# ---- round trips ---------------------------------------------------------------------


def test_a_signed_webhook_verifies_and_yields_its_payload(
    scheme, make_headers, msg_id, body, payload, now
) -> None:
    headers = make_headers(msg_id, now, scheme.sign(msg_id, now, body))

    assert scheme.verify(body, headers, now=now) == payload


def test_a_shared_secret_signs_with_one_v1_entry(webhook, msg_id, body, now) -> None:
    signature = webhook.sign(msg_id, now, body)

    version, encoded = signature.split(",")
    assert version == "v1"
    assert len(base64.b64decode(encoded, validate=True)) == 32


def test_an_ed25519_key_signs_with_one_v1a_entry(
    asymmetric_webhook, msg_id, body, now
) -> None:
    signature = asymmetric_webhook.sign(msg_id, now, body)

    version, encoded = signature.split(",")
    assert version == "v1a"
    assert len(base64.b64decode(encoded, validate=True)) == 64


def test_the_same_message_signed_twice_gives_the_same_hmac_signature(
    webhook, msg_id, body, now
) -> None:
    assert webhook.sign(msg_id, now, body) == webhook.sign(msg_id, now, body)


def test_a_public_key_verifies_what_its_private_key_signed(
    asymmetric_webhook, make_headers, msg_id, body, payload, now
) -> None:
    receiver = protekt.AsymmetricWebhook(asymmetric_webhook.public_key)
    signature = asymmetric_webhook.sign(msg_id, now, body)

    assert (
        receiver.verify(body, make_headers(msg_id, now, signature), now=now) == payload
    )


def test_the_public_key_is_derived_from_the_private_key(private_key) -> None:
    public_key = protekt.AsymmetricWebhook(private_key).public_key

    assert public_key.startswith("whpk_")
    assert len(base64.b64decode(public_key.removeprefix("whpk_"))) == 32
    assert protekt.AsymmetricWebhook(public_key).public_key == public_key


def test_a_verify_only_public_key_refuses_to_sign(
    asymmetric_webhook, msg_id, body, now
) -> None:
    receiver = protekt.AsymmetricWebhook(asymmetric_webhook.public_key)

    with pytest.raises(protekt.InvalidKeyError, match="whsk_") as excinfo:
        receiver.sign(msg_id, now, body)
    assert excinfo.value.field == "key"


def test_another_ed25519_key_does_not_verify_the_signature(
    asymmetric_webhook, make_headers, msg_id, body, now
) -> None:
    stranger = protekt.AsymmetricWebhook(protekt.AsymmetricWebhook.generate_key())
    headers = make_headers(msg_id, now, asymmetric_webhook.sign(msg_id, now, body))

    with pytest.raises(protekt.NoMatchingSignatureError):
        stranger.verify(body, headers, now=now)


def test_a_shared_secret_ignores_ed25519_signatures(
    webhook, asymmetric_webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, asymmetric_webhook.sign(msg_id, now, body))

    with pytest.raises(protekt.NoMatchingSignatureError, match="v1 for whsec_"):
        webhook.verify(body, headers, now=now)


def test_an_ed25519_key_ignores_hmac_signatures(
    webhook, asymmetric_webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    with pytest.raises(protekt.NoMatchingSignatureError):
        asymmetric_webhook.verify(body, headers, now=now)


def test_generated_secrets_hold_32_random_bytes() -> None:
    first, second = protekt.Webhook.generate_secret(), protekt.Webhook.generate_secret()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_generated_private_keys_differ() -> None:
    first = protekt.AsymmetricWebhook.generate_key()
    second = protekt.AsymmetricWebhook.generate_key()

    assert first.startswith("whsk_")
    assert first != second


# ---- what a body and a timestamp may be ----------------------------------------------


@pytest.fixture(
    params=[
        pytest.param(bytes, id="bytes"),
        pytest.param(bytes.decode, id="str"),
        pytest.param(bytearray, id="bytearray"),
        pytest.param(memoryview, id="memoryview"),
    ]
)
def as_body_type(request):
    """Converts raw body bytes to each type a body may be given as."""
    return request.param


def test_every_body_type_signs_like_bytes(
    webhook, as_body_type, msg_id, body, now
) -> None:
    signature = webhook.sign(msg_id, now, as_body_type(body))

    assert signature == webhook.sign(msg_id, now, body)


def test_every_body_type_verifies(
    webhook, delivery, as_body_type, body, payload, now
) -> None:
    assert webhook.verify(as_body_type(body), delivery, now=now) == payload


@pytest.mark.parametrize(
    "bad_body", [pytest.param({"a": 1}, id="dict"), pytest.param(42, id="int")]
)
def test_a_body_of_another_type_is_refused(webhook, bad_body, msg_id, now) -> None:
    with pytest.raises(protekt.ValidationError, match=type(bad_body).__name__) as exc:
        webhook.sign(msg_id, now, bad_body)
    assert exc.value.field == "body"


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param(UTC, id="utc"),
        pytest.param(timezone(timedelta(hours=5, minutes=30)), id="utc+0530"),
        pytest.param(timezone(timedelta(hours=-8)), id="utc-0800"),
    ],
)
def test_an_aware_datetime_signs_like_its_unix_seconds(
    webhook, zone, msg_id, body, now
) -> None:
    moment = datetime.fromtimestamp(now, tz=zone)

    assert webhook.sign(msg_id, moment, body) == webhook.sign(msg_id, now, body)


def test_fractions_of_a_second_are_dropped_from_a_datetime(
    webhook, msg_id, body, now
) -> None:
    moment = datetime.fromtimestamp(now, tz=UTC) + timedelta(milliseconds=999)

    assert webhook.sign(msg_id, moment, body) == webhook.sign(msg_id, now, body)


def test_the_verifier_clock_may_be_a_datetime(
    webhook, delivery, body, payload, now
) -> None:
    clock = datetime.fromtimestamp(now, tz=UTC)

    assert webhook.verify(body, delivery, now=clock) == payload


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param(1_700_000_000.0, id="float"),
        pytest.param("1700000000", id="str"),
        pytest.param(True, id="bool"),
    ],
)
def test_a_timestamp_that_is_not_int_or_datetime_is_refused(
    webhook, timestamp, msg_id, body
) -> None:
    with pytest.raises(protekt.ValidationError) as excinfo:
        webhook.sign(msg_id, timestamp, body)
    assert excinfo.value.field == "timestamp"


def test_an_empty_message_id_is_refused(webhook, body, now) -> None:
    with pytest.raises(protekt.ValidationError) as excinfo:
        webhook.sign("", now, body)
    assert excinfo.value.field == "msg_id"


def test_without_a_given_clock_the_system_clock_is_used(
    webhook, make_headers, msg_id, body, payload, now
) -> None:
    current = int(time.time())
    fresh = make_headers(msg_id, current, webhook.sign(msg_id, current, body))
    stale = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    assert webhook.verify(body, fresh) == payload
    with pytest.raises(protekt.TimestampOutOfToleranceError):
        webhook.verify(body, stale)


# ---- tampering -----------------------------------------------------------------------

Tamper = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


def _flip_one_byte(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :], headers


def _append_newline(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return body + b"\n", headers


def _prepend_space(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return b" " + body, headers


def _widen_separator(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return body.replace(b": ", b":  ", 1), headers


def _truncate_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return body[:-1], headers


def _change_id(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return body, {**headers, "webhook-id": headers["webhook-id"] + "x"}


def _change_timestamp(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    later = str(int(headers["webhook-timestamp"]) + 1)
    return body, {**headers, "webhook-timestamp": later}


def _pad_timestamp_with_zero(
    body: bytes, headers: dict[str, str]
) -> tuple[bytes, dict]:
    return body, {**headers, "webhook-timestamp": "0" + headers["webhook-timestamp"]}


def _flip_signature_bit(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    raw = bytearray(base64.b64decode(headers["webhook-signature"].split(",")[1]))
    raw[0] ^= 0x80
    forged = "v1," + base64.b64encode(bytes(raw)).decode()
    return body, {**headers, "webhook-signature": forged}


def _truncate_signature(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    version, encoded = headers["webhook-signature"].split(",")
    short = base64.b64encode(base64.b64decode(encoded)[:-1]).decode()
    return body, {**headers, "webhook-signature": f"{version},{short}"}


def _bad_base64_signature(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    return body, {**headers, "webhook-signature": "v1,not*base64!"}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_flip_one_byte, id="body-one-byte-changed"),
        pytest.param(_append_newline, id="body-newline-appended"),
        pytest.param(_prepend_space, id="body-space-prepended"),
        pytest.param(_widen_separator, id="body-space-added-inside"),
        pytest.param(_truncate_body, id="body-last-byte-dropped"),
        pytest.param(_change_id, id="id-changed"),
        pytest.param(_change_timestamp, id="timestamp-one-second-later"),
        pytest.param(_pad_timestamp_with_zero, id="timestamp-zero-padded"),
        pytest.param(_flip_signature_bit, id="signature-one-bit-flipped"),
        pytest.param(_truncate_signature, id="signature-truncated"),
        pytest.param(_bad_base64_signature, id="signature-not-base64"),
    ],
)
def test_a_tampered_webhook_matches_no_signature(
    webhook, delivery, body, now, tamper: Tamper
) -> None:
    forged_body, forged_headers = tamper(body, delivery)

    with pytest.raises(protekt.NoMatchingSignatureError):
        webhook.verify(forged_body, forged_headers, now=now)


def test_swapping_id_and_timestamp_breaks_the_signature(
    webhook, make_headers, body, now
) -> None:
    # A numeric id keeps both headers well-formed once swapped, so only the signature
    # can tell the difference.
    numeric_id = str(now + 1)
    signature = webhook.sign(numeric_id, now, body)
    swapped = make_headers(str(now), numeric_id, signature)

    with pytest.raises(protekt.NoMatchingSignatureError):
        webhook.verify(body, swapped, now=now)


def test_an_ed25519_signature_over_a_changed_body_is_refused(
    asymmetric_webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, asymmetric_webhook.sign(msg_id, now, body))

    with pytest.raises(protekt.NoMatchingSignatureError):
        asymmetric_webhook.verify(body + b" ", headers, now=now)


# ---- forms of webhook-signature that must still pass --------------------------------


@pytest.fixture
def good_entry(webhook, msg_id, body, now) -> str:
    return webhook.sign(msg_id, now, body)


@pytest.fixture
def wrong_entry(msg_id, body, now) -> str:
    return protekt.Webhook(protekt.Webhook.generate_secret()).sign(msg_id, now, body)


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(lambda good, wrong: f"{wrong} {good}", id="good-entry-last"),
        pytest.param(lambda good, wrong: f"{good} {wrong}", id="good-entry-first"),
        pytest.param(lambda good, wrong: f"{wrong}   {good}", id="several-spaces"),
        pytest.param(lambda good, wrong: f" {good} ", id="leading-trailing-space"),
        pytest.param(lambda good, wrong: f"v2,abcd {good}", id="unknown-version"),
        pytest.param(
            lambda good, wrong: f"{good} v1b,abcd", id="unknown-version-after"
        ),
        pytest.param(lambda good, wrong: f"garbage {good}", id="entry-without-comma"),
        pytest.param(lambda good, wrong: f"v1,!!! {good}", id="entry-not-base64"),
    ],
)
def test_a_good_signature_passes_whatever_else_the_header_holds(
    webhook, make_headers, good_entry, wrong_entry, msg_id, body, payload, now, arrange
) -> None:
    headers = make_headers(msg_id, now, arrange(good_entry, wrong_entry))

    assert webhook.verify(body, headers, now=now) == payload


def test_a_header_of_only_unknown_versions_matches_nothing(
    webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, "v2,abcd v0,efgh")

    with pytest.raises(protekt.NoMatchingSignatureError):
        webhook.verify(body, headers, now=now)


# ---- refusals: one class each --------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["webhook-id", "webhook-timestamp", "webhook-signature"]
)
def test_a_missing_header_is_named(webhook, delivery, body, now, header) -> None:
    del delivery[header]

    with pytest.raises(protekt.MissingHeaderError, match=header):
        webhook.verify(body, delivery, now=now)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param("webhook-id", "", id="id-empty"),
        pytest.param("webhook-timestamp", "", id="timestamp-empty"),
        pytest.param("webhook-timestamp", "soon", id="timestamp-a-word"),
        pytest.param("webhook-timestamp", "-1700000000", id="timestamp-negative"),
        pytest.param("webhook-timestamp", "+1700000000", id="timestamp-plus-sign"),
        pytest.param("webhook-timestamp", "1700000000.5", id="timestamp-fractional"),
        pytest.param("webhook-timestamp", " 1700000000", id="timestamp-leading-space"),
        pytest.param("webhook-timestamp", "1700000000 ", id="timestamp-trailing-space"),
        pytest.param("webhook-timestamp", "9" * 25, id="timestamp-overflows-int64"),
        pytest.param("webhook-signature", "", id="signature-empty"),
        pytest.param("webhook-signature", "   ", id="signature-only-spaces"),
        pytest.param("webhook-signature", "v1", id="signature-no-comma"),
        pytest.param("webhook-signature", ",abcd", id="signature-no-version"),
    ],
)
def test_a_malformed_header_is_refused_as_malformed(
    webhook, delivery, body, now, header, value
) -> None:
    delivery[header] = value

    with pytest.raises(protekt.MalformedHeaderError, match=header):
        webhook.verify(body, delivery, now=now)


# ---- the payload --------------------------------------------------------------------

TRICKY_JSON = [
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b"[]", id="empty-array"),
    pytest.param(b'"just a string"', id="top-level-string"),
    pytest.param(b"null", id="top-level-null"),
    pytest.param(b' \t\r\n{"a" : [ 1 , 2 ] }\n ', id="json-whitespace"),
    pytest.param(b'{"n": 123456789012345678901234567890}', id="int-beyond-int64"),
    pytest.param(b'{"n": -9223372036854775809}', id="int-below-int64"),
    pytest.param(b'{"n": 1.0, "m": 1, "k": -0.0}', id="float-versus-int"),
    pytest.param(b'{"n": 1e400, "m": 2.5E-3, "k": 1E+2}', id="exponents"),
    pytest.param(b'{"n": 0.1000000000000000055511151231257827}', id="long-fraction"),
    pytest.param(b'{"n": NaN, "m": -Infinity}', id="nan-and-infinity"),
    pytest.param(b'{"a": 1, "a": 2}', id="duplicate-keys"),
    pytest.param(b'{"b": 1, "a": 2, "c": 3}', id="key-order"),
    pytest.param(rb'{"s": "\"\\\/\b\f\n\r\t"}', id="short-escapes"),
    pytest.param(rb'{"s": "\u00e9\u20ac\ud83d\ude00"}', id="unicode-escapes"),
    pytest.param(rb'{"s": "\ud800"}', id="lone-surrogate-escape"),
    pytest.param('{"ключ": "значение ✓ 😀"}'.encode(), id="utf8-text"),
    pytest.param(b'{"s": "\xe2\x80\xa8"}', id="line-separator"),
    pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
    pytest.param('{"a": "b"}'.encode("utf-16"), id="utf16-bytes"),
    pytest.param(b"[" * 300 + b"]" * 300, id="nested-300-deep"),
    pytest.param(b'{"t": true, "f": false, "z": null}', id="literals"),
]


@pytest.mark.parametrize("body", TRICKY_JSON)
def test_the_payload_is_what_json_loads_makes_of_the_body(
    webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    payload = webhook.verify(body, headers, now=now)

    assert repr(payload) == repr(json.loads(body))


NOT_JSON = [
    pytest.param(b"", id="empty"),
    pytest.param(b"user=u_42&event=login", id="form-encoded"),
    pytest.param(b'{"a": 1,}', id="trailing-comma"),
    pytest.param(b"{'a': 1}", id="single-quotes"),
    pytest.param(b'{"a": 1', id="unterminated-object"),
    pytest.param(b'{"a": "b', id="unterminated-string"),
    pytest.param(b"{} {}", id="two-documents"),
    pytest.param(b'{"n": 01}', id="leading-zero"),
    pytest.param(b'{"n": -}', id="lone-minus"),
    pytest.param(b'{"n": .5}', id="bare-fraction"),
    pytest.param(b'{"s": "a\nb"}', id="raw-newline-in-string"),
    pytest.param(rb'{"s": "\x"}', id="unknown-escape"),
    pytest.param(rb'{"s": "\u12"}', id="short-unicode-escape"),
    pytest.param(b"tru", id="truncated-literal"),
    pytest.param(b'{"name": "\xff"}', id="invalid-utf8"),
    pytest.param(
        b"[" * 100_000,
        id="unclosed-deep-nesting",
    ),
]


@pytest.mark.parametrize("body", NOT_JSON)
def test_a_correctly_signed_body_that_is_not_json_is_refused_as_malformed(
    webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    with pytest.raises(protekt.MalformedPayloadError, match="not JSON") as excinfo:
        webhook.verify(body, headers, now=now)
    # json.loads' own error, kept as the cause; RecursionError for a too deep body.
    assert isinstance(excinfo.value.__cause__, ValueError | RecursionError)


# ---- every refusal under one root ----------------------------------------------------


def _drop_id(webhook, headers, body, now):
    del headers["webhook-id"]
    return body, headers, now


def _garble_signature_header(webhook, headers, body, now):
    headers["webhook-signature"] = "nonsense"
    return body, headers, now


def _arrive_late(webhook, headers, body, now):
    return body, headers, now + 3600


def _alter_body(webhook, headers, body, now):
    return body + b" ", headers, now


def _sign_plain_text(webhook, headers, body, now):
    text = b"plain text"
    headers["webhook-signature"] = webhook.sign(headers["webhook-id"], now, text)
    return text, headers, now


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        pytest.param(_drop_id, protekt.MissingHeaderError, id="missing-header"),
        pytest.param(
            _garble_signature_header, protekt.MalformedHeaderError, id="malformed"
        ),
        pytest.param(_arrive_late, protekt.TimestampOutOfToleranceError, id="late"),
        pytest.param(_alter_body, protekt.NoMatchingSignatureError, id="mismatch"),
        pytest.param(_sign_plain_text, protekt.MalformedPayloadError, id="not-json"),
    ],
)
def test_each_refusal_has_its_own_class_under_one_root(
    webhook, delivery, body, now, spoil, error
) -> None:
    received_body, received_headers, clock = spoil(webhook, delivery, body, now)

    with pytest.raises(protekt.WebhookVerificationError) as excinfo:
        webhook.verify(received_body, received_headers, now=clock)
    assert type(excinfo.value) is error
    assert isinstance(excinfo.value, protekt.ProtektError)
    assert str(excinfo.value)


def test_a_stale_webhook_is_refused_for_its_age_before_its_signature(
    webhook, make_headers, msg_id, body, now
) -> None:
    headers = make_headers(msg_id, now - 3600, "v1,bm90IGEgc2lnbmF0dXJl")

    with pytest.raises(protekt.TimestampOutOfToleranceError):
        webhook.verify(body, headers, now=now)


# ---- tolerance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "clock_offset",
    [pytest.param(300, id="300s-in-the-past"), pytest.param(-300, id="300s-ahead")],
)
def test_a_timestamp_exactly_at_the_tolerance_is_accepted(
    webhook, delivery, body, payload, now, clock_offset
) -> None:
    assert webhook.verify(body, delivery, now=now + clock_offset) == payload


@pytest.mark.parametrize(
    ("clock_offset", "says"),
    [
        pytest.param(301, "301 s in the past", id="301s-in-the-past"),
        pytest.param(-301, "301 s in the future", id="301s-ahead"),
    ],
)
def test_a_timestamp_one_second_beyond_the_tolerance_is_refused(
    webhook, delivery, body, now, clock_offset, says
) -> None:
    with pytest.raises(protekt.TimestampOutOfToleranceError, match=says):
        webhook.verify(body, delivery, now=now + clock_offset)


def test_the_default_tolerance_is_five_minutes(webhook, asymmetric_webhook) -> None:
    assert webhook.tolerance == timedelta(minutes=5)
    assert asymmetric_webhook.tolerance == timedelta(minutes=5)


@pytest.mark.parametrize(
    "tolerance",
    [pytest.param(10, id="int-seconds"), pytest.param(timedelta(seconds=10), id="td")],
)
def test_a_custom_tolerance_moves_the_edge(
    secret, make_headers, msg_id, body, payload, now, tolerance
) -> None:
    webhook = protekt.Webhook(secret, tolerance=tolerance)
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    assert webhook.tolerance == timedelta(seconds=10)
    assert webhook.verify(body, headers, now=now + 10) == payload
    assert webhook.verify(body, headers, now=now - 10) == payload
    with pytest.raises(protekt.TimestampOutOfToleranceError):
        webhook.verify(body, headers, now=now + 11)
    with pytest.raises(protekt.TimestampOutOfToleranceError):
        webhook.verify(body, headers, now=now - 11)


def test_a_zero_tolerance_accepts_only_the_very_second(
    private_key, make_headers, msg_id, body, payload, now
) -> None:
    webhook = protekt.AsymmetricWebhook(private_key, tolerance=0)
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    assert webhook.verify(body, headers, now=now) == payload
    with pytest.raises(protekt.TimestampOutOfToleranceError):
        webhook.verify(body, headers, now=now + 1)


@pytest.mark.parametrize(
    "tolerance",
    [
        pytest.param(-1, id="int-seconds"),
        pytest.param(timedelta(seconds=-1), id="timedelta"),
        pytest.param(timedelta(minutes=-5), id="minus-five-minutes"),
    ],
)
@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(protekt.Webhook.generate_secret, id="webhook"),
        pytest.param(protekt.AsymmetricWebhook.generate_key, id="asymmetric"),
    ],
)
def test_a_negative_tolerance_is_refused(make_key, tolerance) -> None:
    key = make_key()
    kind = protekt.Webhook if key.startswith("whsec_") else protekt.AsymmetricWebhook

    with pytest.raises(protekt.ValidationError, match="negative") as excinfo:
        kind(key, tolerance=tolerance)
    assert excinfo.value.field == "tolerance"


# ---- rotation ------------------------------------------------------------------------


@pytest.fixture
def old_secret() -> str:
    return protekt.Webhook.generate_secret()


@pytest.fixture
def rotating(secret, old_secret) -> protekt.Webhook:
    """Signs with `secret` and, while receivers catch up, with `old_secret`."""
    return protekt.Webhook(secret, previous_secrets=[old_secret])


def test_a_rotating_sender_signs_with_the_new_secret_first_then_the_old(
    rotating, secret, old_secret, msg_id, body, now
) -> None:
    header = rotating.sign(msg_id, now, body)

    assert entries(header) == [
        protekt.Webhook(secret).sign(msg_id, now, body),
        protekt.Webhook(old_secret).sign(msg_id, now, body),
    ]


@pytest.mark.parametrize("receiver_has", ["secret", "old_secret"])
def test_a_receiver_with_either_secret_accepts_a_rotating_sender(
    rotating, make_headers, msg_id, body, payload, now, receiver_has, request
) -> None:
    receiver = protekt.Webhook(request.getfixturevalue(receiver_has))
    headers = make_headers(msg_id, now, rotating.sign(msg_id, now, body))

    assert receiver.verify(body, headers, now=now) == payload


def test_a_rotating_receiver_accepts_a_sender_still_on_the_old_secret(
    rotating, old_secret, make_headers, msg_id, body, payload, now
) -> None:
    sender = protekt.Webhook(old_secret)
    headers = make_headers(msg_id, now, sender.sign(msg_id, now, body))

    assert rotating.verify(body, headers, now=now) == payload


def test_a_receiver_with_an_unrelated_secret_refuses_a_rotating_sender(
    rotating, make_headers, msg_id, body, now
) -> None:
    stranger = protekt.Webhook(protekt.Webhook.generate_secret())
    headers = make_headers(msg_id, now, rotating.sign(msg_id, now, body))

    with pytest.raises(protekt.NoMatchingSignatureError):
        stranger.verify(body, headers, now=now)


def test_reordered_rotation_entries_still_verify(
    rotating, webhook, make_headers, msg_id, body, payload, now
) -> None:
    reordered = " ".join(reversed(entries(rotating.sign(msg_id, now, body))))

    assert (
        webhook.verify(body, make_headers(msg_id, now, reordered), now=now) == payload
    )


def test_a_rotating_ed25519_sender_is_verified_by_either_public_key(
    make_headers, msg_id, body, payload, now
) -> None:
    new_key = protekt.AsymmetricWebhook.generate_key()
    old_key = protekt.AsymmetricWebhook.generate_key()
    sender = protekt.AsymmetricWebhook(new_key, previous_keys=[old_key])
    signature = sender.sign(msg_id, now, body)
    headers = make_headers(msg_id, now, signature)

    assert [entry.split(",")[0] for entry in entries(signature)] == ["v1a", "v1a"]
    for key in (new_key, old_key):
        receiver = protekt.AsymmetricWebhook(protekt.AsymmetricWebhook(key).public_key)
        assert receiver.verify(body, headers, now=now) == payload


# ---- secrets and keys ----------------------------------------------------------------


class BadKey(NamedTuple):
    """A key a constructor must refuse, and how it must say so."""

    build: Callable[[], object]
    error: type[protekt.ValidationError]
    field: str
    says: tuple[str, ...]


def _asymmetric_with(key: object) -> Callable[[], object]:
    return lambda: protekt.AsymmetricWebhook(key)  # type: ignore[arg-type]


BAD_KEYS = [
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(protekt.AsymmetricWebhook.generate_key()),
            protekt.InvalidKeyError,
            "secret",
            ("whsec_", "whsk_", "AsymmetricWebhook"),
        ),
        id="whsk-given-to-Webhook",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(
                protekt.AsymmetricWebhook(
                    protekt.AsymmetricWebhook.generate_key()
                ).public_key
            ),
            protekt.InvalidKeyError,
            "secret",
            ("whsec_", "whpk_", "AsymmetricWebhook"),
        ),
        id="whpk-given-to-Webhook",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(whsec(32).replace("whsec_", "sk_live_")),
            protekt.InvalidKeyError,
            "secret",
            ("whsec_", "no known prefix"),
        ),
        id="no-prefix-given-to-Webhook",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.AsymmetricWebhook(protekt.Webhook.generate_secret()),
            protekt.InvalidKeyError,
            "key",
            ("whsk_", "whsec_", "protekt.Webhook"),
        ),
        id="whsec-given-to-AsymmetricWebhook",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook("whsec_not*base64!"),
            protekt.InvalidKeyError,
            "secret",
            ("base64",),
        ),
        id="secret-not-base64",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(whsec(23)),
            protekt.InvalidKeyError,
            "secret",
            ("24 to 64 bytes", "23 bytes"),
        ),
        id="secret-23-bytes",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(whsec(65)),
            protekt.InvalidKeyError,
            "secret",
            ("24 to 64 bytes", "65 bytes"),
        ),
        id="secret-65-bytes",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(os.urandom(23)),
            protekt.InvalidKeyError,
            "secret",
            ("24 to 64 bytes", "23 bytes"),
        ),
        id="raw-secret-23-bytes",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(os.urandom(65)),
            protekt.InvalidKeyError,
            "secret",
            ("24 to 64 bytes", "65 bytes"),
        ),
        id="raw-secret-65-bytes",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(1234),  # type: ignore[arg-type]
            protekt.ValidationError,
            "secret",
            ("str or bytes", "int"),
        ),
        id="secret-an-int",
    ),
    pytest.param(
        BadKey(
            lambda: protekt.Webhook(
                protekt.Webhook.generate_secret(), previous_secrets=[whsec(8)]
            ),
            protekt.InvalidKeyError,
            "secret",
            ("8 bytes",),
        ),
        id="previous-secret-too-short",
    ),
    pytest.param(
        BadKey(
            _asymmetric_with("whsk_not*base64!"),
            protekt.InvalidKeyError,
            "key",
            ("base64",),
        ),
        id="private-key-not-base64",
    ),
    pytest.param(
        BadKey(
            _asymmetric_with("whsk_" + base64.b64encode(os.urandom(16)).decode()),
            protekt.InvalidKeyError,
            "key",
            ("32-byte seed", "16 bytes"),
        ),
        id="private-key-16-bytes",
    ),
    pytest.param(
        BadKey(
            _asymmetric_with("whpk_" + base64.b64encode(os.urandom(31)).decode()),
            protekt.InvalidKeyError,
            "key",
            ("32 bytes", "31 bytes"),
        ),
        id="public-key-31-bytes",
    ),
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_bad_key_is_refused_with_the_field_and_the_reason(bad: BadKey) -> None:
    with pytest.raises(protekt.ValidationError) as excinfo:
        bad.build()

    assert type(excinfo.value) is bad.error
    assert excinfo.value.field == bad.field
    for words in bad.says:
        assert words in str(excinfo.value)


def test_a_refused_secret_is_not_echoed_in_the_error() -> None:
    secret = whsec(23)

    with pytest.raises(protekt.InvalidKeyError) as excinfo:
        protekt.Webhook(secret)
    assert secret.removeprefix("whsec_") not in str(excinfo.value)


def test_an_asymmetric_key_that_is_not_a_str_is_refused() -> None:
    with pytest.raises(protekt.ValidationError, match="bytes") as excinfo:
        protekt.AsymmetricWebhook(os.urandom(32))  # type: ignore[arg-type]
    assert excinfo.value.field is not None


@pytest.mark.parametrize("size", [24, 64])
def test_secrets_at_either_length_limit_are_accepted(
    size, make_headers, msg_id, body, payload, now
) -> None:
    webhook = protekt.Webhook(whsec(size))
    headers = make_headers(msg_id, now, webhook.sign(msg_id, now, body))

    assert webhook.verify(body, headers, now=now) == payload


@pytest.mark.parametrize("size", [24, 32, 64])
def test_raw_secret_bytes_sign_like_their_whsec_form(size, msg_id, body, now) -> None:
    raw = os.urandom(size)
    text = "whsec_" + base64.b64encode(raw).decode()

    by_bytes = protekt.Webhook(raw).sign(msg_id, now, body)
    assert by_bytes == protekt.Webhook(text).sign(msg_id, now, body)


# ---- received header mappings --------------------------------------------------------


def test_every_kind_of_header_mapping_is_read(
    webhook, delivery, header_mapping, body, payload, now
) -> None:
    assert webhook.verify(body, header_mapping(delivery), now=now) == payload


def test_a_missing_header_is_noticed_in_every_kind_of_mapping(
    webhook, delivery, header_mapping, body, now
) -> None:
    del delivery["webhook-timestamp"]

    with pytest.raises(protekt.MissingHeaderError, match="webhook-timestamp"):
        webhook.verify(body, header_mapping(delivery), now=now)


def test_unrelated_headers_are_ignored(
    webhook, delivery, header_mapping, body, payload, now
) -> None:
    received = {"content-type": "application/json", "x-webhook-id": "other", **delivery}

    assert webhook.verify(body, header_mapping(received), now=now) == payload


# ---- repr ----------------------------------------------------------------------------


def test_repr_of_a_webhook_shows_no_secret(secret, old_secret) -> None:
    webhook = protekt.Webhook(secret, previous_secrets=[old_secret])

    for shown in (repr(webhook), str(webhook)):
        assert secret.removeprefix("whsec_") not in shown
        assert old_secret.removeprefix("whsec_") not in shown
    assert "previous_secrets=1" in repr(webhook)


def test_repr_of_a_webhook_with_raw_secret_bytes_shows_no_secret() -> None:
    raw = os.urandom(32)
    webhook = protekt.Webhook(raw)

    assert repr(raw) not in repr(webhook)
    assert base64.b64encode(raw).decode() not in repr(webhook)


def test_repr_of_an_asymmetric_webhook_shows_the_public_key_only(
    asymmetric_webhook, private_key
) -> None:
    shown = repr(asymmetric_webhook)

    assert private_key.removeprefix("whsk_") not in shown
    assert asymmetric_webhook.public_key in shown
