"""The `protekt` command line, against real engine directories and real receivers.

Most commands run in this process through `protekt.cli.main(argv)`, with their output
captured; `worker`, `serve` and `demo` run as child processes, stopped with SIGTERM.
Receivers listen on 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from protekt import DeliveryStatus
from protekt.cli import main

CHECKOUT = Path(__file__).resolve().parents[2]
LOGIN = "user.login.succeeded"
LOOPBACK = "127.0.0.0/8"

# The longest a child process gets to start, answer or stop.
CHILD_TIMEOUT_S = 20.0


def protekt_command(*argv: str) -> list[str]:
    """The command line that runs `protekt argv...` in a child process."""
    return [sys.executable, "-m", "protekt.cli", *argv]


# ---- running commands ----------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Ran]


@pytest.fixture
def cli(directory: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs `protekt` in this process on `directory`, allowed to reach loopback over
    plain http, and returns its exit code and output."""

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        code = main(
            [
                "--data-dir",
                str(directory),
                "--allow-http",
                "--allowed-network",
                LOOPBACK,
                *argv,
            ]
        )
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    """An engine on the same directory, for setting up and checking what the
    commands did; it does not dispatch unless a test starts it."""
    return open_engine(allow_http=True)


@pytest.fixture
def receiver(serve: Callable[[ScriptedReceiver], ScriptedReceiver]) -> ScriptedReceiver:
    """Answers 200 to everything."""
    return serve(ScriptedReceiver())


@pytest.fixture
def failing(serve: Callable[[ScriptedReceiver], ScriptedReceiver]) -> ScriptedReceiver:
    """Answers 500 to everything."""
    return serve(ScriptedReceiver(default=Answer(500)))


def created(cli: Cli, url: str, *options: str) -> dict[str, Any]:
    ran = cli("--json", "endpoints", "create", "--url", url, "--event", LOGIN, *options)
    assert ran.code == 0, ran.err
    document: dict[str, Any] = ran.json()
    return document


def active(cli: Cli, url: str, *options: str) -> str:
    """The id of an endpoint saved without verification, receiving logins."""
    endpoint_id: str = created(cli, url, *options)["id"]
    assert cli("endpoints", "save", endpoint_id, "--skip-verification").code == 0
    return endpoint_id


def columns(header: str) -> list[int]:
    """Where each column of a table starts, from its header line."""
    starts = [0]
    for i in range(1, len(header)):
        if header[i] != " " and header[i - 1] == " ":
            starts.append(i)
    return starts


def assert_aligned(table: str, rows: int) -> list[str]:
    """Every row's cells start where their header does; returns the lines."""
    header, *lines = table.splitlines()
    assert len(lines) == rows
    starts = columns(header)
    for line in lines:
        for start in starts[1:]:
            assert line[start - 1] == " ", (line, start)
            assert line[start] != " ", (line, start)
        assert line == line.rstrip()
    return lines


# ---- help and usage ------------------------------------------------------------------


def test_help_lists_the_commands_and_what_each_exit_code_means(cli: Cli) -> None:
    ran = cli("--help")

    assert ran.code == 0
    for name in ("serve", "worker", "demo", "endpoints", "emit", "deliveries", "dlq"):
        assert name in ran.out
    for code in range(8):
        assert f"\n  {code}  " in ran.out


def test_a_wrong_command_line_exits_2(cli: Cli) -> None:
    assert cli("endpoints", "create", "--url", "http://127.0.0.1:1/").code == 2
    assert cli("deliveries", "list", "--since", "yesterday").code == 2
    assert cli("deliveries", "list", "--limit", "0").code == 2
    assert cli("dlq", "replay").code == 2
    assert cli("nonsense").code == 2


def test_python_m_protekt_cli_runs_the_command(tmp_path: Path) -> None:
    ran = subprocess.run(
        protekt_command("--data-dir", str(tmp_path / "data"), "endpoints", "list"),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["ID", "STATUS", "AUTH", "EVENTS", "UPDATED", "URL"]


def test_the_command_line_loads_without_the_portal_or_its_server() -> None:
    probe = (
        "import sys, protekt.cli\n"
        "print([m for m in ('fastapi', 'uvicorn', 'protekt.portal') "
        "if m in sys.modules])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=True,
    )

    assert ran.stdout.strip() == "[]"


# ---- endpoints -----------------------------------------------------------------------


def test_create_shows_the_secret_once_and_get_and_list_never_do(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    endpoint = created(cli, receiver.url(), "--include", "user,ip", "--timeout", "5")

    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["status"] == "created"
    assert endpoint["auth"] == {"type": "shared_secret"}
    assert endpoint["payload"] == {"format": "json", "include": ["ip", "user"]}
    assert endpoint["retry"]["max_attempts"] == 3
    assert endpoint["timeout"] == 5.0
    assert endpoint["created_at"].endswith("Z")

    got = cli("--json", "endpoints", "get", endpoint["id"]).json()
    assert got["secret"] is None
    assert got["id"] == endpoint["id"]
    text = cli("endpoints", "get", endpoint["id"]).out + cli("endpoints", "list").out
    assert endpoint["secret"] not in text

    shown = cli("endpoints", "create", "--url", receiver.url(), "--event", LOGIN)
    assert shown.code == 0
    assert "secret: whsec_" in shown.out


def test_an_api_token_endpoint_shows_its_token_on_create(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    endpoint = created(
        cli, receiver.url(), "--auth", "token", "--token-header", "X-Key"
    )

    assert endpoint["auth"]["type"] == "api_token"
    assert endpoint["auth"]["header"].lower() == "x-key"
    assert endpoint["token"].startswith("prt_")
    assert cli("--json", "endpoints", "get", endpoint["id"]).json()["token"] is None


def test_the_endpoint_list_is_an_aligned_table_and_json_for_scripts(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    short = created(cli, receiver.url("/a"))["id"]
    long = created(cli, receiver.url("/a/much/longer/path"), "--event", "all")["id"]

    lines = assert_aligned(cli("endpoints", "list").out, rows=2)
    assert {line.split()[0] for line in lines} == {short, long}
    assert any(line.split()[3] == "6" for line in lines)

    listed = cli("endpoints", "list", "--json").json()
    assert {e["id"] for e in listed["endpoints"]} == {short, long}
    assert all(e["secret"] is None for e in listed["endpoints"])


def test_a_refused_setting_exits_3_and_names_the_field(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    ran = cli("endpoints", "create", "--url", receiver.url(), "--event", LOGIN,
              "--include", "user,shoe_size")  # fmt: skip

    assert ran.code == 3
    assert ran.err.startswith("protekt: payload.include")
    assert ran.err.count("\n") == 1
    assert ran.out == ""

    bad_url = cli("endpoints", "create", "--url", "ftp://x", "--event", LOGIN)
    assert bad_url.code == 3
    assert bad_url.err.startswith("protekt: url: ")


def test_an_unknown_endpoint_exits_4(cli: Cli, receiver: ScriptedReceiver) -> None:
    gone = created(cli, receiver.url())["id"]
    assert cli("endpoints", "delete", gone, "--yes").code == 0

    for command in ("get", "verify", "pause", "stats", "rotate-secret", "test"):
        ran = cli("endpoints", command, gone)
        assert ran.code == 4, command
        assert ran.err == f"protekt: no endpoint {gone}\n"


def test_a_data_directory_that_cannot_be_opened_exits_5(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")

    ran = subprocess.run(
        protekt_command("--data-dir", str(not_a_directory), "endpoints", "list"),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )

    assert ran.returncode == 5
    assert ran.stderr.startswith("protekt: could not open the data directory")


def test_verify_save_and_test_walk_the_guide_to_a_delivered_test_event(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    endpoint_id = created(cli, receiver.url())["id"]

    verified = cli("endpoints", "verify", endpoint_id)
    assert verified.code == 0, verified.err
    assert "passed, answered 200" in verified.out
    saved = cli("--json", "endpoints", "save", endpoint_id).json()
    assert saved["status"] == "active"
    assert saved["verification"]["passed"] is True

    tested = cli("endpoints", "test", endpoint_id, "--json", "--wait", "10")
    assert tested.code == 0, tested.err
    delivery = tested.json()
    assert delivery["status"] == "succeeded"
    assert delivery["event_type"] == "webhook.test"
    assert [a["status"] for a in delivery["attempt_log"]] == [200]
    assert [r.headers["webhook-id"] for r in receiver.received][-1] == (
        delivery["event_id"]
    )

    stats = cli("--json", "endpoints", "stats", endpoint_id).json()
    assert stats["succeeded"] == 1
    assert stats["success_rate"] == 1.0
    assert stats["latency"]["p50"] is not None


def test_a_failed_verification_or_test_event_exits_1(
    cli: Cli, failing: ScriptedReceiver
) -> None:
    endpoint_id = created(cli, failing.url(), "--max-attempts", "0")["id"]

    verified = cli("endpoints", "verify", endpoint_id)
    assert verified.code == 1
    assert verified.err.startswith("protekt: Verify endpoint failed: ")
    assert "answered 500" in verified.err

    early = cli("endpoints", "save", endpoint_id)
    assert early.code == 3
    assert early.err.startswith("protekt: status: ")

    assert cli("endpoints", "save", endpoint_id, "--skip-verification").code == 0
    tested = cli("endpoints", "test", endpoint_id, "--wait", "10")
    assert tested.code == 1
    assert "the test event was not delivered: failed" in tested.err
    assert "500" in tested.out


def test_update_pause_resume_rotate_and_delete_change_the_endpoint(
    cli: Cli, receiver: ScriptedReceiver
) -> None:
    first = created(cli, receiver.url(), "--include", "user,ip")
    endpoint_id = first["id"]

    updated = cli("--json", "endpoints", "update", endpoint_id, "--max-attempts",
                  "5", "--format", "form", "--dead-letter-queue").json()  # fmt: skip
    assert updated["retry"]["max_attempts"] == 5
    assert updated["retry"]["interval"] == 60.0
    assert updated["payload"] == {"format": "form", "include": ["ip", "user"]}
    assert updated["dead_letter_queue"] is True
    assert cli("endpoints", "update", endpoint_id).code == 2

    assert cli("endpoints", "save", endpoint_id, "--skip-verification").code == 0
    paused = cli("endpoints", "pause", endpoint_id)
    assert paused.out.split() == [endpoint_id, "paused"]
    resumed = cli("--json", "endpoints", "resume", endpoint_id).json()
    assert resumed["status"] == "active"

    rotated = cli("--json", "endpoints", "rotate-secret", endpoint_id).json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != first["secret"]

    refused = cli("endpoints", "delete", endpoint_id)
    assert refused.code == 2
    assert "--yes" in refused.err
    assert cli("endpoints", "get", endpoint_id).code == 0
    deleted = cli("--json", "endpoints", "delete", endpoint_id, "--yes").json()
    assert deleted == {"deleted": endpoint_id}
    assert cli("endpoints", "get", endpoint_id).code == 4


# ---- events and deliveries -----------------------------------------------------------


def test_emit_prints_the_event_id_and_its_deliveries(
    cli: Cli, engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    active(cli, receiver.url())

    ran = cli("emit", LOGIN, "--field", "user.id=u_1", "--field", "user.email=a@b.c",
              "--field", "attempt:=3")  # fmt: skip
    assert ran.code == 0, ran.err
    event_id, count, word = ran.out.split()
    assert (count, word) == ("1", "delivery")
    assert engine.get_event(event_id)["data"] == {
        "user": {"id": "u_1", "email": "a@b.c"},
        "attempt": 3,
    }

    first = cli("--json", "emit", LOGIN, "--data", '{"user": {"id": "u_2"}}',
                "--idempotency-key", "login-2").json()  # fmt: skip
    again = cli("--json", "emit", LOGIN, "--data", "{}",
                "--idempotency-key", "login-2").json()  # fmt: skip
    assert first["deliveries"] == 1
    assert first["duplicate"] is False
    assert again["id"] == first["id"]
    assert again["duplicate"] is True

    assert cli("emit", LOGIN, "--data", "[1]").code == 3
    assert cli("emit", LOGIN, "--data", "{").code == 3
    assert cli("emit", LOGIN, "--field", "novalue").code == 3


def test_deliveries_are_listed_filtered_and_shown_with_their_attempts(
    cli: Cli, engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint_id = active(cli, receiver.url())
    assert engine.start_dispatcher(allowed_networks=[LOOPBACK], stop_grace=1)
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(3)]
    for event in events:
        finished_deliveries(engine, event.id)

    listed = cli("--json", "deliveries", "list", "--endpoint", endpoint_id).json()
    assert [d["event_id"] for d in listed["deliveries"]] == [
        e.id for e in reversed(events)
    ]
    assert {d["status"] for d in listed["deliveries"]} == {"succeeded"}
    assert listed["next"] is None

    page = cli("--json", "deliveries", "list", "--limit", "2").json()
    assert len(page["deliveries"]) == 2
    rest = cli("--json", "deliveries", "list", "--after", page["next"]).json()
    assert [d["event_id"] for d in rest["deliveries"]] == [events[0].id]

    none = cli("--json", "deliveries", "list", "--status", "failed",
               "--since", "2020-01-01T00:00:00Z").json()  # fmt: skip
    assert none["deliveries"] == []

    assert_aligned(cli("deliveries", "list").out, rows=3)

    shown = cli("--json", "deliveries", "show", events[0].id, endpoint_id).json()
    assert shown["event_type"] == LOGIN
    assert shown["attempt_log"][0]["status"] == 200
    assert shown["attempt_log"][0]["response_excerpt"] == '{"ok":true}'
    text = cli("deliveries", "show", events[0].id, endpoint_id).out
    assert "succeeded" in text
    assert "#  STARTED" in text

    other = engine.emit("user.registered")
    missing = cli("deliveries", "show", other.id, endpoint_id)
    assert missing.code == 4
    assert missing.err.startswith("protekt: no delivery")


# ---- the dead-letter queue -----------------------------------------------------------


def dead_letters(
    cli: Cli, engine: protekt.Engine, url: str, count: int
) -> tuple[str, list[protekt.Event]]:
    """An endpoint that keeps dead letters, and `count` events that became some."""
    endpoint_id = active(cli, url, "--dead-letter-queue", "--max-attempts", "0")
    assert engine.start_dispatcher(allowed_networks=[LOOPBACK], stop_grace=1)
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(count)]
    for event in events:
        finished_deliveries(engine, event.id)
    return endpoint_id, events


def test_dlq_lists_dead_letters_and_replays_one_and_then_all(
    cli: Cli, engine: protekt.Engine, failing: ScriptedReceiver
) -> None:
    endpoint_id, events = dead_letters(cli, engine, failing.url(), count=5)

    listed = cli("--json", "dlq", "list", "--endpoint", endpoint_id).json()
    assert listed["count"] == 5
    assert {d["status"] for d in listed["dead_letters"]} == {"dead_lettered"}
    assert {d["event_type"] for d in listed["dead_letters"]} == {LOGIN}
    assert_aligned(cli("dlq", "list").out.rsplit("\n", 2)[0], rows=5)

    failing.default = Answer(200)
    one = cli("--json", "dlq", "replay", events[0].id, endpoint_id).json()
    assert one["status"] in ("pending", "in_flight", "succeeded")
    again = cli("dlq", "replay", events[0].id, endpoint_id)
    assert again.code == 4  # it left the queue
    assert again.err.startswith("protekt: no dead letter")

    replayed = cli("--json", "dlq", "replay", "--all", "--endpoint", endpoint_id)
    assert replayed.code == 0, replayed.err
    assert replayed.json() == {"replayed": 4}
    assert replayed.err == ""  # no terminal: no progress bar
    for event in events:
        (delivery,) = finished_deliveries(engine, event.id)
        assert delivery.status is DeliveryStatus.SUCCEEDED
    assert cli("--json", "dlq", "list").json()["count"] == 0


def test_replaying_every_dead_letter_draws_a_progress_bar_on_a_terminal(
    cli: Cli,
    engine: protekt.Engine,
    failing: ScriptedReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead_letters(cli, engine, failing.url(), count=3)
    engine.stop_dispatcher()
    controller, terminal = os.openpty()
    with open(terminal, "w", encoding="utf-8") as tty, open(controller, "rb") as out:
        monkeypatch.setattr(sys, "stderr", tty)
        ran = cli("--json", "dlq", "replay", "--all")
        monkeypatch.undo()
        tty.flush()
        drawn = b""
        while select.select([out], [], [], 0.2)[0] and len(drawn) < 4096:
            drawn += os.read(controller, 4096)

    assert ran.json() == {"replayed": 3}
    assert b"\rreplaying [" in drawn
    assert b"3/3 100%" in drawn
    assert engine.dead_letters.count() == 0


def test_a_replay_of_something_not_dead_lettered_exits_4(
    cli: Cli, engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint_id = active(cli, receiver.url())
    event = engine.emit(LOGIN)

    ran = cli("dlq", "replay", event.id, endpoint_id)

    assert ran.code == 4
    assert ran.err.startswith("protekt: no dead letter")


def test_purge_asks_for_yes_without_a_terminal_then_empties_the_queue(
    cli: Cli, engine: protekt.Engine, failing: ScriptedReceiver
) -> None:
    endpoint_id, _ = dead_letters(cli, engine, failing.url(), count=2)

    refused = cli("dlq", "purge")
    assert refused.code == 2
    assert engine.dead_letters.count() == 2

    purged = cli("--json", "dlq", "purge", "--endpoint", endpoint_id, "--yes")
    assert purged.json() == {"purged": 2}
    assert engine.dead_letters.count() == 0


# ---- worker and serve, as child processes --------------------------------------------


class Child:
    """A `protekt` child process whose stderr is read line by line in a thread."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            protekt_command(*argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stderr is not None
        stream = self.process.stderr
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)

    def line_with(self, text: str) -> str:
        """The first stderr line holding `text`; fails after CHILD_TIMEOUT_S."""
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr: {''.join(self.seen)}")

    def stop(self) -> int:
        """SIGTERM, and the exit code once the process ended."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(CHILD_TIMEOUT_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(CHILD_TIMEOUT_S)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(*argv: str) -> Child:
        child = Child(*argv)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


def options(directory: Path) -> list[str]:
    return ["--data-dir", str(directory), "--allow-http", "--allowed-network", LOOPBACK]


def test_a_worker_delivers_until_sigterm_and_a_second_one_exits_6(
    cli: Cli,
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    directory: Path,
    spawn: Callable[..., Child],
) -> None:
    active(cli, receiver.url())
    queued = engine.emit(LOGIN, user={"id": "u_1"})

    worker = spawn(*options(directory), "worker")
    wait_for(lambda: receiver.received, what="the worker delivered", timeout=15)
    (delivery,) = finished_deliveries(engine, queued.id)
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert receiver.received[0].headers["webhook-id"] == queued.id

    second = subprocess.run(
        protekt_command(*options(directory), "worker"),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert second.returncode == 6
    assert "holds the dispatcher lock" in second.stderr

    assert worker.stop() == 0
    assert "stopped" in worker.line_with("stopped")


def test_serve_prints_the_admin_key_once_and_the_api_answers_with_it(
    directory: Path, spawn: Callable[..., Child]
) -> None:
    serve = spawn(*options(directory), "serve", "--port", "0")
    key = admin_key(serve)
    url = portal_url(serve)
    assert url.startswith("http://127.0.0.1:")
    assert get_endpoints(url, key) == (200, {"endpoints": []})
    assert serve.stop() == 0

    again = spawn(*options(directory), "serve", "--port", "0")
    portal_url(again)
    assert again.stop() == 0
    assert not any("admin API key" in line for line in again.seen)

    reset = spawn(*options(directory), "serve", "--port", "0", "--reset-admin-key")
    new_key = admin_key(reset)
    url = portal_url(reset)
    assert get_endpoints(url, new_key)[0] == 200
    assert get_endpoints(url, key)[0] == 401
    assert reset.stop() == 0


def admin_key(serve: Child) -> str:
    key = serve.line_with("admin API key: ").rsplit(" ", 1)[1].strip()
    assert "shown only this once" in serve.line_with("protekt: ")
    return key


def portal_url(serve: Child) -> str:
    return serve.line_with("portal at ").split("portal at ")[1].split("/;")[0]


def get_endpoints(url: str, key: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/api/v1/endpoints", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, json.load(refused)


def test_serve_without_the_portal_extra_says_what_to_install(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)

    ran = cli("serve", "--port", "0")

    assert ran.code == 7
    assert "pip install protekt[portal]" in ran.err


def test_demo_runs_the_repository_demo_end_to_end() -> None:
    pytest.importorskip("trustme")
    ran = subprocess.run(
        protekt_command("demo"),
        capture_output=True,
        text=True,
        cwd=CHECKOUT,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert "Send test event: succeeded" in ran.stdout
    assert ran.stdout.count("signature valid") == 7
