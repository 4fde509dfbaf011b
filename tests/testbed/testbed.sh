#!/usr/bin/env bash
# testbed.sh — owns rmachine's end-to-end TEST HOSTS on this machine: the cached Debian 12 and 13
# roots ($RMACHINE_CACHE/roots), the test bridge rmtest0 (10.211.0.1/24) with its apt forward proxy
# (tinyproxy on 10.211.0.1:8888), and the hosts themselves: Debian 12 (bookworm) or 13 (trixie) with
# systemd as PID 1 and OpenSSH, each in its own network/mount/pid/uts/ipc/cgroup namespaces,
# reachable at 10.211.0.N.
# It touches nothing outside 10.211.0.0/24, the rmtest0 bridge, rmt-*/rmv-* interfaces and
# namespaces, cgroups named rmachine-testbed, /run/rmachine-testbed and $RMACHINE_CACHE.
#
# Usage (as root):
#   testbed.sh root [--suite S]             build/prepare the cached base root of suite S: bookworm
#                                           (Debian 12, the default) or trixie (Debian 13)
#   testbed.sh docker-root [--suite S]      build/prepare the cached root with docker.io preinstalled
#                                           (bookworm: 20.10; trixie: 26.1)
#   testbed.sh net-up                       bridge rmtest0 + iptables rules + tinyproxy (idempotent)
#   testbed.sh host-up NAME IP --authorized-key PUBKEYFILE [--docker] [--init sysvinit] [--suite S]
#                                           --init sysvinit: PID 1 is sysvinit's /sbin/init (Debian's
#                                           sysvinit-core instead of systemd-sysv; bookworm only)
#                                           --suite trixie: a Debian 13 host (systemd 257, booted on
#                                           this machine's cgroup v1 hierarchies, see cmd_boot)
#   testbed.sh host-down NAME               stop a host and remove everything it left (idempotent)
#   testbed.sh down-all                     host-down every host, stop the proxy, delete the bridge
#   testbed.sh list                         the hosts that are up: NAME IP PID
#   testbed.sh exec NAME [CMD...]           run CMD (default: bash -l) inside a host, bypassing SSH
#   testbed.sh image-tarball OUT            tarball of a tiny busybox root, for `docker import`
#
# Environment: RMACHINE_CACHE (default /var/cache/rmachine-ci), RMACHINE_DEBIAN_MIRROR
# (default http://deb.debian.org/debian), RMACHINE_TESTBED_BOOT_TIMEOUT (seconds, default 60),
# RMACHINE_KEEP_HOSTS=1 (host-up: keep a host that failed to boot, for debugging).
#
# Users inside every host: root, `tester` (passwordless sudo), `pwuser` (sudo needs the password
# "pwuser-password"); all three accept the key given with --authorized-key.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${RMACHINE_CACHE:-/var/cache/rmachine-ci}
ROOTS=$CACHE/roots
HOSTS=$CACHE/hosts
# The suite whose roots BASE and DOCKER_ROOT name (select_suite changes it); sysvinit is bookworm's.
SUITE=bookworm
BASE=$ROOTS/bookworm
DOCKER_ROOT=$ROOTS/bookworm-docker
SYSVINIT_ROOT=$ROOTS/bookworm-sysvinit
SUITES="bookworm trixie"
MIRROR=${RMACHINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
STATE=/run/rmachine-testbed
LOCKS=$STATE/lock
BRIDGE=rmtest0
BRIDGE_IP=10.211.0.1
SUBNET=10.211.0.0/24
PROXY_PORT=8888
BOOT_TIMEOUT=${RMACHINE_TESTBED_BOOT_TIMEOUT:-60}
CGROUP_PARENT=rmachine-testbed
# rsync: `rmachine scp -d` needs it on the host too (tests/e2e_dialect.rs); in the root, so that no
# test depends on the apt proxy for it.
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,curl,ca-certificates,procps,iptables,kmod,gnupg,rsync
# Bump when the one-time preparation of a root changes: the next run re-applies it.
BASE_PREP_VERSION=6
DOCKER_PREP_VERSION=1
SYSVINIT_PREP_VERSION=2
PWUSER_PASSWORD=pwuser-password

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it creates namespaces, mounts and a bridge)"; }

need_cmd() { # need_cmd CMD DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install it with 'apt-get install -y $2'"
}

# with_lock NAME CMD... — run CMD holding the file lock NAME (so parallel test processes don't race).
# Long-lived children (the proxy, hosts) must not inherit a lock fd: start them via close_locks.
HELD_LOCKS=()
with_lock() {
	local name=$1; shift
	mkdir -p "$LOCKS"
	local fd
	exec {fd}>"$LOCKS/$name.lock"
	flock "$fd"
	HELD_LOCKS+=("$fd")
	local rc=0
	"$@" || rc=$?
	unset 'HELD_LOCKS[-1]'
	exec {fd}>&-
	return "$rc"
}

close_locks() { # close_locks CMD... — exec CMD without the lock fds of this process
	local fd
	for fd in "${HELD_LOCKS[@]}"; do exec {fd}>&-; done
	exec "$@"
}

select_suite() { # select_suite SUITE — BASE and DOCKER_ROOT become that suite's roots
	case " $SUITES " in *" $1 "*) ;; *) die "unknown suite '$1' (use one of: $SUITES)" ;; esac
	SUITE=$1
	BASE=$ROOTS/$1
	DOCKER_ROOT=$ROOTS/$1-docker
}

valid_name() { [[ $1 =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "bad host name '$1' (use [a-z0-9-], at most 63 characters)"; }

valid_ip() {
	[[ $1 =~ ^10\.211\.0\.([0-9]{1,3})$ ]] || die "bad IP '$1': test hosts live in $SUBNET (10.211.0.2-254)"
	local n=${BASH_REMATCH[1]}
	((n >= 2 && n <= 254)) || die "bad IP '$1': use 10.211.0.2 .. 10.211.0.254 (.1 is the bridge)"
}

veth_name() { # interface names are limited to 15 characters
	if ((${#1} <= 11)); then echo "rmv-$1"; else echo "rmv-$(printf %s "$1" | md5sum | cut -c1-11)"; fi
}

# ---------------------------------------------------------------------------------------------
# Roots
# ---------------------------------------------------------------------------------------------

# A debootstrap into DIR.partial started by someone else (e.g. a CI warm-up step) is waited for.
wait_foreign_debootstrap() {
	local partial=$1 waited=0
	while pgrep -f -- "debootstrap.* ${partial}( |\$)" >/dev/null 2>&1; do
		((waited % 30 == 0)) && log "root: a debootstrap into $partial is already running; waiting for it"
		sleep 5; waited=$((waited + 5))
	done
	# its wrapper renames DIR.partial to DIR right after debootstrap exits
	((waited > 0)) && sleep 3
	return 0
}

build_base() {
	need_cmd debootstrap debootstrap
	wait_foreign_debootstrap "$BASE.partial"
	[ -d "$BASE" ] && return 0
	if [ -e "$BASE.partial" ]; then
		log "root: discarding the incomplete $BASE.partial"
		rm -rf --one-file-system "$BASE.partial"
	fi
	mkdir -p "$ROOTS"
	local log_file=$ROOTS/debootstrap.log
	[ "$SUITE" = bookworm ] || log_file=$ROOTS/debootstrap-$SUITE.log
	[ -e "/usr/share/debootstrap/scripts/$SUITE" ] ||
		die "root: this debootstrap does not know $SUITE: install a newer one (apt-get install -y debootstrap)"
	log "root: debootstrap $SUITE into $BASE.partial (about 3 minutes; log $log_file)"
	local t0=$SECONDS
	if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$BASE.partial" "$MIRROR" \
		>"$log_file" 2>&1; then
		tail -n 30 "$log_file" >&2 || true
		die "root: debootstrap failed (full log: $log_file)"
	fi
	mv "$BASE.partial" "$BASE"
	log "root: debootstrap done in $((SECONDS - t0)) s"
}

mask_unit() { ln -sfn /dev/null "$1/etc/systemd/system/$2"; }

# One-time preparation every host needs, done in the base root. Idempotent.
prepare_base() {
	local r=$1
	log "root: preparing $r (preparation version $BASE_PREP_VERSION)"
	# A root made before a package joined PACKAGES gets it now.
	local package missing=()
	for package in ${PACKAGES//,/ }; do
		chroot "$r" dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$package")
	done
	if ((${#missing[@]})); then
		log "root: installing ${missing[*]} into $r"
		apt_install_into "$r" "base-packages-$SUITE" "${missing[@]}"
	fi
	# Each host gets its own host keys and machine id (generated in its upper layer at host-up).
	rm -f "$r"/etc/ssh/ssh_host_*
	: >"$r/etc/machine-id"
	rm -f "$r/var/lib/dbus/machine-id"
	ln -s /etc/machine-id "$r/var/lib/dbus/machine-id"
	printf '%s\n' '# set per host by testbed.sh host-up' >"$r/etc/hostname"
	cat >"$r/etc/hosts" <<-'EOF'
		127.0.0.1	localhost
		::1		localhost ip6-localhost ip6-loopback
		ff02::1		ip6-allnodes
		ff02::2		ip6-allrouters
	EOF
	# No DNS server for test hosts: a closed port on the bridge address fails lookups fast.
	rm -f "$r/etc/resolv.conf"
	printf 'nameserver %s\n' "$BRIDGE_IP" >"$r/etc/resolv.conf"

	# sshd: root by key only, no DNS lookups of clients.
	mkdir -p "$r/etc/ssh/sshd_config.d"
	cat >"$r/etc/ssh/sshd_config.d/10-rmachine-testbed.conf" <<-'EOF'
		# written by rmachine's tests/testbed/testbed.sh
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UseDNS no
	EOF

	# Units that can't work (or would touch the machine) in a container. /dev is the machine's:
	# no getty may run on its ttys, no udev may trigger its devices.
	mkdir -p "$r/etc/systemd/system" "$r/etc/systemd/system-generators"
	rm -rf "$r/etc/systemd/system/getty.target.wants"
	local u
	for u in getty.target getty@.service serial-getty@.service console-getty.service \
		container-getty@.service getty-static.service \
		systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
		systemd-udevd-control.socket systemd-udevd-kernel.socket \
		apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
		systemd-firstboot.service systemd-sysctl.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount; do
		mask_unit "$r" "$u"
	done
	rm -f "$r"/etc/systemd/system/timers.target.wants/apt-daily*.timer
	ln -sfn /dev/null "$r/etc/systemd/system-generators/systemd-getty-generator"
	ln -sfn /lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
	# the journal would otherwise copy the machine's kernel log
	mkdir -p "$r/etc/systemd/journald.conf.d"
	printf '[Journal]\nReadKMsg=no\n' >"$r/etc/systemd/journald.conf.d/10-rmachine-testbed.conf"

	# Users for the sudo tests: tester (passwordless sudo), pwuser (sudo asks for a password).
	# No subordinate ids for them, so that dockerd's "dockremap" gets 100000:65536 as on a bare host.
	local noids=(-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0)
	chroot "$r" id tester >/dev/null 2>&1 || chroot "$r" useradd "${noids[@]}" -m -s /bin/bash tester
	chroot "$r" id pwuser >/dev/null 2>&1 || chroot "$r" useradd "${noids[@]}" -m -s /bin/bash -G sudo pwuser
	sed -i '/^\(tester\|pwuser\):/d' "$r/etc/subuid" "$r/etc/subgid"
	printf 'pwuser:%s\n' "$PWUSER_PASSWORD" | chroot "$r" chpasswd
	printf '%s\n' 'tester ALL=(ALL:ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/rmachine-tester"
	chmod 0440 "$r/etc/sudoers.d/rmachine-tester"
	local d
	for d in root home/tester home/pwuser; do
		mkdir -p "$r/$d/.ssh"
		chmod 700 "$r/$d/.ssh"
	done
	chroot "$r" chown tester:tester /home/tester/.ssh
	chroot "$r" chown pwuser:pwuser /home/pwuser/.ssh

	mkdir -p "$r/etc/rmachine-testbed"
	echo "$BASE_PREP_VERSION" >"$r/etc/rmachine-testbed/base-prep"
}

hosts_running() { compgen -G "$STATE/hosts/*/config" >/dev/null; }

# Whether a running host's lower layer is ROOT.
hosts_on_root() { grep -qsxF "LOWER=$1" "$STATE"/hosts/*/config; }

ensure_base_locked() {
	build_base
	if [ "$(cat "$BASE/etc/rmachine-testbed/base-prep" 2>/dev/null)" != "$BASE_PREP_VERSION" ]; then
		if [ "$SUITE" = bookworm ]; then
			hosts_running && die "root: $BASE needs (re)preparation but hosts are running on it; run 'testbed.sh down-all' first"
		else
			hosts_on_root "$BASE" || hosts_on_root "$DOCKER_ROOT" &&
				die "root: $BASE needs (re)preparation but hosts are running on it; stop them first"
		fi
		prepare_base "$BASE"
	fi
}

# Copies the base root to PARTIAL and apt-installs PACKAGE... into it (apt_install_into).
build_root_with_packages() {
	local p=$1 log_name=$2
	shift 2
	rm -rf --one-file-system "$p"
	cp -a --reflink=auto "$BASE" "$p"
	apt_install_into "$p" "$log_name" "$@"
}

# apt-installs PACKAGE... into ROOT from the machine (the machine reaches the mirror itself), in a
# private mount namespace so nothing stays mounted if it fails half-way; services are not started.
# The apt log goes to $ROOTS/LOG_NAME.log.
apt_install_into() {
	local r=$1 log_name=$2
	shift 2
	if ! unshare --mount --propagation private bash -euo pipefail -c '
		r=$1
		shift
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount -t sysfs -o ro sysfs "$r/sys"
		mount -t tmpfs tmpfs "$r/run"
		mount -t tmpfs tmpfs "$r/tmp"
		mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
		printf "#!/bin/sh\nexit 101\n" >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
		export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
		chroot "$r" apt-get -o Acquire::http::Proxy=false update
		chroot "$r" apt-get -o Acquire::http::Proxy=false install -y "$@"
		chroot "$r" apt-get clean
		rm -f "$r/usr/sbin/policy-rc.d"
	' _ "$r" "$@" >"$ROOTS/$log_name.log" 2>&1; then
		tail -n 30 "$ROOTS/$log_name.log" >&2 || true
		die "root: installing $* into $r failed (full log: $ROOTS/$log_name.log)"
	fi
	rm -rf "$r"/var/lib/apt/lists/*
}

ensure_docker_root_locked() {
	ensure_base_locked
	local want="base=$BASE_PREP_VERSION docker=$DOCKER_PREP_VERSION"
	[ "$(cat "$DOCKER_ROOT/etc/rmachine-testbed/docker-prep" 2>/dev/null)" = "$want" ] && return 0
	if hosts_on_root "$DOCKER_ROOT"; then
		die "root: $DOCKER_ROOT must be rebuilt but hosts are running on it; run 'testbed.sh down-all' first"
	fi
	log "root: building $DOCKER_ROOT (base + apt-get install docker.io; about 1-2 minutes)"
	local t0=$SECONDS p=$DOCKER_ROOT.partial log_name=docker-root
	[ "$SUITE" = bookworm ] || log_name=docker-root-$SUITE
	rm -rf --one-file-system "$DOCKER_ROOT"
	build_root_with_packages "$p" "$log_name" docker.io
	# dockerd never ran in the image; be sure no engine identity or state is shared by hosts.
	rm -f "$p/etc/docker/key.json"
	rm -rf "$p/var/lib/docker" "$p/var/lib/containerd"
	mkdir -p "$p/var/lib/docker"
	[ -L "$p/etc/systemd/system/multi-user.target.wants/docker.service" ] ||
		die "root: docker.service is not enabled in $p after installing docker.io"
	echo "$want" >"$p/etc/rmachine-testbed/docker-prep"
	mv "$p" "$DOCKER_ROOT"
	log "root: $DOCKER_ROOT ready in $((SECONDS - t0)) s"
}

# A root whose init is sysvinit: base + sysvinit-core (which replaces systemd-sysv), no gettys.
ensure_sysvinit_root_locked() {
	ensure_base_locked
	local want="base=$BASE_PREP_VERSION sysvinit=$SYSVINIT_PREP_VERSION"
	[ "$(cat "$SYSVINIT_ROOT/etc/rmachine-testbed/sysvinit-prep" 2>/dev/null)" = "$want" ] && return 0
	if hosts_running && grep -qs "^INIT=sysvinit" "$STATE"/hosts/*/config; then
		die "root: $SYSVINIT_ROOT must be rebuilt but hosts are running on it; stop them first"
	fi
	log "root: building $SYSVINIT_ROOT (base + apt-get install sysvinit-core; about a minute)"
	local t0=$SECONDS p=$SYSVINIT_ROOT.partial
	rm -rf --one-file-system "$SYSVINIT_ROOT"
	build_root_with_packages "$p" sysvinit-root sysvinit-core
	# No terminals in a test host: no gettys.
	sed -i '/getty/d' "$p/etc/inittab"
	# This machine lacks CAP_SYS_RESOURCE, so no process here can raise RLIMIT_NOFILE above its hard
	# limit; Debian's /etc/init.d/docker runs "ulimit -n 1048576" under set -e and would stop there
	# (on a real sysvinit machine it works). It sources /etc/default/docker first: tolerate it there.
	cat >"$p/etc/default/docker" <<-'EOF'
		# written by rmachine's tests/testbed/testbed.sh: this test machine cannot raise open-file
		# limits (no CAP_SYS_RESOURCE); do not stop /etc/init.d/docker for that.
		ulimit() { command ulimit "$@" 2>/dev/null || true; }
	EOF
	[ -x "$p/sbin/init" ] && [ ! -L "$p/sbin/init" ] || die "root: /sbin/init in $p is not sysvinit's"
	echo "$want" >"$p/etc/rmachine-testbed/sysvinit-prep"
	mv "$p" "$SYSVINIT_ROOT"
	log "root: $SYSVINIT_ROOT ready in $((SECONDS - t0)) s"
}

suite_option() { # suite_option ARGS... — handles [--suite S] for root and docker-root
	case ${1:-} in
	"") ;;
	--suite) [ $# = 2 ] || die "usage: --suite bookworm|trixie"; select_suite "$2" ;;
	--suite=*) [ $# = 1 ] || die "usage: --suite bookworm|trixie"; select_suite "${1#*=}" ;;
	*) die "unexpected argument $1 (only --suite S)" ;;
	esac
}

cmd_root() { need_root; suite_option "$@"; with_lock root ensure_base_locked; log "root: $BASE is ready"; }
cmd_docker_root() { need_root; suite_option "$@"; with_lock root ensure_docker_root_locked; log "root: $DOCKER_ROOT is ready"; }

# ---------------------------------------------------------------------------------------------
# Network: bridge, iptables, proxy
# ---------------------------------------------------------------------------------------------

proxy_pid() { # prints the pid of our tinyproxy if it runs
	local pid
	pid=$(cat "$STATE/tinyproxy.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tinyproxy ] || return 1
	grep -qF -- "$STATE/tinyproxy.conf" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

ipt_ensure() { # ipt_ensure CHAIN RULE... — insert the rule at the top unless present
	local chain=$1; shift
	iptables -w -C "$chain" "$@" 2>/dev/null || iptables -w -I "$chain" "$@"
}

net_up_locked() {
	need_cmd ip iproute2
	need_cmd iptables iptables
	need_cmd tinyproxy tinyproxy
	mkdir -p "$STATE"
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge || die "net-up: cannot create bridge $BRIDGE"
	fi
	ip addr replace "$BRIDGE_IP/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	# Host-to-host traffic crosses the bridge; with br_netfilter and a DROP policy (any dockerd on
	# the machine sets it) it would be dropped. Hosts get no route out: reject anything leaving rmtest0.
	# ip_forward is left alone: nothing here needs routing.
	ipt_ensure FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j REJECT
	ipt_ensure FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
	ipt_ensure INPUT -i "$BRIDGE" -p tcp --dport "$PROXY_PORT" -j ACCEPT

	if ! pid=$(proxy_pid); then
		cat >"$STATE/tinyproxy.filter" <<-'EOF'
			(^|\.)debian\.org$
		EOF
		cat >"$STATE/tinyproxy.conf" <<-EOF
			# written by rmachine's tests/testbed/testbed.sh: apt proxy for test hosts
			User tinyproxy
			Group tinyproxy
			Port $PROXY_PORT
			Listen $BRIDGE_IP
			Timeout 600
			MaxClients 100
			Allow $SUBNET
			Allow 127.0.0.1
			LogLevel Notice
			PidFile "$STATE/tinyproxy.pid"
			DisableViaHeader Yes
			Filter "$STATE/tinyproxy.filter"
			FilterType ere
			FilterDefaultDeny Yes
			ConnectPort 443
		EOF
		rm -f "$STATE/tinyproxy.pid"
		(close_locks setsid tinyproxy -d -c "$STATE/tinyproxy.conf") </dev/null >>"$STATE/tinyproxy.log" 2>&1 &
		for _ in $(seq 50); do
			tcp_open "$BRIDGE_IP" "$PROXY_PORT" && break
			sleep 0.2
		done
		tcp_open "$BRIDGE_IP" "$PROXY_PORT" || {
			tail -n 20 "$STATE/tinyproxy.log" >&2 || true
			die "net-up: tinyproxy did not start listening on $BRIDGE_IP:$PROXY_PORT (log: $STATE/tinyproxy.log)"
		}
		proxy_pid >/dev/null || sleep 1
		proxy_pid >/dev/null || die "net-up: tinyproxy listens but wrote no pid file $STATE/tinyproxy.pid"
		if command -v curl >/dev/null 2>&1; then
			curl -fsS -o /dev/null --max-time 20 -x "http://$BRIDGE_IP:$PROXY_PORT" \
				"$MIRROR/dists/bookworm/Release.gpg" ||
				die "net-up: the proxy on $BRIDGE_IP:$PROXY_PORT cannot fetch $MIRROR (is the Debian mirror reachable from this machine?)"
		fi
		log "net-up: bridge $BRIDGE ($BRIDGE_IP/24) and apt proxy http://$BRIDGE_IP:$PROXY_PORT are up"
	fi
}

cmd_net_up() { need_root; with_lock net net_up_locked; }

# ---------------------------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------------------------

# Two layouts of the machine's cgroups are handled: hybrid/legacy (tmpfs on /sys/fs/cgroup, v1
# hierarchies below it, maybe cgroup2 on unified; this CI machine) and unified (cgroup2 on
# /sys/fs/cgroup itself; a stock Debian 12 / Ubuntu 22.04+ with systemd).
cgroup_mounts() { # "MOUNTPOINT TYPE OPTIONS" for the machine's cgroup hierarchies
	awk '($3 == "cgroup" || $3 == "cgroup2") && ($2 ~ "^/sys/fs/cgroup/" || $2 == "/sys/fs/cgroup") { print $2, $3, $4 }' /proc/mounts
}

cgroup_opts() { # the hierarchy-defining options (controllers, name=...) of a cgroup v1 mount
	local opts=$1 o out=()
	local IFS=,
	for o in $opts; do
		if [[ $o == name=* ]] || awk -v c="$o" 'NR > 1 && $1 == c { f = 1 } END { exit !f }' /proc/cgroups; then
			out+=("$o")
		fi
	done
	echo "${out[*]}"
}

make_host_cgroups() { # one cgroup per host in every hierarchy; the host's cgroup namespace root
	local name=$1 mp type opts
	while read -r mp type opts; do
		mkdir -p "$mp/$CGROUP_PARENT/$name"
		if [ "$type" = cgroup2 ] && [ "$mp" = /sys/fs/cgroup ]; then
			# unified: delegate every controller the parent has to the host's systemd
			local c ctl=""
			for c in $(cat "$mp/$CGROUP_PARENT/cgroup.controllers"); do ctl+=" +$c"; done
			[ -z "$ctl" ] || echo "$ctl" >"$mp/$CGROUP_PARENT/cgroup.subtree_control" ||
				log "host-up: warning: cannot delegate cgroup controllers ($ctl) to $mp/$CGROUP_PARENT"
		fi
		if [ -e "$mp/cpuset.cpus" ]; then
			cat "$mp/cpuset.cpus" >"$mp/$CGROUP_PARENT/cpuset.cpus"
			cat "$mp/cpuset.mems" >"$mp/$CGROUP_PARENT/cpuset.mems"
			cat "$mp/cpuset.cpus" >"$mp/$CGROUP_PARENT/$name/cpuset.cpus"
			cat "$mp/cpuset.mems" >"$mp/$CGROUP_PARENT/$name/cpuset.mems"
		fi
	done < <(cgroup_mounts)
}

join_host_cgroups() { # move the calling process into the host's cgroups
	local name=$1 mp type opts
	while read -r mp type opts; do
		echo 0 >"$mp/$CGROUP_PARENT/$name/cgroup.procs"
	done < <(cgroup_mounts)
}

host_cgroup_pids() {
	local name=$1
	cgroup_mounts | while read -r mp type opts; do
		if [ -d "$mp/$CGROUP_PARENT/$name" ]; then
			find "$mp/$CGROUP_PARENT/$name" -name cgroup.procs -exec cat {} + 2>/dev/null || true
		fi
	done | sort -u
}

remove_host_cgroups() {
	local name=$1 mp type opts
	while read -r mp type opts; do
		[ -d "$mp/$CGROUP_PARENT/$name" ] || continue
		for _ in $(seq 20); do
			find "$mp/$CGROUP_PARENT/$name" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$mp/$CGROUP_PARENT/$name" ] || break
			sleep 0.25
		done
		[ -d "$mp/$CGROUP_PARENT/$name" ] && log "host-down: warning: cannot remove cgroup $mp/$CGROUP_PARENT/$name"
		rmdir "$mp/$CGROUP_PARENT" 2>/dev/null || true
	done < <(cgroup_mounts)
}

host_pid1() { # outer pid of the host's PID 1, if it is alive and really is that host's init
	local name=$1 pid
	pid=$(cat "$STATE/hosts/$name/pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/status" ] || return 1
	[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status")" = 1 ] || return 1
	[ -e "/run/netns/rmt-$name" ] && [ "$(stat -L -c %i "/proc/$pid/ns/net")" = "$(stat -L -c %i "/run/netns/rmt-$name")" ] || return 1
	echo "$pid"
}

find_pid1_in_netns() { # the process in netns rmt-NAME that is PID 1 of its pid namespace
	local pid
	for pid in $(ip netns pids "rmt-$1" 2>/dev/null); do
		if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null)" = 1 ]; then
			echo "$pid"; return 0
		fi
	done
	return 1
}

host_mounts() { # mountpoints on the machine that belong to host NAME, deepest first
	local name=$1
	awk -v h="$HOSTS/$name/" -v n="/run/netns/rmt-$name" \
		'index($2 "/", h) == 1 || $2 == n { print $2 }' /proc/mounts | sort -r
}

host_down() {
	local name=$1 pid p
	# 1. end the host: killing PID 1 of its pid namespace kills everything in it
	if pid=$(host_pid1 "$name" || find_pid1_in_netns "$name"); then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for _ in $(seq 100); do
		p="$(ip netns pids "rmt-$name" 2>/dev/null || true) $(host_cgroup_pids "$name")"
		[ -z "${p// /}" ] && break
		# stragglers (e.g. the unshare parent): only ever processes of this host
		kill -KILL $p 2>/dev/null || true
		sleep 0.1
	done
	p="$(ip netns pids "rmt-$name" 2>/dev/null || true) $(host_cgroup_pids "$name")"
	[ -z "${p// /}" ] || log "host-down $name: warning: processes still alive: $p"
	# 2. network
	ip netns del "rmt-$name" 2>/dev/null || true
	local veth
	veth=$(veth_name "$name")
	ip link del "$veth" 2>/dev/null || true
	local ip
	if ip=$(cat "$STATE/hosts/$name/ip" 2>/dev/null); then
		ip neigh flush to "$ip" dev "$BRIDGE" 2>/dev/null || true
	fi
	# 3. mounts left on the machine (only if host-up stopped half-way)
	local m
	for m in $(host_mounts "$name"); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "host-down $name: warning: cannot unmount $m"
	done
	[ -z "$(host_mounts "$name")" ] || die "host-down $name: mounts are left: $(host_mounts "$name" | tr '\n' ' ')"
	# 4. cgroups, per-host layers and state
	remove_host_cgroups "$name"
	rm -rf --one-file-system "${HOSTS:?}/$name"
	rm -rf "${STATE:?}/hosts/$name"
}

cmd_host_down() {
	need_root
	[ $# = 1 ] || die "usage: testbed.sh host-down NAME"
	valid_name "$1"
	host_down "$1"
	log "host-down: $1 is down"
}

cmd_list() {
	local d name
	for d in "$STATE"/hosts/*/; do
		[ -f "$d/config" ] || continue
		name=$(basename "$d")
		printf '%s %s %s\n' "$name" "$(cat "$d/ip")" "$(host_pid1 "$name" || echo dead)"
	done
}

cmd_down_all() {
	need_root
	local names name
	names=$( {
		for d in "$STATE"/hosts/*/ "$HOSTS"/*/; do if [ -d "$d" ]; then basename "$d"; fi; done
		for d in /run/netns/rmt-*; do if [ -e "$d" ]; then basename "$d" | sed 's/^rmt-//'; fi; done
	} | sort -u)
	for name in $names; do
		host_down "$name"
		log "down-all: host $name is down"
	done
	local pid
	if pid=$(proxy_pid); then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
		log "down-all: proxy stopped"
	fi
	rm -f "$STATE/tinyproxy.pid"
	while iptables -w -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
	while iptables -w -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j REJECT 2>/dev/null; do :; done
	while iptables -w -D INPUT -i "$BRIDGE" -p tcp --dport "$PROXY_PORT" -j ACCEPT 2>/dev/null; do :; done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
		log "down-all: bridge $BRIDGE deleted"
	fi
}

# Per-host files, written into the host's upper layer through a temporary overlay mount.
customize_host() {
	local name=$1 ip=$2 key=$3 r=$4
	printf '%s\n' "$name" >"$r/etc/hostname"
	printf '127.0.1.1\t%s\n' "$name" >>"$r/etc/hosts"
	tr -d '-' </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
	printf 'Acquire::http::Proxy "http://%s:%s";\n' "$BRIDGE_IP" "$PROXY_PORT" >"$r/etc/apt/apt.conf.d/01proxy"
	chroot "$r" ssh-keygen -A >/dev/null
	local u home
	for u in root tester pwuser; do
		if [ $u = root ]; then home=/root; else home=/home/$u; fi
		install -m 600 "$key" "$r$home/.ssh/authorized_keys"
		chroot "$r" chown "$u:$u" "$home/.ssh/authorized_keys"
	done
	mkdir -p "$r/var/lib/docker"
}

# Reserve NAME and IP (under the "hosts" lock, so parallel host-ups can't take the same ones).
claim_host() {
	local name=$1 ip=$2 sd=$STATE/hosts/$1 hd=$HOSTS/$1
	if [ -e "$sd" ] || [ -e "/run/netns/rmt-$name" ] || [ -e "$hd" ]; then
		host_pid1 "$name" >/dev/null && die "host-up: host $name is already up (testbed.sh host-down $name first)"
		log "host-up: cleaning up what a previous $name left behind"
		host_down "$name"
	fi
	local other
	for other in "$STATE"/hosts/*/ip; do
		if [ -f "$other" ] && [ "$(cat "$other")" = "$ip" ]; then
			die "host-up: $ip is already used by host $(basename "$(dirname "$other")")"
		fi
	done
	mkdir -p "$sd"
	echo "$ip" >"$sd/ip"
}

cmd_host_up() {
	need_root
	local name="" ip="" key="" docker=0 init=systemd
	while [ $# -gt 0 ]; do
		case $1 in
		--authorized-key) [ $# -ge 2 ] || die "--authorized-key needs a file"; key=$2; shift 2 ;;
		--authorized-key=*) key=${1#*=}; shift ;;
		--docker) docker=1; shift ;;
		--init) [ $# -ge 2 ] || die "--init needs systemd or sysvinit"; init=$2; shift 2 ;;
		--suite) [ $# -ge 2 ] || die "--suite needs bookworm or trixie"; select_suite "$2"; shift 2 ;;
		--suite=*) select_suite "${1#*=}"; shift ;;
		-*) die "host-up: unknown option $1" ;;
		*) if [ -z "$name" ]; then name=$1; elif [ -z "$ip" ]; then ip=$1; else die "host-up: unexpected argument $1"; fi; shift ;;
		esac
	done
	[ -n "$name" ] && [ -n "$ip" ] && [ -n "$key" ] ||
		die "usage: testbed.sh host-up NAME IP --authorized-key PUBKEYFILE [--docker] [--init sysvinit] [--suite bookworm|trixie]"
	valid_name "$name"
	valid_ip "$ip"
	[ -r "$key" ] || die "host-up: public key file '$key' is not readable"
	key=$(readlink -f "$key")
	ssh-keygen -l -f "$key" >/dev/null 2>&1 || die "host-up: '$key' is not an SSH public key"
	need_cmd unshare util-linux
	need_cmd nsenter util-linux

	case $init in systemd | sysvinit) ;; *) die "host-up: --init must be systemd or sysvinit" ;; esac
	[ "$init" = sysvinit ] && [ $docker = 1 ] && die "host-up: --docker and --init sysvinit do not go together (rmachine installs docker.io there)"
	[ "$init" = sysvinit ] && [ "$SUITE" != bookworm ] && die "host-up: --init sysvinit is for bookworm hosts only"
	local t0=$SECONDS lower=$BASE
	if [ "$init" = sysvinit ]; then
		with_lock root ensure_sysvinit_root_locked
		lower=$SYSVINIT_ROOT
	elif [ $docker = 1 ]; then
		with_lock root ensure_docker_root_locked
		lower=$DOCKER_ROOT
	else
		with_lock root ensure_base_locked
	fi
	with_lock net net_up_locked

	local sd=$STATE/hosts/$name hd=$HOSTS/$name
	with_lock hosts claim_host "$name" "$ip"

	# From here on, a failure tears the half-made host down again.
	trap 'rc=$?; if [ $rc != 0 ]; then if [ "${RMACHINE_KEEP_HOSTS:-}" = 1 ]; then log "host-up: keeping the failed host $name (RMACHINE_KEEP_HOSTS=1)"; else host_down "$name" || true; fi; fi' EXIT

	mkdir -p "$hd/upper" "$hd/work" "$hd/rootfs" "$hd/docker"
	chmod 711 "$hd/docker"
	local veth
	veth=$(veth_name "$name")
	cgroup_mounts >"$sd/cgroup-mounts"
	: >"$sd/console"
	: >"$sd/log"
	{
		printf 'NAME=%q\nIP=%q\nLOWER=%q\nHOSTDIR=%q\nVETH=%q\nDOCKER=%q\nINIT=%q\nSUITE=%q\n' \
			"$name" "$ip" "$lower" "$hd" "$veth" "$docker" "$init" "$SUITE"
	} >"$sd/config.tmp"

	# per-host files in the upper layer
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$hd/upper,workdir=$hd/work" "$hd/rootfs" ||
		die "host-up: cannot mount the overlay root for $name"
	customize_host "$name" "$ip" "$key" "$hd/rootfs" || { umount "$hd/rootfs"; die "host-up: preparing the root of $name failed"; }
	umount "$hd/rootfs"

	# network namespace + veth
	# The host's MAC derives from its IP, so a host restarted at the same IP keeps the neighbour
	# entries others have for it (a stale one costs ~40 s of unanswered SYNs); flush ours anyway.
	ip neigh flush to "$ip" dev "$BRIDGE" 2>/dev/null || true
	ip netns add "rmt-$name"
	ip link add "$veth" type veth peer name eth0 netns "rmt-$name" address "$(printf '02:72:6d:0b:00:%02x' "${ip##*.}")"
	ip link set "$veth" master "$BRIDGE" up
	ip -n "rmt-$name" link set lo up
	ip -n "rmt-$name" addr add "$ip/24" dev eth0
	ip -n "rmt-$name" link set eth0 up
	ip -n "rmt-$name" route add default via "$BRIDGE_IP"

	make_host_cgroups "$name"
	mv "$sd/config.tmp" "$sd/config"

	# start: its own cgroups, then netns, then mount/pid/uts/ipc/cgroup namespaces; __boot is PID 1
	(
		join_host_cgroups "$name"
		close_locks setsid ip netns exec "rmt-$name" \
			unshare --mount --pid --uts --ipc --cgroup --fork --propagation private \
			bash "$SCRIPT" __boot "$name"
	) </dev/null >>"$sd/log" 2>&1 &
	disown $!

	local pid="" deadline=$((SECONDS + BOOT_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		pid=$(find_pid1_in_netns "$name") && break
		sleep 0.1
	done
	[ -n "$pid" ] || fail_boot "$name" "its PID 1 did not appear"
	echo "$pid" >"$sd/pid"

	# wait for an SSH banner, then for systemd to finish booting
	local banner=""
	while [ $SECONDS -lt $deadline ]; do
		host_pid1 "$name" >/dev/null || fail_boot "$name" "it died while booting"
		banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null || true)
		[ "$banner" = SSH- ] && break
		sleep 0.3
	done
	[ "$banner" = SSH- ] || fail_boot "$name" "sshd did not answer on $ip:22 within $BOOT_TIMEOUT s"
	local state left=$((deadline - SECONDS))
	((left < 5)) && left=5
	if [ "$init" = sysvinit ]; then
		# sysvinit has no "finished booting" to ask for: runlevel 2 and sshd answering will do.
		state=running
		timeout "$left" bash "$SCRIPT" exec "$name" sh -c 'until runlevel | grep -q " 2$"; do sleep 0.2; done' ||
			fail_boot "$name" "sysvinit did not reach runlevel 2"
	else
		state=$(timeout "$left" bash "$SCRIPT" exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
	fi
	case $state in
	running) ;;
	degraded)
		log "host-up $name: warning: systemd is degraded; failed units:"
		bash "$SCRIPT" exec "$name" systemctl --failed --no-legend --plain >&2 || true ;;
	*) fail_boot "$name" "systemd did not finish booting (is-system-running: '${state:-no answer}')" ;;
	esac
	if [ $docker = 1 ]; then
		local ok=0
		for _ in $(seq 60); do
			bash "$SCRIPT" exec "$name" docker version >/dev/null 2>&1 && { ok=1; break; }
			sleep 0.5
		done
		[ $ok = 1 ] || fail_boot "$name" "dockerd did not come up under systemd"
	fi
	trap - EXIT
	log "host-up: $name is up at $ip (pid $pid, $init $state) in $((SECONDS - t0)) s; console: $sd/log"
}

fail_boot() {
	local name=$1 why=$2 sd=$STATE/hosts/$1
	{
		echo "testbed: error: host-up $name: $why. Recent console output ($sd/log, $sd/console):"
		tail -n 40 "$sd/log" 2>/dev/null | sed 's/^/  | /'
		tail -n 20 "$sd/console" 2>/dev/null | sed 's/^/  > /'
		if host_pid1 "$name" >/dev/null; then
			echo "testbed: the host's journal (last 40 lines):"
			timeout 10 bash "$SCRIPT" exec "$name" journalctl -b -n 40 --no-pager 2>&1 | sed 's/^/  j /'
		fi
	} >&2
	exit 1
}

# Runs as PID 1 of the host's new pid namespace, in its new mount namespace (propagation
# private) and network namespace: assemble the root, pivot_root into it, exec systemd.
cmd_boot() {
	local name=$1 sd=$STATE/hosts/$1
	# shellcheck disable=SC1090,SC1091
	. "$sd/config"
	local r=$HOSTDIR/rootfs
	echo "boot $NAME: assembling the root (lower $LOWER)"
	mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$HOSTDIR/upper,workdir=$HOSTDIR/work" "$r"
	# overlay2 refuses overlayfs as backing filesystem: /var/lib/docker is a real ext4 directory
	mount --bind "$HOSTDIR/docker" "$r/var/lib/docker"
	hostname "$NAME"
	# A plain proc, no read-only binds over /proc/sys: the kernel lets a user namespace mount proc
	# only if a fully visible proc exists, so any over-mount breaks containers under userns-remap
	# (runc: "mount proc:/proc ... operation not permitted"). Kernel-global sysctls are therefore the
	# machine's: systemd-sysctl/binfmt are masked in the base root.
	mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
	# a fresh sysfs (this netns' view of /sys/class/net)
	mount -t sysfs -o nosuid,nodev,noexec sysfs "$r/sys"
	# cgroup v1 hierarchies, one per controller as on the machine, and cgroup2 on unified.
	# Left to itself systemd would mount cpu,cpuacct jointly, which the kernel refuses here.
	# (On a unified machine: cgroup2 on /sys/fs/cgroup.) The cgroup namespace roots them all at
	# the host's own cgroups.
	grep -q '^/sys/fs/cgroup ' "$sd/cgroup-mounts" ||
		mount -t tmpfs -o nosuid,nodev,noexec,mode=755 tmpfs "$r/sys/fs/cgroup"
	local mp type opts
	while read -r mp type opts; do
		mkdir -p "$r$mp"
		if [ "$type" = cgroup2 ]; then
			mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$r$mp"
		else
			mount -t cgroup -o "nosuid,nodev,noexec,$(cgroup_opts "$opts")" cgroup "$r$mp"
		fi
	done <"$sd/cgroup-mounts"
	# systemd 256 and later (trixie has 257) refuse cgroup v1 unless forced. In a container, systemd
	# reads its "kernel command line" from its own argv (/proc/1/cmdline), so the force goes there.
	local legacy=()
	if [ "${SUITE:-bookworm}" != bookworm ] && ! grep -q '^/sys/fs/cgroup cgroup2' "$sd/cgroup-mounts"; then
		legacy=(SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 systemd.unified_cgroup_hierarchy=0)
	fi
	mount --rbind /dev "$r/dev"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$r/dev/pts"
	mount --bind "$r/dev/pts/ptmx" "$r/dev/ptmx"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$r/dev/shm"
	# the machine's console is not the host's: systemd's console output goes to a file
	mount --bind "$sd/console" "$r/dev/console"
	mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs "$r/run"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$r/tmp"
	# pivot_root, not chroot: the kernel refuses new user namespaces to a chrooted process, and
	# containers under userns-remap then fail ("can't get final child's PID from pipe: EOF").
	cd "$r"
	pivot_root . mnt
	cd /
	umount -l /mnt
	if [ "${INIT:-systemd}" = sysvinit ]; then
		echo "boot $NAME: exec /sbin/init (sysvinit)"
		exec /usr/bin/env -i container=lxc PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /sbin/init
	fi
	echo "boot $NAME: exec /lib/systemd/systemd ${legacy[*]}"
	exec /usr/bin/env -i container=lxc PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/lib/systemd/systemd --show-status=yes "${legacy[@]}"
}

cmd_exec() {
	need_root
	[ $# -ge 1 ] || die "usage: testbed.sh exec NAME [CMD...]"
	local name=$1 pid; shift
	valid_name "$name"
	pid=$(host_pid1 "$name") || die "exec: host $name is not up"
	[ $# -gt 0 ] || set -- bash -l
	exec nsenter -t "$pid" -m -u -i -n -p -C -r -w \
		/usr/bin/env -i container=lxc HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ---------------------------------------------------------------------------------------------
# Image tarball
# ---------------------------------------------------------------------------------------------

cmd_image_tarball() {
	[ $# = 1 ] || die "usage: testbed.sh image-tarball OUT.tar"
	local dest=$1 bb=""
	local c
	for c in /bin/busybox /usr/bin/busybox; do [ -x "$c" ] && { bb=$c; break; }; done
	[ -n "$bb" ] || die "image-tarball: no busybox: install it with 'apt-get install -y busybox-static'"
	ldd "$bb" >/dev/null 2>&1 && die "image-tarball: $bb is dynamically linked: install 'busybox-static'"
	local t
	t=$(mktemp -d)
	chmod 755 "$t"
	mkdir -p "$t/bin" "$t/proc" "$t/sys" "$t/dev" "$t/tmp" "$t/etc"
	chmod 1777 "$t/tmp"
	cp "$bb" "$t/bin/busybox"
	for c in sh cat id sleep uname ls echo; do ln -s busybox "$t/bin/$c"; done
	printf 'root:x:0:0:root:/:/bin/sh\n' >"$t/etc/passwd"
	printf 'root:x:0:\n' >"$t/etc/group"
	local tmp_out="$dest.tmp.$$"
	tar -C "$t" --owner=0 --group=0 --numeric-owner -cf "$tmp_out" . || { rm -rf "$t" "$tmp_out"; die "image-tarball: tar failed"; }
	mv "$tmp_out" "$dest"
	rm -rf "$t"
	log "image-tarball: wrote $dest"
}

usage() { sed -n '/^# Usage/,/^set -euo/p' "$SCRIPT" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1; shift
	case $cmd in
	root) cmd_root "$@" ;;
	docker-root) cmd_docker_root "$@" ;;
	net-up) cmd_net_up "$@" ;;
	host-up) cmd_host_up "$@" ;;
	host-down) cmd_host_down "$@" ;;
	down-all) cmd_down_all "$@" ;;
	list) cmd_list "$@" ;;
	exec) cmd_exec "$@" ;;
	image-tarball) cmd_image_tarball "$@" ;;
	__boot) cmd_boot "$@" ;;
	-h | --help | help) usage ;;
	*) die "unknown subcommand '$cmd' (try --help)" ;;
	esac
}

main "$@"
