#!/usr/bin/env bash
# Open vSwitch with DPDK (Debian's openvswitch-switch-dpdk) as a third-party vhost-user multiqueue device: a
# private ovsdb-server and ovs-vswitchd, a userspace bridge with one vhost-user port, and one OpenFlow rule that
# sends every frame back out of the port it came in on (actions=in_port). Runs without hugepages and never
# touches the system's Open vSwitch (its service, database, run directory or bridges).
#
#   tests/peers/ovs-device.sh install                 apt-get install openvswitch-switch-dpdk, system OVS left stopped
#   tests/peers/ovs-device.sh start SOCKET QUEUES     prints ovs-vswitchd's pid once the port is configured
#   tests/peers/ovs-device.sh stop SOCKET
#
# MODE=client (default): the port is dpdkvhostuserclient and OVS connects to SOCKET, where the front-end
# listens; OVS retries once a second while nobody listens, and reconnects at once when the front-end hangs up
# but still listens.
# MODE=server: the port is the deprecated dpdkvhostuser, OVS listens in the private directory and SOCKET is a
# symlink to that socket, for front-ends that connect (the suite's vhost-user:// adapter, virtio-user).
#
# Queues: OVS cannot be told a vhost port's queue count (options:n_rxq is ignored for vhost ports); it offers
# 128 pairs (GET_QUEUE_NUM) and uses as many as the front-end sets up. QUEUES only has to be 1..128. OVS does
# not send a frame back on the queue it came in on: the tx queue is picked per PMD thread, not per rx queue
# (docs/ovs-dpdk.md has the exact mapping). TX_STEERING=hash picks it from the frame's 5-tuple hash instead.
#
# Files: everything in SOCKET.ovs/ (conf.db, db.sock, *.pid, *.ctl, *.log). Environment: MODE (client or
# server), MEM_MB (DPDK memory without hugepages, default 512), TX_STEERING (thread, the default, or hash),
# VSWITCHD (the DPDK-enabled ovs-vswitchd, default Debian's /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk).
set -euo pipefail
cmd="${1:-}"; sock="${2:-}"
vswitchd="${VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}"
schema=/usr/share/openvswitch/vswitch.ovsschema
dir="$sock.ovs"
# One name per socket for the bridge (it is also a tap device, so at most 15 characters), the DPDK file prefix
# (EAL makes an empty /var/run/dpdk/PREFIX even with --no-shconf) and nothing else outside $dir.
sum="$(printf %s "$sock" | cksum | cut -d' ' -f1)"
bridge="vmq$(printf %x "$sum")"; bridge="${bridge:0:15}"
prefix="vmq-ovs-$sum"
port=vhu0

usage() { sed -n '7,9p' "$0" >&2; exit 2; }

# Debian starts services from maintainer scripts (unless a policy-rc.d forbids it, as in containers); the system
# OVS would not clash with ours, but the brief of this script is to leave none running that was not running.
system_ovs_running() {
  local pid
  pid="$(cat /var/run/openvswitch/ovs-vswitchd.pid 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install() {
  [ -x "$vswitchd" ] && return 0
  local was_running=0
  system_ovs_running && was_running=1
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # openvswitch-switch-dpdk carries ovs-vswitchd-dpdk and pulls in openvswitch-switch (ovsdb-server, ovs-vsctl,
  # the schema) and DPDK 22.11. It does not switch the ovs-vswitchd alternative: the script runs the binary
  # by its path.
  apt-get install -y -qq --no-install-recommends openvswitch-switch-dpdk >/dev/null
  if [ "$was_running" = 0 ] && system_ovs_running; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now openvswitch-switch.service ovs-vswitchd.service ovsdb-server.service >/dev/null 2>&1 || true
    else
      /etc/init.d/openvswitch-switch stop >/dev/null 2>&1 || true
      update-rc.d openvswitch-switch disable >/dev/null 2>&1 || true
    fi
  fi
}

# Our own daemons only: the pid from our pidfile, and only while it still runs the program we started.
ours() { # PIDFILE COMM -> pid or nothing
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 0
  [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ] && echo "$pid"
  return 0
}
# comm is cut to 15 characters.
vswitchd_comm="$(basename "$vswitchd")"; vswitchd_comm="${vswitchd_comm:0:15}"

stop() {
  local pid
  # "exit --cleanup" deletes the datapath, hence the bridge's tap device; then the processes by pid.
  [ -S "$dir/ovs-vswitchd.ctl" ] && timeout 5 ovs-appctl -t "$dir/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
  [ -S "$dir/ovsdb-server.ctl" ] && timeout 5 ovs-appctl -t "$dir/ovsdb-server.ctl" exit >/dev/null 2>&1 || true
  for pair in "ovs-vswitchd.pid:$vswitchd_comm" "ovsdb-server.pid:ovsdb-server"; do
    pid="$(ours "$dir/${pair%%:*}" "${pair#*:}")"
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # A vswitchd killed before its cleanup leaves the tap behind (OVS makes it persistent).
  ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge" 2>/dev/null || true
  # In server mode SOCKET is our symlink; in client mode it belongs to the front-end.
  [ -L "$sock" ] && [ "$(readlink "$sock")" = "$dir/$port" ] && rm -f "$sock"
  rm -rf "$dir"
  rmdir "/var/run/dpdk/$prefix" 2>/dev/null || true
}

fail() {
  echo "error: $1; the end of ovs-vswitchd's log ($dir/ovs-vswitchd.log):" >&2
  tail -20 "$dir/ovs-vswitchd.log" >&2 2>/dev/null || true
  exit 1
}

start() {
  local queues="$1" mode="${MODE:-client}" mem="${MEM_MB:-512}" steering="${TX_STEERING:-thread}"
  case "$queues" in ''|*[!0-9]*|0) echo "QUEUES must be 1..128, got '$queues'" >&2; exit 2 ;; esac
  [ "$queues" -le 128 ] || { echo "QUEUES must be 1..128 (OVS offers 128 pairs), got $queues" >&2; exit 2; }
  case "$mode" in client) type=dpdkvhostuserclient ;; server) type=dpdkvhostuser ;;
    *) echo "MODE must be client or server, got '$mode'" >&2; exit 2 ;; esac
  case "$steering" in thread|hash) ;; *) echo "TX_STEERING must be thread or hash, got '$steering'" >&2; exit 2 ;; esac
  [ -x "$vswitchd" ] || { echo "$vswitchd is missing: run '$0 install' first" >&2; exit 3; }
  stop
  mkdir -p "$dir"
  # Every OVS tool finds its run, log and database directory here, not under /var/run/openvswitch: the bridge's
  # OpenFlow sockets (BRIDGE.mgmt) and, in server mode, the vhost-user socket land in $dir.
  export OVS_RUNDIR="$dir" OVS_LOGDIR="$dir" OVS_DBDIR="$dir"
  local vsctl=(ovs-vsctl --db="unix:$dir/db.sock" --timeout=20)
  ovsdb-tool create "$dir/conf.db" "$schema"
  ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" --pidfile="$dir/ovsdb-server.pid" \
    --unixctl="$dir/ovsdb-server.ctl" --log-file="$dir/ovsdb-server.log" --no-chdir --detach 2>/dev/null \
    || fail "ovsdb-server did not start"
  # EAL: --no-huge takes -m MB of ordinary memory and turns on legacy memory mode, which EAL refuses together
  # with --in-memory; OVS adds --in-memory unless --in-memory or --legacy-mem is given, so --legacy-mem is
  # explicit here, and --no-shconf keeps the shared config files out of /var/run/dpdk. The main lcore (the
  # non-PMD threads) goes on CPU 0 and the one PMD thread, which busy-polls, on CPU 1 (CPU 0 on one CPU).
  local pmd_mask=0x2; [ "$(nproc)" -ge 2 ] || pmd_mask=0x1
  "${vsctl[@]}" --no-wait init
  "${vsctl[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    "other_config:dpdk-extra=--no-huge -m $mem --legacy-mem --no-shconf --no-pci --no-telemetry --file-prefix=$prefix" \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask="$pmd_mask" other_config:per-port-memory=true
  "$vswitchd" "unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" --unixctl="$dir/ovs-vswitchd.ctl" \
    --log-file="$dir/ovs-vswitchd.log" --no-chdir --detach 2>/dev/null || fail "ovs-vswitchd did not start"
  # A userspace (netdev) bridge in secure fail mode, so no NORMAL flow is ever added; one port, OpenFlow port 1.
  local opts=(options:vhost-server-path="$sock")
  [ "$mode" = client ] || opts=()
  "${vsctl[@]}" add-br "$bridge" -- set bridge "$bridge" datapath_type=netdev fail_mode=secure \
      other_config:disable-in-band=true \
    -- add-port "$bridge" "$port" -- set interface "$port" type="$type" ofport_request=1 \
      other_config:tx-steering="$steering" "${opts[@]}" \
    || fail "the bridge or its port was refused"
  ovs-ofctl add-flow "unix:$dir/$bridge.mgmt" "priority=100,in_port=1,actions=in_port" || fail "the flow was refused"
  for _ in $(seq 200); do
    if [ "$("${vsctl[@]}" get interface "$port" ofport 2>/dev/null)" = 1 ]; then
      if [ "$mode" = client ]; then cat "$dir/ovs-vswitchd.pid"; return 0; fi
      if [ -S "$dir/$port" ]; then
        rm -f "$sock"; ln -s "$dir/$port" "$sock"
        cat "$dir/ovs-vswitchd.pid"; return 0
      fi
    fi
    sleep 0.1
  done
  fail "port $port did not come up: $("${vsctl[@]}" get interface "$port" error 2>/dev/null)"
}

case "$cmd" in
install) install ;;
start) [ -n "$sock" ] || usage; start "${3:-}" ;;
stop) [ -n "$sock" ] || usage; stop ;;
*) usage ;;
esac
