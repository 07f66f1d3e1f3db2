"""Delivery benchmark for issue #4: webhooks per second, fan-out and latency.

The script starts Debian's nginx on loopback, in a temporary prefix of its own, with
one plain HTTP port and one HTTPS port (certificates made with trustme) and a
location that answers 200. Three measurements, each with its target if it has one:

- **throughput**: ``--events`` signed deliveries of a 1 KiB JSON body from the engine
  to nginx over ``--connections`` keep-alive connections, over HTTP and over HTTPS.
  The queue is filled while the dispatcher is stopped, so the rate counts delivery
  only: the timer runs from ``start_dispatcher`` until every delivery has succeeded.
  Against ``wrk`` posting the same body with the same headers over as many
  connections to the same nginx for ``--wrk-seconds`` (target: at least 0.5 of
  wrk's rate), and against an asyncio sender on aiohttp that signs each request
  with hmac and base64 the Standard Webhooks way and sends ``--aiohttp-requests``
  (target: at least 5 times its rate). The default of 200,000 events keeps the
  engine busy for about as long as wrk runs, so that both rates are steady ones;
  aiohttp, ten times slower, sends a tenth as many.
- **fan-out**: one event to 100 endpoints, each its own path at the same nginx:
  ``--fanout-events`` events queued, then the time until every delivery succeeded,
  and single events emitted with the dispatcher running, each timed until its last
  delivery succeeded. No target.
- **latency**: from ``emit`` returning to the first byte of the request at a small
  receiver of this script's own, at a fixed moderate rate; p50, p99 and the
  maximum. No target.

Throughput runs in rounds, each case followed at once by the others on the same
scheme, and the verdict is the median of the rounds' ratios: the machine is shared
and only cases run back to back see the same load. Correctness is checked around
every timing: nginx answered 200 to every request (wrk's non-2xx count, aiohttp's
statuses, the engine's counters), the engine made no retries, and the signatures of
all three senders verify with ``protekt.Webhook``. Every wait has a time limit and
nginx is stopped on the way out, also after an error.

Run with ``bash benchmarks/run_delivery.sh``, or directly:
``python benchmarks/bench_delivery.py [--events N] [--rounds R]`` (``--help`` lists
the other options).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import trustme

import protekt
from protekt import Payload

ROOT: Final = Path(__file__).resolve().parent.parent
LOGIN_1K: Final = ROOT / "benchmarks" / "data" / "login_event_1k.json"
NGINX: Final = "/usr/sbin/nginx"
WRK: Final = "/usr/bin/wrk"

WRK_TARGET: Final = 0.5  # ours / wrk, at least
AIOHTTP_TARGET: Final = 5.0  # ours / aiohttp, at least

DEFAULT_EVENTS: Final = 200_000
DEFAULT_AIOHTTP_REQUESTS: Final = 20_000
DEFAULT_ROUNDS: Final = 3
DEFAULT_CONNECTIONS: Final = 8  # the dispatcher's default concurrency per endpoint
DEFAULT_WRK_SECONDS: Final = 5
WRK_THREADS: Final = 1
FANOUT_ENDPOINTS: Final = 100
DEFAULT_FANOUT_EVENTS: Final = 200
FANOUT_SINGLE_EVENTS: Final = 5
DEFAULT_LATENCY_EVENTS: Final = 1_000
LATENCY_RATE: Final = 100  # events per second
LATENCY_WARMUP: Final = 20

# The engine's rate is also given up to this share of the deliveries, without the
# tail of deliveries the dispatcher put off for a second (docs/benchmarks.md).
MOST: Final = 0.9
FILL_CHUNK: Final = 1_000
SYNC_PROBES: Final = 200
POLL_S: Final = 0.005
DELIVERY_TIME_LIMIT_S: Final = 180.0
SERVER_START_LIMIT_S: Final = 10.0
SERVER_STOP_LIMIT_S: Final = 10.0
WRK_GRACE_S: Final = 30.0

EVENT_TYPE: Final = "user.login.succeeded"
ALL_METADATA: Final = frozenset({"user", "ip", "device", "location"})
LOOPBACK: Final = "127.0.0.1"
ALLOWED: Final = ("127.0.0.0/8",)
USER_AGENT: Final = f"Protekt-Webhooks/{protekt.__version__}"
NO_SWEEP_S: Final = 3600
# Where the page size and the transaction id sit in an LMDB meta page: after the
# 16-byte page header, mm_dbs[0].md_pad holds the page size and mm_txnid follows
# mm_dbs[2] and mm_last_pg (lmdb 0.9, 64-bit).
META_PSIZE_OFFSET: Final = 16 + 24
META_TXNID_OFFSET: Final = 16 + 4 + 4 + 8 + 8 + 2 * 48 + 8
NS: Final = 1_000_000_000


# ---- helpers -----------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "PASS" if met else "BELOW"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, alive: Callable[[], bool]) -> None:
    """Returns once something accepts on port; raises after SERVER_START_LIMIT_S."""
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server for port {port} exited")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((LOOPBACK, port), timeout=1),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing accepted on port {port} in {SERVER_START_LIMIT_S} s")


def wait_until(done: Callable[[], bool], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {limit_s} s")
        time.sleep(POLL_S)


def login_data() -> dict[str, Any]:
    """The data of the 1 KiB login event; the engine's envelope of it is 1024 bytes."""
    data: dict[str, Any] = json.loads(LOGIN_1K.read_text())["data"]
    return data


def sync_ms(directory: Path) -> float:
    """The median time of a 4 KiB write and fdatasync in directory: what a durable
    commit waits for, twice (LMDB syncs its pages, then its meta page)."""
    path = directory / "sync-probe"
    block = os.urandom(4096)
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(SYNC_PROBES):
            start = time.perf_counter()
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1e3


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User and system CPU time of this process (all its threads) or of its
    finished children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(q * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# ---- the receivers: nginx and certificates -----------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA, PEM: the engine's ca_file and the clients' trust
    chain: Path  # the server certificate for 127.0.0.1, then the CA
    key: Path


def make_certificates(directory: Path) -> Certificates:
    ca = trustme.CA()
    server = ca.issue_cert(LOOPBACK)
    certs = Certificates(
        directory / "ca.pem", directory / "chain.pem", directory / "key.pem"
    )
    ca.cert_pem.write_to_path(str(certs.ca))
    certs.chain.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(certs.key))
    return certs


NGINX_CONF: Final = """\
daemon off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 120s;
  client_body_buffer_size 64k;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  ssl_certificate {chain};
  ssl_certificate_key {key};
  server {{
    listen {host}:{http_port};
    listen {host}:{https_port} ssl;
    location / {{ return 200 "ok\\n"; }}
    location = /nginx-status {{ stub_status; }}
  }}
}}
"""


class Nginx:
    """Debian's nginx on two loopback ports, run in the foreground from a prefix
    directory of its own; stopped by ``close`` (also from ``with``)."""

    def __init__(self, prefix: Path, certs: Certificates) -> None:
        self.http_port = free_port()
        self.https_port = free_port()
        self.prefix = prefix
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                prefix=prefix,
                chain=certs.chain,
                key=certs.key,
                host=LOOPBACK,
                http_port=self.http_port,
                https_port=self.https_port,
            )
        )
        self._process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(prefix),
                "-e",
                str(prefix / "error.log"),
                "-c",
                str(conf),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for port in (self.http_port, self.https_port):
                wait_for_port(port, lambda: self._process.poll() is None)
        except BaseException:
            self.close()
            raise

    def url(self, scheme: str, path: str = "/hook") -> str:
        port = self.https_port if scheme == "https" else self.http_port
        return f"{scheme}://{LOOPBACK}:{port}{path}"

    def counts(self) -> tuple[int, int]:
        """Connections accepted and requests handled so far (stub_status), the
        status request and its connection included."""
        status_url = self.url("http", "/nginx-status")
        with urllib.request.urlopen(status_url, timeout=5) as answer:
            text = answer.read().decode()
        accepted, _handled, requests = (int(n) for n in text.splitlines()[2].split())
        return accepted, requests

    def since(self, before: tuple[int, int]) -> tuple[int, int]:
        """Connections and requests since counts() returned before, without the
        status request made now."""
        accepted, requests = self.counts()
        return accepted - before[0] - 1, requests - before[1] - 1

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(SERVER_STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(SERVER_STOP_LIMIT_S)
        if self._process.stderr is not None:
            self._process.stderr.close()

    def __enter__(self) -> Nginx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_nginx(nginx: Nginx, certs: Certificates) -> None:
    """Both ports answer a POST with 200 and ok, HTTPS with the test CA trusted."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    for scheme in ("http", "https"):
        request = urllib.request.Request(nginx.url(scheme), data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            assert answer.status == 200, f"nginx {scheme} answered {answer.status}"
            assert answer.read() == b"ok\n"


# ---- the engine --------------------------------------------------------------------


def open_engine(directory: Path, certs: Certificates) -> protekt.Engine:
    return protekt.Engine(
        directory,
        allow_http=True,
        allowed_networks=ALLOWED,
        ca_file=certs.ca,
        sweep_interval=NO_SWEEP_S,
    )


def add_endpoint(engine: protekt.Engine, url: str) -> protekt.Endpoint:
    """An active endpoint for EVENT_TYPE taking every metadata member, so it receives
    the whole envelope."""
    endpoint = engine.endpoints.create(
        url=url,
        events=[EVENT_TYPE],
        payload=Payload(format="json", include=ALL_METADATA),
    )
    return engine.endpoints.save(endpoint.id, skip_verification=True)


def start_dispatcher(
    engine: protekt.Engine, certs: Certificates, connections: int
) -> None:
    started = engine.start_dispatcher(
        concurrency=connections, allowed_networks=ALLOWED, ca_file=certs.ca
    )
    assert started, "another process holds the dispatcher lock"


def fill(engine: protekt.Engine, data: dict[str, Any], events: int) -> None:
    """Queues events, durably, while no dispatcher runs."""
    done = 0
    while done < events:
        chunk = min(FILL_CHUNK, events - done)
        handles = [engine.emit_nowait(EVENT_TYPE, **data) for _ in range(chunk)]
        handles[-1].result(timeout=60)
        done += chunk


def succeeded(engine: protekt.Engine) -> tuple[int, int]:
    """Deliveries succeeded and attempts failed, over every endpoint."""
    counts = engine.metrics().endpoints.values()
    return sum(c.succeeded for c in counts), sum(c.failed_attempts for c in counts)


def lmdb_commits(directory: Path) -> int:
    """LMDB's last transaction id, which each write transaction adds one to: the
    larger mm_txnid of data.mdb's two meta pages (MDB_meta in lmdb's mdb.c)."""
    with (directory / "data.mdb").open("rb") as file:
        head = file.read(META_TXNID_OFFSET + 8)
        page_size = int.from_bytes(
            head[META_PSIZE_OFFSET : META_PSIZE_OFFSET + 4], "little"
        )
        file.seek(page_size)
        second = file.read(META_TXNID_OFFSET + 8)
    return max(
        int.from_bytes(meta[META_TXNID_OFFSET:], "little") for meta in (head, second)
    )


@dataclass(frozen=True)
class QueueRun:
    seconds: float  # from start_dispatcher until every delivery succeeded
    seconds_most: float  # the same until MOST of them had
    commits: int  # LMDB write transactions meanwhile
    cpu: float  # CPU seconds this process used meanwhile, all threads


def run_queue(
    engine: protekt.Engine, certs: Certificates, connections: int, total: int
) -> QueueRun:
    """Starts the dispatcher on a filled queue and times it until total deliveries
    have succeeded. Raises if any attempt fails or time runs out."""

    most: list[float] = []

    def finished() -> bool:
        ok, failed = succeeded(engine)
        assert failed == 0, f"{failed} attempts failed"
        if not most and ok >= MOST * total:
            most.append(time.perf_counter())
        return ok >= total

    commits = lmdb_commits(Path(engine.path))
    cpu = cpu_seconds()
    start = time.perf_counter()
    start_dispatcher(engine, certs, connections)
    wait_until(finished, DELIVERY_TIME_LIMIT_S, f"{total} deliveries")
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    commits = lmdb_commits(Path(engine.path)) - commits
    engine.stop_dispatcher()

    metrics = engine.metrics()
    attempts = sum(c.attempts for c in metrics.endpoints.values())
    assert metrics.queue_depth == 0, f"{metrics.queue_depth} deliveries still queued"
    assert attempts == total, f"{attempts} attempts for {total} deliveries"
    return QueueRun(elapsed, most[0] - start, commits, cpu)


@dataclass(frozen=True)
class EngineRun:
    rate: float  # deliveries/s
    rate_most: float  # deliveries/s until MOST of them had succeeded
    connections: int  # connections nginx accepted during the run
    commits: float  # LMDB commits per delivery
    cpu_us: float  # CPU time per delivery, all of the process's threads


def engine_throughput(
    workdir: Path,
    nginx: Nginx,
    certs: Certificates,
    scheme: str,
    events: int,
    connections: int,
) -> EngineRun:
    with open_engine(workdir, certs) as engine:
        add_endpoint(engine, nginx.url(scheme))
        fill(engine, login_data(), events)
        assert engine.queue_depth == events
        before = nginx.counts()
        run = run_queue(engine, certs, connections, events)
        accepted, requests = nginx.since(before)
    assert requests == events, f"nginx saw {requests} requests for {events}"
    shutil.rmtree(workdir)
    return EngineRun(
        events / run.seconds,
        MOST * events / run.seconds_most,
        accepted,
        run.commits / events,
        run.cpu / events * 1e6,
    )


@dataclass(frozen=True)
class Sample:
    """One delivery as the engine sends it: body, secret and headers."""

    body: bytes
    secret: str
    headers: dict[str, str]


def engine_sample(workdir: Path, certs: Certificates) -> Sample:
    """The body the engine delivers for the 1 KiB login event, and the request it
    makes, caught by a receiver of this script; its signature is checked."""
    with Receiver() as receiver, open_engine(workdir, certs) as engine:
        endpoint = add_endpoint(engine, receiver.url)
        event = engine.emit(EVENT_TYPE, **login_data())
        (delivery,) = engine.deliveries(event.id)
        body = engine.delivery_body(delivery)
        start_dispatcher(engine, certs, 1)
        wait_until(lambda: event.id in receiver.first_byte, 10, "a sample delivery")
        engine.stop_dispatcher()
        headers, received = receiver.requests[event.id]
    assert endpoint.secret is not None
    assert received == body, "the engine sent another body than delivery_body"
    protekt.Webhook(endpoint.secret).verify(body, headers)
    shutil.rmtree(workdir)
    return Sample(body, endpoint.secret, headers)


# ---- wrk ---------------------------------------------------------------------------


WRK_SCRIPT: Final = """\
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
{headers}
"""


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def message_id(n: int) -> str:
    """A webhook-id as long as the engine's event ids."""
    return f"msg_{n:026d}"


def signed_headers(
    key: bytes, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers the engine sends, signed the Standard Webhooks way with hmac and
    base64: the MAC of "{id}.{timestamp}.{body}" as "v1,<base64>"."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = base64.b64encode(hmac.digest(key, content, hashlib.sha256)).decode()
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{mac}",
    }


def write_wrk_script(directory: Path, sample: Sample) -> Path:
    """A Lua script posting the sample body with one set of headers, signed by the
    aiohttp sender's function and checked by protekt: wrk repeats one request and
    signs nothing itself."""
    body = directory / "body.json"
    body.write_bytes(sample.body)
    headers = signed_headers(
        secret_key(sample.secret), message_id(0), int(time.time()), sample.body
    )
    protekt.Webhook(sample.secret).verify(sample.body, headers)
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = directory / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body, headers=lines))
    return script


@dataclass(frozen=True)
class WrkRun:
    rate: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_us: float  # wrk's CPU time per request


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> WrkRun:
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [
            WRK,
            "-t",
            str(WRK_THREADS),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + WRK_GRACE_S,
    ).stdout
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    requests = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if requests is None or rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return WrkRun(
        float(rate.group(1)),
        int(requests.group(1)),
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
        cpu / int(requests.group(1)) * 1e6,
    )


# ---- the aiohttp sender ------------------------------------------------------------


async def send_all(
    url: str, sample: Sample, count: int, connections: int, context: ssl.SSLContext
) -> dict[int, int]:
    """Posts the body count times over connections keep-alive connections, each
    request signed afresh; returns how many answers had each status."""
    key = secret_key(sample.secret)
    body = sample.body
    statuses: dict[int, int] = {}
    sent = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < count:
            sent += 1
            headers = signed_headers(key, message_id(sent), int(time.time()), body)
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=connections, ssl=context)
    timeout = aiohttp.ClientTimeout(total=DELIVERY_TIME_LIMIT_S)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        skip_auto_headers=("Accept", "Accept-Encoding"),
    ) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    return statuses


@dataclass(frozen=True)
class AiohttpRun:
    rate: float
    cpu_us: float  # CPU time per request


def aiohttp_throughput(
    url: str, sample: Sample, count: int, connections: int, context: ssl.SSLContext
) -> AiohttpRun:
    cpu = cpu_seconds()
    start = time.perf_counter()
    statuses = asyncio.run(send_all(url, sample, count, connections, context))
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    assert statuses == {200: count}, f"aiohttp got answers {statuses}"
    return AiohttpRun(count / elapsed, cpu / count * 1e6)


# ---- throughput --------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputRound:
    engine: EngineRun
    wrk: WrkRun
    aiohttp: AiohttpRun


def throughput_round(
    workdir: Path,
    nginx: Nginx,
    certs: Certificates,
    sample: Sample,
    script: Path,
    scheme: str,
    args: argparse.Namespace,
) -> ThroughputRound:
    context = ssl.create_default_context(cafile=str(certs.ca))
    url = nginx.url(scheme)
    engine = engine_throughput(
        workdir, nginx, certs, scheme, args.events, args.connections
    )
    wrk = run_wrk(url, script, args.connections, args.wrk_seconds)
    assert wrk.non_2xx == 0, (
        f"nginx answered wrk {wrk.non_2xx} times with another status"
    )
    assert wrk.socket_errors == 0, f"wrk had {wrk.socket_errors} socket errors"
    ours = aiohttp_throughput(
        url, sample, args.aiohttp_requests, args.connections, context
    )
    return ThroughputRound(engine, wrk, ours)


def print_ratio(
    label: str, pairs: list[tuple[float, float]], target: float | None
) -> None:
    """The median of the rounds' ratios (the cases of a round ran back to back,
    under the same load), and for comparison the best round of each."""
    ratio = statistics.median(ours / theirs for ours, theirs in pairs)
    best = max(o for o, _ in pairs) / max(t for _, t in pairs)
    line = f"  {label:<30} median of rounds {ratio:6.3f} (best / best {best:6.3f})"
    if target is not None:
        line += f", target >= {target}: {verdict(ratio >= target)}"
    print(line)


def bench_throughput(
    workdir: Path,
    nginx: Nginx,
    certs: Certificates,
    sample: Sample,
    args: argparse.Namespace,
) -> None:
    print(
        f"## throughput: {args.rounds} rounds; the engine delivers {args.events} "
        f"events over {args.connections} connections, wrk -t {WRK_THREADS} -c "
        f"{args.connections} for {args.wrk_seconds} s, aiohttp sends "
        f"{args.aiohttp_requests} "
        "requests; nginx worker_processes 1"
    )
    script = write_wrk_script(workdir, sample)
    results: dict[str, list[ThroughputRound]] = {"http": [], "https": []}
    for n in range(args.rounds):
        for scheme, rounds in results.items():
            r = throughput_round(
                workdir / f"{scheme}-{n}", nginx, certs, sample, script, scheme, args
            )
            rounds.append(r)
            print(
                f"round {n} {scheme:<5}: engine {r.engine.rate:6.0f}/s (first "
                f"{MOST:.0%} {r.engine.rate_most:6.0f}/s; {r.engine.connections} "
                f"connections, {r.engine.commits:.3f} commits/delivery, "
                f"{r.engine.cpu_us:.0f} us CPU each) | wrk {r.wrk.rate:6.0f}/s "
                f"({r.wrk.requests} requests, {r.wrk.cpu_us:.1f} us CPU each) | "
                f"aiohttp {r.aiohttp.rate:6.0f}/s ({r.aiohttp.cpu_us:.0f} us CPU each)"
            )
    print()
    for scheme, rounds in results.items():
        med = statistics.median
        print(
            f"{scheme}, medians: engine {med(r.engine.rate for r in rounds):.0f}/s "
            f"(first {MOST:.0%} {med(r.engine.rate_most for r in rounds):.0f}/s, "
            f"{med(r.engine.cpu_us for r in rounds):.0f} us CPU each), wrk "
            f"{med(r.wrk.rate for r in rounds):.0f}/s "
            f"({med(r.wrk.cpu_us for r in rounds):.1f} us), aiohttp "
            f"{med(r.aiohttp.rate for r in rounds):.0f}/s "
            f"({med(r.aiohttp.cpu_us for r in rounds):.0f} us)"
        )
        print_ratio(
            "engine / wrk", [(r.engine.rate, r.wrk.rate) for r in rounds], WRK_TARGET
        )
        print_ratio(
            "engine / aiohttp",
            [(r.engine.rate, r.aiohttp.rate) for r in rounds],
            AIOHTTP_TARGET,
        )
        print_ratio(
            f"engine, first {MOST:.0%} / wrk",
            [(r.engine.rate_most, r.wrk.rate) for r in rounds],
            None,
        )
        print_ratio(
            f"engine, first {MOST:.0%} / aiohttp",
            [(r.engine.rate_most, r.aiohttp.rate) for r in rounds],
            None,
        )
    print()


# ---- fan-out -----------------------------------------------------------------------


def bench_fanout(
    workdir: Path, nginx: Nginx, certs: Certificates, args: argparse.Namespace
) -> None:
    total = FANOUT_ENDPOINTS * args.fanout_events
    print(
        f"## fan-out: one event to {FANOUT_ENDPOINTS} endpoints (/hook/0 ... "
        f"/hook/{FANOUT_ENDPOINTS - 1} at the same nginx, http), concurrency "
        f"{args.connections} per endpoint"
    )
    data = login_data()
    with open_engine(workdir, certs) as engine:
        for i in range(FANOUT_ENDPOINTS):
            add_endpoint(engine, nginx.url("http", f"/hook/{i}"))

        # A queue of events, all sent at once.
        fill(engine, data, args.fanout_events)
        assert engine.queue_depth == total
        before = nginx.counts()
        run = run_queue(engine, certs, args.connections, total)
        accepted, requests = nginx.since(before)
        assert requests == total, f"nginx saw {requests} requests for {total}"
        print(
            f"queued: {args.fanout_events} events, {total} deliveries in "
            f"{run.seconds:.2f} s: {total / run.seconds:.0f} deliveries/s, "
            f"{run.seconds / args.fanout_events * 1e3:.1f} ms per event's fan-out; "
            f"{accepted} connections, {run.commits / total:.3f} LMDB commits per "
            "delivery"
        )

        # Single events with the dispatcher running: emit, then the last success.
        start_dispatcher(engine, certs, args.connections)
        times = [time_single_fanout(engine, data) for _ in range(FANOUT_SINGLE_EVENTS)]
        engine.stop_dispatcher()
    print(
        f"single events: emit to the last of {FANOUT_ENDPOINTS} successes, median "
        f"{statistics.median(times) * 1e3:.1f} ms (min {min(times) * 1e3:.1f}, max "
        f"{max(times) * 1e3:.1f}) over {FANOUT_SINGLE_EVENTS} events\n"
    )
    shutil.rmtree(workdir)


def time_single_fanout(engine: protekt.Engine, data: dict[str, Any]) -> float:
    before, _ = succeeded(engine)
    start = time.perf_counter()
    engine.emit(EVENT_TYPE, **data)
    wait_until(
        lambda: succeeded(engine)[0] >= before + FANOUT_ENDPOINTS, 60, "a fan-out"
    )
    return time.perf_counter() - start


# ---- latency -----------------------------------------------------------------------


OK_RESPONSE: Final = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"


class _ReceiverProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server side: notes when each request's first byte
    arrived and its webhook-id, and answers 200."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._buffer = bytearray()
        self._first_ns = 0
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._receiver.transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self._transport is not None
        self._receiver.transports.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        if not self._buffer:
            self._first_ns = now
        self._buffer += data
        while self._take_request():
            # Bytes left over belong to the next request, which arrived just now.
            self._first_ns = now

    def _take_request(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")[1:]
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self._buffer) < end + 4 + length:
            return False
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        self._receiver.note(headers, body, self._first_ns)
        assert self._transport is not None
        self._transport.write(OK_RESPONSE)
        return bool(self._buffer)


class Receiver:
    """An asyncio HTTP receiver on loopback, in a thread of its own; ``first_byte``
    maps each webhook-id to time.perf_counter_ns() at its request's first byte."""

    def __init__(self) -> None:
        self.first_byte: dict[str, int] = {}
        self.requests: dict[str, tuple[dict[str, str], bytes]] = {}
        self.keep_requests = 1
        self.transports: set[asyncio.Transport] = set()  # the loop's thread only
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _ReceiverProtocol(self), LOOPBACK, 0)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/hook"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def note(self, headers: dict[str, str], body: bytes, first_ns: int) -> None:
        message_id = headers.get("webhook-id", "")
        if len(self.requests) < self.keep_requests:
            self.requests[message_id] = (headers, body)
        self.first_byte.setdefault(message_id, first_ns)

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def shut() -> None:
            self._server.close()
            for transport in list(self.transports):
                transport.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(SERVER_STOP_LIMIT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(SERVER_STOP_LIMIT_S)
        self._loop.close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def emit_paced(
    engine: protekt.Engine, data: dict[str, Any], count: int, rate: float
) -> dict[str, tuple[int, int]]:
    """Emits count events at rate per second; returns each event's id with
    time.perf_counter_ns() when its emit was called and when it returned."""
    times: dict[str, tuple[int, int]] = {}
    interval_ns = NS / rate
    start = time.perf_counter_ns()
    for i in range(count):
        delay = (start + i * interval_ns - time.perf_counter_ns()) / NS
        if delay > 0:
            time.sleep(delay)
        called = time.perf_counter_ns()
        event = engine.emit(EVENT_TYPE, **data)
        times[event.id] = (called, time.perf_counter_ns())
    return times


def print_spread(label: str, values_ms: list[float]) -> None:
    ordered = sorted(values_ms)
    p50, p90, p99 = (percentile(ordered, q) for q in (0.5, 0.9, 0.99))
    print(
        f"  {label:<36} p50 {p50:6.2f}  p90 {p90:6.2f}  p99 {p99:6.2f}  max "
        f"{ordered[-1]:6.2f}  min {ordered[0]:6.2f}"
    )


def bench_latency(workdir: Path, certs: Certificates, args: argparse.Namespace) -> None:
    count = args.latency_events
    print(
        f"## latency: {count} events at {LATENCY_RATE}/s, emit returning to the first "
        "byte at a receiver of this script (asyncio, http, loopback)"
    )
    data = login_data()
    with Receiver() as receiver, open_engine(workdir, certs) as engine:
        add_endpoint(engine, receiver.url)
        start_dispatcher(engine, certs, args.connections)
        warmup = emit_paced(engine, data, LATENCY_WARMUP, LATENCY_RATE)
        wait_until(lambda: warmup.keys() <= receiver.first_byte.keys(), 10, "warm-up")

        returned = emit_paced(engine, data, count, LATENCY_RATE)
        wait_until(
            lambda: returned.keys() <= receiver.first_byte.keys(), 30, "latency run"
        )
        engine.stop_dispatcher()
        ok, failed = succeeded(engine)
    assert failed == 0, f"{failed} attempts failed"
    assert ok == count + LATENCY_WARMUP, f"{ok} deliveries succeeded"

    first = receiver.first_byte
    latencies = [(first[i] - done) / 1e6 for i, (_, done) in returned.items()]
    print(f"ms, over {count} events:")
    print_spread("emit returned -> first byte", latencies)
    print_spread(
        "emit called -> first byte",
        [(first[i] - called) / 1e6 for i, (called, _) in returned.items()],
    )
    print_spread(
        "the emit call itself",
        [(done - called) / 1e6 for called, done in returned.values()],
    )
    early = sum(1 for ms in latencies if ms < 0)
    print(f"  first byte before emit returned: {early} events\n")
    shutil.rmtree(workdir)


# ---- main --------------------------------------------------------------------------


def versions() -> str:
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()
    wrk = subprocess.run([WRK, "-v"], capture_output=True, text=True).stdout
    return f"{nginx.removeprefix('nginx version: ')}, wrk {wrk.split()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument(
        "--aiohttp-requests", type=int, default=DEFAULT_AIOHTTP_REQUESTS
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--wrk-seconds", type=int, default=DEFAULT_WRK_SECONDS)
    parser.add_argument("--fanout-events", type=int, default=DEFAULT_FANOUT_EVENTS)
    parser.add_argument("--latency-events", type=int, default=DEFAULT_LATENCY_EVENTS)
    args = parser.parse_args()
    for name in (
        "events",
        "aiohttp_requests",
        "rounds",
        "connections",
        "wrk_seconds",
        "fanout_events",
        "latency_events",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for tool in (NGINX, WRK):
        if not os.access(tool, os.X_OK):
            parser.error(f"{tool} is missing; install Debian's nginx and wrk")

    print(
        f"bench_delivery.py: Python {platform.python_version()}, protekt "
        f"{protekt.__version__}, aiohttp {aiohttp.__version__}, {versions()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, temporary "
        f"files in {tempfile.gettempdir()}\n"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="protekt-bench-delivery-") as name:
        workdir = Path(name)
        certs = make_certificates(workdir)
        sync = sync_ms(workdir)
        print(f"fdatasync of 4 KiB in {workdir.parent}: median {sync:.2f} ms\n")
        with Nginx(workdir / "nginx", certs) as nginx:
            check_nginx(nginx, certs)
            sample = engine_sample(workdir / "sample", certs)
            print(f"body {len(sample.body)} bytes, headers {sorted(sample.headers)}\n")
            bench_throughput(workdir, nginx, certs, sample, args)
            bench_fanout(workdir / "fanout", nginx, certs, args)
        bench_latency(workdir / "latency", certs, args)
        print(f"fdatasync of 4 KiB: median {sync_ms(workdir):.2f} ms")
    print(
        f"done in {time.perf_counter() - started:.0f} s; load average now "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
