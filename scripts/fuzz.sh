#!/usr/bin/env bash
# Runs one cargo-fuzz target for a bounded time and prints "figure: fuzz TARGET executions N".
#   scripts/fuzz.sh TARGET SECONDS
#   scripts/fuzz.sh --list            the targets of every fuzz crate, one per line
# Fuzz crates (each a workspace of its own, with fuzz_targets/ and seeds/TARGET/): fuzz/ (the
# parsers of the core and provisioner: cluster files, os-release, ls filters and templates,
# known_hosts lines, shell-env quoting) and drivers/docker-machine/fuzz/ (the plugin protocol),
# whichever of them this checkout has; the target's name picks the crate.
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (it passes -Z flags for the
# sanitizer and coverage instrumentation). Seeds come from CRATE/seeds/TARGET (kept in the
# repository); the growing corpus, crash artifacts and the build live in $RMACHINE_CACHE
# (default /var/cache/rmachine-ci), not in the clone. A crash exits non-zero and names the
# artifact; turn it into a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(fuzz drivers/docker-machine/fuzz)

targets_of() { # targets_of CRATE — the [[bin]] names of a fuzz crate
    sed -n 's/^name = "\([a-z_0-9]*\)"$/\1/p' "$1/Cargo.toml" | grep -v -- '-fuzz$' || true
}

if [ "${1:-}" = "--list" ]; then
    for crate in "${crates[@]}"; do
        [ -f "$crate/Cargo.toml" ] && targets_of "$crate"
    done
    exit 0
fi
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS | --list}"
seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"
crate=""
for candidate in "${crates[@]}"; do
    if [ -f "$candidate/Cargo.toml" ] && targets_of "$candidate" | grep -qx "$target"; then crate="$candidate"; fi
done
[ -n "$crate" ] || { echo "fuzz.sh: no fuzz crate has a target '$target' (scripts/fuzz.sh --list)" >&2; exit 2; }
cd "$crate"
cache="${RMACHINE_CACHE:-/var/cache/rmachine-ci}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus="$cache/fuzz/corpus/$target"
artifacts="$cache/fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$cache/fuzz/target" "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^(INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY|artifact" "$log" || true
runs="$(grep -oE "^stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || true)"
echo "figure: fuzz $target executions ${runs:-0}"
if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    exit "$status"
fi
