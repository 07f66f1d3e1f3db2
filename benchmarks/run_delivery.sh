#!/usr/bin/env bash
# Delivery benchmark for issue #4: signed webhooks per second from the engine to
# Debian's nginx on loopback, over HTTP keep-alive and HTTPS, against wrk posting the
# same body and against an asyncio sender on aiohttp; fan-out of one event to 100
# endpoints; latency from emit to the receiver's first byte. Results go to stdout;
# docs/benchmarks.md records a run. Not part of CI. Sends traffic to 127.0.0.1 only.
# The engine's directories go to the temporary directory ($TMPDIR), whose disk the
# durable writes are timed on.
#
# Uses the README's set-up (.ci/setup.sh): installs what is missing, protekt and the
# Debian packages nginx and wrk included. The script starts nginx itself, from a
# temporary prefix, and stops it at the end; the system's nginx service is not used.
#
# Usage, from anywhere:
#   bash benchmarks/run_delivery.sh [--events N] [--aiohttp-requests N] [--rounds R]
#                                   [--fanout-events N] [--latency-events N]
#                                   [--connections C] [--wrk-seconds S]
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"
protekt_setup nginx wrk
install_protekt bench
cd "${ROOT}"

"${VENV_PYTHON}" benchmarks/bench_delivery.py "$@"
