#!/usr/bin/env bash
# The Linux kernel's own virtio_net driver as a vhost-user front-end's guest: QEMU boots a Debian kernel with a
# tiny busybox initramfs, and the guest's virtio-net-pci NIC (mq=on) is served by a vhost-user back-end on SOCKET.
#
#   tests/peers/linux-guest.sh install                       apt-get the Debian packages it needs (root)
#   tests/peers/linux-guest.sh check                         exit 3 naming what is missing, 0 if all is there
#   tests/peers/linux-guest.sh initramfs DIR                 build DIR/initramfs.cpio.gz and DIR/kernel.path
#   tests/peers/linux-guest.sh boot SOCKET PAIRS DIR         boot the guest of DIR against SOCKET; console on stdout
#   tests/peers/linux-guest.sh run [PAIRS]                   all of it against the reference back-end (serve
#                                                            --record-driver); prints where the files are
#
# The guest's /init is tests/peers/linux-guest-init.sh: ethtool -l, ethtool -L eth0 combined 1, 2, 4 under a ping
# flood from every vCPU, pings after each; the sleep cycles SLEEPS asks for (suspend or hibernation through
# /sys/power/pm_test, so the driver's freeze and restore run); virtio_net unloaded and loaded again; poweroff.
# Nothing is downloaded but Debian packages: the initramfs is made at test time from busybox-static, ethtool and the
# installed kernel's modules.
#
# Why vectors=0: Debian 12's QEMU 7.2 crashes (SIGSEGV in its irqfd path, which needs KVM) when a vhost-user NIC
# with MSI-X starts under TCG; KVM is not usable here. With vectors=0 the NIC uses one INTx line and QEMU 7.2
# works. QEMU 8 and later do not crash, so there the NIC gets a vector per ring (VECTORS overrides either way).
#
# Environment: TIMEOUT (seconds the guest may run before QEMU is killed, default 150), SMP (vCPUs, default 4:
# the driver's default pair count is min(max pairs, vCPUs)), MEM (MiB, default 512), VECTORS, QEMU (binary),
# QEMU_VERSION (7.2 or 10: that QEMU of tests/peers/qemu-versions.sh with its firmware folders; overrides QEMU),
# SLEEPS (sleep cycles, PATH@PAIRS comma-separated, PATH mem or disk: e.g. mem@4,disk@1; none by default),
# ACCEL (default tcg), PINGS (per vCPU and phase, default 5), FORMAT (the virtqueue format: split, the default, or
# packed, which sets packed=on on the NIC; QEMU then offers VIRTIO_F_RING_PACKED to the guest only if the back-end
# offers it too, and the guest's "VMQ features" line shows what the driver accepted, bit 34 being packed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
packages=(qemu-system-x86 linux-image-amd64 busybox-static ethtool cpio kmod)
usage() { sed -n '5,10p' "$0" >&2; exit 2; }

qemu_bin() {
  if [ -n "${QEMU_VERSION:-}" ]; then "$here/qemu-versions.sh" path "$QEMU_VERSION"; else echo "${QEMU:-qemu-system-x86_64}"; fi
}

# -L for each firmware folder of QEMU_VERSION (qemu-versions.sh data-dirs): QEMU 10 is unpacked privately and
# would otherwise take the system's SeaBIOS, or none.
qemu_data_args() {
  local d
  [ -n "${QEMU_VERSION:-}" ] || return 0
  for d in $("$here/qemu-versions.sh" data-dirs "$QEMU_VERSION"); do printf -- '-L\n%s\n' "$d"; done
}

# The NIC's property for the virtqueue format FORMAT names.
ring_format() {
  case "${FORMAT:-split}" in
    split) echo "packed=off" ;;
    packed) echo "packed=on" ;;
    *) echo "error: FORMAT must be split or packed, not '$FORMAT'" >&2; exit 2 ;;
  esac
}

# The newest kernel with both an image and a module tree.
kernel_version() {
  local v best=""
  for v in $(ls -1 /lib/modules 2>/dev/null | sort -V); do [ -f "/boot/vmlinuz-$v" ] && best="$v"; done
  echo "$best"
}

missing() {
  local m=()
  command -v "$(qemu_bin)" >/dev/null || m+=(qemu-system-x86)
  [ -n "$(kernel_version)" ] || m+=(linux-image-amd64)
  [ -x /bin/busybox ] && file_is_static /bin/busybox || m+=(busybox-static)
  command -v ethtool >/dev/null || m+=(ethtool)
  command -v cpio >/dev/null || m+=(cpio)
  echo "${m[*]}"
}

# busybox-static replaces the dynamic busybox at /bin/busybox; a dynamic one would not run in the bare guest.
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }

install_packages() {
  [ -z "$(missing)" ] && { echo "already installed: ${packages[*]}"; return 0; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  local still; still="$(missing)"
  [ -z "$still" ] || { echo "error: still missing after apt-get: $still" >&2; exit 1; }
  echo "installed: ${packages[*]}"
}

check() {
  local m; m="$(missing)"
  [ -z "$m" ] && return 0
  echo "missing Debian package(s): $m (install them with: tests/peers/linux-guest.sh install)" >&2
  exit 3
}

# Copies a module and, first, everything modules.dep says it needs, decompressed; appends to etc/modules.order.
add_module() { # ROOT MODDIR RELPATH
  local root="$1" moddir="$2" rel="$3" dep name
  name="$(basename "$rel")"; name="${name%.xz}"; name="${name%.zst}"; name="${name%.gz}"
  grep -qx "$name" "$root/etc/modules.order" 2>/dev/null && return 0
  for dep in $(awk -v m="$rel:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$moddir/modules.dep"); do
    add_module "$root" "$moddir" "$dep"
  done
  grep -qx "$name" "$root/etc/modules.order" 2>/dev/null && return 0
  case "$rel" in
    *.xz) xz -dc "$moddir/$rel" ;;
    *.zst) zstd -qdc "$moddir/$rel" ;;
    *.gz) gzip -dc "$moddir/$rel" ;;
    *) cat "$moddir/$rel" ;;
  esac >"$root/lib/modules/$name"
  echo "$name" >>"$root/etc/modules.order"
}

initramfs() { # DIR
  local out="$1" kver moddir root lib rel m
  check
  kver="$(kernel_version)"; moddir="/lib/modules/$kver"
  mkdir -p "$out"; out="$(cd "$out" && pwd)"
  root="$out/root"
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,lib/modules,lib64}
  cp /bin/busybox "$root/bin/busybox"
  for m in $("$root/bin/busybox" --list); do [ "$m" = busybox ] || ln -s busybox "$root/bin/$m"; done
  # ethtool is dynamic: it goes with the libraries ldd names, at the same paths, and the loader.
  cp -L "$(command -v ethtool)" "$root/usr/sbin/ethtool"
  for lib in $(ldd "$(command -v ethtool)" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  : >"$root/etc/modules.order"
  for m in virtio_pci virtio_net; do
    rel="$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1 | head -1)"
    [ -n "$rel" ] || { echo "error: $m is not a module of kernel $kver (modules.dep)" >&2; exit 1; }
    add_module "$root" "$moddir" "$rel"
  done
  install -m 755 "$here/linux-guest-init.sh" "$root/init"
  # Fixed times and order, so the same inputs give the same archive.
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$out/initramfs.cpio.gz"
  echo "/boot/vmlinuz-$kver" >"$out/kernel.path"
  echo "initramfs: $out/initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes), kernel /boot/vmlinuz-$kver, modules: $(tr '\n' ' ' <"$root/etc/modules.order")"
}

boot() { # SOCKET PAIRS DIR
  local sock="$1" pairs="$2" dir="$3" qemu version major accel vectors mem rc format data=()
  format="$(ring_format)"
  check
  mapfile -t data < <(qemu_data_args)
  [ -S "$sock" ] || { echo "error: no vhost-user socket at $sock (start the back-end first)" >&2; exit 1; }
  [ -f "$dir/initramfs.cpio.gz" ] || { echo "error: no $dir/initramfs.cpio.gz (run: $0 initramfs $dir)" >&2; exit 1; }
  qemu="$(qemu_bin)"; accel="${ACCEL:-tcg}"; mem="${MEM:-512}"
  version="$("$qemu" --version | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p')"; major="${version%%.*}"
  if [ -n "${VECTORS:-}" ]; then vectors="$VECTORS"
  elif [ "$accel" = tcg ] && [ "${major:-0}" -lt 8 ]; then vectors=0
  else vectors=$((2 * pairs + 2)); fi
  echo "boot: QEMU $version ($accel), $pairs queue pair(s), vectors=$vectors, ${FORMAT:-split} rings, ${SMP:-4} vCPUs, guest limit ${TIMEOUT:-150} s" >&2
  # The guest's RAM is a shared memfd, the only way a vhost-user back-end can reach the rings and buffers.
  rc=0
  timeout -k 5 "${TIMEOUT:-150}" "$qemu" "${data[@]}" -machine q35 -accel "$accel" -m "$mem" -smp "${SMP:-4}" \
    -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem \
    -kernel "$(cat "$dir/kernel.path")" -initrd "$dir/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 vmq.pings=${PINGS:-5} vmq.sleep=${SLEEPS:-}" \
    -display none -no-reboot -nodefaults -serial stdio \
    -chardev "socket,id=vu,path=$sock" -netdev "vhost-user,id=net0,chardev=vu,queues=$pairs" \
    -device "virtio-net-pci,netdev=net0,mq=on,$format,vectors=$vectors,mac=52:54:00:12:34:56,romfile=" </dev/null | tr -d '\r' || rc=$?
  [ "$rc" -ne 124 ] || echo "error: the guest was still running after ${TIMEOUT:-150} s; QEMU killed" >&2
  return "$rc"
}

run() { # [PAIRS]
  local pairs="${1:-4}" work start end rc=0
  check
  work="$(mktemp -d /tmp/vmq-linux-guest.XXXXXX)"
  initramfs "$work/guest" >&2
  "$here/reference-backend.sh" start "$work/vu.sock" "$pairs" --record-driver "$work/driver.json" --stats "$work/stats.json" >/dev/null
  start=$(date +%s.%N)
  boot "$work/vu.sock" "$pairs" "$work/guest" >"$work/console.log" || rc=$?
  end=$(date +%s.%N)
  "$here/reference-backend.sh" stop "$work/vu.sock"
  grep '^VMQ' "$work/console.log" || true
  echo "boot to poweroff: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, QEMU status $rc"
  echo "console: $work/console.log; back-end: $work/vu.sock.log, $work/driver.json, $work/stats.json"
  return "$rc"
}

cmd="${1:-}"; [ -n "$cmd" ] || usage; shift
case "$cmd" in
  install) install_packages ;;
  check) check ;;
  initramfs) [ $# -eq 1 ] || usage; initramfs "$1" ;;
  boot) [ $# -eq 3 ] || usage; boot "$@" ;;
  run) run "$@" ;;
  *) usage ;;
esac
