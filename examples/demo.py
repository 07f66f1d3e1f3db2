"""The main job: Protekt delivering the six authentication events to a real HTTPS
receiver on this machine, end to end.

It makes a certificate authority on the spot, starts an HTTPS receiver that checks
every signature itself, registers an endpoint for it, runs Verify endpoint, Save
webhook and Send test event, emits each of the six events, and prints every delivery
with its attempts and the receiver's verdict. A second endpoint that always fails
shows a retry and the dead-letter queue. Run it through ``examples/demo.sh``.
"""

from __future__ import annotations

import http.server
import logging
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trustme

import protekt

EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("user.registered", {"user": {"id": "u_7", "email": "ada@example.com"}}),
    (
        "user.login.succeeded",
        {
            "user": {"id": "u_7", "email": "ada@example.com", "name": "Ada Lovelace"},
            "ip": "81.2.69.142",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0",
            "device": {"browser": "Firefox 133", "os": "Linux"},
            "location": {"city": "London", "country": "GB"},
        },
    ),
    (
        "user.login.failed",
        {"user": {"id": "u_7"}, "ip": "203.0.113.9", "reason": "wrong_password"},
    ),
    ("user.mfa.completed", {"user": {"id": "u_7"}, "method": "totp"}),
    ("user.password_reset.requested", {"user": {"id": "u_7"}, "ip": "81.2.69.142"}),
    ("user.session.ended", {"user": {"id": "u_7"}, "reason": "logout"}),
]


class Receiver(http.server.ThreadingHTTPServer):
    """An HTTPS webhook receiver: /hooks verifies and accepts, /broken fails."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.secret = ""
        self.verdicts: dict[str, str] = {}  # event id -> what the receiver found

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/broken":
            self._answer(500, b"database unavailable")
            return
        try:
            payload = protekt.Webhook(self.server.secret).verify(body, self.headers)
        except protekt.WebhookVerificationError as exc:
            self.server.verdicts[self.headers.get("webhook-id", "?")] = (
                f"REFUSED: {exc}"
            )
            self._answer(400, str(exc).encode())
            return
        self.server.verdicts[payload["id"]] = "signature valid"
        self._answer(200, b"ok")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_receiver(workdir: Path) -> tuple[Receiver, Path]:
    ca = trustme.CA()
    ca_file = workdir / "demo-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    receiver = Receiver(context)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    return receiver, ca_file


def wait_finished(engine: protekt.Engine, event_ids: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    waiting = {protekt.DeliveryStatus.PENDING, protekt.DeliveryStatus.IN_FLIGHT}
    while time.monotonic() < deadline:
        if all(
            d.status not in waiting for e in event_ids for d in engine.deliveries(e)
        ):
            return
        time.sleep(0.1)


def show(
    engine: protekt.Engine,
    receiver: Receiver,
    names: dict[str, str],
    event_ids: list[str],
) -> None:
    print(f"\n{'event':30} {'endpoint':8} {'status':14} {'attempts':24} verdict")
    for event_id in event_ids:
        event_type = engine.get_event(event_id)["type"]
        for d in engine.deliveries(event_id):
            tries = ", ".join(
                str(a.status or a.error_class) + f" ({a.duration * 1000:.0f} ms)"
                for a in engine.attempts(d)
            )
            verdict = (
                receiver.verdicts.get(event_id, "-")
                if names[d.endpoint_id] == "main"
                else "-"
            )
            print(
                f"{event_type:30} {names[d.endpoint_id]:8} {d.status.value:14} "
                f"{tries:24} {verdict}"
            )


def main() -> None:
    # The engine's own log (docs/logging.md): its warnings show between the steps.
    logging.basicConfig(format="  log, %(levelname)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="protekt-demo-"))
    receiver, ca_file = start_receiver(workdir)
    print(f"HTTPS receiver at {receiver.base_url}, certificate from a CA made just now")

    engine = protekt.Engine(
        workdir / "data", allowed_networks=["127.0.0.0/8"], ca_file=ca_file
    )
    with engine:
        # Webhook URL and authentication, events, payload, retry and failure.
        main_ep = engine.endpoints.create(
            url=f"{receiver.base_url}/hooks",
            auth=protekt.SharedSecret(),
            events=list(protekt.AUTH_EVENTS),
            payload=protekt.Payload(include={"user", "ip", "device", "location"}),
            retry=protekt.Retry(max_attempts=3, interval=60),
        )
        receiver.secret = main_ep.secret or ""
        verified = engine.endpoints.verify(main_ep.id)
        answer = verified.verification.status if verified.verification else None
        print(f"Verify endpoint: answered {answer}, {verified.status.value}")
        engine.endpoints.save(main_ep.id)
        print("Save webhook: active")

        broken = engine.endpoints.create(
            url=f"{receiver.base_url}/broken",
            events=["user.login.failed"],
            retry=protekt.Retry(max_attempts=1, interval=1),
            dead_letter_queue=True,
        )
        refused = engine.endpoints.verify(broken.id)
        print(
            f"A second endpoint that always fails: Verify endpoint says "
            f"{refused.verification.error if refused.verification else '-'!r}; "
            "saved anyway to show retries"
        )
        engine.endpoints.save(broken.id, skip_verification=True)

        engine.start_dispatcher()
        test = engine.endpoints.send_test_event(main_ep.id, wait=10)
        print(f"Send test event: {test.status.value}")

        event_ids = [test.event_id]
        for event_type, data in EVENTS:
            event_ids.append(engine.emit(event_type, **data).id)
        print(f"Emitted {len(EVENTS)} events; waiting for deliveries and the retry")
        wait_finished(engine, event_ids, seconds=20)

        names = {main_ep.id: "main", broken.id: "broken"}
        show(engine, receiver, names, event_ids)
        engine.stop_dispatcher()
    receiver.shutdown()


if __name__ == "__main__":
    main()
