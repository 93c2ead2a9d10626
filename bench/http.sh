#!/usr/bin/env bash
# The demo (memory and cookie drivers) against the floor only: bench/run.sh
# with SERVERS="floor memory cookie" and no footprint, so the same pinning,
# store sizes, fresh servers per scenario, CPU per request and saturation
# check. Settings as bench/run.sh's (PORT_BASE defaults to 18100 here).
#
# Usage: bench/http.sh
set -euo pipefail
export SERVERS="${SERVERS:-floor memory cookie}"
export FOOTPRINT_SESSIONS="${FOOTPRINT_SESSIONS:-0}"
export PORT_BASE="${PORT_BASE:-18100}"
exec "$(dirname "$0")/run.sh" "$@"
