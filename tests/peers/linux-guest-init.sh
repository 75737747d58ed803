#!/bin/sh
# /init of the guest that tests/peers/linux-guest.sh boots (busybox sh, PID 1). The guest's own virtio_net driver
# drives the multiqueue NIC; this script changes its channel count the way an administrator does, sends traffic
# from every vCPU in each state, and powers off. The host side parses the lines that start with "VMQ ":
#   VMQ step NAME                 a step begins (the back-end's recording is cut into phases by the ring changes)
#   VMQ channels max=M current=C  what `ethtool -l eth0` says
#   VMQ set N rc=R                `ethtool -L eth0 combined N` and its exit status
#   VMQ stats begin LABEL / end   `ethtool -S eth0` between the two lines
#   VMQ done / VMQ error TEXT     the end, or why it stopped early
# Kernel command line: vmq.pings=N (pings per vCPU and phase, default 5).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

note() { echo "VMQ $*"; }
# Ends the run: PID 1 must not exit (the kernel would panic), so power off instead, whatever happened.
finish() { [ -n "$1" ] && note "error $1"; note done; sync; poweroff -f; sleep 10; }
param() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}" ;; esac; done; }

PINGS=$(param vmq.pings); PINGS=${PINGS:-5}
CPUS=$(nproc)
PEER=169.254.77.2

wait_for_eth0() {
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e /sys/class/net/eth0 ] || finish "virtio_net created no eth0 within 10 s"
}

channels() {
    ethtool -l eth0 | awk '/^Pre-set/ { s = "max" } /^Current/ { s = "current" } /^Combined:/ { v[s] = $2 }
        END { printf "VMQ channels max=%s current=%s\n", v["max"], v["current"] }'
}

# The driver counts a frame when it reclaims the used buffer, after an interrupt that may come late on a busy host:
# read until two readings 0.1 s apart agree (2 s at most), so the reading is the settled one.
stats() {
    prev=""; i=0
    while [ $i -lt 20 ]; do
        now=$(ethtool -S eth0 | grep -E '^ *[rt]x_queue_[0-9]+_packets:')
        [ "$now" = "$prev" ] && break
        prev=$now; i=$((i + 1)); sleep 0.1
    done
    note "stats begin $1"
    echo "$now"
    note "stats end"
}

# The address and a static neighbour entry: nothing but the pings leaves the guest (no ARP, no IPv6), so each
# frame the back-end counts is one the test sent on purpose.
link_up() {
    echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6
    ip link set eth0 up || finish "ip link set eth0 up failed"
    ip addr add 169.254.77.1/24 dev eth0
    arp -i eth0 -s $PEER 02:00:00:00:77:02
}

# One sender pinned to each vCPU, all at once. XPS maps each CPU to a transmit queue, so every queue pair in use
# carries frames; the back-end loops each frame back to the receive queue of its transmit queue.
traffic() {
    c=0
    while [ $c -lt "$CPUS" ]; do
        taskset -c $c ping -q -c "$PINGS" -i 0.1 -w 1 -W 1 $PEER >/dev/null 2>&1 &
        c=$((c + 1))
    done
    wait
}

set_channels() {
    note "step combined-$1"
    ethtool -L eth0 combined "$1"
    note "set $1 rc=$?"
    channels
    traffic
    stats "combined-$1"
}

note "step boot kernel=$(uname -r) cpus=$CPUS"
for m in $(cat /etc/modules.order); do
    insmod "/lib/modules/$m" || finish "insmod $m failed"
done
wait_for_eth0
note "features $(cat /sys/class/net/eth0/device/features)"

note "step probe"
channels
link_up
traffic
stats probe

for n in 1 2 4; do set_channels $n; done

# Reinitialisation: removing the driver resets the device; loading it again negotiates and sets it up afresh.
# Counters are per driver instance, so the first instance's last reading comes first, with the link down.
note "step reinit"
ip link set eth0 down
stats instance-1
rmmod virtio_net || finish "rmmod virtio_net failed"
insmod /lib/modules/virtio_net.ko || finish "insmod virtio_net.ko failed"
wait_for_eth0
channels
link_up
traffic
ip link set eth0 down
stats instance-2
finish ""
