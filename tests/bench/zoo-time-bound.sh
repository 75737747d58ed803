#!/usr/bin/env bash
# The time bound of a whole conformance run against broken devices: runs `dotnet test conformance` at its defaults
# against each zoo variant named (in-process, or over vhost-user against the reference back-end switched into it)
# and prints a markdown table: variant, plane, wall time, verdict, exit code, the reasons not to certify.
#
#   tests/bench/zoo-time-bound.sh device FAULT [FAULT ...]     in-process: reference://?pairs=8&fault=FAULT
#   tests/bench/zoo-time-bound.sh backend FAULT [FAULT ...]    over a socket: serve --fault FAULT
#
# "healthy" as a FAULT runs the reference as it is. Expects the solution to be built.
set -uo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
plane="${1:-}"; shift || true
[ "$plane" = device ] || [ "$plane" = backend ] || { sed -n '6,7p' "$0" >&2; exit 2; }
echo "| variant | plane | run time | verdict | exit | not certified because |"
echo "|---|---|---|---|---|---|"
for fault in "$@"; do
  reports="$(mktemp -d)"
  if [ "$plane" = device ]; then
    device="reference://?pairs=8$([ "$fault" = healthy ] || echo "&fault=$fault")"
  else
    sock="/tmp/vmq-bound-$$.sock"
    args=(); [ "$fault" = healthy ] || args=(--fault "$fault")
    "$here/tests/peers/reference-backend.sh" start "$sock" 8 "${args[@]}" >/dev/null
    device="vhost-user://$sock?pairs=8"
  fi
  start=$(date +%s)
  VIRTIO_DEVICE="$device" VIRTIO_REPORT_DIR="$reports" dotnet test "$here/conformance" --no-build >"$reports/log.txt" 2>&1
  code=$?
  took=$(( $(date +%s) - start ))
  [ "$plane" = device ] || "$here/tests/peers/reference-backend.sh" stop "$sock"
  verdict=$(python3 - "$reports/report.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"no report ({e}) |"); sys.exit()
reasons = "; ".join(f"{b['kind']}: {b['requirement'] or ''}".rstrip(": ") for b in r["notCertifiedBecause"])
print(("CERTIFIED" if r["certified"] else "NOT CERTIFIED") + ("" if r["complete"] else " (incomplete)") + " | " + reasons)
PY
)
  echo "| $fault | $plane | ${took} s | ${verdict%% |*} | $code | ${verdict#*| } |"
  rm -rf "$reports"
done
