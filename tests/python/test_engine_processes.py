"""One data directory shared by processes: concurrent writers, the dispatcher lock,
crashes in the middle of a write, and a disk that fills up.

Each child is `python -c <script>` with the interpreter running the tests; every wait
on a child is bounded, and the fixture kills any child a test leaves behind.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from protekt import Endpoint, Engine

LOGIN = "user.login.succeeded"
WAIT = 30  # seconds any one child may take

Spawner = Callable[..., "subprocess.Popen[str]"]


# ---- the children --------------------------------------------------------------------

# argv: directory, events, blob size, initial map size. Says "ready" once the engine
# is open, emits after a line on stdin, then prints the ids it was given as JSON.
EMITTER = """
import json, sys
import protekt

directory, count, size, map_size = sys.argv[1], *map(int, sys.argv[2:])
with protekt.Engine(directory, initial_map_size=map_size) as engine:
    print("ready", flush=True)
    sys.stdin.readline()
    ids = [
        engine.emit("user.login.succeeded", n=n, blob="x" * size).id
        for n in range(count)
    ]
print(json.dumps(ids), flush=True)
"""

# argv: directory. Prints what try_lock_dispatcher() answered, then obeys "close".
LOCK_HOLDER = """
import sys
import protekt

engine = protekt.Engine(sys.argv[1])
print(engine.try_lock_dispatcher(), flush=True)
for line in sys.stdin:
    if line.strip() == "close":
        engine.close()
        print("closed", flush=True)
"""

# argv: directory. Emits in batches of eight until killed (or 20 s pass), printing the
# id of each event once emit says it is durable.
CRASHER = """
import sys, time
import protekt

LOGIN = "user.login.succeeded"
with protekt.Engine(sys.argv[1]) as engine:
    print("ready", flush=True)
    deadline = time.monotonic() + 20
    n = 0
    while time.monotonic() < deadline:
        handles = [engine.emit_nowait(LOGIN, n=n + i) for i in range(8)]
        for handle in handles:
            print(handle.result().id, flush=True)
        n += len(handles)
"""

# argv: directory. Caps the size of files it writes at 1 MiB past the data file, emits
# large events until storage refuses one, lifts the cap and emits once more. Reports
# each step as one JSON line.
FILLER = """
import json, os, resource, signal, sys
import protekt

def say(**fields):
    print(json.dumps(fields), flush=True)

directory = sys.argv[1]
with protekt.Engine(directory) as engine:
    used = os.path.getsize(os.path.join(directory, "data.mdb"))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    unlimited = resource.RLIM_INFINITY
    resource.setrlimit(resource.RLIMIT_FSIZE, (used + (1 << 20), unlimited))
    for n in range(500):
        try:
            event = engine.emit("user.login.succeeded", n=n, blob="x" * 60000)
        except protekt.StorageError as error:
            say(error=str(error))
            break
        say(acknowledged=event.id, n=n)
    resource.setrlimit(resource.RLIMIT_FSIZE, (unlimited, unlimited))
    say(recovered=engine.emit("user.login.succeeded", n=-1).id)
"""


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def spawn() -> Iterator[Spawner]:
    """Starts `python -c script args...` with text pipes; kills what is left."""
    children: list[subprocess.Popen[str]] = []

    def start(script: str, *args: object) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=WAIT)
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def subscribe(engine: Engine, count: int = 1) -> list[Endpoint]:
    """Creates `count` active endpoints for logins."""
    endpoints = []
    for n in range(count):
        endpoint = engine.endpoints.create(
            url=f"https://receiver.example/{n}", events=[LOGIN]
        )
        endpoints.append(engine.endpoints.save(endpoint.id, skip_verification=True))
    return endpoints


@pytest.fixture
def endpoints(directory: Path) -> list[Endpoint]:
    """Two active endpoints for logins, stored in `directory` by this process."""
    with Engine(directory) as engine:
        return subscribe(engine, 2)


def read_line(child: subprocess.Popen[str]) -> str:
    """The child's next line of output; fails the test if it ends first."""
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, f"the child ended early: {finish(child)[1]}"
    return line.strip()


def finish(child: subprocess.Popen[str]) -> tuple[str, str]:
    """Waits (bounded) for the child to end; returns its remaining stdout and stderr."""
    return child.communicate(timeout=WAIT)


def complete_lines(output: str) -> list[str]:
    """Lines ended by a newline; a line cut short by a kill is not one."""
    return output.split("\n")[:-1]


# ---- several writers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("blob", "map_size"),
    [
        pytest.param(100, 64 << 20, id="small-events"),
        pytest.param(20_000, 1 << 16, id="a-map-that-must-grow"),
    ],
)
def test_processes_emitting_at_once_lose_nothing(
    spawn: Spawner, directory: Path, blob: int, map_size: int
) -> None:
    with Engine(directory) as engine:
        (endpoint,) = subscribe(engine)
    children = [spawn(EMITTER, directory, 150, blob, map_size) for _ in range(4)]
    for child in children:
        assert read_line(child) == "ready"

    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [finish(child) for child in children]

    assert [child.returncode for child in children] == [0] * 4, outputs
    per_child = [json.loads(out) for out, _ in outputs]
    every_id = [event_id for ids in per_child for event_id in ids]
    assert len(set(every_id)) == 4 * 150
    with Engine(directory) as engine:
        for ids in per_child:
            for n, event_id in enumerate(ids):
                assert engine.get_event(event_id)["data"] == {
                    "n": n,
                    "blob": "x" * blob,
                }
                (delivery,) = engine.deliveries(event_id)
                assert delivery.endpoint_id == endpoint.id
        assert engine.queue_depth == 4 * 150


# ---- the dispatcher lock -------------------------------------------------------------


def test_only_one_process_holds_the_dispatcher_lock(
    spawn: Spawner, directory: Path
) -> None:
    holder = spawn(LOCK_HOLDER, directory)
    assert read_line(holder) == "True"

    with Engine(directory) as engine:
        assert engine.try_lock_dispatcher() is False
        assert engine.try_lock_dispatcher() is False


def test_the_lock_of_a_killed_holder_is_free_again(
    spawn: Spawner, directory: Path
) -> None:
    holder = spawn(LOCK_HOLDER, directory)
    assert read_line(holder) == "True"

    with Engine(directory) as engine:
        assert engine.try_lock_dispatcher() is False
        holder.kill()
        finish(holder)
        deadline = time.monotonic() + 5
        locked = engine.try_lock_dispatcher()
        while not locked and time.monotonic() < deadline:
            time.sleep(0.05)
            locked = engine.try_lock_dispatcher()

        assert locked


def test_closing_the_holder_frees_the_lock(spawn: Spawner, directory: Path) -> None:
    holder = spawn(LOCK_HOLDER, directory)
    assert read_line(holder) == "True"
    assert holder.stdin is not None

    with Engine(directory) as engine:
        assert engine.try_lock_dispatcher() is False
        holder.stdin.write("close\n")
        holder.stdin.flush()
        assert read_line(holder) == "closed"

        assert engine.try_lock_dispatcher() is True


def test_the_holder_may_ask_for_the_lock_again(directory: Path) -> None:
    with Engine(directory) as engine:
        assert engine.try_lock_dispatcher() is True
        assert engine.try_lock_dispatcher() is True
        engine.unlock_dispatcher()
        engine.unlock_dispatcher()  # a second unlock does nothing


def test_an_unlocked_lock_can_be_taken_by_another_engine(directory: Path) -> None:
    with Engine(directory) as first:
        assert first.try_lock_dispatcher() is True
        first.unlock_dispatcher()

        with Engine(directory) as second:
            assert second.try_lock_dispatcher() is True


# ---- crashes -------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_a_killed_writer_leaves_every_acknowledged_event_whole(
    spawn: Spawner, directory: Path, endpoints: list[Endpoint], attempt: int
) -> None:
    delay = random.uniform(0.2, 1.0)
    writer = spawn(CRASHER, directory)
    assert read_line(writer) == "ready"

    time.sleep(delay)
    writer.kill()
    output, _ = finish(writer)

    acknowledged = complete_lines(output)
    assert acknowledged, f"nothing was acknowledged within {delay:.2f} s"
    expected = {e.id for e in endpoints}
    with Engine(directory) as engine:
        for event_id in acknowledged:
            assert engine.get_event(event_id)["type"] == LOGIN
            received = [d.endpoint_id for d in engine.deliveries(event_id)]
            assert sorted(received) == sorted(expected), (event_id, delay)

        # No event, acknowledged or not, reached only one of its two endpoints.
        depth = engine.queue_depth
        assert depth % 2 == 0, (depth, delay)
        assert depth >= 2 * len(acknowledged)


def test_a_directory_takes_writes_again_after_a_writer_is_killed(
    spawn: Spawner, directory: Path, endpoints: list[Endpoint]
) -> None:
    writer = spawn(CRASHER, directory)
    assert read_line(writer) == "ready"
    read_line(writer)  # at least one event is durable, more are on their way

    writer.kill()
    finish(writer)

    with Engine(directory) as engine:
        event = engine.emit(LOGIN, after="the crash")
        assert event.deliveries == 2
        assert engine.get_event(event.id)["data"] == {"after": "the crash"}


# ---- a full disk ---------------------------------------------------------------------


@dataclass(frozen=True)
class FilledDisk:
    """What the FILLER child reported, and where it wrote."""

    directory: Path
    endpoint: Endpoint
    acknowledged: list[tuple[str, int]]
    error: str | None
    recovered: str | None


@pytest.fixture(scope="module")
def filled_disk(tmp_path_factory: pytest.TempPathFactory) -> FilledDisk:
    """A directory whose writer ran out of file size once, then got it back."""
    directory = tmp_path_factory.mktemp("filled") / "data"
    with Engine(directory) as engine:
        (endpoint,) = subscribe(engine)
    run = subprocess.run(
        [sys.executable, "-c", FILLER, str(directory)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert run.returncode == 0, run.stderr

    reports: list[dict[str, Any]] = [
        json.loads(line) for line in run.stdout.splitlines()
    ]
    errors = [r["error"] for r in reports if "error" in r]
    recovered = [r["recovered"] for r in reports if "recovered" in r]
    return FilledDisk(
        directory=directory,
        endpoint=endpoint,
        acknowledged=[(r["acknowledged"], r["n"]) for r in reports if "n" in r],
        error=errors[0] if errors else None,
        recovered=recovered[0] if recovered else None,
    )


def test_a_full_disk_fails_the_emit(filled_disk: FilledDisk) -> None:
    assert filled_disk.error is not None
    assert filled_disk.acknowledged  # the cap left room for some events first


def test_a_full_disk_keeps_every_event_acknowledged_before_it(
    filled_disk: FilledDisk,
) -> None:
    with Engine(filled_disk.directory) as engine:
        for event_id, n in filled_disk.acknowledged:
            assert engine.get_event(event_id)["data"] == {"n": n, "blob": "x" * 60000}
            (delivery,) = engine.deliveries(event_id)
            assert delivery.endpoint_id == filled_disk.endpoint.id
        assert engine.queue_depth == len(filled_disk.acknowledged) + 1


def test_emits_succeed_again_once_there_is_space(filled_disk: FilledDisk) -> None:
    assert filled_disk.recovered is not None
    with Engine(filled_disk.directory) as engine:
        assert engine.get_event(filled_disk.recovered)["data"] == {"n": -1}


def test_a_full_disk_is_reported_as_a_lack_of_space(filled_disk: FilledDisk) -> None:
    assert filled_disk.error is not None
    assert re.search(r"space|size", filled_disk.error), filled_disk.error


# ---- two engines in one process ------------------------------------------------------


@pytest.fixture
def engine_pair(directory: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines opened on one directory by this process."""
    with Engine(directory) as first, Engine(directory) as second:
        yield first, second


def test_two_engines_in_one_process_see_each_others_writes(
    engine_pair: tuple[Engine, Engine],
) -> None:
    first, second = engine_pair
    (endpoint,) = subscribe(first)

    event = second.emit(LOGIN, user={"id": "u_42"})

    assert event.deliveries == 1
    assert first.endpoints.get(endpoint.id) == second.endpoints.get(endpoint.id)
    assert first.get_event(event.id)["data"] == {"user": {"id": "u_42"}}
    (delivery,) = first.deliveries(event.id)
    assert delivery.endpoint_id == endpoint.id
    assert first.delivery_body(delivery) == second.delivery_body(delivery)


def test_closing_one_of_two_engines_leaves_the_other_working(
    engine_pair: tuple[Engine, Engine],
) -> None:
    first, second = engine_pair
    before = first.emit(LOGIN)

    first.close()
    after = second.emit(LOGIN)

    assert second.get_event(before.id)["id"] == before.id
    assert second.get_event(after.id)["id"] == after.id


def test_two_engines_writing_at_once_lose_nothing(
    engine_pair: tuple[Engine, Engine],
) -> None:
    first, second = engine_pair
    subscribe(first)

    handles = [
        engine.emit_nowait(LOGIN, n=n) for n in range(200) for engine in engine_pair
    ]
    events = [h.result(timeout=10) for h in handles]

    assert len({e.id for e in events}) == 400
    assert first.queue_depth == second.queue_depth == 400


def test_a_directory_opened_through_a_symlink_is_the_same_directory(
    directory: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    with Engine(directory) as engine:
        link.symlink_to(directory, target_is_directory=True)
        event = engine.emit(LOGIN)

        with Engine(link) as through_link:
            assert through_link.get_event(event.id)["id"] == event.id
            assert engine.get_event(through_link.emit(LOGIN).id)["type"] == LOGIN
