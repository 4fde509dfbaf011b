#!/usr/bin/env bash
# scripts/try-local.sh — owns the newcomer's one command: try rmachine end to end on this machine,
# without any cloud. On a fresh Debian/Ubuntu machine, as root, it
#   1. installs what the local test host needs (apt-get: debootstrap iproute2 tinyproxy
#      busybox-static openssh-client iptables, and a docker client),
#   2. builds rmachine (cargo build --release) unless RMACHINE_BIN points at a binary,
#   3. starts a throwaway local Debian 12 host at 10.211.0.10 (tests/testbed/testbed.sh: systemd +
#      OpenSSH in namespaces, apt through a local proxy) with a fresh SSH key,
#   4. runs `rmachine create --driver generic ...` against it, then `docker info` through
#      `rmachine env`, and `rmachine ls`,
#   5. on exit removes the machine and the host again, unless --keep is given.
#
# Usage (as root): scripts/try-local.sh [--keep]
# Environment: RMACHINE_BIN (use this rmachine binary), RMACHINE_CACHE (testbed cache, default
# /var/cache/rmachine-ci), SKIP_APT=1 (don't apt-get install anything).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
TESTBED=$REPO/tests/testbed/testbed.sh
HOST_NAME=demo
HOST_IP=10.211.0.10
MACHINE=demo
KEEP=0

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'try-local: error: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
	case $arg in
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$arg' (try --help)" ;;
	esac
done

[ "$(id -u)" = 0 ] || die "run me as root (the local test host needs namespaces, mounts and a bridge): become root (sudo -i or su -), then run $0 $*"
[ -f "$TESTBED" ] || die "cannot find $TESTBED"

# --- 1. packages ----------------------------------------------------------------------------------
if [ "${SKIP_APT:-}" != 1 ]; then
	command -v apt-get >/dev/null || die "this script expects Debian or Ubuntu (apt-get); set SKIP_APT=1 if the tools are already there"
	step "Installing the tools for the local test host (apt-get)"
	had_tinyproxy=0
	dpkg-query -W -f='${Status}' tinyproxy 2>/dev/null | grep -q 'ok installed' && had_tinyproxy=1
	pkgs=(debootstrap iproute2 tinyproxy busybox-static openssh-client iptables util-linux curl ca-certificates)
	if ! command -v docker >/dev/null; then
		# a docker client to talk to the machine; trixie/Ubuntu noble split it out as docker-cli
		if apt-cache show docker-cli >/dev/null 2>&1; then pkgs+=(docker-cli); else pkgs+=(docker.io); fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "step 1: apt-get update failed"
	apt-get install -y -q "${pkgs[@]}" || die "step 1: apt-get install ${pkgs[*]} failed"
	# Debian starts its own tinyproxy on port 8888 on all addresses; the testbed runs its own there.
	if [ $had_tinyproxy = 0 ] && command -v systemctl >/dev/null && systemctl is-active --quiet tinyproxy 2>/dev/null; then
		step "Stopping the distribution's tinyproxy service (the testbed runs its own on 10.211.0.1:8888)"
		systemctl disable --now tinyproxy || die "step 1: cannot stop the tinyproxy service"
	fi
fi
command -v docker >/dev/null || die "no docker client: install docker-cli or docker.io"

# --- 2. rmachine ----------------------------------------------------------------------------------
if [ -n "${RMACHINE_BIN:-}" ]; then
	BIN=$RMACHINE_BIN
	[ -x "$BIN" ] || die "RMACHINE_BIN=$BIN is not an executable"
else
	command -v cargo >/dev/null ||
		die "step 2: no cargo: install Rust >= 1.94.1 (https://rustup.rs) or set RMACHINE_BIN to an rmachine binary"
	step "Building rmachine (cargo build --release)"
	(cd "$REPO" && cargo build --release --bin rmachine) || die "step 2: cargo build --release failed"
	BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/rmachine
	[ -x "$BIN" ] || die "step 2: the build did not produce $BIN"
fi

# --- 3. a throwaway host --------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/rmachine-try.XXXXXX)
STORE=$WORK/store
KEY=$WORK/id_ed25519
HOST_STARTED=0
MACHINE_CREATED=0

cleanup() {
	local rc=$?
	if [ $KEEP = 1 ]; then
		cat >&2 <<-EOF

			Kept (--keep):
			  machine store:  $STORE
			  test host:      $HOST_NAME at $HOST_IP (ssh -i $KEY root@$HOST_IP)
			Use it:           eval "\$($BIN -s $STORE env $MACHINE)"; docker ps
			Clean up later:   $BIN -s $STORE rm -y $MACHINE; $TESTBED host-down $HOST_NAME; rm -rf $WORK
			Everything:       $TESTBED down-all
		EOF
		exit $rc
	fi
	step "Cleaning up"
	if [ $MACHINE_CREATED = 1 ]; then
		"$BIN" -s "$STORE" rm -y -f "$MACHINE" || echo "try-local: warning: 'rmachine rm $MACHINE' failed" >&2
	fi
	if [ $HOST_STARTED = 1 ]; then
		"$TESTBED" host-down "$HOST_NAME" || echo "try-local: warning: host-down $HOST_NAME failed" >&2
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Making an SSH key for the test host"
ssh-keygen -q -t ed25519 -N "" -C rmachine-try-local -f "$KEY" || die "step 3: ssh-keygen failed"

step "Preparing the local test network and the Debian 12 root (the first run builds it: a few minutes)"
"$TESTBED" root || die "step 3: building the Debian root failed"
"$TESTBED" net-up || die "step 3: bringing up the test network failed"

step "Starting the test host $HOST_NAME at $HOST_IP"
"$TESTBED" host-down "$HOST_NAME" >/dev/null 2>&1 || true
HOST_STARTED=1
"$TESTBED" host-up "$HOST_NAME" "$HOST_IP" --authorized-key "$KEY.pub" || die "step 3: the test host did not start"

# --- 4. rmachine ----------------------------------------------------------------------------------
step "rmachine create --driver generic ... $MACHINE"
MACHINE_CREATED=1
"$BIN" -s "$STORE" create --driver generic \
	--generic-ip-address "$HOST_IP" --generic-ssh-key "$KEY" \
	--engine-storage-driver overlay2 --engine-userns-remap default \
	"$MACHINE" || die "step 4: rmachine create failed"

step "eval \"\$(rmachine env $MACHINE)\" && docker info"
env_out=$("$BIN" -s "$STORE" env "$MACHINE") || die "step 4: rmachine env failed"
eval "$env_out"
docker info || die "step 4: docker info through rmachine env failed"

step "rmachine ls"
"$BIN" -s "$STORE" ls || die "step 4: rmachine ls failed"

step "Done: rmachine created '$MACHINE' on a local Debian 12 host and docker talks to it over TLS"
