#!/bin/bash
# Starts radosgw in STATE_DIR, says READY on stdout, and stops it when
# stdin closes (the test process that holds the pipe has exited).
set -uo pipefail
here=$(dirname "$0")
D=${1:?usage: run.sh STATE_DIR}
if ! "$here/start.sh" "$D" >&2; then
  "$here/stop.sh" "$D" >&2
  echo "FAILED"
  exit 1
fi
echo READY
cat >/dev/null
"$here/stop.sh" "$D" >&2
rm -rf "$D"
