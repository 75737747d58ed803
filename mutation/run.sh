#!/usr/bin/env bash
# Mutation testing (README: Mutation testing): Stryker.NET mutates the reference device's multiqueue,
# controlq and ring code and runs the conformance suite, in-process, against every mutant. Slow (tens of
# minutes), so it is not part of .ci/run. Arguments go to dotnet stryker (e.g. --mutate, --reporter).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# One fixed FsCheck seed: every mutant meets the same generated cases, so the score is reproducible and a
# mutant counts as killed only when those cases kill it, not when a lucky draw happens to.
export VIRTIO_SEED="${VIRTIO_SEED:-(20261125,7)}"
export VIRTIO_DEVICE='reference://?pairs=8'
# A mutant that only a SHOULD or robustness check notices is still noticed: fail the test instead of warning.
export VIRTIO_STRICT=1
export VIRTIO_REPORT_DIR="${VIRTIO_REPORT_DIR:-$PWD/StrykerOutput/conformance-report}"
dotnet tool restore >/dev/null
started=$(date +%s)
dotnet stryker -f stryker-config.json "$@"
# The run's row in docs/mutation-testing.md, from the report it just wrote (the newest under StrykerOutput/).
report=$(ls -t StrykerOutput/*/reports/mutation-report.json 2>/dev/null | head -1)
if [ -n "$report" ]; then
  label="${MUTATION_LABEL:-$(date -u +%F), \`$(git rev-parse --short HEAD)\`}"
  dotnet run ScoreRow.cs -- "$report" ../docs/mutation-testing.md "$label" "$(( $(date +%s) - started ))"
fi
