# Shared set-up of the README's two commands (examples/demo.sh, tests/run.sh) and CI.
# Sourced, not run. Installs what is missing and nothing else:
#   1. the Debian packages the C++ build and the tests need (apt-get; sudo if not root);
#   2. a virtual environment in .venv;
#   3. the protekt package itself, rebuilt only when its sources changed.
# Afterwards $VENV_PYTHON is the environment's interpreter.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PROTEKT_VENV:-$ROOT/.venv}"
VENV_PYTHON="$VENV/bin/python"

DEBIAN_PACKAGES=(
  g++ cmake make pkg-config ca-certificates
  python3 python3-dev python3-venv
  libboost1.81-dev libboost-url1.81-dev libssl-dev liblmdb-dev nlohmann-json3-dev
  libcurl4-openssl-dev libgtest-dev
)

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
        | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
        'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "protekt needs Python 3.11 or newer; set PYTHON to one" >&2
  return 1
}

create_venv() {
  [ -x "$VENV_PYTHON" ] && return 0
  local python
  python="$(pick_python)"
  log "creating a virtual environment in $VENV with $python"
  "$python" -m venv "$VENV"
  "$VENV_PYTHON" -m pip install -q --upgrade pip
}

# Rebuilds and reinstalls protekt when a source is newer than the last install.
install_protekt() {
  local stamp="$VENV/.protekt-installed" extras="${1:-}"
  # An install with extras serves a later call that asks for none, and one with the
  # dev extras (which hold every other group) serves any call.
  local installed=""
  [ -f "$stamp" ] && installed="$(cat "$stamp")"
  if [ -f "$stamp" ] && { [ -z "$extras" ] || [ "$installed" = "$extras" ] \
      || [ "$installed" = dev ]; } \
      && [ -z "$(find \
      "$ROOT/cpp" "$ROOT/python" "$ROOT/CMakeLists.txt" \
      "$ROOT/pyproject.toml" -newer "$stamp" -print -quit)" ]; then
    return 0
  fi
  log "building and installing protekt${extras:+ with [$extras]} (C++ build, a minute)"
  "$VENV_PYTHON" -m pip install -q "$ROOT${extras:+[$extras]}"
  # Extras installed before stay installed; the stamp keeps naming the widest.
  if [ -z "$extras" ] || [ "$installed" = dev ]; then extras="$installed"; fi
  printf '%s' "$extras" > "$stamp"
}

protekt_setup() {
  install_debian_packages "$@"
  create_venv
}
