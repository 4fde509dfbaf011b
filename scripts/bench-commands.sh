#!/usr/bin/env bash
# scripts/bench-commands.sh — owns the figures for "env and ls feel instant" (issue 5). It builds
# realistic stores and prints wall times; it asserts nothing (no timed tests).
#   1. `rmachine env NAME` with 10 and with 1,000 machines in the store (median of 300 runs):
#      env reads one record and opens no connection, so the two should be the same.
#   2. `rmachine ls` with 200 none-driver machines whose engine answers: all point at ONE real
#      dockerd with TLS, in a test host (tests/testbed, 10.211.0.50) provisioned by rmachine.
#   3. `rmachine ls --timeout 2` with 20 more machines at an address that drops every packet
#      (10.211.0.69 in a network namespace with `iptables -A INPUT -j DROP`): the wall time
#      should stay under timeout + 0.5 s, with those 20 rows marked Timeout.
# Uses hyperfine when installed (apt-get install hyperfine), else a bash timing loop.
# Needs root (test host, network namespace). Prints `uptime` before and after.
#
# Usage (as root): scripts/bench-commands.sh            (builds rmachine with cargo build --release)
# Environment: RMACHINE_BIN (use this binary), KEEP=1 (keep the host and the store afterwards).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
TESTBED=$REPO/tests/testbed/testbed.sh
HOST=c5-bench
HOST_IP=10.211.0.50
HOLE=c5-benchhole
HOLE_IP=10.211.0.69
WORK=$(mktemp -d /tmp/rmachine-bench.XXXXXX)

if [ -z "${RMACHINE_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet)
    RMACHINE_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/rmachine
fi
RM=$RMACHINE_BIN

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: store $WORK, host $HOST, namespace $HOLE"; return; fi
    bash "$TESTBED" host-down "$HOST" >/dev/null 2>&1 || true
    ip link del "$HOLE-o" 2>/dev/null || true
    ip netns del "$HOLE" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# Copies machine FROM of store STORE as NAME (a none-driver record: the folder with its JSON).
clone_machine() {
    local store=$1 from=$2 name=$3 url=$4
    mkdir -p "$store/machines/$name"
    sed -e "s|\"name\": \"$from\"|\"name\": \"$name\"|" -e "s|\"url\": \"[^\"]*\"|\"url\": \"$url\"|" \
        "$store/machines/$from/machine.json" >"$store/machines/$name/machine.json"
    chmod 700 "$store/machines/$name"
    chmod 600 "$store/machines/$name/machine.json"
}

# Median wall time in milliseconds of a command line, RUNS times.
median_ms() {
    local runs=$1; shift
    if command -v hyperfine >/dev/null; then
        hyperfine --style none --warmup 5 --runs "$runs" -N --export-json "$WORK/h.json" "$*" >/dev/null 2>&1 ||
            hyperfine --style none --warmup 5 --runs "$runs" --export-json "$WORK/h.json" "$*" >/dev/null
        python3 -c "import json;r=json.load(open('$WORK/h.json'))['results'][0];print('%.2f' % (r['median']*1000))"
    else
        local times=() start end
        for _ in $(seq "$runs"); do
            start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N)
            times+=($(((end - start) / 1000)))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f\n", a[int((NR+1)/2)]/1000}'
    fi
}

echo "== load before: $(uptime)"
echo "== rmachine: $RM ($("$RM" version))"

# 1. env with 10 and 1,000 machines
for count in 10 1000; do
    store=$WORK/env-$count
    "$RM" -s "$store" create --driver none --url tcp://10.0.0.1:2376 m1 >/dev/null 2>&1
    for index in $(seq 2 "$count"); do clone_machine "$store" m1 "m$index" "tcp://10.0.0.$((index % 250 + 1)):2376"; done
    echo "env NAME, $count machines in the store: median $(median_ms 300 "$RM" -s "$store" env m$((count / 2))) ms"
done

# 2. ls with 200 machines whose engine answers (one real dockerd with TLS, in a test host)
key=$WORK/id_ed25519
ssh-keygen -q -t ed25519 -N '' -f "$key"
bash "$TESTBED" host-up "$HOST" "$HOST_IP" --authorized-key "$key.pub" --docker >/dev/null 2>&1
store=$WORK/ls
"$RM" -s "$store" create --driver generic --generic-ip-address "$HOST_IP" --generic-ssh-key "$key" engine >/dev/null 2>&1
"$RM" -s "$store" create --driver none --url "tcp://$HOST_IP:2376" n1 >/dev/null 2>&1
for index in $(seq 2 199); do clone_machine "$store" n1 "n$index" "tcp://$HOST_IP:2376"; done
running=$("$RM" -s "$store" ls -q --filter state=Running | wc -l)
answered=$("$RM" -s "$store" ls --format '{{.DockerVersion}}' | grep -c '^v' || true)
echo "ls, 200 machines ($running Running, $answered with an engine version): median $(median_ms 15 "$RM" -s "$store" ls) ms"

# 3. 20 more machines at an address that drops packets
ip netns add "$HOLE"
ip link add "$HOLE-o" type veth peer name eth0 netns "$HOLE"
ip link set "$HOLE-o" master rmtest0 up
ip netns exec "$HOLE" ip addr add "$HOLE_IP/24" dev eth0
ip netns exec "$HOLE" ip link set eth0 up
ip netns exec "$HOLE" iptables -A INPUT -j DROP
for index in $(seq 1 20); do clone_machine "$store" n1 "dead$index" "tcp://$HOLE_IP:2376"; done
timeouts=$("$RM" -s "$store" ls --timeout 2 --format '{{.State}}' | grep -c '^Timeout' || true)
complete=$("$RM" -s "$store" ls --timeout 2 --format '{{.DockerVersion}}' | grep -c '^v' || true)
echo "ls --timeout 2, 220 machines ($timeouts Timeout, $complete with an engine version): median $(median_ms 5 "$RM" -s "$store" ls --timeout 2) ms (limit 2500 ms)"

echo "== load after: $(uptime)"
