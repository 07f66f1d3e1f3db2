#!/usr/bin/env bash
# Runs every test: the C++ suite under AddressSanitizer and UndefinedBehaviorSanitizer
# (ctest), lint and type checks, and the Python suite (pytest). Installs what it needs.
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"

protekt_setup clang-format chromium
install_protekt dev
cd "$ROOT"

log "C++ tests (GoogleTest, ASan + UBSan)"
cmake -S . -B build/cpp-tests -DCMAKE_BUILD_TYPE=Debug -DPROTEKT_BUILD_TESTS=ON \
  -DPROTEKT_SANITIZE=ON >/dev/null
cmake --build build/cpp-tests -j "$(nproc)"
ctest --test-dir build/cpp-tests --output-on-failure -j "$(nproc)"

log "lint and types"
git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' \
  | xargs clang-format --dry-run -Werror
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"

log "Python tests"
"$VENV_PYTHON" -m pytest "$@"
