#!/usr/bin/env bash
# Runs one cargo-fuzz target of fuzz/ (the rmachine binary's parsers of user input: template,
# docker_machine_config) for a bounded time and prints "figure: fuzz TARGET executions N".
#   scripts/fuzz-core.sh TARGET SECONDS
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (it passes -Z flags for the
# sanitizer and coverage instrumentation). Seeds come from fuzz/seeds/TARGET; the growing corpus,
# crash artifacts and the build live in $RMACHINE_CACHE (default /var/cache/rmachine-ci), not in
# the clone. A crash exits non-zero and names the artifact; turn it into a unit test.
set -euo pipefail
target="${1:?usage: scripts/fuzz-core.sh TARGET SECONDS}"
seconds="${2:?usage: scripts/fuzz-core.sh TARGET SECONDS}"
cd "$(dirname "$0")/../fuzz"
cache="${RMACHINE_CACHE:-/var/cache/rmachine-ci}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus="$cache/fuzz-core/corpus/$target"
artifacts="$cache/fuzz-core/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$cache/fuzz-core/target" "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^(INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY|artifact" "$log" || true
runs="$(grep -oE "^stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || true)"
echo "figure: fuzz $target executions ${runs:-0}"
if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    exit "$status"
fi
