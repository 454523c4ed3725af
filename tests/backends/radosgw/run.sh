#!/bin/bash
# Starts radosgw in STATE_DIR, says READY on stdout, and stops it when
# stdin closes (the test process that holds the pipe has exited), on TERM
# or HUP, or on any other exit: the daemons daemonize out of this script's
# process group, so only stop.sh (by their pid files) stops them. A shell
# started with SIGINT ignored cannot trap it, so INT is not relied on.
set -uo pipefail
here=$(dirname "$0")
D=${1:?usage: run.sh STATE_DIR}
keep=
reader=
stop() {
  trap '' INT TERM HUP # a second signal must not cut the cleanup short
  [ -n "$reader" ] && kill "$reader" 2>/dev/null
  "$here/stop.sh" "$D" >&2
  [ -n "$keep" ] || rm -rf "$D"
}
trap stop EXIT
trap 'trap "" INT TERM HUP; exit 143' TERM HUP
if ! "$here/start.sh" "$D" >&2; then
  keep=1 # its logs, for whoever reads the failure
  echo "FAILED"
  exit 1
fi
echo READY
# Read stdin in the background and wait for that: bash runs a trap only
# once a foreground command ends, but interrupts `wait` at once. Through
# fd 3, as a background command's stdin is /dev/null.
exec 3<&0
cat <&3 >/dev/null &
reader=$!
wait "$reader"
