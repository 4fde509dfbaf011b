#!/usr/bin/env bash
# scripts/try-qemu.sh — owns the newcomer's first command: a local QEMU virtual machine with Docker,
# made by rmachine, a container run on it, and everything removed again. No cloud account and no
# sudo (run it as root on a fresh Debian/Ubuntu machine, or as any user once the packages are in).
#   1. installs QEMU (qemu-system-x86 + qemu-utils; on Debian 12 from bookworm-backports when the
#      installed qemu-utils comes from there), a docker client and busybox-static (apt-get),
#   2. builds rmachine (cargo build --release) unless RMACHINE_BIN points at a binary,
#   3. picks the image: with internet, the official Debian 12 cloud image (rmachine downloads it,
#      checks it against Debian's SHA512SUMS and caches it); offline, the locally built test image
#      ($RMACHINE_CACHE/images, built by tests/qemu/guest-image.sh, which needs a Debian mirror),
#   4. `rmachine create dev` (qemu is the default driver), `eval "$(rmachine env dev)"`,
#      `docker info`, and `docker run` of a tiny image imported from this machine's busybox (no
#      registry needed), then `rmachine ls`,
#   5. on exit removes the machine (the image cache stays, so the next run starts sooner), unless
#      --keep is given.
#
# Usage: scripts/try-qemu.sh [--keep] [--image auto|official|local]
# Environment: RMACHINE_BIN (use this rmachine binary), RMACHINE_CACHE (where the local test image
# is built, default /var/cache/rmachine-ci), SKIP_APT=1 (don't apt-get install anything).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
IMAGE_SCRIPT=$REPO/tests/qemu/guest-image.sh
OFFICIAL_SUMS=https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS
MACHINE=dev
KEEP=0
IMAGE_CHOICE=auto

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'try-qemu: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1; shift ;;
	--image) [ $# -ge 2 ] || die "--image needs auto, official or local"; IMAGE_CHOICE=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
case $IMAGE_CHOICE in auto | official | local) ;; *) die "--image must be auto, official or local" ;; esac

# --- 1. packages ----------------------------------------------------------------------------------
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$@"
}
if [ "${SKIP_APT:-}" != 1 ] && [ "$(id -u)" = 0 ]; then
	command -v apt-get >/dev/null || die "this script expects Debian or Ubuntu (apt-get); install QEMU yourself and set SKIP_APT=1"
	step "Installing QEMU, a docker client and busybox-static (apt-get)"
	apt-get update -q || die "step 1: apt-get update failed"
	# Debian 12 with qemu-utils from bookworm-backports: qemu-system-x86 must come from there too
	# (bookworm's 7.2 conflicts with qemu-utils 10).
	target=()
	if dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo12'; then target=(-t bookworm-backports); fi
	apt_install "${target[@]}" qemu-system-x86 qemu-utils || die "step 1: installing QEMU failed"
	pkgs=(busybox-static ca-certificates curl)
	if ! command -v docker >/dev/null; then
		if apt-cache show docker-cli >/dev/null 2>&1; then pkgs+=(docker-cli); else pkgs+=(docker.io); fi
	fi
	apt_install "${pkgs[@]}" || die "step 1: apt-get install ${pkgs[*]} failed"
fi
command -v qemu-system-x86_64 >/dev/null || die "QEMU is missing: apt-get install qemu-system-x86 qemu-utils (as root)"
command -v docker >/dev/null || die "no docker client: apt-get install docker-cli (or docker.io)"
command -v busybox >/dev/null || die "no busybox to make the demo image from: apt-get install busybox-static"

# --- 2. rmachine ----------------------------------------------------------------------------------
if [ -n "${RMACHINE_BIN:-}" ]; then
	BIN=$RMACHINE_BIN
	[ -x "$BIN" ] || die "RMACHINE_BIN=$BIN is not an executable"
else
	command -v cargo >/dev/null || die "step 2: no cargo: install Rust (https://rustup.rs) or set RMACHINE_BIN to an rmachine binary"
	step "Building rmachine (cargo build --release)"
	(cd "$REPO" && cargo build --release --bin rmachine) || die "step 2: cargo build --release failed"
	BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/rmachine
fi

# --- 3. the image ---------------------------------------------------------------------------------
image_args=()
if [ "$IMAGE_CHOICE" = auto ]; then
	if curl -sfI --max-time 15 "$OFFICIAL_SUMS" >/dev/null 2>&1; then IMAGE_CHOICE=official; else IMAGE_CHOICE=local; fi
fi
if [ "$IMAGE_CHOICE" = local ]; then
	step "Offline (or --image local): using the locally built Debian 12 test image"
	if ! local_image=$(bash "$IMAGE_SCRIPT" path --docker 2>/dev/null); then
		[ "$(id -u)" = 0 ] || die "step 3: no local test image yet; build it as root: bash $IMAGE_SCRIPT build"
		step "Building the local test image (debootstrap from a Debian mirror; about 2 minutes once)"
		bash "$IMAGE_SCRIPT" build || die "step 3: building the local image failed"
		local_image=$(bash "$IMAGE_SCRIPT" path --docker)
	fi
	image_args=(--qemu-image "$local_image")
else
	step "Using the official Debian 12 cloud image (downloaded once, checked against Debian's SHA512SUMS, cached)"
fi

# --- 4. a machine ---------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/rmachine-try-qemu.XXXXXX)
export RMACHINE_STORAGE_PATH=$WORK/store
CREATED=0
cleanup() {
	local rc=$?
	if [ $KEEP = 1 ] && [ $CREATED = 1 ]; then
		cat >&2 <<-EOF

			Kept (--keep): machine '$MACHINE' in the store $RMACHINE_STORAGE_PATH
			Use it:          export RMACHINE_STORAGE_PATH=$RMACHINE_STORAGE_PATH; eval "\$($BIN env $MACHINE)"; docker ps
			Remove it later: RMACHINE_STORAGE_PATH=$RMACHINE_STORAGE_PATH $BIN rm -y $MACHINE; rm -rf $WORK
		EOF
		exit $rc
	fi
	step "Cleaning up: rmachine rm $MACHINE"
	if [ $CREATED = 1 ]; then "$BIN" rm -y -f "$MACHINE" || echo "try-qemu: warning: 'rmachine rm $MACHINE' failed" >&2; fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "rmachine create ${image_args[*]} $MACHINE   (the default driver: qemu; a first boot without KVM takes a few minutes)"
CREATED=1
"$BIN" create "${image_args[@]}" "$MACHINE" || die "step 4: rmachine create failed"

step "eval \"\$(rmachine env $MACHINE)\" && docker info"
env_out=$("$BIN" env "$MACHINE") || die "step 4: rmachine env failed"
eval "$env_out"
docker info --format 'Docker {{.ServerVersion}} on {{.OperatingSystem}} ({{.Name}}), storage driver {{.Driver}}' ||
	die "step 4: docker info through rmachine env failed"

step "docker run: a tiny image made from this machine's busybox (docker import; no registry needed)"
root=$WORK/image-root
mkdir -p "$root/bin"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in sh echo uname cat hostname; do ln -s busybox "$root/bin/$applet"; done
tar -C "$root" -c . | docker import - rmachine-try/busybox:1 >/dev/null || die "step 4: docker import failed"
docker run --rm rmachine-try/busybox:1 sh -c 'echo "hello from a container on $(hostname), kernel $(uname -r)"' ||
	die "step 4: docker run failed"

step "rmachine ls"
"$BIN" ls || die "step 4: rmachine ls failed"

step "Done: rmachine made a local QEMU machine '$MACHINE' with Docker, and docker ran a container on it"
