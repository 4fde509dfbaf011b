#!/usr/bin/env bash
# Runs one cargo-fuzz target for a bounded time and prints "figure: fuzz TARGET executions N":
# fuzz/ (the binary's parsers of user input: template, docker_machine_config),
# drivers/docker-machine/fuzz (gob_decode, reply_stream, flags_roundtrip) or drivers/plugin/fuzz
# (jsonrpc_lines). Inputs are at most 4 KiB.
#   scripts/fuzz.sh TARGET SECONDS
#   scripts/fuzz.sh --keep TARGET         minimize what the fuzzer found into the repository's corpus
#   scripts/fuzz.sh --list                the targets, one a line
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (it passes -Z flags for the
# sanitizer and coverage instrumentation). Inputs: the crate's fuzz/seeds/TARGET (written by hand,
# Go's golden transcripts among them) and fuzz/corpus/TARGET (the kept corpus: the smallest set of
# inputs covering what every earlier run reached, committed; --keep refreshes it). The growing
# corpus, crash artifacts and the build live in $RMACHINE_CACHE (default /var/cache/rmachine-ci),
# not in the clone. A crash exits non-zero and names the artifact; turn it into a unit test.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_crates=("$repo/fuzz" "$repo/drivers/docker-machine/fuzz" "$repo/drivers/plugin/fuzz")
if [ "${1:-}" = "--list" ]; then
    for crate in "${fuzz_crates[@]}"; do
        for file in "$crate"/fuzz_targets/*.rs; do basename "$file" .rs; done
    done
    exit 0
fi
keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS | --keep TARGET | --list}"
if [ "$keep" -eq 0 ]; then seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"; fi
crate=""
for candidate in "${fuzz_crates[@]}"; do
    if [ -f "$candidate/fuzz_targets/$target.rs" ]; then crate="$candidate"; fi
done
[ -n "$crate" ] || { echo "fuzz.sh: no fuzz target '$target' (scripts/fuzz.sh --list names them)" >&2; exit 2; }
cd "$crate"
cache="${RMACHINE_CACHE:-/var/cache/rmachine-ci}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus="$cache/fuzz/corpus/$target"
artifacts="$cache/fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
kept="corpus/$target"
mkdir -p "$kept"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
if [ "$keep" -eq 1 ]; then
    # libFuzzer's merge: of the kept corpus, the cache's and the seeds, the inputs that add
    # coverage go into a fresh folder, which then replaces the kept corpus.
    fresh="$(mktemp -d)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$cache/fuzz/target" "$target" "$fresh" "$kept" "$corpus" \
        "seeds/$target" -- -merge=1 -max_len=4096 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then tail -40 "$log" >&2; rm -rf "$fresh"; exit "$status"; fi
    find "$kept" -type f -delete
    cp "$fresh"/* "$kept"/ 2>/dev/null || true
    rm -rf "$fresh"
    echo "kept $(find "$kept" -type f | wc -l) inputs ($(du -sk "$kept" | cut -f1) KiB) in ${crate#"$repo"/}/$kept"
    exit 0
fi
RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$cache/fuzz/target" "$target" "$corpus" "seeds/$target" "$kept" -- \
    -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^(INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY|artifact" "$log" || true
runs="$(grep -oE "^stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || true)"
echo "figure: fuzz $target executions ${runs:-0}"
if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    exit "$status"
fi
