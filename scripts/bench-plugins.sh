#!/usr/bin/env bash
# scripts/bench-plugins.sh — owns the figures for "ls of plugin machines" (issue 11): `rmachine ls`
# of 100 machines of each of three drivers, every machine on the same real test host (tests/testbed,
# p-bench at 10.211.0.16, Docker preinstalled) whose engine answers over TLS:
#   - generic (built in: a TCP probe of SSH per machine),
#   - pyhost (tests/plugins/rmachine-driver-pyhost: a Python process per machine, rmachine's protocol),
#   - fake (the Go fake docker-machine plugin: a Go process per machine, net/rpc + gob, heartbeats).
# One machine of each driver is created (and provisioned) in one store, so the three share its CA;
# the store is then copied three times and each copy gets 99 clones of one driver's machine. ls
# asks every machine concurrently (at most 64 at once) under one deadline, plugins as built-ins.
# Prints wall-time medians as `figure:` lines; asserts nothing. Prints `uptime` before and after.
#
# Usage: sudo scripts/bench-plugins.sh          (builds rmachine with cargo build --release --no-default-features)
# Environment: RMACHINE_BIN (use this binary), RUNS (ls runs per store, default 10),
# RMACHINE_FAKE_MACHINE_PLUGIN (the Go fake; default $RMACHINE_CACHE/go-plugin/docker-machine-driver-fake),
# KEEP=1 (keep the host and the stores).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
TESTBED=$REPO/tests/testbed/testbed.sh
HOST=p-bench
HOST_IP=10.211.0.16
RUNS=${RUNS:-10}
CACHE=${RMACHINE_CACHE:-/var/cache/rmachine-ci}
FAKE=${RMACHINE_FAKE_MACHINE_PLUGIN:-$CACHE/go-plugin/docker-machine-driver-fake}
WORK=$(mktemp -d /tmp/rmachine-bench-plugins.XXXXXX)

[ "$(id -u)" = 0 ] || { echo "bench-plugins.sh: run as root (it starts a test host)" >&2; exit 1; }
[ -x "$FAKE" ] || { echo "bench-plugins.sh: the Go fake plugin $FAKE is missing: bash drivers/docker-machine/tests/fake-docker-machine-plugin/build.sh" >&2; exit 1; }
if [ -z "${RMACHINE_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet --no-default-features)
    RMACHINE_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/rmachine
fi
RM=$RMACHINE_BIN
export RMACHINE_DRIVER_PATH="$REPO/tests/plugins:$(dirname "$FAKE")"
export PYHOST_API_TOKEN=bench-token-0123

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: stores in $WORK, host $HOST"; return; fi
    bash "$TESTBED" host-down "$HOST" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# Copies machine FROM of store STORE as NAME (its folder, the record renamed).
clone_machine() {
    local store=$1 from=$2 name=$3
    cp -a "$store/machines/$from" "$store/machines/$name"
    sed -i -e "s|\"name\": \"$from\"|\"name\": \"$name\"|" -e "s|\"machine\": \"$from\"|\"machine\": \"$name\"|" \
        "$store/machines/$name/machine.json"
}

# Median wall time in milliseconds of a command line, RUNS times (after one warm-up run).
median_ms() {
    local times=() start end
    "$@" >/dev/null 2>&1 || true
    for _ in $(seq "$RUNS"); do
        start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N)
        times+=($(((end - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.0f\n", a[int((NR+1)/2)]/1000}'
}

echo "== load before: $(uptime)"
echo "== rmachine: $RM ($("$RM" version))"
key=$WORK/id_ed25519
ssh-keygen -q -t ed25519 -N '' -f "$key"
bash "$TESTBED" host-up "$HOST" "$HOST_IP" --authorized-key "$key.pub" --docker >/dev/null 2>&1
seed=$WORK/seed
"$RM" -s "$seed" create -d generic --generic-ip-address "$HOST_IP" --generic-ssh-key "$key" gen1 >/dev/null 2>&1
"$RM" -s "$seed" create -d pyhost --pyhost-address "$HOST_IP" --pyhost-ssh-key "$key" py1 >/dev/null 2>&1
"$RM" -s "$seed" create -d fake --fake-ip-address "$HOST_IP" --fake-ssh-key "$key" dm1 >/dev/null 2>&1

for pair in generic:gen1 pyhost:py1 fake:dm1; do
    driver=${pair%%:*} first=${pair##*:}
    store=$WORK/$driver
    cp -a "$seed" "$store"
    for other in gen1 py1 dm1; do [ "$other" = "$first" ] || rm -rf "$store/machines/$other"; done
    for index in $(seq 2 100); do clone_machine "$store" "$first" "${first%1}$index"; done
    running=$("$RM" -s "$store" ls -q --filter state=Running | wc -l)
    answered=$("$RM" -s "$store" ls --format '{{.DockerVersion}}' | grep -c '^v' || true)
    median=$(median_ms "$RM" -s "$store" ls)
    echo "ls, 100 $driver machines ($running Running, $answered with an engine version): median $median ms of $RUNS"
    echo "figure: ls-100-$driver-machines $median ms"
done

echo "== load after: $(uptime)"
