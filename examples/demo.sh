#!/usr/bin/env bash
# The main job: the engine delivering the six authentication events to a real HTTPS
# receiver on this machine (examples/demo.py). Installs what it needs on first run.
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/setup.sh"

protekt_setup
install_protekt demo
exec "$VENV_PYTHON" "$ROOT/examples/demo.py" "$@"
