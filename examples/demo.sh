#!/usr/bin/env bash
# The main job: signs a sample authentication event the way every delivery is signed,
# then verifies it as a receiver would. Installs what it needs on first run.
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"

protekt_setup
install_protekt
exec "$VENV_PYTHON" "$ROOT/examples/sign_and_verify.py" "$@"
