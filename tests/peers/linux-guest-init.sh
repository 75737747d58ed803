#!/bin/sh
# /init of the guest that tests/peers/linux-guest.sh boots (busybox sh, PID 1). The guest's own virtio_net driver
# drives the multiqueue NIC; this script changes its channel count the way an administrator does, with traffic
# running on every vCPU through each change, puts the device through the kernel's own sleep paths, and powers off.
# The host side parses the lines that start with "VMQ ":
#   VMQ step NAME                 a step begins (the back-end's recording is cut into phases by the ring changes)
#   VMQ channels max=M current=C  what `ethtool -l eth0` says
#   VMQ set N rc=R                `ethtool -L eth0 combined N` and its exit status
#   VMQ sleep PATH rc=R ms=T      one sleep cycle through PATH (mem or disk) and how long the write took
#   VMQ stats begin LABEL / end   `ethtool -S eth0` between the two lines
#   VMQ reload                    virtio_net was unloaded and loaded again (a new driver instance)
#   VMQ done / VMQ error TEXT     the end, or why it stopped early
# Kernel command line: vmq.pings=N (pings per vCPU and phase, default 5); vmq.sleep=PATH@PAIRS,... (the sleep cycles,
# in order; none by default), e.g. mem@4,disk@4,mem@1,disk@1: set PAIRS channels, then suspend (mem) or hibernate
# (disk) with /sys/power/pm_test at "devices", so the drivers' sleep callbacks run but the machine keeps running.
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
SLEEPS=$(param vmq.sleep | tr ',' ' ')
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
# carries frames; the back-end loops each frame back to the receive queue of its transmit queue. No reply ever comes
# (the peer is the guest's own frame looped back), so the senders are stopped once their last echo request is out
# instead of waiting a whole second for answers: a frame handed to the kernel is sent whether its sender lives or not.
traffic() {
    c=0; senders=""
    while [ $c -lt "$CPUS" ]; do
        taskset -c $c ping -q -c "$PINGS" -i 0.1 -w 2 -W 1 $PEER >/dev/null 2>&1 &
        senders="$senders $!"
        c=$((c + 1))
    done
    sleep "$(awk -v n="$PINGS" 'BEGIN { printf "%.1f", n * 0.1 + 0.2 }')"
    kill $senders 2>/dev/null
    wait
}

# Sustained traffic: a sender per vCPU at up to 500 frames a second each, until flood_stop. The channel changes
# happen under it, so the driver switches queues while every one of them is busy.
FLOOD=""
flood_start() {
    c=0
    while [ $c -lt "$CPUS" ]; do
        taskset -c $c ping -q -i 0.002 -s 1000 $PEER >/dev/null 2>&1 &
        FLOOD="$FLOOD $!"
        c=$((c + 1))
    done
    sleep 0.5
}
flood_stop() { kill $FLOOD 2>/dev/null; wait $FLOOD 2>/dev/null; FLOOD=""; }

set_channels() {
    ethtool -L eth0 combined "$1"
    note "set $1 rc=$?"
}

# One sleep cycle: the kernel freezes the device (virtnet_freeze resets it and frees every virtqueue) and restores
# it (virtnet_restore sets it up again, fills the receive queues and then sends VQ_PAIRS_SET). pm_test "devices"
# stops the sleep right after the devices' suspend callbacks, so no firmware or swap is needed.
sleep_cycle() { # PATH
    echo devices > /sys/power/pm_test || finish "no /sys/power/pm_test (the kernel needs CONFIG_PM_DEBUG)"
    t0=$(cut -d' ' -f1 /proc/uptime)
    echo "$1" > /sys/power/state
    rc=$?
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo none > /sys/power/pm_test
    note "sleep $1 rc=$rc ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')"
}

note "step boot kernel=$(uname -r) cpus=$CPUS"
for m in $(cat /etc/modules.order); do
    insmod "/lib/modules/$m" || finish "insmod $m failed"
done
wait_for_eth0
note "features $(cat /sys/class/net/eth0/device/features)"
# The suspend test's pause (5 s by default) is only for watching a machine; hibernation's is fixed at 5 s.
[ -w /sys/module/suspend/parameters/pm_test_delay ] && echo 0 > /sys/module/suspend/parameters/pm_test_delay

note "step probe"
channels
link_up
traffic
stats probe

# Channel changes under sustained traffic, then a settled round of pings on the new pairs.
for n in 1 2 4; do
    note "step combined-$n"
    flood_start
    set_channels $n
    sleep 0.5
    flood_stop
    channels
    traffic
    stats "combined-$n"
done

# Sleep cycles. Counters belong to the driver's queues, which the restore allocates afresh: each cycle ends one
# reading (before) and starts the next from zero (after).
for s in $SLEEPS; do
    path=${s%@*}; n=${s#*@}
    note "step sleep-$path-$n"
    if [ "$(ethtool -l eth0 | awk '/^Combined:/ { c = $2 } END { print c }')" != "$n" ]; then
        set_channels "$n"
        traffic
    fi
    stats "before-$path-$n"
    sleep_cycle "$path"
    channels
    traffic
    stats "after-$path-$n"
done

# Reinitialisation: removing the driver resets the device; loading it again negotiates and sets it up afresh.
# Counters are per driver instance, so the first instance's last reading comes first, with the link down.
note "step reinit"
ip link set eth0 down
stats instance-1
rmmod virtio_net || finish "rmmod virtio_net failed"
insmod /lib/modules/virtio_net.ko || finish "insmod virtio_net.ko failed"
note reload
wait_for_eth0
channels
link_up
traffic
ip link set eth0 down
stats instance-2
finish ""
