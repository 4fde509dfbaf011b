#!/usr/bin/env bash
# scripts/bench-qemu.sh — owns the qemu driver's figures (issue 10). In one run on this machine, it
# prints `figure: NAME VALUE UNIT` lines and asserts nothing:
#   1. boot-to-SSH of the Docker test image under plain QEMU, no rmachine
#      (tests/qemu/guest-image.sh boot-test --docker: the driver's flags — q35, TCG, -cpu max,
#      2 vCPUs, 2 GiB, virtio disks, a FAT CIDATA seed, slirp — started by a shell script), and the
#      time to `docker info` there;
#   2. `rmachine create` to a verified engine on the same image, and the ratio of 2 to 1;
#   3. `rmachine create` from the image WITHOUT Docker (the provisioner installs docker.io in the
#      guest through slirp);
#   4. `rmachine ls` with 2 running and 20 stopped qemu machines (median of 15). The stopped ones
#      are copies of a real stopped machine's record and folder under other names: `ls` does for
#      them exactly what it does for any stopped qemu machine (the pidfile lock has no holder).
# The images are served from 127.0.0.1 (python3 -m http.server) so the create downloads and
# verifies them as from a mirror. TCG guests are CPU-heavy: at most 2 run at once here.
#
# Usage: scripts/bench-qemu.sh            (builds rmachine with cargo build --release)
# Environment: RMACHINE_BIN (use this binary), RMACHINE_CACHE (images: default /var/cache/rmachine-ci),
# KEEP=1 (keep the store afterwards).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
IMAGES=${RMACHINE_CACHE:-/var/cache/rmachine-ci}/images
WORK=$(mktemp -d /tmp/rmachine-bench-qemu.XXXXXX)
RUNTIME=$(mktemp -d /tmp/rmqb.XXXXXX)
export RMACHINE_STORAGE_PATH=$WORK/store XDG_CACHE_HOME=$WORK/cache XDG_RUNTIME_DIR=$RUNTIME RMACHINE_QEMU_ACCEL=tcg

for f in debian-12-rmachine-test.qcow2 debian-12-rmachine-test-docker.qcow2 SHA512SUMS; do
	[ -f "$IMAGES/$f" ] || { echo "bench-qemu: $IMAGES/$f is missing: sudo bash tests/qemu/guest-image.sh build" >&2; exit 1; }
done
if [ -z "${RMACHINE_BIN:-}" ]; then
	(cd "$REPO" && cargo build --release --quiet --bin rmachine)
	RMACHINE_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/rmachine
fi
RM=$RMACHINE_BIN

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$IMAGES" "$PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
BASE=http://127.0.0.1:$PORT

cleanup() {
	kill "$HTTP_PID" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: store $WORK/store"; return; fi
	"$RM" rm -f -y $("$RM" ls -q 2>/dev/null) >/dev/null 2>&1 || true
	rm -rf "$WORK" "$RUNTIME"
}
trap cleanup EXIT

figure() { printf 'figure: %s %s %s\n' "$1" "$2" "$3"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

figure host_load_1min "$(cut -d' ' -f1 /proc/loadavg)" load
echo "== 1. plain QEMU, no rmachine (tests/qemu/guest-image.sh boot-test --docker)" >&2
plain=$(bash "$REPO/tests/qemu/guest-image.sh" boot-test --docker | tee /dev/stderr | grep '^figure:')
boot=$(sed -n 's/^figure: docker_first_boot_to_ssh \([0-9.]*\) s$/\1/p' <<<"$plain")
docker_info=$(sed -n 's/^figure: docker_first_boot_to_docker_info \([0-9.]*\) s$/\1/p' <<<"$plain")
figure qemu_plain_boot_to_ssh "$boot" s
figure qemu_plain_boot_to_docker_info "$docker_info" s

echo "== 2. rmachine create on the Docker image (download + verify + boot + provision + engine check)" >&2
t0=$(now)
"$RM" create -d qemu --qemu-image "$BASE/debian-12-rmachine-test-docker.qcow2" dock1 >&2
create=$(since "$t0")
figure qemu_rmachine_create_docker_image "$create" s
figure qemu_create_over_plain_boot_to_ssh_ratio "$(awk -v a="$create" -v b="$boot" 'BEGIN { printf "%.2f", a / b }')" x
figure qemu_create_over_plain_boot_to_docker_info_ratio "$(awk -v a="$create" -v b="$docker_info" 'BEGIN { printf "%.2f", a / b }')" x
t0=$(now)
"$RM" create -d qemu --qemu-image "$BASE/debian-12-rmachine-test-docker.qcow2" dock2 >&2
figure qemu_rmachine_create_docker_image_cached "$(since "$t0")" s

echo "== 3. rmachine create on the image without Docker (docker.io installed in the guest)" >&2
t0=$(now)
"$RM" create -d qemu --qemu-image "$BASE/debian-12-rmachine-test.qcow2" plain1 >&2
figure qemu_rmachine_create_plain_image "$(since "$t0")" s
t0=$(now)
"$RM" stop plain1 >&2
figure qemu_rmachine_stop "$(since "$t0")" s

echo "== 4. ls with 2 running and 20 stopped qemu machines" >&2
for i in $(seq -w 1 20); do
	[ "$i" = 01 ] && continue
	name=stopped$i
	cp -a "$RMACHINE_STORAGE_PATH/machines/plain1" "$RMACHINE_STORAGE_PATH/machines/$name"
	python3 - "$RMACHINE_STORAGE_PATH/machines/$name/machine.json" "$name" <<-'EOF'
		import json, sys
		path, name = sys.argv[1], sys.argv[2]
		record = json.load(open(path))
		record["name"] = name
		settings = record["driver"]["settings"]
		settings["machine_name"] = name
		settings["created"]["machine_directory"] = "machines/" + name
		json.dump(record, open(path, "w"), indent=2)
	EOF
done
mv "$RMACHINE_STORAGE_PATH/machines/plain1" "$RMACHINE_STORAGE_PATH/machines/stopped01"
sed -i 's/"plain1"/"stopped01"/; s|machines/plain1|machines/stopped01|' "$RMACHINE_STORAGE_PATH/machines/stopped01/machine.json"
"$RM" ls >&2
[ "$("$RM" ls --filter state=Running -q | wc -l)" = 2 ] && [ "$("$RM" ls --filter state=Stopped -q | wc -l)" = 20 ] ||
	{ echo "bench-qemu: the store is not 2 running + 20 stopped machines" >&2; exit 1; }
times=()
for _ in $(seq 15); do
	t0=$(date +%s%N)
	"$RM" ls >/dev/null
	times+=($((($(date +%s%N) - t0) / 1000)))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 8p)
figure qemu_ls_2_running_20_stopped "$(awk -v us="$median" 'BEGIN { printf "%.1f", us / 1000 }')" ms
figure host_load_1min "$(cut -d' ' -f1 /proc/loadavg)" load
