#!/usr/bin/env bash
# Run the test suite the way CI does: bring .venv up to date (tools/setup.sh, seconds when nothing changed),
# then pytest inside a private network namespace (tools/loopback), so ROS 2 traffic stays on loopback.
#   tools/test.sh                 all tests
#   tools/test.sh -k tracker      pytest arguments pass through
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh
export ROS_DOMAIN_ID=$((RANDOM % 100 + 1))        # keep concurrent sessions apart
export FASTDDS_DEFAULT_PROFILES_FILE=$root/config/fastdds.xml
exec tools/loopback .venv/bin/python -m pytest "$@"
