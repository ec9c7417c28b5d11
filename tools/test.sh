#!/usr/bin/env bash
# Run the checks the way CI does: bring .venv up to date (tools/setup.sh, seconds when nothing changed), lint
# (ruff), type-check the GPU backends against TensorRT's stubs (tools/typecheck.sh), then pytest inside a
# private network namespace (tools/loopback), so ROS 2 traffic stays on loopback.
#   tools/test.sh                 all tests
#   tools/test.sh -k tracker      pytest arguments pass through
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh
.venv/bin/ruff check .
tools/typecheck.sh
export ROS_DOMAIN_ID=$((RANDOM % 100 + 1))        # keep concurrent sessions apart
export FASTDDS_DEFAULT_PROFILES_FILE=$root/config/fastdds.xml
exec tools/loopback .venv/bin/python -m pytest "$@"
