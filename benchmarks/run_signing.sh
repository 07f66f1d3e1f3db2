#!/usr/bin/env bash
# Signing benchmark for issue #2: the C++ signer against raw OpenSSL, then protekt
# from Python against the hmac module and standardwebhooks. Results go to stdout;
# docs/benchmarks.md records a run. Not part of CI.
#
# Assumes the README's set-up has been run: .venv exists at the repository root with
# protekt installed in it. Installs standardwebhooks into .venv when it is missing.
#
# Usage, from anywhere: bash benchmarks/run_signing.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
python=".venv/bin/python"

if [[ ! -x "${python}" ]]; then
  echo "run_signing.sh: ${root}/.venv is missing; run the README's set-up first" >&2
  exit 1
fi

# The C++ benchmark, built in Release in a directory of its own.
cmake -S . -B build/bench -DPROTEKT_BUILD_BENCHMARKS=ON -DCMAKE_BUILD_TYPE=Release \
  >/dev/null
cmake --build build/bench --target bench_signing -j "$(nproc)" >/dev/null
build/bench/benchmarks/bench_signing
echo

# The Python benchmark, which compares against the reference package from PyPI.
if ! "${python}" -c "import standardwebhooks" 2>/dev/null; then
  .venv/bin/pip install --quiet standardwebhooks
fi
"${python}" benchmarks/bench_signing.py
