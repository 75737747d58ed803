#!/usr/bin/env bash
# The suite's own speed: one full certification run (`dotnet test conformance`) against each device named, one
# after another on the same machine, and a markdown table of the wall time of each, its test counts and verdict, and
# the model-based test's rate (commands per second, from the report). A bench command, not a test: it judges nothing.
#
#   tests/bench/suite-timings.sh [DEVICE ...]
#
# DEVICE is one of (default: all of them, in this order):
#   in-process            reference://?pairs=8, the reference device in the test process
#   vhost-user            the reference back-end over a socket (serve, one thread), vhost-user://SOCK?pairs=8
#   vhost-user-per-pair   the same with a ring thread per pair (serve --workers per-pair)
#   testpmd               DPDK testpmd, io forwarding, 4 pairs, the suite in server mode, its expected-results file
#   qemu                  QEMU 10.0's virtio-net-pci (qtest) with the reference back-end behind it, its expected file
# Each run takes the suite's defaults; VIRTIO_* variables set in the environment pass through (CI runs device stages
# with VIRTIO_CASES=25 VIRTIO_CHECK_BUDGET_S=10). testpmd needs tests/peers/testpmd-device.sh install; qemu needs
# tests/peers/qemu-versions.sh install 10. Expects the solution to be built.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
peers="$root/tests/peers"
[ $# -gt 0 ] || set -- in-process vhost-user vhost-user-per-pair testpmd qemu
work="$(mktemp -d /tmp/vmq-timings.XXXXXX)"
sock="$work/device.sock"
cleanup() {
  "$peers/reference-backend.sh" stop "$sock" >/dev/null 2>&1 || true
  CLIENT=1 "$peers/testpmd-device.sh" stop "$sock" >/dev/null 2>&1 || true
}
trap 'cleanup; rm -rf "$work"' EXIT

# The model-based test's rate in a report: the highest of its formats' "N command(s)/s" (one per ring format run).
model_rate() {
  grep -o '[0-9.]* command(s)/s' "$1/report.json" 2>/dev/null | sort -g | tail -1 | cut -d' ' -f1
}

rows=()
for device in "$@"; do
  expected=()
  case "$device" in
  in-process) uri="reference://?pairs=8" ;;
  vhost-user) "$peers/reference-backend.sh" start "$sock" 8 >/dev/null; uri="vhost-user://$sock?pairs=8" ;;
  vhost-user-per-pair) "$peers/reference-backend.sh" start "$sock" 8 --workers per-pair >/dev/null; uri="vhost-user://$sock?pairs=8" ;;
  testpmd)
    CLIENT=1 "$peers/testpmd-device.sh" start "$sock" 4 >/dev/null
    uri="vhost-user://$sock?pairs=4&server=1"; expected=("VIRTIO_EXPECTED=$root/conformance/Expected/dpdk-testpmd-22.11.txt") ;;
  qemu)
    "$peers/reference-backend.sh" start "$sock" 4 >/dev/null
    uri="qemu://$("$peers/qemu-versions.sh" path 10)?pairs=4&netdev=vhost-user&socket=$sock"
    expected=("VIRTIO_EXPECTED=$root/conformance/Expected/qemu-10.0-vhost-user.txt") ;;
  *) echo "unknown device '$device' (in-process, vhost-user, vhost-user-per-pair, testpmd, qemu)" >&2; exit 2 ;;
  esac
  reports="$work/report-$device"
  echo "running the suite against $device ($uri)..." >&2
  start=$(date +%s.%N)
  env "${expected[@]}" VIRTIO_DEVICE="$uri" VIRTIO_REPORT_DIR="$reports" dotnet test "$root/conformance" --no-build >"$work/$device.log" 2>&1
  code=$?
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  cleanup
  counts=$(grep -E '^\s+(Passed|Failed|Skipped):' "$work/$device.log" | awk '{ printf "%s%s %s", sep, $2, tolower($1); sep=", " }' | tr -d ':')
  verdict=$(grep -o '"certified": *[a-z]*' "$reports/report.json" 2>/dev/null | awk '{ print ($2 == "true") ? "CERTIFIED" : "NOT CERTIFIED" }')
  rows+=("| $device | $(awk -v s="$took" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }') | ${counts:-?} | ${verdict:-no report} | $code | $(model_rate "$reports" || true) |")
done
echo
echo "One run each on $(nproc) CPU(s), $(date -u +%Y-%m-%d); VIRTIO settings from the environment: $(env | grep -E '^VIRTIO_' | sort | tr '\n' ' ')"
echo
echo "| device | wall time | tests | verdict | exit | model-based commands/s |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
