#!/usr/bin/env bash
# Two QEMU versions side by side for the qtest runs: Debian 12's own QEMU 7.2 (/usr/bin, from apt) and QEMU 10.0
# from bookworm-backports, unpacked into a private folder. Nothing of the system's apt set-up is changed.
#
#   tests/peers/qemu-versions.sh install [10|7.2]   get that QEMU (default 10); re-running reuses what is there
#   tests/peers/qemu-versions.sh path 10|7.2        absolute path of its qemu-system-x86_64, alone on stdout
#   tests/peers/qemu-versions.sh data-dirs 10|7.2   the folders to give QEMU with -L, one per line (none for 7.2)
#
# QEMU 10 lives in ${VIRTIO_TOOLS_DIR:-$HOME/.cache/virtio-mq-conformance}/qemu-10: apt/ is a private apt state
# (a source list naming only bookworm-backports, checked against the Debian archive keyring, and its own lists and
# cache), debs/ what `apt-get download` fetched (qemu-system-x86, qemu-system-common, qemu-system-data, seabios),
# root/ those packages unpacked with `dpkg-deb -x`. The packages are never installed, so dpkg does not know them.
#
# Firmware: the unpacked QEMU does not look in root/. Without -L it takes the system's /usr/share/seabios and
# /usr/share/qemu (bookworm's SeaBIOS 1.16.2 and 7.2's data, when 7.2 is installed; nothing at all otherwise), so
# every run needs `-L DIR` for each line `data-dirs 10` prints: root/usr/share/seabios (SeaBIOS 1.16.3 from
# backports, which QEMU 10 is built for), then root/usr/share/qemu. The NIC's boot ROM would come from ipxe-qemu,
# which is not fetched: give the NIC `romfile=`.
#
# Modules: QEMU_MODULE_DIR is not needed for `-machine q35 -nodefaults -display none -S -qtest unix:SOCK
# -device virtio-net-pci,...` with a socket, user or hubport netdev, nor for `-device virtio-net-pci,help`: all of
# it is built into the binary and no module file is opened (checked with strace). Without it, QEMU 10 looks for a
# module (usb-host, virtio-gpu, curses, alsa, ...) only in the system's /usr/lib/x86_64-linux-gnu/qemu, where 7.2's
# modules are, and refuses them ("Device 'usb-host' not found"); with
# QEMU_MODULE_DIR=<root>/usr/lib/x86_64-linux-gnu/qemu it finds its own. `-device help` (every device) aborts either
# way while 7.2's modules are installed: the modules that 10's packages here lack are taken from 7.2's folder.
#
# Shared libraries: the binary links against Debian 12's own. `install 10` checks with ldd; if one is missing it
# apt-gets, from the system's normal (bookworm) sources, those library packages qemu-system-x86 10 depends on that
# are not installed (--no-upgrade: installed packages are left as they are).
#
# Environment: VIRTIO_TOOLS_DIR (where private tools go, default $HOME/.cache/virtio-mq-conformance).
set -euo pipefail
tools_dir="${VIRTIO_TOOLS_DIR:-$HOME/.cache/virtio-mq-conformance}"
q10="$tools_dir/qemu-10"
suite=bookworm-backports
bpo_packages=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
debian_qemu=/usr/bin/qemu-system-x86_64
usage() { sed -n '5,7p' "$0" >&2; exit 2; }

# apt-get or apt-cache with its sources, preferences, lists and cache in $q10/apt instead of the system's.
private_apt() { # TOOL ARGS...
  local tool="$1"; shift
  "$tool" -o "Dir::Etc::SourceList=$q10/apt/sources.list" -o "Dir::Etc::SourceParts=$q10/apt/none" \
    -o "Dir::Etc::Preferences=$q10/apt/none/preferences" -o "Dir::Etc::PreferencesParts=$q10/apt/none" \
    -o "Dir::State::Lists=$q10/apt/lists" -o "Dir::Cache=$q10/apt/cache" \
    -o APT::Sandbox::User=root "$@"
}

version_of() { "$1" --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p'; }

# The libraries ldd cannot find for BINARY, one per line.
missing_libs() { LC_ALL=C ldd "$1" | awk '/not found/ { print $1 }'; }

q10_ready() { [ -f "$q10/root/.installed" ] && [ -x "$q10/root/usr/bin/qemu-system-x86_64" ]; }

# The library packages qemu-system-x86 10 depends on (first of any alternatives) that dpkg has not installed.
uninstalled_library_packages() {
  local pkg
  dpkg-deb -f "$q10"/debs/qemu-system-x86_*.deb Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' |
    grep -E '^lib' | sort -u | while read -r pkg; do
      dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q ' installed$' || echo "$pkg"
    done
}

# Only packages that are not there are installed, and --no-upgrade leaves the installed ones as they are.
install_missing_libs() {
  local missing still pkgs
  missing="$(missing_libs "$q10/root/usr/bin/qemu-system-x86_64")"
  [ -z "$missing" ] && return 0
  mapfile -t pkgs < <(uninstalled_library_packages)
  [ "${#pkgs[@]}" -gt 0 ] || {
    echo "error: ldd finds no $(echo $missing), yet every library package qemu-system-x86 10 depends on is installed" >&2
    exit 1
  }
  echo "missing shared libraries: $(echo $missing); apt-get install from bookworm: ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends --no-upgrade "${pkgs[@]}" >/dev/null
  still="$(missing_libs "$q10/root/usr/bin/qemu-system-x86_64")"
  [ -z "$still" ] || { echo "error: still missing after apt-get: $(echo $still)" >&2; exit 1; }
  echo "installed from bookworm: ${pkgs[*]}"
}

install_10() {
  local deb version
  mkdir -p "$q10"
  exec 9>"$q10/.lock"; flock 9  # two installs at once would unpack into each other
  if q10_ready; then
    install_missing_libs
    echo "already installed: QEMU $(version_of "$q10/root/usr/bin/qemu-system-x86_64") in $q10/root"
    return 0
  fi
  mkdir -p "$q10/apt/lists/partial" "$q10/apt/cache/archives/partial" "$q10/apt/none" "$q10/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    >"$q10/apt/sources.list"
  private_apt apt-get update -qq
  rm -f "$q10"/debs/*.deb
  (cd "$q10/debs" && private_apt apt-get download -qq "${bpo_packages[@]/%//$suite}")
  # Unpacked beside the old tree and swapped in whole, so an interrupted run never leaves a half tree in use.
  rm -rf "$q10/root.new"; mkdir "$q10/root.new"
  for deb in "$q10"/debs/*.deb; do dpkg-deb -x "$deb" "$q10/root.new"; done
  version="$(version_of "$q10/root.new/usr/bin/qemu-system-x86_64" || true)"
  case "$version" in
    10.0.*) ;;
    "") ;;  # it may not start yet for want of a library; checked again below
    *) echo "error: $suite has QEMU $version, not 10.0.x" >&2; exit 1 ;;
  esac
  [ -f "$q10/root.new/usr/share/seabios/bios-256k.bin" ] || { echo "error: no SeaBIOS in the seabios package" >&2; exit 1; }
  for deb in "$q10"/debs/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done >"$q10/root.new/.packages"
  rm -rf "$q10/root"; mv "$q10/root.new" "$q10/root"
  install_missing_libs
  version="$(version_of "$q10/root/usr/bin/qemu-system-x86_64" || true)"
  case "$version" in 10.0.*) ;; *) echo "error: the unpacked QEMU reports version '$version', not 10.0.x" >&2; exit 1 ;; esac
  touch "$q10/root/.installed"
  echo "installed: QEMU $version from $suite in $q10/root ($(tr '\n' ',' <"$q10/root/.packages" | sed 's/,$//; s/,/, /g'))"
}

# Debian 12's own package, as tests/peers/linux-guest.sh installs it. apt-get's talk goes to stderr.
install_72() {
  if [ ! -x "$debian_qemu" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
    echo "installed: qemu-system-x86 (Debian 12)" >&2
  fi
  local version; version="$(version_of "$debian_qemu")"
  case "$version" in
    7.2|7.2.*) ;;
    *) echo "error: $debian_qemu is QEMU '$version', not Debian 12's 7.2" >&2; exit 1 ;;
  esac
}

path() { # VERSION
  case "$1" in
    10)
      q10_ready || { echo "error: QEMU 10 is not installed in $q10 (run: tests/peers/qemu-versions.sh install 10)" >&2; exit 3; }
      echo "$q10/root/usr/bin/qemu-system-x86_64" ;;
    7.2) install_72; echo "$debian_qemu" ;;
    *) usage ;;
  esac
}

data_dirs() { # VERSION
  case "$1" in
    10)
      path 10 >/dev/null
      echo "$q10/root/usr/share/seabios"
      echo "$q10/root/usr/share/qemu" ;;
    7.2) ;;  # Debian's package finds its firmware in /usr/share/qemu and /usr/share/seabios by itself
    *) usage ;;
  esac
}

cmd="${1:-}"; [ -n "$cmd" ] || usage; shift
case "$cmd" in
  install)
    [ $# -le 1 ] || usage
    case "${1:-10}" in
      10) install_10 ;;
      7.2) install_72 2>&1; echo "QEMU $(version_of "$debian_qemu") at $debian_qemu" ;;
      *) usage ;;
    esac ;;
  path) [ $# -eq 1 ] || usage; path "$1" ;;
  data-dirs) [ $# -eq 1 ] || usage; data_dirs "$1" ;;
  *) usage ;;
esac
