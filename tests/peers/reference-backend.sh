#!/usr/bin/env bash
# Starts or stops the reference device as a vhost-user back-end in its own process, for runs of the
# conformance suite over a real socket (CI, or a person trying the vhost-user adapter).
#
#   tests/peers/reference-backend.sh start SOCKET [QUEUE_PAIRS] [serve option ...]   prints the pid
#   tests/peers/reference-backend.sh stop SOCKET
#
# Serve options pass through, e.g. --fault NAME or --stats FILE. The log goes to SOCKET.log and the pid to
# SOCKET.pid. `start` returns once the socket accepts connections, or fails with the log's tail after 60 s.
# Expects the solution to be built; REFERENCE_DLL names another build of VirtioMq.Reference.dll to run, and
# CPUS (a taskset list such as 1) pins the back-end to those CPUs.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
cmd="${1:-}"; sock="${2:-}"
[ -n "$cmd" ] && [ -n "$sock" ] || { sed -n '5,6p' "$0" >&2; exit 2; }

case "$cmd" in
start)
  pairs="${3:-8}"; shift $(( $# >= 3 ? 3 : 2 ))
  rm -f "$sock.log"
  # setsid: the back-end gets its own session, so a CI runner's terminal signals do not reach it.
  pin=(); [ -z "${CPUS:-}" ] || pin=(taskset -c "$CPUS")
  setsid "${pin[@]}" dotnet "${REFERENCE_DLL:-$here/reference/bin/Debug/net10.0/VirtioMq.Reference.dll}" serve --socket "$sock" --queue-pairs "$pairs" "$@" \
    </dev/null >"$sock.log" 2>&1 &
  echo $! >"$sock.pid"
  for _ in $(seq 600); do
    if grep -q '^ready:' "$sock.log" 2>/dev/null; then cat "$sock.pid"; exit 0; fi
    if ! kill -0 "$(cat "$sock.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "error: the reference back-end did not come up on $sock; its log:" >&2
  tail -20 "$sock.log" >&2
  exit 1
  ;;
stop)
  [ -f "$sock.pid" ] || exit 0
  pid="$(cat "$sock.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$sock.pid" "$sock"
  ;;
*)
  echo "unknown command '$cmd' (start or stop)" >&2; exit 2 ;;
esac
