"""Engine benchmark for issue #3: durable emit, the cost of a call, a large queue.

Four measurements, each against its target:

- **durable throughput**: ``engine.emit`` from 1 and from 8 Python threads, against
  ``bench_lmdb_raw`` putting the same records into LMDB in durable transactions of the
  same size (target: at least 0.5 of the raw rate). The engine's batch size is
  measured, not assumed: LMDB's last transaction id before and after a run counts its
  commits.
- **call cost**: ``engine.emit_nowait`` of a login event's data against
  ``json.dumps`` of the same dict (target: at most 2 times as long). The handles are
  drained between timed chunks.
- **a large queue**: a directory is filled with ``--deliveries`` pending deliveries
  (1,000,000 by default); a fresh process reopens it and reports its resident memory
  (target: at most 200 MiB) and the time of ``Engine(path)`` and the first
  ``queue_depth`` (target: under 1 s), once with data.mdb evicted from the page cache
  and once warm. Bytes on disk per delivery are reported without a target.

Throughput runs in rounds, each engine case followed at once by its raw case; the
verdict is the median of the rounds' ratios, since the disk's latency drifts and only
cases run back to back see the same disk. Call cost runs in interleaved chunks and
the best chunk is the headline figure, since noise only ever adds time. Every count
is fixed and the fill stops at a time limit, so a run is bounded. Everything is
written under one temporary directory, removed at the end.

Run with ``bash benchmarks/run_engine.sh``, or directly:
``python benchmarks/bench_engine.py --raw PATH/TO/bench_lmdb_raw [--deliveries N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import protekt
from protekt import Payload

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_RAW: Final = ROOT / "build" / "bench" / "benchmarks" / "bench_lmdb_raw"

THROUGHPUT_TARGET: Final = 0.5
CALL_TARGET: Final = 2.0
RSS_TARGET_MIB: Final = 200
REOPEN_TARGET_S: Final = 1.0

THROUGHPUT_ROUNDS: Final = 12
SERIAL_EMITS: Final = 300  # per round, one thread
THREADS: Final = 8
EMITS_PER_THREAD: Final = 100  # per round
CALL_ROUNDS: Final = 31
CALL_CHUNK: Final = 1_000
FILL_CHUNK: Final = 10_000
FILL_PROGRESS: Final = 100_000
FILL_TIME_LIMIT_S: Final = 20 * 60
DEFAULT_DELIVERIES: Final = 1_000_000
DUE_LIMIT: Final = 100

EVENT_TYPE: Final = "user.login.succeeded"
ENDPOINT_URL: Final = "https://hooks.example.com/protekt"
FULL_ENVELOPE_SHAPE: Final = 0xFF
ALL_METADATA: Final = frozenset({"user", "ip", "device", "location"})
# Long enough that no sweep commits during a run and skews the commit count.
NO_SWEEP_S: Final = 3600

# A typical login event's data: the metadata the guide names, nothing else.
LOGIN: Final[dict[str, Any]] = {
    "user": {
        "id": "u_1842",
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
    },
    "ip": "81.2.69.142",
    "user_agent": (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    ),
    "device": {"browser": "Firefox", "os": "Linux"},
    "location": {"city": "London", "country": "GB"},
}


# ---- helpers -----------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "PASS" if met else "BELOW"


def subscribed_engine(path: Path, **options: Any) -> protekt.Engine:
    """An engine with one active endpoint subscribed to EVENT_TYPE. Its payload takes
    every metadata member, so each delivery sends the stored envelope itself and the
    engine writes no separate body: the records bench_lmdb_raw writes."""
    engine = protekt.Engine(path, sweep_interval=NO_SWEEP_S, **options)
    endpoint = engine.endpoints.create(
        url=ENDPOINT_URL,
        events=[EVENT_TYPE],
        payload=Payload(include=ALL_METADATA),
    )
    engine.endpoints.save(endpoint.id, skip_verification=True)
    return engine


def sample_envelope(workdir: Path) -> Path:
    """Emits one event and saves the envelope the engine stored, for bench_lmdb_raw."""
    with subscribed_engine(workdir / "sample") as engine:
        event = engine.emit(EVENT_TYPE, **LOGIN)
        (delivery,) = engine.deliveries(event.id)
        assert delivery.shape == FULL_ENVELOPE_SHAPE, "a separate body was stored"
        envelope = engine.delivery_body(delivery)
    path = workdir / "envelope.json"
    path.write_bytes(envelope)
    return path


def inspect(raw: Path, directory: Path) -> dict[str, dict[str, int]]:
    """bench_lmdb_raw --inspect, parsed: 'env' and one entry per database."""
    out = subprocess.run(
        [raw, "--inspect", directory], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        pairs = dict(part.split("=", 1) for part in line.split())
        name = pairs.pop("db", "env")
        result[name] = {key: int(value) for key, value in pairs.items()}
    return result


def run_raw(raw: Path, batch: int, count: int, envelope: Path) -> float:
    """Events per second of bench_lmdb_raw at one batch size."""
    out = subprocess.run(
        [raw, str(batch), str(count), envelope],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pairs = dict(part.split("=", 1) for part in out.split())
    return float(pairs["events_per_s"])


def rss_mib(status: str) -> dict[str, float]:
    """VmRSS, RssAnon and RssFile from /proc/<pid>/status text, in MiB."""
    result = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            result[name] = int(value.split()[0]) / 1024
    return result


def evict_from_page_cache(path: Path) -> None:
    """Drops one file's clean pages from the page cache, without root and without
    touching other files, so the next open reads it from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---- durable throughput ------------------------------------------------------------


@dataclass
class ThroughputRound:
    serial: float  # events/s, engine, one thread
    threaded: float  # events/s, engine, THREADS threads
    threaded_batch: float  # events per commit the engine achieved with THREADS
    raw_1: float  # events/s, bench_lmdb_raw at batch 1
    raw_batch: int  # the batch size raw_n ran with
    raw_n: float  # events/s, bench_lmdb_raw at raw_batch
    raw_all: float  # events/s, bench_lmdb_raw at THREADS: every caller in one commit


def emit_serially(engine: protekt.Engine, count: int) -> None:
    for _ in range(count):
        engine.emit(EVENT_TYPE, **LOGIN)


def emit_in_threads(engine: protekt.Engine, threads: int, count: int) -> None:
    """Each of threads threads emits count events; all start together."""
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        emit_serially(engine, count)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def timed_emits(
    raw: Path, directory: Path, run: Callable[[protekt.Engine], None], events: int
) -> tuple[float, float]:
    """Events/s and events per commit of run, in a fresh directory."""
    with subscribed_engine(directory) as engine:
        before = inspect(raw, directory)["env"]["last_txnid"]
        start = time.perf_counter()
        run(engine)
        elapsed = time.perf_counter() - start
        commits = inspect(raw, directory)["env"]["last_txnid"] - before
        assert engine.queue_depth == events
    return events / elapsed, events / commits


def throughput_round(
    raw: Path, workdir: Path, envelope: Path, n: int
) -> ThroughputRound:
    serial, _ = timed_emits(
        raw,
        workdir / f"serial-{n}",
        lambda e: emit_serially(e, SERIAL_EMITS),
        SERIAL_EMITS,
    )
    threaded_events = THREADS * EMITS_PER_THREAD
    threaded, batch = timed_emits(
        raw,
        workdir / f"threads-{n}",
        lambda e: emit_in_threads(e, THREADS, EMITS_PER_THREAD),
        threaded_events,
    )
    raw_batch = max(1, round(batch))
    return ThroughputRound(
        serial=serial,
        threaded=threaded,
        threaded_batch=batch,
        raw_1=run_raw(raw, 1, SERIAL_EMITS, envelope),
        raw_batch=raw_batch,
        raw_n=run_raw(raw, raw_batch, threaded_events, envelope),
        raw_all=run_raw(raw, THREADS, threaded_events, envelope),
    )


def bench_throughput(raw: Path, workdir: Path, envelope: Path) -> None:
    print(
        f"## durable emit: {THROUGHPUT_ROUNDS} rounds; 1 thread x {SERIAL_EMITS} "
        f"emits, {THREADS} threads x {EMITS_PER_THREAD}; each followed at once by "
        "the raw loop with as many events"
    )
    rounds = []
    for n in range(THROUGHPUT_ROUNDS):
        r = throughput_round(raw, workdir, envelope, n)
        rounds.append(r)
        print(
            f"round {n:>2}: 1 thread {r.serial:6.0f}/s, raw batch 1 {r.raw_1:6.0f}/s | "
            f"{THREADS} threads {r.threaded:6.0f}/s (mean batch "
            f"{r.threaded_batch:3.1f}), raw batch {r.raw_batch} {r.raw_n:6.0f}/s, "
            f"raw batch {THREADS} {r.raw_all:6.0f}/s"
        )

    print()
    print_throughput_ratio(
        "1 thread / raw batch 1", [(r.serial, r.raw_1) for r in rounds], True
    )
    print_throughput_ratio(
        f"{THREADS} threads / raw batch = engine's mean",
        [(r.threaded, r.raw_n) for r in rounds],
        True,
    )
    print_throughput_ratio(
        f"{THREADS} threads / raw batch {THREADS} (reference)",
        [(r.threaded, r.raw_all) for r in rounds],
        False,
    )
    batches = statistics.median(r.threaded_batch for r in rounds)
    print(
        f"  engine's mean batch with {THREADS} threads: median {batches:.1f} events\n"
    )


def print_throughput_ratio(
    label: str, pairs: list[tuple[float, float]], has_target: bool
) -> None:
    """The median of each round's ratio (ours and raw ran back to back, under the
    same load), and for comparison the best round of each."""
    ratio = statistics.median(ours / raw for ours, raw in pairs)
    best = max(ours for ours, _ in pairs) / max(raw for _, raw in pairs)
    line = f"{label:<40} median of rounds {ratio:4.2f} (best / best {best:4.2f})"
    if has_target:
        met = ratio >= THROUGHPUT_TARGET
        line += f", target >= {THROUGHPUT_TARGET}: {verdict(met)}"
    print(line)


# ---- call cost ---------------------------------------------------------------------


@dataclass
class Chunks:
    """ns per call of each timed chunk of one case."""

    name: str
    ns_per_call: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.ns_per_call)

    @property
    def median(self) -> float:
        return statistics.median(self.ns_per_call)


def time_emit_chunk(engine: protekt.Engine) -> float:
    """ns per emit_nowait over one chunk; the chunk is made durable afterwards."""
    emit = engine.emit_nowait
    data = LOGIN
    start = time.perf_counter_ns()
    handles = [emit(EVENT_TYPE, **data) for _ in range(CALL_CHUNK)]
    elapsed = time.perf_counter_ns() - start

    # The writer commits in order, so the last handle being durable means all are.
    handles[-1].result()
    return elapsed / CALL_CHUNK


def time_dumps_chunk() -> float:
    dumps = json.dumps
    data = LOGIN
    start = time.perf_counter_ns()
    texts = [dumps(data) for _ in range(CALL_CHUNK)]
    elapsed = time.perf_counter_ns() - start
    del texts
    return elapsed / CALL_CHUNK


def bench_call_cost(workdir: Path) -> None:
    print(
        f"## call cost: {CALL_ROUNDS} chunks x {CALL_CHUNK} calls per case, "
        f"interleaved; data {len(json.dumps(LOGIN))} bytes as JSON"
    )
    emit = Chunks("engine.emit_nowait(type, **data)")
    dumps = Chunks("json.dumps(data)")
    with subscribed_engine(workdir / "calls") as engine:
        time_emit_chunk(engine)  # warm-up
        time_dumps_chunk()
        for _ in range(CALL_ROUNDS):
            emit.ns_per_call.append(time_emit_chunk(engine))
            dumps.ns_per_call.append(time_dumps_chunk())

    print(f"{'case':<34} {'ns/call best':>12} {'ns/call median':>14}")
    for case in (emit, dumps):
        print(f"{case.name:<34} {case.best:>12.0f} {case.median:>14.0f}")
    ratio = emit.best / dumps.best
    print(
        f"emit_nowait / json.dumps: {ratio:.2f}x (median "
        f"{emit.median / dumps.median:.2f}x), target <= {CALL_TARGET:.0f}x: "
        f"{verdict(ratio <= CALL_TARGET)}\n"
    )


# ---- a large queue -----------------------------------------------------------------


def fill(directory: Path, deliveries: int) -> tuple[int, float]:
    """Emits events to one endpoint until deliveries are pending, or the time limit
    passes. Returns how many are pending and how long it took."""
    print(f"## a queue of {deliveries:,} pending deliveries: filling {directory.name}")
    start = time.perf_counter()
    done = 0
    with subscribed_engine(directory) as engine:
        while done < deliveries and time.perf_counter() - start < FILL_TIME_LIMIT_S:
            chunk = min(FILL_CHUNK, deliveries - done)
            handles = [engine.emit_nowait(EVENT_TYPE, **LOGIN) for _ in range(chunk)]
            handles[-1].result()
            del handles
            done += chunk
            if done % FILL_PROGRESS == 0 or done == deliveries:
                elapsed = time.perf_counter() - start
                print(f"  {done:>9,} in {elapsed:6.1f} s ({done / elapsed:,.0f}/s)")
        pending = engine.queue_depth
    elapsed = time.perf_counter() - start
    if pending < deliveries:
        print(f"  stopped at the {FILL_TIME_LIMIT_S} s limit with {pending:,}")
    return pending, elapsed


def reopen_in_child(directory: Path) -> dict[str, Any]:
    """Runs this script's --reopen in a fresh interpreter and returns its report."""
    out = subprocess.run(
        [sys.executable, __file__, "--reopen", directory],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report: dict[str, Any] = json.loads(out)
    return report


def reopen(directory: Path) -> None:
    """The child: opens the directory, reads the queue, prints a JSON report."""
    status = Path("/proc/self/status")
    gc.collect()
    report: dict[str, Any] = {"rss_imported": rss_mib(status.read_text())}

    start = time.perf_counter()
    engine = protekt.Engine(directory)
    opened = time.perf_counter()
    report["rss_opened"] = rss_mib(status.read_text())

    depth_start = time.perf_counter()
    depth = engine.queue_depth
    depth_end = time.perf_counter()
    report["rss_depth"] = rss_mib(status.read_text())

    due = engine.due(limit=DUE_LIMIT)
    report["rss_due"] = rss_mib(status.read_text())
    engine.close()

    report.update(
        open_s=opened - start,
        depth_s=depth_end - depth_start,
        queue_depth=depth,
        due=len(due),
    )
    print(json.dumps(report))


def print_reopen(label: str, report: dict[str, Any]) -> None:
    total = report["open_s"] + report["depth_s"]
    print(
        f"reopen, {label}: Engine() {report['open_s'] * 1e3:.1f} ms + first "
        f"queue_depth {report['depth_s'] * 1e3:.2f} ms = {total * 1e3:.1f} ms "
        f"(queue_depth {report['queue_depth']:,}, due {report['due']}), "
        f"target < {REOPEN_TARGET_S:.0f} s: {verdict(total < REOPEN_TARGET_S)}"
    )
    print(f"  {'RSS, MiB':<24} {'VmRSS':>7} {'RssAnon':>8} {'RssFile':>8}")
    for key, name in (
        ("rss_imported", "after import protekt"),
        ("rss_opened", "after Engine(path)"),
        ("rss_depth", "after queue_depth"),
        ("rss_due", f"after due(limit={DUE_LIMIT})"),
    ):
        rss = report[key]
        print(
            f"  {name:<24} {rss['VmRSS']:>7.1f} {rss['RssAnon']:>8.1f} "
            f"{rss['RssFile']:>8.1f}"
        )
    peak = max(report[key]["VmRSS"] for key in ("rss_opened", "rss_depth", "rss_due"))
    print(
        f"  resident memory {peak:.1f} MiB, target <= {RSS_TARGET_MIB} MiB: "
        f"{verdict(peak <= RSS_TARGET_MIB)}"
    )


def print_disk(raw: Path, directory: Path, pending: int) -> None:
    info = os.stat(directory / "data.mdb")
    stats = inspect(raw, directory)
    page = stats["env"]["page_size"]
    print(
        f"disk: data.mdb {info.st_blocks * 512 / 2**20:,.1f} MiB allocated (du), "
        f"{info.st_size / 2**20:,.1f} MiB long; "
        f"{info.st_blocks * 512 / pending:,.0f} bytes per pending delivery (du)"
    )
    for name in ("events", "deliveries", "due", "endpoint_due"):
        db = stats.get(name, {"pages": 0, "entries": 0, "depth": 0})
        print(
            f"  {name:<11} {db['entries']:>9,} entries, depth {db['depth']}, "
            f"{db['pages'] * page / pending:6.0f} bytes per delivery"
        )


def bench_large_queue(raw: Path, workdir: Path, deliveries: int) -> None:
    directory = workdir / "queue"
    pending, seconds = fill(directory, deliveries)
    print(f"fill: {pending:,} events in {seconds:.1f} s ({pending / seconds:,.0f}/s)")
    print_disk(raw, directory, pending)

    evict_from_page_cache(directory / "data.mdb")
    print_reopen("data.mdb evicted from the page cache", reopen_in_child(directory))
    print_reopen("warm page cache", reopen_in_child(directory))
    print()


# ---- main --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="bench_lmdb_raw")
    parser.add_argument("--deliveries", type=int, default=DEFAULT_DELIVERIES)
    parser.add_argument("--reopen", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reopen is not None:
        reopen(args.reopen)
        return
    if not args.raw.is_file():
        parser.error(f"{args.raw} is missing; build it (benchmarks/run_engine.sh does)")

    print(
        f"bench_engine.py: Python {platform.python_version()}, protekt "
        f"{protekt.__version__}, {os.cpu_count()} CPUs, temporary files in "
        f"{tempfile.gettempdir()}\n"
    )
    with tempfile.TemporaryDirectory(prefix="protekt-bench-engine-") as name:
        workdir = Path(name)
        envelope = sample_envelope(workdir)
        print(f"stored envelope: {envelope.stat().st_size} bytes\n")
        bench_throughput(args.raw, workdir, envelope)
        bench_call_cost(workdir)
        bench_large_queue(args.raw, workdir, args.deliveries)


if __name__ == "__main__":
    main()
