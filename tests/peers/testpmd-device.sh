#!/usr/bin/env bash
# DPDK testpmd as a third-party vhost-user multiqueue device: its net_vhost PMD serves the socket and
# forwards every frame that arrives on queue q back out of queue q (io mode), the loopback the suite expects.
# Runs without hugepages or a terminal, so CI can use it.
#
#   tests/peers/testpmd-device.sh install                 apt-get install dpdk-dev (testpmd and the PMDs)
#   tests/peers/testpmd-device.sh start SOCKET QUEUES     prints the pid once the socket is up
#   tests/peers/testpmd-device.sh stop SOCKET
#
# Files: SOCKET.pid, SOCKET.log. Environment: FWD_MODE (io or macswap, default io; rxonly for benchmarks),
# MEM_MB (default 256), STATS_PERIOD (seconds between port statistics in the log, default 3600), CLIENT=1 for
# vhost-user client mode (DPDK's client=1): testpmd connects to SOCKET, where the front-end listens (the suite's
# vhost-user://SOCKET?server=1), retries until it does, and connects again after every session. LCORES (default
# 0,1: main lcore 0, forwarding on 1) and NB_CORES (default 1) give testpmd more forwarding cores.
set -euo pipefail
cmd="${1:-}"; sock="${2:-}"
# EAL makes a (here empty) directory /var/run/dpdk/PREFIX even with --no-shconf; naming it after the socket
# lets stop remove it, so a benchmark that starts many devices leaves nothing behind.
prefix="vmq-$(printf %s "$sock" | cksum | cut -d' ' -f1)"

install() {
  command -v dpdk-testpmd >/dev/null 2>&1 && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # dpdk-dev carries dpdk-testpmd; its dependencies bring the vhost PMD and the ring mempool driver.
  apt-get install -y -qq --no-install-recommends dpdk-dev >/dev/null
}

case "$cmd" in
install) install ;;
start)
  queues="${3:?usage: start SOCKET QUEUES}"
  command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd is missing: run '$0 install' first" >&2; exit 3; }
  rm -f "$sock.log"
  # In client mode the socket is the front-end's, which may be listening already.
  client=""; [ "${CLIENT:-0}" = 1 ] && client=",client=1" || rm -f "$sock"
  mem="${MEM_MB:-256}"
  # EAL: no hugepages, no PCI, no shared config or telemetry sockets under /var/run/dpdk. The default mbuf
  # pool does not fit in a small -m, so size it to the queue count.
  # LCORES: the EAL lcore list, the first the main lcore and the rest forwarding; NB_CORES forwarding cores of them.
  setsid dpdk-testpmd -l "${LCORES:-0,1}" --no-huge -m "$mem" --no-pci --no-shconf --no-telemetry --file-prefix="$prefix" \
      --vdev "net_vhost0,iface=$sock,queues=$queues$client" -- \
      --auto-start --stats-period "${STATS_PERIOD:-3600}" --rxq="$queues" --txq="$queues" --nb-cores="${NB_CORES:-1}" \
      --forward-mode="${FWD_MODE:-io}" --total-num-mbufs=$((16384 + 2048 * queues)) \
      </dev/null >"$sock.log" 2>&1 &
  echo $! >"$sock.pid"
  for _ in $(seq 300); do
    if { [ -n "$client" ] || [ -S "$sock" ]; } && grep -q "forwarding" "$sock.log" 2>/dev/null; then cat "$sock.pid"; exit 0; fi
    kill -0 "$(cat "$sock.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: testpmd did not come up on $sock; its log:" >&2
  tail -20 "$sock.log" >&2
  exit 1
  ;;
stop)
  [ -f "$sock.pid" ] || exit 0
  pid="$(cat "$sock.pid")"
  # Only ever signal our own testpmd, never whatever reused the pid.
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dpdk-testpmd ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$sock.pid"
  # A client-mode testpmd never owned the socket file: the front-end that listens there removes it.
  [ "${CLIENT:-0}" = 1 ] || rm -f "$sock"
  rmdir "/var/run/dpdk/$prefix" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$prefix" 2>/dev/null || true
  ;;
*) sed -n '6,8p' "$0" >&2; exit 2 ;;
esac
