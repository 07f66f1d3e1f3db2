"""Signing benchmark for issue #2: protekt from Python against the alternatives.

Three implementations sign and verify the same 1 KiB JSON body:

- ``protekt``: ``Webhook.sign`` and ``Webhook.verify`` (which returns the parsed JSON);
- ``hmac``: the standard library doing what ``protekt.Webhook.verify`` does: header
  lookup, timestamp parsing and tolerance check, signature splitting, base64,
  ``hmac.compare_digest`` and ``json.loads``;
- ``standardwebhooks``: the reference package from PyPI.

The target is protekt's verify at least 3 times as fast as each of the others.
Cases run in interleaved rounds; the best round is the headline figure, as noise
only ever adds time. Counts are fixed, so a run takes a few seconds.

Run with ``bash benchmarks/run_signing.sh``, or directly with the venv's python.
"""

from __future__ import annotations

import base64
import hmac
import json
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import standardwebhooks

import protekt

BODY_BYTES: Final = 1024
ROUNDS: Final = 31
ITERATIONS: Final = 4_000
VERIFY_TARGET: Final = 3.0
TOLERANCE_SECONDS: Final = 300

# A fixed secret, the same as the C++ benchmark's; it protects nothing.
SECRET: Final = "whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY="
MSG_ID: Final = "msg_bench_0001"


def load_body() -> bytes:
    """The 1 KiB user.login.succeeded event that bench_signing.cpp signs too."""
    body = (Path(__file__).parent / "data" / "login_event_1k.json").read_bytes()
    assert len(body) == BODY_BYTES, "benchmarks/data/login_event_1k.json is not 1 KiB"
    return body


class StdlibWebhook:
    """protekt.Webhook's work written with the standard library, for comparison."""

    def __init__(self, secret: str) -> None:
        self._key = base64.b64decode(secret.removeprefix("whsec_"))

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        content = f"{msg_id}.{timestamp}.".encode() + body
        mac = hmac.digest(self._key, content, "sha256")
        return "v1," + base64.b64encode(mac).decode()

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Any:
        msg_id = _header(headers, "webhook-id")
        timestamp = int(_header(headers, "webhook-timestamp"))
        if abs(int(time.time()) - timestamp) > TOLERANCE_SECONDS:
            raise ValueError("webhook-timestamp is outside the tolerance")
        content = f"{msg_id}.{timestamp}.".encode() + body
        expected = hmac.digest(self._key, content, "sha256")
        for entry in _header(headers, "webhook-signature").split(" "):
            version, _, encoded = entry.partition(",")
            if version != "v1":
                continue
            if hmac.compare_digest(base64.b64decode(encoded), expected):
                return json.loads(body)
        raise ValueError("no signature matches")


def _header(headers: Mapping[str, str], name: str) -> str:
    """A case-insensitive lookup, as protekt.header_value does."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    raise ValueError(f"the {name} header is missing")


@dataclass
class Case:
    """One timed operation and the ns/op of each of its rounds."""

    name: str
    operation: Callable[[], object]
    ns_per_op: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.ns_per_op)

    @property
    def median(self) -> float:
        return statistics.median(self.ns_per_op)


def check_agreement(body: bytes, timestamp: int) -> dict[str, str]:
    """Asserts that all three sign alike and accept each other's signature."""
    ours = protekt.Webhook(SECRET)
    header = ours.sign(MSG_ID, timestamp, body)
    stdlib_header = StdlibWebhook(SECRET).sign(MSG_ID, timestamp, body)
    sent_at = datetime.fromtimestamp(timestamp, tz=UTC)
    reference_header = standardwebhooks.Webhook(SECRET).sign(
        MSG_ID, sent_at, body.decode()
    )
    assert header == stdlib_header == reference_header, (header, stdlib_header)

    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": header,
    }
    payload = json.loads(body)
    assert ours.verify(body, headers) == payload
    assert StdlibWebhook(SECRET).verify(body, headers) == payload
    assert standardwebhooks.Webhook(SECRET).verify(body, headers) == payload
    return headers


def make_cases(body: bytes, timestamp: int, headers: dict[str, str]) -> list[Case]:
    ours = protekt.Webhook(SECRET)
    stdlib = StdlibWebhook(SECRET)
    reference = standardwebhooks.Webhook(SECRET)
    text = body.decode()  # standardwebhooks signs str only
    sent_at = datetime.fromtimestamp(timestamp, tz=UTC)
    return [
        Case("sign protekt", lambda: ours.sign(MSG_ID, timestamp, body)),
        Case("sign hmac module", lambda: stdlib.sign(MSG_ID, timestamp, body)),
        Case("sign standardwebhooks", lambda: reference.sign(MSG_ID, sent_at, text)),
        Case("verify protekt", lambda: ours.verify(body, headers)),
        Case("verify hmac module", lambda: stdlib.verify(body, headers)),
        Case("verify standardwebhooks", lambda: reference.verify(body, headers)),
    ]


def run_interleaved(cases: list[Case]) -> None:
    """Warms every case up, then times ROUNDS rounds, each case once per round."""
    timers = [timeit.Timer(case.operation) for case in cases]
    for timer in timers:
        timer.timeit(ITERATIONS // 10)
    for _ in range(ROUNDS):
        for case, timer in zip(cases, timers, strict=True):
            case.ns_per_op.append(timer.timeit(ITERATIONS) / ITERATIONS * 1e9)


def print_cases(cases: list[Case]) -> None:
    print(f"{'case':<26} {'ops/s (best)':>12} {'ns/op best':>10} {'ns/op median':>12}")
    for case in cases:
        print(
            f"{case.name:<26} {1e9 / case.best:>12.0f} {case.best:>10.0f} "
            f"{case.median:>12.0f}"
        )


def print_ratio(label: str, ours: Case, other: Case, target: float | None) -> bool:
    """Prints ours / other in ops/s; returns whether the target, if any, is met."""
    ratio = other.best / ours.best
    line = f"{label:<40} {ratio:5.2f}x (median {other.median / ours.median:.2f}x)"
    if target is None:
        print(line)
        return True
    verdict = "PASS" if ratio >= target else "BELOW"
    print(f"{line}, target >= {target:.0f}x: {verdict}")
    return ratio >= target


def main() -> None:
    # Set-up and a correctness check before any timing.
    body = load_body()
    timestamp = int(time.time())
    headers = check_agreement(body, timestamp)
    print(
        f"bench_signing.py: {len(body)}-byte body, Python {sys.version.split()[0]}, "
        f"standardwebhooks {metadata.version('standardwebhooks')}"
    )
    print(f"{ROUNDS} rounds x {ITERATIONS} iterations per case, interleaved\n")

    cases = {case.name: case for case in make_cases(body, timestamp, headers)}
    run_interleaved(list(cases.values()))

    print_cases(list(cases.values()))
    print()
    for other in ("hmac module", "standardwebhooks"):
        print_ratio(
            f"sign: protekt / {other}",
            cases["sign protekt"],
            cases[f"sign {other}"],
            None,
        )
    for other in ("hmac module", "standardwebhooks"):
        print_ratio(
            f"verify: protekt / {other}",
            cases["verify protekt"],
            cases[f"verify {other}"],
            VERIFY_TARGET,
        )


if __name__ == "__main__":
    main()
