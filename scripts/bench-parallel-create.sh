#!/usr/bin/env bash
# scripts/bench-parallel-create.sh — owns the figure for issue 6: wall time of `rmachine apply`
# creating three machines in parallel against one machine alone, on fresh local Debian 12 test
# hosts (tests/testbed/testbed.sh, no Docker preinstalled: each create installs docker.io through
# the testbed's apt proxy). Prints both times and their ratio (the goal: three <= 1.5 x one).
#
# Usage (as root): scripts/bench-parallel-create.sh [RMACHINE_BINARY]
# BENCH_SEQUENTIAL=1 also times three more machines with --parallel 1 (hosts s6-bench-5..7).
# Hosts: s6-bench-N at 10.211.0.84-87 (and 88, 77-78 for the sequential run), stopped again on exit.
# Needs root, like the e2e tests. The load average is printed with each figure: on a 2-core
# machine shared with other builds the figures vary with it.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
TESTBED=$REPO/tests/testbed/testbed.sh
BIN=${1:-${CARGO_TARGET_DIR:-$REPO/target}/debug/rmachine}
[ -x "$BIN" ] || { echo "bench: no rmachine binary at $BIN (cargo build first, or pass its path)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/rmachine-bench.XXXXXX)
HOSTS=(s6-bench-1:10.211.0.84 s6-bench-2:10.211.0.85 s6-bench-3:10.211.0.86 s6-bench-4:10.211.0.87)
[ "${BENCH_SEQUENTIAL:-0}" = 1 ] && HOSTS+=(s6-bench-5:10.211.0.88 s6-bench-6:10.211.0.77 s6-bench-7:10.211.0.78)

cleanup() {
	for host in "${HOSTS[@]}"; do bash "$TESTBED" host-down "${host%%:*}" >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -f "$WORK/id_ed25519"
for host in "${HOSTS[@]}"; do
	bash "$TESTBED" host-up "${host%%:*}" "${host##*:}" --authorized-key "$WORK/id_ed25519.pub" >"$WORK/${host%%:*}.log" 2>&1 &
done
wait

cluster_file() { # FILE IP...
	local file=$1 index=0
	shift
	printf 'defaults:\n  driver: generic\n  generic: { ssh-key: %s }\n  engine: { storage-driver: overlay2 }\nmachines:\n' "$WORK/id_ed25519" >"$file"
	for ip in "$@"; do
		index=$((index + 1))
		printf '  - name: bench%s\n    generic: { ip-address: %s }\n' "${ip##*.}" "$ip" >>"$file"
	done
}

timed_apply() { # FILE [ARGS...] → seconds on stdout
	local start end file=$1
	shift
	start=$(date +%s.%N)
	"$BIN" -s "$WORK/store" apply -f "$file" "$@" >"$file.out" 2>"$file.err" || { cat "$file.out" "$file.err" >&2; exit 1; }
	end=$(date +%s.%N)
	echo "$end - $start" | bc
}

cluster_file "$WORK/one.yaml" 10.211.0.84
cluster_file "$WORK/three.yaml" 10.211.0.85 10.211.0.86 10.211.0.87
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_one=$(load)
one=$(timed_apply "$WORK/one.yaml")
load_three=$(load)
three=$(timed_apply "$WORK/three.yaml" --parallel 4)
printf 'one machine alone:        %6.1f s   (load average before: %s)\n' "$one" "$load_one"
printf 'three machines parallel:  %6.1f s   (load average before: %s)\n' "$three" "$load_three"
printf 'ratio three/one:          %6.2f (goal <= 1.5)\n' "$(echo "$three / $one" | bc -l)"
if [ "${BENCH_SEQUENTIAL:-0}" = 1 ]; then
	cluster_file "$WORK/sequential.yaml" 10.211.0.88 10.211.0.77 10.211.0.78
	load_sequential=$(load)
	sequential=$(timed_apply "$WORK/sequential.yaml" --parallel 1)
	printf 'three machines one by one:%6.1f s   (load average before: %s)\n' "$sequential" "$load_sequential"
fi
