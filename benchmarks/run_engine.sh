#!/usr/bin/env bash
# Engine benchmark for issue #3: durable emit from Python against a raw LMDB loop
# writing the same records, the cost of one emit call against json.dumps, and a
# directory of 1,000,000 pending deliveries reopened in a fresh process (memory,
# reopen time, bytes on disk). Results go to stdout; docs/benchmarks.md records a run.
# Not part of CI. Needs about 1 GB of free space in the temporary directory ($TMPDIR),
# which should be on the disk you care about: durable writes are timed there.
#
# Uses the README's set-up (.ci/setup.sh): installs what is missing, protekt included.
#
# Usage, from anywhere: bash benchmarks/run_engine.sh [--deliveries N]
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"
protekt_setup
install_protekt bench
cd "${ROOT}"

# The raw LMDB baseline, built in Release in a directory of its own.
cmake -S . -B build/bench -DPROTEKT_BUILD_BENCHMARKS=ON -DCMAKE_BUILD_TYPE=Release \
  >/dev/null
cmake --build build/bench --target bench_lmdb_raw -j "$(nproc)" >/dev/null

# The Python driver runs every case, the raw loop included, and prints the ratios.
"${VENV_PYTHON}" benchmarks/bench_engine.py \
  --raw build/bench/benchmarks/bench_lmdb_raw "$@"
