#!/usr/bin/env bash
# DPDK's virtio-user PMD as a third-party virtio-net driver (vhost-user front-end) for a back-end listening on
# SOCKET, e.g. the reference back-end (tests/peers/reference-backend.sh) or testpmd (tests/peers/testpmd-device.sh).
#
#   tests/peers/virtio-user-driver.sh SOCKET QUEUES [SECOND_QUEUES]
#
# A testpmd process drives QUEUES queue pairs: "start tx_first" puts one burst on every transmit queue and io
# forwarding sends whatever comes back on receive queue q out again on transmit queue q, for DURATION seconds.
# With SECOND_QUEUES it then changes the queue count the way an application does (port stop; port config all
# rxq/txq N; port start), which virtio-user turns into SET_VRING_ENABLE messages, and sends again. Then quit,
# which stops every ring (GET_VRING_BASE) and hangs up.
#
# Prints one line per queue and phase, "phase P queue Q rx N tx N" (packets the driver received and sent on
# that queue during the phase), then "ok". Exits 1, with the tail of testpmd's log, if testpmd failed or a
# step did not finish in time; 3 if dpdk-testpmd is not installed.
# Environment: DURATION (seconds of traffic per phase, default 1), STEP_TIMEOUT (seconds any one step may take,
# default 20), MEM_MB (default 256), KEEP_LOG=1 (keep testpmd's log and print its path), FORMAT (the virtqueue
# format virtio-user asks for: split, the default, or packed, i.e. packed_vq=1; the back-end must offer
# VIRTIO_F_RING_PACKED, else virtio-user falls back to split: the back-end's record of the features tells).
# IN_ORDER (0, the default, or 1) is virtio-user's in_order: with 1 it accepts VIRTIO_F_IN_ORDER when the back-end
# offers it and runs its in-order paths, which take a batch of buffers back from one used entry. virtio-user's own
# default is 1; the script makes the choice explicit, since the two are different drivers for the back-end.
set -euo pipefail
usage() { sed -n '5p' "$0" >&2; exit 2; }
sock="${1:-}"; queues="${2:-}"; second="${3:-}"
[ -n "$sock" ] && [ -n "$queues" ] || usage
for n in "$queues" ${second:+"$second"}; do
  case "$n" in ''|*[!0-9]*|0) echo "queue counts must be positive integers, got '$n'" >&2; exit 2 ;; esac
done
[ -z "$second" ] || [ "$second" -le "$queues" ] || { echo "SECOND_QUEUES ($second) cannot exceed QUEUES ($queues): virtio-user sets up QUEUES pairs at most" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd is not installed (tests/peers/testpmd-device.sh install)" >&2; exit 3; }
[ -S "$sock" ] || { echo "no vhost-user socket at $sock" >&2; exit 1; }
case "${FORMAT:-split}" in
  split) format_args=",packed_vq=0" ;;
  packed) format_args=",packed_vq=1" ;;
  *) echo "FORMAT must be split or packed, got '$FORMAT'" >&2; exit 2 ;;
esac
case "${IN_ORDER:-0}" in
  0|1) format_args="$format_args,in_order=${IN_ORDER:-0}" ;;
  *) echo "IN_ORDER must be 0 or 1, got '$IN_ORDER'" >&2; exit 2 ;;
esac

duration="${DURATION:-1}"
step_timeout="${STEP_TIMEOUT:-20}"
work="$(mktemp -d /tmp/virtio-user-driver.XXXXXX)"
log="$work/testpmd.log"
prefix="vudrv-$$-$RANDOM"
mkfifo "$work/stdin"

# Two lcores: the main one reads commands, the other forwards. On a one-CPU machine both share CPU 0.
if [ "$(nproc)" -ge 2 ]; then cores=(-l 0,1 --main-lcore 1); else cores=(--lcores 0@0,1@0 --main-lcore 1); fi

# EAL without hugepages, PCI, shared config or telemetry, so it needs no setup and leaves nothing behind;
# the default mbuf pool does not fit in -m 256, so it is sized to the queue count.
stdbuf -oL dpdk-testpmd "${cores[@]}" --no-huge -m "${MEM_MB:-256}" --no-pci --no-shconf --no-telemetry \
  --file-prefix="$prefix" --vdev "net_virtio_user0,path=$sock,queues=$queues$format_args" -- \
  -i --rxq="$queues" --txq="$queues" --nb-cores=1 --forward-mode=io --total-num-mbufs=$((16384 + 2048 * queues)) \
  <"$work/stdin" >"$log" 2>&1 &
pmd=$!
exec 3>"$work/stdin"

cleanup() {
  { exec 3>&-; } 2>/dev/null || true
  if kill -0 "$pmd" 2>/dev/null; then kill -TERM "$pmd" 2>/dev/null || true; sleep 1; kill -KILL "$pmd" 2>/dev/null || true; fi
  rmdir "/var/run/dpdk/$prefix" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$prefix" 2>/dev/null || true
  if [ "${KEEP_LOG:-0}" = 1 ]; then echo "testpmd log: $log" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
  echo "error: $*" >&2
  echo "--- last lines of the front-end testpmd's log:" >&2
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | tail -n 30 >&2
  exit 1
}

# Waits until testpmd's log holds PATTERN at least COUNT times: testpmd reads the next command only when it is
# done with the last, so this is how the script knows a step is over before it starts a clock.
wait_for() { # PATTERN COUNT WHAT
  local deadline=$((SECONDS + step_timeout))
  while [ "$(grep -c -- "$1" "$log" 2>/dev/null || true)" -lt "$2" ]; do
    kill -0 "$pmd" 2>/dev/null || fail "testpmd exited while waiting for $3"
    [ "$SECONDS" -lt "$deadline" ] || fail "no $3 within ${step_timeout}s"
    sleep 0.05
  done
}

send() { echo "$*" >&3; }

# One phase of traffic: counters cleared, a burst on every queue, DURATION seconds of io forwarding, counters shown.
phase() { # NUMBER
  send "clear port xstats 0"
  send "start tx_first"
  wait_for 'packet forwarding - ports=' "$1" "forwarding to start (phase $1)"
  sleep "$duration"
  send "stop"
  wait_for 'Done\.' "$1" "forwarding to stop (phase $1)"
  send "show port xstats 0"
  wait_for 'NIC extended statistics for port 0' "$1" "the statistics of phase $1"
}

wait_for 'testpmd> ' 1 "testpmd's prompt (port 0 up, i.e. the back-end accepted the front-end)"
phase 1
if [ -n "$second" ]; then
  send "port stop 0"
  send "port config all rxq $second"
  send "port config all txq $second"
  send "port start 0"
  wait_for '^Port 0: [0-9A-F][0-9A-F]:' 2 "port 0 to restart with $second queue pair(s)"
  phase 2
fi
send "quit"
exec 3>&-
deadline=$((SECONDS + step_timeout))
while kill -0 "$pmd" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "testpmd did not quit within ${step_timeout}s"
  sleep 0.05
done
rc=0; wait "$pmd" || rc=$?
[ "$rc" -eq 0 ] || fail "testpmd exited with status $rc"

# Per-queue good packets from each "show port xstats 0" block, one block per phase.
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | awk '
  /NIC extended statistics for port 0/ { phase++ }
  phase > 0 && /^ *[rt]x_q[0-9]+_good_packets:/ {
    split($1, part, "_"); q = substr(part[2], 2); key = phase " " q
    if (part[1] == "rx") rx[key] = $2; else tx[key] = $2
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  }
  END { for (i = 1; i <= n; i++) { split(order[i], k, " "); printf "phase %d queue %d rx %d tx %d\n", k[1], k[2], rx[order[i]], tx[order[i]] } }'
expected=$((queues + ${second:-0}))
got=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | grep -c '^ *rx_q[0-9]*_good_packets:' || true)
[ "$got" -eq "$expected" ] || fail "testpmd showed counters for $got queue(s) in all, expected $expected"
echo ok
