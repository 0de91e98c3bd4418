#!/usr/bin/env bash
# The whole test suite from a fresh clone: a virtualenv with the package and its dev extras, a redis-server
# binary for the shared-budget tests (they start their own server on 127.0.0.1), then pytest.
# Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server not found: installing it from the system's packages" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
        echo "cannot install redis-server (not root, no sudo): install it, then run this again" >&2
        exit 1
    fi
fi

exec .venv/bin/python -m pytest "$@"
