#!/usr/bin/env bash
# Signing benchmark for issue #2: the C++ signer against raw OpenSSL, then protekt
# from Python against the hmac module and standardwebhooks. Results go to stdout;
# docs/benchmarks.md records a run. Not part of CI.
#
# Uses the README's set-up (.ci/setup.sh): installs what is missing, protekt included.
#
# Usage, from anywhere: bash benchmarks/run_signing.sh
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"
protekt_setup
install_protekt bench
cd "${ROOT}"

# The C++ benchmark, built in Release in a directory of its own.
cmake -S . -B build/bench -DPROTEKT_BUILD_BENCHMARKS=ON -DCMAKE_BUILD_TYPE=Release \
  >/dev/null
cmake --build build/bench --target bench_signing -j "$(nproc)" >/dev/null
build/bench/benchmarks/bench_signing
echo

# The Python benchmark, which compares against the reference package from PyPI.
"${VENV_PYTHON}" benchmarks/bench_signing.py
