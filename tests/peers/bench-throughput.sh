#!/usr/bin/env bash
# Packets per second through the reference vhost-user back-end and through DPDK testpmd's back-end (net_vhost),
# side by side in one run, driven by the same front-end: DPDK's virtio-user PMD in txonly mode with 64-byte
# packets, with split virtqueues and with packed ones (virtio-user packed_vq=0 and packed_vq=1; every other
# devarg is the same). A benchmark, not a test: it prints numbers and judges nothing.
#
#   tests/peers/bench-throughput.sh [ROUNDS] [SECONDS]
#
# For 1 and 2 queue pairs, ROUNDS rounds (default 5), each round one sample per back-end and ring format, the
# order rotating from round to round so that none always runs first. A sample is a fresh back-end and a fresh front-end:
# WARMUP seconds of traffic (default 5), then SECONDS of measurement (default 3). The reference runs several
# times slower for its first 2-4 s of traffic, until the JIT's optimised code for the data path takes over;
# a shorter warm-up measures the JIT, not the back-end.
#
# The rate is the back-end's own count of the frames it took from the transmit rings over the measured interval:
#   reference: `serve --stats FILE --stats-period 0.25`; two snapshots, frames on transmitq rings divided by the
#              difference of the snapshots' own monotonic timestamps;
#   testpmd:   rxonly forwarding with --stats-period 1; the mean of the Rx-pps lines printed in the interval.
# The front-end's Tx-pps over the same interval is printed too, as a cross-check: with 256-entry rings the
# front-end can only enqueue what the back-end has taken.
#
# CPUs: the machine's CPUs are split in two halves, the front-end forwarding on the first, the back-end on the second
# (testpmd's forwarding lcores; the reference pinned there with taskset). With 2 CPUs: front-end on CPU 0, back-end
# on CPU 1. Each side forwards with as many cores as it has, up to the queue pairs: the front-end's testpmd with
# --nb-cores, testpmd's back-end with NB_CORES, the reference with --workers per-pair (reference-per-pair) or one
# thread (reference). The reference is built and run in Release configuration.
#
# Scaling with the queue pairs, as multiqueue is meant to give: BACKENDS="reference reference-per-pair testpmd"
# QUEUE_PAIRS="1 2 4 8" FORMATS=split; the last table then gives each back-end's rate per pair count and its speed-up
# over 1 pair. It needs 2 x 8 + 1 CPUs to give every pair a core on both sides: with fewer, more pairs only share
# the cores there are.
# Needs dpdk-testpmd (tests/peers/testpmd-device.sh install) and the .NET SDK. Takes about 8 minutes (4 with one
# format, 12 with BASELINE_DLL); it uses both CPUs, so run nothing else meanwhile.
# The reference's stats file names the format each session ran (ringFormat): a sample whose session did not run
# the format asked for stops the run. testpmd's net_vhost offers both formats, IN_ORDER and MRG_RXBUF, which
# virtio-user takes by default in either format; the reference offers IN_ORDER too (since 2026-12-05; before, only
# testpmd ran in order) but not MRG_RXBUF. IN_ORDER=0 makes virtio-user decline it with both back-ends.
# Environment: WARMUP, IN_ORDER (default 1), QUEUE_PAIRS (default "1 2"), FORMATS (default "split packed"),
# BACKENDS (default "reference testpmd"; also reference-per-pair), REFERENCE_DLL (skip the Release build and run this one),
# BASELINE_DLL (another build of the reference, e.g. before a change, measured in the same rounds as a third
# back-end, so a before/after comparison shares the machine's conditions).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:-5}"; seconds="${2:-3}"
warmup="${WARMUP:-5}"
pairs_list="${QUEUE_PAIRS:-1 2}"
formats="${FORMATS:-split packed}"
for f in $formats; do case "$f" in split|packed) ;; *) echo "FORMATS lists split and/or packed, not '$f'" >&2; exit 2 ;; esac; done
case "$rounds$seconds" in *[!0-9]*) echo "ROUNDS and SECONDS are whole numbers" >&2; exit 2 ;; esac
[ "$seconds" -ge 2 ] || { echo "SECONDS must be at least 2: testpmd prints its rate once a second" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd is not installed (tests/peers/testpmd-device.sh install)" >&2; exit 3; }
[ "$(nproc)" -ge 2 ] || echo "warning: $(nproc) CPU(s): the back-end and the front-end share a CPU, so both rates are meaningless" >&2

# The CPU halves: front-end CPUs 0..half-1, back-end CPUs half..n-1.
cpus=$(nproc); half=$(( cpus / 2 > 0 ? cpus / 2 : 1 ))
frontend_cpus=$(seq -s, 0 $((half - 1))); backend_cpus=$(seq -s, "$half" $((cpus - 1)))
[ -n "$backend_cpus" ] || backend_cpus=0
backend_count=$(( cpus - half > 0 ? cpus - half : 1 ))
min() { echo $(( $1 < $2 ? $1 : $2 )); }

if [ -z "${REFERENCE_DLL:-}" ]; then
  echo "building the reference back-end (Release)..." >&2
  dotnet build "$root/reference/Reference.csproj" -c Release -v q -nologo >/dev/null
  export REFERENCE_DLL="$root/reference/bin/Release/net10.0/VirtioMq.Reference.dll"
fi

work="$(mktemp -d /tmp/vmq-bench.XXXXXX)"
sock="$work/vhost.sock"
cleanup() {
  "$here/reference-backend.sh" stop "$sock" >/dev/null 2>&1 || true
  "$here/testpmd-device.sh" stop "$sock" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

strip() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$@"; }

# The reference's stats file: uptime and the frames taken from transmit rings, summed ("UPTIME FRAMES").
reference_snapshot() {
  awk '/"uptimeSeconds":/ { gsub(/[^0-9.]/, "", $2); up = $2 }
       /"number":/ { frames = 0 }
       /"queue": "transmitq/ { tx = 1 }
       tx && /"frames":/ { gsub(/[^0-9]/, "", $2); frames += $2; tx = 0 }
       END { printf "%s %d\n", up, frames }' "$1"
}

# The ring format of the stats file's last session: "split" or "packed".
reference_format() { awk -F'"' '/"ringFormat":/ { f = $4 } END { print f }' "$1"; }

# One sample: BACKEND (reference|baseline|testpmd), Q queue pairs and FORMAT (split|packed). Prints
# "BACKEND_PPS FRONTEND_TX_PPS".
sample() {
  local backend=$1 q=$2 format=$3 fe="$work/frontend.log" stats="$work/stats.json" before after marks=() dll
  rm -f "$stats" "$fe"
  if [ "$backend" != testpmd ]; then
    dll="$REFERENCE_DLL"; [ "$backend" = baseline ] && dll="$BASELINE_DLL"
    local threads=(); [ "$backend" = reference-per-pair ] && threads=(--workers per-pair)
    REFERENCE_DLL="$dll" CPUS="$backend_cpus" "$here/reference-backend.sh" start "$sock" "$q" --quiet --stats "$stats" --stats-period 0.25 "${threads[@]}" >/dev/null
  else
    # Main lcore on the front-end's first CPU (it only prints statistics), forwarding on the back-end's CPUs.
    LCORES="0,$backend_cpus" NB_CORES=$(min "$q" "$backend_count") STATS_PERIOD=1 FWD_MODE=rxonly "$here/testpmd-device.sh" start "$sock" "$q" >/dev/null
  fi
  mkfifo "$work/stdin"
  # Forwarding on the front-end's CPUs, main lcore on the back-end's last CPU (it only reads commands).
  stdbuf -oL dpdk-testpmd -l "$frontend_cpus,$((cpus - 1))" --main-lcore $((cpus - 1)) --no-huge -m 256 --no-pci --no-shconf --no-telemetry \
    --file-prefix="vmq-bench-$$" --vdev "net_virtio_user0,path=$sock,queues=$q,packed_vq=$([ "$format" = packed ] && echo 1 || echo 0),in_order=${IN_ORDER:-1}" -- \
    -i --rxq="$q" --txq="$q" --nb-cores="$(min "$q" "$half")" --forward-mode=txonly --txpkts=64 --total-num-mbufs=$((16384 + 2048 * q)) \
    <"$work/stdin" >"$fe" 2>&1 &
  local pmd=$!
  exec 3>"$work/stdin"
  wait_log() { # PATTERN COUNT
    local deadline=$((SECONDS + 20))
    until [ "$(grep -c -- "$1" "$fe" 2>/dev/null || true)" -ge "$2" ]; do
      kill -0 "$pmd" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] || { echo "front-end: no '$1' in time; log:" >&2; strip "$fe" | tail -20 >&2; return 1; }
      sleep 0.05
    done
  }
  wait_log 'testpmd> ' 1
  echo "start" >&3
  wait_log 'packet forwarding - ports=' 1
  sleep "$warmup"
  # Window start: the front-end's "since last show" counters restart, the back-ends' own counts are marked.
  echo "show port stats 0" >&3
  if [ "$backend" != testpmd ]; then before=$(reference_snapshot "$stats"); else marks+=("$(wc -l <"$sock.log")"); fi
  sleep "$seconds"
  echo "show port stats 0" >&3
  if [ "$backend" != testpmd ]; then after=$(reference_snapshot "$stats"); else marks+=("$(wc -l <"$sock.log")"); fi
  wait_log 'Tx-pps:' 2
  echo "stop" >&3; echo "quit" >&3
  exec 3>&-
  local deadline=$((SECONDS + 20))
  while kill -0 "$pmd" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  kill -KILL "$pmd" 2>/dev/null || true
  wait "$pmd" 2>/dev/null || true
  rm -f "$work/stdin"; rmdir "/var/run/dpdk/vmq-bench-$$" 2>/dev/null || true
  local fe_pps backend_pps
  fe_pps=$(strip "$fe" | awk '/Tx-pps:/ { v = $2 } END { print v + 0 }')
  if [ "$backend" != testpmd ]; then
    local ran; ran=$(reference_format "$stats")
    # A build from before packed rings (before 2026-11-29) writes no ringFormat: it can only have run split rings.
    [ "$ran" = "$format" ] || { [ -z "$ran" ] && [ "$format" = split ]; } || { echo "error: $backend was asked for $format rings, its session ran '$ran'" >&2; return 1; }
    backend_pps=$(awk -v a="$before" -v b="$after" 'BEGIN { split(a, x, " "); split(b, y, " ");
      dt = y[1] - x[1]; print (dt > 0) ? int((y[2] - x[2]) / dt) : 0 }')
    "$here/reference-backend.sh" stop "$sock"
  else
    backend_pps=$(strip "$sock.log" | sed -n "$((marks[0] + 1)),${marks[1]}p" |
      awk '/Rx-pps:/ { s += $2; n++ } END { print (n > 0) ? int(s / n) : 0 }')
    "$here/testpmd-device.sh" stop "$sock"
  fi
  echo "$backend_pps $fe_pps"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mpps() { awk -v p="$1" 'BEGIN { printf "%.3f", p / 1e6 }'; }

read -ra backends <<<"${BACKENDS:-reference testpmd}"
for b in "${backends[@]}"; do case "$b" in reference|reference-per-pair|testpmd) ;; *) echo "BACKENDS lists reference, reference-per-pair and/or testpmd, not '$b'" >&2; exit 2 ;; esac; done
[ -z "${BASELINE_DLL:-}" ] || backends+=(baseline)
runs=()
for f in $formats; do for b in "${backends[@]}"; do runs+=("$b,$f"); done; done
declare -A samples frontend
for q in $pairs_list; do
  for r in $(seq 1 "$rounds"); do
    # Rotate the order each round: the first sample after a pause may find the machine in another state.
    order=("${runs[@]:$(( (r - 1) % ${#runs[@]} ))}" "${runs[@]:0:$(( (r - 1) % ${#runs[@]} ))}")
    for run in "${order[@]}"; do
      b=${run%,*}; f=${run#*,}
      out=$(sample "$b" "$q" "$f") || exit 1
      read -r pps fe_pps <<<"$out"
      samples[$b,$f,$q]+="$pps "; frontend[$b,$f,$q]+="$fe_pps "
      echo "pairs=$q round=$r $b $f: back-end $(mpps "$pps") Mpps, front-end Tx $(mpps "$fe_pps") Mpps" >&2
    done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0) ? "%.3f" : "n/a", a / b }'; }
med() { median <<<"${samples[$1,$2,$3]}"; } # BACKEND FORMAT PAIRS

has() { [[ " ${backends[*]} " == *" $1 "* ]]; }
echo
echo "64-byte packets, virtio-user txonly front-end on CPU(s) $frontend_cpus, back-end on CPU(s) $backend_cpus of $cpus;" \
  "${rounds} rounds, ${warmup} s warm-up + ${seconds} s measured"
echo "reference: $REFERENCE_DLL${BASELINE_DLL:+; baseline: $BASELINE_DLL}"
if has reference && has testpmd; then
  echo
  echo "| rings | queue pairs | median Mpps reference | median Mpps testpmd | ratio reference/testpmd |"
  echo "| --- | --- | --- | --- | --- |"
  for f in $formats; do
    for q in $pairs_list; do
      ref=$(med reference "$f" "$q"); pmd=$(med testpmd "$f" "$q")
      echo "| $f | $q | $(mpps "$ref") | $(mpps "$pmd") | $(ratio "$ref" "$pmd") |"
    done
  done
fi
read -ra pair_counts <<<"$pairs_list"
if [ "${#pair_counts[@]}" -gt 1 ]; then
  # The shape of the multiqueue series' own table: queue pairs, packets per second, speed-up over the first count.
  first=${pair_counts[0]}
  for f in $formats; do
    echo
    head="| queue pairs ($f) |"; rule="| --- |"
    for b in "${backends[@]}"; do head+=" $b Kpps | speed-up |"; rule+=" --- | --- |"; done
    echo "$head"; echo "$rule"
    for q in "${pair_counts[@]}"; do
      row="| $q |"
      for b in "${backends[@]}"; do
        v=$(med "$b" "$f" "$q"); one=$(med "$b" "$f" "$first")
        row+=" $(awk -v p="$v" 'BEGIN { printf "%.0f", p / 1e3 }') | $(ratio "$v" "$one") |"
      done
      echo "$row"
    done
  done
fi
if has reference && has testpmd && [[ " $formats " == *" split "* && " $formats " == *" packed "* ]]; then
  echo
  echo "| queue pairs | reference split | reference packed | reference packed/split | testpmd split | testpmd packed | testpmd packed/split |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for q in $pairs_list; do
    rs=$(med reference split "$q"); rp=$(med reference packed "$q"); ts=$(med testpmd split "$q"); tp=$(med testpmd packed "$q")
    echo "| $q | $(mpps "$rs") | $(mpps "$rp") | $(ratio "$rp" "$rs") | $(mpps "$ts") | $(mpps "$tp") | $(ratio "$tp" "$ts") |"
  done
fi
if [ -n "${BASELINE_DLL:-}" ]; then
  echo
  echo "| rings | queue pairs | median Mpps baseline | median Mpps reference | ratio reference/baseline | ratio baseline/testpmd |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for f in $formats; do
    for q in $pairs_list; do
      base=$(med baseline "$f" "$q"); ref=$(med reference "$f" "$q"); pmd=$(med testpmd "$f" "$q")
      echo "| $f | $q | $(mpps "$base") | $(mpps "$ref") | $(ratio "$ref" "$base") | $(ratio "$base" "$pmd") |"
    done
  done
fi
echo
echo "Raw samples, Mpps (back-end's own count; front-end Tx-pps in brackets):"
for q in $pairs_list; do
  for run in "${runs[@]}"; do
    b=${run%,*}; f=${run#*,}
    read -ra own <<<"${samples[$b,$f,$q]}"; read -ra fe <<<"${frontend[$b,$f,$q]}"
    line=""
    for i in "${!own[@]}"; do line+="$(mpps "${own[$i]}") [$(mpps "${fe[$i]}")]  "; done
    echo "  $b $f, $q pair(s): $line"
  done
done
