#!/usr/bin/env bash
#! guest-image.sh — owns rmachine's QEMU TEST GUEST IMAGES: two bootable Debian 12 (bookworm) amd64
#! qcow2 disks built from Debian's packages the way the official "genericcloud" image is made
#! (partitioned GPT disk, GRUB for BIOS, linux-image-cloud-amd64, cloud-init with NoCloud, OpenSSH
#! without host keys, systemd-networkd + systemd-resolved, serial console on ttyS0), cached in
#! $RMACHINE_CACHE/images with a SHA512SUMS beside them, plus the plain-QEMU boot checks the QEMU
#! driver's design relies on. It touches nothing outside $RMACHINE_CACHE/images, loop devices
#! backed by files in there, the temporary folders of its own runs (/tmp/rmachine-qemu.*), the QEMU
#! processes it starts there, and the network namespaces rmq-* it creates (net-test).
#!
#! Usage (as root for build; any user with qemu-system-x86_64 for the rest):
#!   guest-image.sh build                    build both images once (cached; about 2 minutes cold)
#!   guest-image.sh path [--docker]          print the image's path (exits 1 if it is not built)
#!   guest-image.sh boot-test [--docker] [--image QCOW2] [--disk-size SIZE] [--twice] [--keep]
#!                            [--timeout S] [--qemu-arg ARG]...
#!                                           boot the image under plain QEMU (TCG) as the driver will;
#!                                           print "figure: NAME VALUE UNIT" lines (boot-to-SSH,
#!                                           docker info, power-off) and "check: ..." lines
#!   guest-image.sh net-test [--nodes N] [--mode mcast|dgram|dgram-unix|dgram-mcast] [--docker]
#!                           [--default-route] [--no-localaddr]
#!                                           boot N guests (2-3) at once, each with a second NIC on a
#!                                           QEMU socket network with static IPs from cloud-init
#!                                           network-config, all inside a fresh network namespace that
#!                                           has only loopback (root, for the namespace only: QEMU
#!                                           needs none; --default-route adds a default route into
#!                                           a veth whose peer is alone in a sink namespace, and
#!                                           counts what leaves by it); check ping, MTU, TCP and
#!                                           (--docker) a Docker Swarm with an overlay network
#!   guest-image.sh clean                    remove the images and the build's work folder
#!
#! Images (in $RMACHINE_CACHE/images): debian-12-rmachine-test.qcow2 (no Docker),
#! debian-12-rmachine-test-docker.qcow2 (Debian's docker.io preinstalled, not started yet), SHA512SUMS
#! ("<hex>  <file>", as cloud.debian.org writes it), RECIPE (the recipe version they were built with),
#! build.log (the last build's log).
#!
#! Environment: RMACHINE_CACHE (default /var/cache/rmachine-ci), RMACHINE_DEBIAN_MIRROR (default
#! http://deb.debian.org/debian), RMACHINE_DEBIAN_SECURITY_MIRROR (default
#! http://deb.debian.org/debian-security), RMACHINE_QEMU (default qemu-system-x86_64),
#! RMACHINE_QEMU_ACCEL (default tcg: /dev/kvm exists on the CI machines but its guests hang).
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${RMACHINE_CACHE:-/var/cache/rmachine-ci}
IMAGES=$CACHE/images
WORK=$IMAGES/work
MIRROR=${RMACHINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${RMACHINE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
QEMU=${RMACHINE_QEMU:-qemu-system-x86_64}
ACCEL=${RMACHINE_QEMU_ACCEL:-tcg}
BASE_IMAGE=debian-12-rmachine-test.qcow2
DOCKER_IMAGE=debian-12-rmachine-test-docker.qcow2
# Bump when anything below changes what goes into the images: the next `build` rebuilds them.
RECIPE_VERSION=2
# debootstrap's own package list (cached in $WORK/minbase; a change re-runs debootstrap).
MINBASE_INCLUDE=systemd-sysv,udev,dbus,iproute2,ca-certificates,kmod,procps
# Installed with apt into the minbase root (no recommends, as Debian's cloud images are lean).
GUEST_PACKAGES=(
	linux-image-cloud-amd64 grub-pc zstd
	cloud-init cloud-guest-utils
	openssh-server sudo
	systemd-resolved systemd-timesyncd libpam-systemd
	iputils-ping netcat-openbsd less
)
# The docker variant adds these (docker.io's recommends minus git, needrestart, cgroupfs-mount).
DOCKER_PACKAGES=(docker.io apparmor xz-utils)
DISK_SIZE_MIB=3072
ROOT_LABEL=rmroot
# The kernel command line GRUB passes (after root=UUID=... ro).
KERNEL_CMDLINE="console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0"

log() { printf 'guest-image: %s\n' "$*" >&2; }
die() { printf 'guest-image: error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "$1 must run as root (it uses debootstrap, chroot, loop devices and mounts)"; }

need_cmd() { # need_cmd CMD DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install it with 'apt-get install -y $2'"
}

image_path() { # image_path 0|1 (docker)
	if [ "$1" = 1 ]; then echo "$IMAGES/$DOCKER_IMAGE"; else echo "$IMAGES/$BASE_IMAGE"; fi
}

images_current() {
	[ -f "$IMAGES/$BASE_IMAGE" ] && [ -f "$IMAGES/$DOCKER_IMAGE" ] && [ -f "$IMAGES/SHA512SUMS" ] &&
		[ "$(cat "$IMAGES/RECIPE" 2>/dev/null)" = "recipe=$RECIPE_VERSION" ]
}

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------

cmd_build() {
	[ $# = 0 ] || die "usage: guest-image.sh build"
	need_root build
	need_cmd debootstrap debootstrap
	need_cmd qemu-img qemu-utils
	need_cmd sfdisk fdisk
	need_cmd losetup mount
	need_cmd partx util-linux
	need_cmd mkfs.ext4 e2fsprogs
	need_cmd unshare util-linux
	need_cmd flock util-linux
	mkdir -p "$IMAGES"
	# One build at a time; a second caller waits, then finds the images built.
	exec {lockfd}>"$IMAGES/.build.lock"
	if ! flock -n "$lockfd"; then
		log "build: another build holds $IMAGES/.build.lock; waiting for it"
		flock "$lockfd"
	fi
	if images_current && ! (cd "$IMAGES" && sha512sum --quiet -c SHA512SUMS >/dev/null 2>&1); then
		log "build: the images do not match $IMAGES/SHA512SUMS (damaged?): rebuilding them"
		rm -f "$IMAGES/RECIPE"
	fi
	if images_current; then
		log "build: the images are ready (recipe $RECIPE_VERSION): $IMAGES/$BASE_IMAGE, $IMAGES/$DOCKER_IMAGE"
		return 0
	fi
	local t0=$SECONDS buildlog=$IMAGES/build.log
	log "build: building the guest images (recipe $RECIPE_VERSION; about 2 minutes; log $buildlog)"
	: >"$buildlog"
	detach_stale_loops
	# The whole build runs in a private mount namespace: whatever happens, no mount outlives it.
	# Loop devices do outlive it: the inner trap detaches them, and the next build detaches any a
	# killed build left (detach_stale_loops).
	local rc=0
	# (the build inherits the lock fd: if this shell is killed, the lock lasts as long as the build)
	unshare --mount --propagation private bash "$SCRIPT" __build-in-ns >>"$buildlog" 2>&1 || rc=$?
	detach_stale_loops
	if [ $rc != 0 ]; then
		printf 'guest-image: the last lines of %s:\n' "$buildlog" >&2
		tail -n 40 "$buildlog" | sed 's/^/  | /' >&2
		die "build failed (exit $rc); full log: $buildlog. Nothing was renamed into place; rerun 'guest-image.sh build' once the cause is fixed"
	fi
	log "build: done in $((SECONDS - t0)) s:"
	local f
	for f in "$BASE_IMAGE" "$DOCKER_IMAGE"; do
		log "  $IMAGES/$f: $(du -m "$IMAGES/$f" | cut -f1) MiB on disk, virtual size $(qemu-img info "$IMAGES/$f" | sed -n 's/^virtual size: //p')"
	done
}

# Loop devices whose backing file is in $WORK (left by a build that was killed).
detach_stale_loops() {
	local line dev
	while read -r line; do
		dev=${line%%:*}
		[ -n "$dev" ] || continue
		log "build: detaching the stale loop device $dev ($line)"
		losetup -d "$dev" 2>/dev/null || true
	done < <(losetup -a 2>/dev/null | grep -F "($WORK/" || true)
}

# Runs inside the private mount namespace; stdout/stderr go to build.log.
build_in_ns() {
	set -x
	local t0=$SECONDS
	mkdir -p "$WORK"
	ensure_minbase
	rm -rf --one-file-system "$WORK/root-base" "$WORK/root-docker"
	cp -a "$WORK/minbase" "$WORK/root-base"
	setup_root "$WORK/root-base"
	cp -a "$WORK/root-base" "$WORK/root-docker"
	add_docker "$WORK/root-docker"
	echo "== roots ready after $((SECONDS - t0)) s"
	make_disk "$WORK/root-base" "$IMAGES/$BASE_IMAGE"
	make_disk "$WORK/root-docker" "$IMAGES/$DOCKER_IMAGE"
	(
		cd "$IMAGES"
		sha512sum "$BASE_IMAGE" "$DOCKER_IMAGE" >SHA512SUMS.partial
		mv SHA512SUMS.partial SHA512SUMS
	)
	echo "recipe=$RECIPE_VERSION" >"$IMAGES/RECIPE.partial"
	mv "$IMAGES/RECIPE.partial" "$IMAGES/RECIPE"
	rm -rf --one-file-system "$WORK/root-base" "$WORK/root-docker"
	echo "== images ready after $((SECONDS - t0)) s"
}

ensure_minbase() {
	local want="include=$MINBASE_INCLUDE mirror=$MIRROR"
	if [ -d "$WORK/minbase" ] && [ "$(cat "$WORK/minbase.stamp" 2>/dev/null)" = "$want" ]; then
		echo "== reusing the cached debootstrap root $WORK/minbase"
		return 0
	fi
	rm -rf --one-file-system "$WORK/minbase" "$WORK/minbase.partial" "$WORK/minbase.stamp"
	echo "== debootstrap bookworm into $WORK/minbase.partial"
	debootstrap --variant=minbase --include="$MINBASE_INCLUDE" bookworm "$WORK/minbase.partial" "$MIRROR" ||
		{ echo "debootstrap failed; its own log:"; tail -n 30 "$WORK/minbase.partial/debootstrap/debootstrap.log" || true; exit 1; }
	mv "$WORK/minbase.partial" "$WORK/minbase"
	echo "$want" >"$WORK/minbase.stamp"
}

# mount_chroot_fs ROOT: proc, sys, dev, run, tmp for apt in ROOT (private namespace: no cleanup needed,
# but unmount_chroot_fs undoes it so the root can be copied).
mount_chroot_fs() {
	local r=$1
	mount -t proc proc "$r/proc"
	mount -t sysfs -o ro sysfs "$r/sys"
	mount --rbind /dev "$r/dev"
	mount --make-rslave "$r/dev"
	mount -t tmpfs tmpfs "$r/run"
	mount -t tmpfs tmpfs "$r/tmp"
}

unmount_chroot_fs() {
	local r=$1
	umount -R "$r/dev" "$r/proc" "$r/sys" "$r/run" "$r/tmp"
}

# in_root ROOT CMD...: run CMD in ROOT with apt's environment (services are never started).
in_root() {
	local r=$1
	shift
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 LANG=C.UTF-8 chroot "$r" "$@"
}

# with_network ROOT: a resolv.conf for apt (systemd-resolved's symlink is restored by without_network).
with_network() {
	rm -f "$1/etc/resolv.conf"
	cp /etc/resolv.conf "$1/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 755 "$1/usr/sbin/policy-rc.d"
}

without_network() {
	rm -f "$1/usr/sbin/policy-rc.d" "$1/etc/resolv.conf"
	ln -s ../run/systemd/resolve/stub-resolv.conf "$1/etc/resolv.conf"
	in_root "$1" apt-get clean
	rm -rf "$1"/var/lib/apt/lists/*
	mkdir -p "$1/var/lib/apt/lists/partial"
}

setup_root() {
	local r=$1
	echo "== installing the guest packages into $r"
	rm -f "$r/etc/apt/sources.list"
	cat >"$r/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $MIRROR
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $SECURITY_MIRROR
		Suites: bookworm-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	# fstab by label (written before the kernel, so that the initramfs carries fsck.ext4)
	printf '# written by rmachine'"'"'s tests/qemu/guest-image.sh\nLABEL=%s\t/\text4\trw,discard,errors=remount-ro\t0\t1\n' "$ROOT_LABEL" >"$r/etc/fstab"
	# virtio drivers in the initramfs whatever MODULES= says (written before the kernel is installed)
	mkdir -p "$r/etc/initramfs-tools"
	printf '%s\n' virtio_pci virtio_blk virtio_net virtio_scsi >>"$r/etc/initramfs-tools/modules"
	# GRUB: BIOS, serial console, short timeout; grub-install runs later on the real disk.
	mkdir -p "$r/etc/default/grub.d"
	cat >"$r/etc/default/grub.d/50-rmachine.cfg" <<-EOF
		# written by rmachine's tests/qemu/guest-image.sh
		GRUB_TIMEOUT=1
		GRUB_TIMEOUT_STYLE=menu
		GRUB_CMDLINE_LINUX_DEFAULT=""
		GRUB_CMDLINE_LINUX="$KERNEL_CMDLINE"
		GRUB_TERMINAL=serial
		GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
		GRUB_DISABLE_OS_PROBER=true
		GRUB_DISABLE_RECOVERY=true
	EOF
	mount_chroot_fs "$r"
	with_network "$r"
	printf '%s\n' 'grub-pc grub-pc/install_devices multiselect' 'grub-pc grub-pc/install_devices_empty boolean true' |
		in_root "$r" debconf-set-selections
	in_root "$r" apt-get -q update
	# Upgrade first (security updates): installing systemd-resolved replaces resolv.conf with its
	# stub link, so nothing after that install may need DNS.
	in_root "$r" apt-get -q -y --no-install-recommends dist-upgrade
	in_root "$r" apt-get -q -y --no-install-recommends install "${GUEST_PACKAGES[@]}"
	[ -e "$r/usr/sbin/grub-install" ] || { echo "grub-pc did not install grub-install"; exit 1; }
	compgen -G "$r/boot/vmlinuz-*-cloud-amd64" >/dev/null || { echo "no cloud kernel in $r/boot"; exit 1; }

	echo "== configuring $r"
	# cloud-init: NoCloud (the seed disk), else None; it renders the network (networkd: no ifupdown here).
	cat >"$r/etc/cloud/cloud.cfg.d/90-rmachine.cfg" <<-'EOF'
		# written by rmachine's tests/qemu/guest-image.sh
		datasource_list: [NoCloud, None]
	EOF
	in_root "$r" systemctl enable systemd-networkd.service systemd-resolved.service
	# wait-online: one routable link is enough (a second NIC without DHCP must not stall boot).
	mkdir -p "$r/etc/systemd/system/systemd-networkd-wait-online.service.d"
	cat >"$r/etc/systemd/system/systemd-networkd-wait-online.service.d/10-rmachine.conf" <<-'EOF'
		# written by rmachine's tests/qemu/guest-image.sh
		[Service]
		ExecStart=
		ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=90
	EOF
	printf 'LANG=C.UTF-8\n' >"$r/etc/default/locale"
	printf 'debian\n' >"$r/etc/hostname"
	cat >"$r/etc/hosts" <<-'EOF'
		127.0.0.1	localhost
		::1		localhost ip6-localhost ip6-loopback
		ff02::1		ip6-allnodes
		ff02::2		ip6-allrouters
	EOF
	# Test images: no background apt runs fighting the tests for the dpkg lock.
	in_root "$r" systemctl disable apt-daily.timer apt-daily-upgrade.timer || true
	# Identity is made per machine on first boot: no host keys, no machine-id.
	rm -f "$r"/etc/ssh/ssh_host_*
	: >"$r/etc/machine-id"
	rm -f "$r/var/lib/dbus/machine-id"
	ln -s /etc/machine-id "$r/var/lib/dbus/machine-id"
	without_network "$r"
	unmount_chroot_fs "$r"
	clean_root "$r"
}

add_docker() {
	local r=$1
	echo "== installing docker.io into $r"
	mount_chroot_fs "$r"
	with_network "$r"
	in_root "$r" apt-get -q update
	in_root "$r" apt-get -q -y --no-install-recommends install "${DOCKER_PACKAGES[@]}"
	[ -L "$r/etc/systemd/system/multi-user.target.wants/docker.service" ] ||
		{ echo "docker.service is not enabled in $r after installing docker.io"; exit 1; }
	without_network "$r"
	unmount_chroot_fs "$r"
	# dockerd never ran: no engine identity or state is shared by the machines made from it.
	rm -f "$r/etc/docker/key.json"
	rm -rf "$r/var/lib/docker" "$r/var/lib/containerd"
	clean_root "$r"
}

clean_root() {
	local r=$1
	rm -rf "$r"/tmp/* "$r"/var/tmp/* "$r"/var/cache/apt/*.bin "$r"/var/log/journal/* "$r/root/.bash_history"
	find "$r/var/log" -type f \( -name '*.log' -o -name 'lastlog' -o -name 'wtmp' -o -name 'btmp' \) -exec truncate -s 0 {} +
	rm -f "$r"/var/log/apt/eipp.log.xz "$r/var/cache/debconf/"*-old
	rm -f "$r"/etc/ssh/ssh_host_*
}

# make_disk ROOT OUT.qcow2: a GPT disk (p14 BIOS boot, p1 ext4 root to the end), GRUB for BIOS, as qcow2.
make_disk() {
	local r=$1 out=$2 name raw loop="" mnt uuid t0=$SECONDS
	name=$(basename "$out" .qcow2)
	raw=$WORK/$name.raw
	mnt=$WORK/mnt-$name
	echo "== making $out from $r"
	rm -f "$raw" "$out.partial"
	truncate -s "${DISK_SIZE_MIB}M" "$raw"
	# Like Debian's cloud images: root is partition 1 and last on the disk (growpart grows it),
	# partition 14 is GRUB's BIOS boot partition.
	sfdisk --quiet "$raw" <<-EOF
		label: gpt
		${raw}14 : start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649, name="bios"
		${raw}1 : start=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
	EOF
	loop=$(losetup --find --show --partscan "$raw")
	trap 'umount -R "'"$mnt"'" 2>/dev/null || true; losetup -d "'"$loop"'" 2>/dev/null || true' EXIT
	# The kernel here does not always scan the table at attach time (partscan=1, no partitions):
	# partx adds them (BLKPG); devtmpfs makes their nodes, no udev needed.
	for _ in $(seq 20); do [ -b "${loop}p1" ] && [ -b "${loop}p14" ] && break; sleep 0.1; done
	[ -b "${loop}p1" ] || partx -a "$loop"
	for _ in $(seq 50); do [ -b "${loop}p1" ] && [ -b "${loop}p14" ] && break; sleep 0.1; done
	[ -b "${loop}p1" ] || { echo "the partitions of $loop did not appear (${loop}p1 missing)"; exit 1; }
	uuid=$(cat /proc/sys/kernel/random/uuid)
	mkfs.ext4 -q -L "$ROOT_LABEL" -U "$uuid" -E root_owner=0:0 -d "$r" "${loop}p1"
	mkdir -p "$mnt"
	mount "${loop}p1" "$mnt"
	# A /dev of its own for GRUB: the loop device, its partitions, and the by-uuid link
	# grub-mkconfig looks for before it writes root=UUID=... (no udev makes it here).
	mount -t tmpfs -o mode=755 tmpfs "$mnt/dev"
	cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom "$loop" "${loop}p1" "${loop}p14" "$mnt/dev/"
	mkdir -p "$mnt/dev/disk/by-uuid"
	ln -s "../../$(basename "$loop")p1" "$mnt/dev/disk/by-uuid/$uuid"
	mount -t proc proc "$mnt/proc"
	mount -t sysfs -o ro sysfs "$mnt/sys"
	mount -t tmpfs tmpfs "$mnt/run"
	mount -t tmpfs tmpfs "$mnt/tmp"
	in_root "$mnt" grub-install --target=i386-pc --no-floppy --modules="part_gpt ext2" "$loop"
	in_root "$mnt" update-grub
	grep -q "root=UUID=$uuid" "$mnt/boot/grub/grub.cfg" ||
		{ echo "grub.cfg does not boot root=UUID=$uuid:"; grep -n 'linux\s' "$mnt/boot/grub/grub.cfg"; exit 1; }
	# Later grub-pc upgrades in the guest reinstall GRUB on its disk.
	printf '%s\n' 'grub-pc grub-pc/install_devices multiselect /dev/vda' 'grub-pc grub-pc/install_devices_empty boolean false' |
		in_root "$mnt" debconf-set-selections
	rm -f "$mnt/var/cache/debconf/"*-old
	grep -n 'linux\s' "$mnt/boot/grub/grub.cfg" | head -n 2
	umount -R "$mnt"
	losetup -d "$loop"
	trap - EXIT
	rmdir "$mnt"
	qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib "$raw" "$out.partial"
	rm -f "$raw"
	chmod 0444 "$out.partial"
	mv -f "$out.partial" "$out"
	echo "== $out: $(du -m "$out" | cut -f1) MiB in $((SECONDS - t0)) s"
}

cmd_clean() {
	need_root clean
	mkdir -p "$IMAGES"
	exec {lockfd}>"$IMAGES/.build.lock"
	flock "$lockfd"
	detach_stale_loops
	rm -rf --one-file-system "$WORK"
	rm -f "$IMAGES/$BASE_IMAGE" "$IMAGES/$DOCKER_IMAGE" "$IMAGES/SHA512SUMS" "$IMAGES/RECIPE" "$IMAGES"/*.partial
	log "clean: removed the images and $WORK"
}

cmd_path() {
	local docker=0
	while [ $# -gt 0 ]; do
		case $1 in
		--docker) docker=1; shift ;;
		*) die "usage: guest-image.sh path [--docker]" ;;
		esac
	done
	local p
	p=$(image_path "$docker")
	[ -f "$p" ] || die "$p is not built: run 'bash tests/qemu/guest-image.sh build' (as root; about 2 minutes once)"
	[ "$(cat "$IMAGES/RECIPE" 2>/dev/null)" = "recipe=$RECIPE_VERSION" ] ||
		die "$p was built by another recipe than this script's ($RECIPE_VERSION): run 'bash tests/qemu/guest-image.sh build'"
	echo "$p"
}

# ---------------------------------------------------------------------------------------------
# Running guests (boot-test, net-test)
# ---------------------------------------------------------------------------------------------

free_port() { # a TCP (or UDP with "udp") port that is free on 127.0.0.1 right now
	python3 - "${1:-tcp}" <<-'EOF'
		import socket, sys
		kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
		s = socket.socket(socket.AF_INET, kind)
		s.bind(("127.0.0.1", 0))
		print(s.getsockname()[1])
	EOF
}

# qmp SOCKET COMMAND [ARGS-JSON]: one QMP command, prints the "return" (or fails with the error).
qmp() {
	python3 - "$@" <<-'EOF'
		import json, socket, sys
		path, cmd = sys.argv[1], sys.argv[2]
		args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(10)
		s.connect(path)
		f = s.makefile("rwb")
		def read():
		    while True:
		        line = f.readline()
		        if not line:
		            sys.exit("qmp: connection closed")
		        msg = json.loads(line)
		        if "event" not in msg:
		            return msg
		greeting = read()
		assert "QMP" in greeting, greeting
		def execute(name, arguments=None, id=1):
		    req = {"execute": name, "id": id}
		    if arguments is not None:
		        req["arguments"] = arguments
		    f.write(json.dumps(req).encode() + b"\r\n")
		    f.flush()
		    r = read()
		    if "error" in r:
		        sys.exit("qmp: %s: %s" % (name, r["error"]))
		    return r.get("return")
		execute("qmp_capabilities")
		print(json.dumps(execute(cmd, args, 2)))
	EOF
}

proc_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# make_seed DIR: DIR/seed.img, a 1 MiB FAT12 labelled CIDATA with DIR/seed/* (user-data, meta-data, ...).
make_seed() {
	local d=$1 f
	rm -f "$d/seed.img"
	mkfs.vfat -n CIDATA -C "$d/seed.img" 1024 >/dev/null
	for f in "$d"/seed/*; do
		mcopy -o -i "$d/seed.img" "$f" "::$(basename "$f")"
	done
}

# write_user_data DIR HOSTNAME: cloud-init seed for user rmachine with DIR/id_ed25519.pub and the
# pre-generated host key DIR/host_ed25519; extra #cloud-config lines come from stdin.
write_seed() {
	local d=$1 host=$2
	mkdir -p "$d/seed"
	{
		printf '#cloud-config\n'
		printf 'users:\n  - name: rmachine\n    sudo: "ALL=(ALL) NOPASSWD:ALL"\n    shell: /bin/bash\n    lock_passwd: true\n'
		printf '    ssh_authorized_keys:\n      - %s\n' "$(cat "$d/id_ed25519.pub")"
		# no ssh_genkeytypes: with ssh_keys given, cloud-init generates none (and 22.4's schema
		# rejects an empty list: "ssh_genkeytypes: [] is too short")
		printf 'disable_root: true\nssh_pwauth: false\npackage_update: false\nssh_deletekeys: true\n'
		printf 'ssh_keys:\n  ed25519_private: |\n'
		sed 's/^/    /' "$d/host_ed25519"
		printf '  ed25519_public: %s\n' "$(cat "$d/host_ed25519.pub")"
		cat
	} >"$d/seed/user-data"
	printf 'instance-id: iid-%s-%s\nlocal-hostname: %s\n' "$host" "$(basename "$d")" "$host" >"$d/seed/meta-data"
}

# make_guest_keys DIR: the user's key and the host key the guest must present.
make_guest_keys() {
	local d=$1
	ssh-keygen -q -t ed25519 -N '' -C rmachine-test-user -f "$d/id_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$d/host_ed25519"
}

# start_guest DIR IMAGE SSHPORT DISKSIZE [EXTRA-QEMU-ARG...]: overlay + seed + daemonized QEMU.
# Sets GUEST_T0 (epoch seconds, float) just before QEMU starts.
start_guest() {
	local d=$1 image=$2 sshport=$3 size=$4
	shift 4
	[ -f "$d/disk.qcow2" ] || qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$d/disk.qcow2" "$size"
	[ -f "$d/seed.img" ] || make_seed "$d"
	local accel=(-accel tcg,thread=multi -cpu max -global ICH9-LPC.disable_s3=1 -global ICH9-LPC.disable_s4=1)
	[ "$ACCEL" = kvm ] && accel=(-accel kvm -cpu host)
	local mac
	mac=$(printf '52:54:00:%s' "$(printf %s "$d" | md5sum | sed 's/^\(..\)\(..\)\(..\).*/\1:\2:\3/')")
	rm -f "$d/qemu.pid" "$d/serial.log" "$d/qemu.log"
	GUEST_T0=$(date +%s.%N)
	"$QEMU" -name "rmachine-test-$(basename "$d"),process=rmachine-test" -nodefaults -no-user-config -display none \
		-machine q35,vmport=off "${accel[@]}" -smp 2 -m 2048 \
		-drive "if=none,id=root,file=$d/disk.qcow2,format=qcow2,discard=unmap,detect-zeroes=unmap" \
		-device virtio-blk-pci,drive=root,bootindex=1 \
		-drive "if=none,id=cidata,file=$d/seed.img,format=raw,readonly=on" -device virtio-blk-pci,drive=cidata \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$sshport-:22${GUEST_HOSTFWD:-}" \
		-device "virtio-net-pci,netdev=net0,mac=$mac" -device virtio-rng-pci \
		-chardev "socket,id=ser0,path=$d/serial.sock,server=on,wait=off,logfile=$d/serial.log" -serial chardev:ser0 \
		-chardev "socket,id=qmp0,path=$d/qmp.sock,server=on,wait=off" -qmp chardev:qmp0 \
		-pidfile "$d/qemu.pid" -D "$d/qemu.log" -daemonize "$@" ||
		die "QEMU did not start: $(cat "$d/qemu.log" 2>/dev/null) (with -D, QEMU writes even its start-up errors to that log, $d/qemu.log, not to stderr)"
	[ -s "$d/qemu.pid" ] || die "QEMU daemonized but wrote no pidfile $d/qemu.pid"
}

guest_pid() { cat "$1/qemu.pid" 2>/dev/null; }

guest_ssh() { # guest_ssh DIR PORT CMD...
	local d=$1 port=$2
	shift 2
	ssh -q -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts" \
		-o LogLevel=ERROR -i "$d/id_ed25519" -p "$port" rmachine@127.0.0.1 "$@"
}

# wait_ssh DIR PORT TIMEOUT: until `ssh true` works, checking the host key against known_hosts.
wait_ssh() {
	local d=$1 port=$2 timeout=$3 deadline err
	deadline=$((SECONDS + timeout))
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/host_ed25519.pub")" >"$d/known_hosts"
	while :; do
		proc_alive "$(guest_pid "$d")" || fail_guest "$d" "QEMU exited while the guest was booting"
		err=$(ssh -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts" \
			-o LogLevel=ERROR -i "$d/id_ed25519" -p "$port" rmachine@127.0.0.1 true 2>&1) && return 0
		case $err in
		*"IDENTIFICATION HAS CHANGED"* | *"Host key verification failed"*)
			fail_guest "$d" "the guest's SSH host key is not the one given through cloud-init ssh_keys: $err" ;;
		esac
		((SECONDS < deadline)) || fail_guest "$d" "no SSH on 127.0.0.1:$port within $timeout s (last error: ${err:-none})"
		sleep 1
	done
}

fail_guest() {
	local d=$1 why=$2
	{
		printf 'guest-image: error: %s. Last lines of the serial log %s:\n' "$why" "$d/serial.log"
		tail -n 40 "$d/serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
		[ -s "$d/qemu.log" ] && { printf 'QEMU log %s:\n' "$d/qemu.log"; sed 's/^/  q /' "$d/qemu.log"; }
	} >&2
	exit 1
}

# stop_guest DIR: QMP system_powerdown, wait up to 120 s, then quit, then SIGKILL. Prints seconds.
stop_guest() {
	local d=$1 pid t0 deadline
	pid=$(guest_pid "$d") || return 0
	proc_alive "$pid" || return 0
	t0=$(date +%s.%N)
	qmp "$d/qmp.sock" system_powerdown >/dev/null || true
	deadline=$((SECONDS + 120))
	while proc_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
	if proc_alive "$pid"; then
		log "guest $(basename "$d") did not power off within 120 s: QMP quit"
		qmp "$d/qmp.sock" quit >/dev/null 2>&1 || true
		sleep 2
		proc_alive "$pid" && kill -KILL "$pid"
		echo "timeout"
		return 0
	fi
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
}

kill_guest() { # kill_guest DIR: QMP quit, then SIGKILL (only our own pid)
	local d=$1 pid
	pid=$(guest_pid "$d") || return 0
	proc_alive "$pid" || return 0
	grep -qF -- "$d/qmp.sock" "/proc/$pid/cmdline" 2>/dev/null || return 0
	qmp "$d/qmp.sock" quit >/dev/null 2>&1 || true
	for _ in $(seq 30); do proc_alive "$pid" || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'; }

figure() { printf 'figure: %s %s %s\n' "$1" "$2" "$3"; }

check() { printf 'check: %s\n' "$*"; }

need_run_tools() {
	need_cmd "$QEMU" "qemu-system-x86 (from bookworm-backports next to qemu-utils 10.0: see .ci/run)"
	need_cmd qemu-img qemu-utils
	need_cmd mkfs.vfat dosfstools
	need_cmd mcopy mtools
	need_cmd ssh openssh-client
	need_cmd ssh-keygen openssh-client
	need_cmd python3 python3
}

cmd_boot_test() {
	local docker=0 size=20G twice=0 keep=0 timeout=600 image="" extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		--docker) docker=1; shift ;;
		--image) [ $# -ge 2 ] || die "--image needs a qcow2 path"; image=$(readlink -f "$2"); shift 2 ;;
		--qemu-arg) [ $# -ge 2 ] || die "--qemu-arg needs an argument"; extra+=("$2"); shift 2 ;;
		--disk-size) [ $# -ge 2 ] || die "--disk-size needs a size (e.g. 20G)"; size=$2; shift 2 ;;
		--twice) twice=1; shift ;;
		--keep) keep=1; shift ;;
		--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout=$2; shift 2 ;;
		*) die "usage: guest-image.sh boot-test [--docker] [--image QCOW2] [--disk-size SIZE] [--twice] [--keep] [--timeout S] [--qemu-arg ARG]..." ;;
		esac
	done
	need_run_tools
	local d port
	[ -n "$image" ] || image=$(cmd_path $([ $docker = 1 ] && echo --docker))
	[ -f "$image" ] || die "boot-test: no image $image"
	d=$(mktemp -d /tmp/rmachine-qemu.XXXXXX)
	if [ $keep = 1 ]; then
		trap 'kill_guest "'"$d"'"; log "kept '"$d"'"' EXIT
	else
		trap 'kill_guest "'"$d"'"; rm -rf "'"$d"'"' EXIT
	fi
	make_guest_keys "$d"
	write_seed "$d" rmtest </dev/null
	port=$(free_port)
	local variant=base
	[ $docker = 1 ] && variant=docker
	log "boot-test: booting $image (overlay $size, $ACCEL, ssh 127.0.0.1:$port, folder $d)"
	qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$d/disk.qcow2" "$size"
	local boot
	for boot in 1 2; do
		[ $boot = 2 ] && [ $twice = 0 ] && break
		local label=first
		[ $boot = 2 ] && label=second
		figure host_load_1min "$(cut -d' ' -f1 /proc/loadavg)" load
		start_guest "$d" "$image" "$port" "$size" "${extra[@]}"
		wait_ssh "$d" "$port" "$timeout"
		figure "${variant}_${label}_boot_to_ssh" "$(since "$GUEST_T0")" s
		if [ $docker = 1 ]; then
			local deadline=$((SECONDS + timeout))
			until guest_ssh "$d" "$port" sudo docker info >/dev/null 2>&1; do
				((SECONDS < deadline)) || fail_guest "$d" "sudo docker info did not answer within $timeout s"
				sleep 1
			done
			figure "${variant}_${label}_boot_to_docker_info" "$(since "$GUEST_T0")" s
		fi
		if [ $boot = 1 ]; then
			check "host key presented = the cloud-init ssh_keys one: $(ssh-keyscan -T 10 -t ed25519 -p "$port" 127.0.0.1 2>/dev/null | cut -d' ' -f2,3 | cmp -s - <(cut -d' ' -f1,2 "$d/host_ed25519.pub") && echo yes || echo NO)"
			guest_ssh "$d" "$port" 'set -e
				echo "check: kernel $(uname -r); cmdline: $(cat /proc/cmdline)"
				echo "check: sudo -n: $(sudo -n id -un)"
				echo "check: cloud-init: $(cloud-init status --wait 2>/dev/null | tail -n 1); $(sudo grep -o "\"datasource\": \"[^\"]*\"" /run/cloud-init/status.json | head -n 1); warnings: $(sudo grep -c -E "WARNING|ERROR|Traceback" /var/log/cloud-init.log || true)"
				sudo grep -E "WARNING|ERROR|Traceback" /var/log/cloud-init.log | cut -c1-300 | sed "s/^/check: cloud-init.log: /" || true
				sudo cloud-init schema --system 2>&1 | grep -v "^$" | cut -c1-300 | sed "s/^/check: cloud-init schema: /" || true
				echo "check: systemd: $(systemctl is-system-running 2>/dev/null || true); failed: $(systemctl --failed --no-legend --plain 2>/dev/null | cut -d" " -f1 | tr "\n" " ")"
				echo "check: root: $(findmnt -n -o SOURCE,SIZE,FSTYPE /) ($(df -h --output=size / | tail -n 1 | tr -d " ") fs); disk $(lsblk -dn -o NAME,SIZE /dev/vda | tr -s " ")"
				echo "check: network: $(ip -br -4 addr show scope global | tr -s " " | tr "\n" ";") default via $(ip route show default | cut -d" " -f3)"
				echo "check: dns: $(getent hosts deb.debian.org | head -n 1 | tr -s " ") (resolv.conf -> $(readlink /etc/resolv.conf))"
				echo "check: LANG=$(. /etc/default/locale; echo "$LANG"); machine-id $(cat /etc/machine-id); hostname $(hostname)"
				echo "check: boot: $(systemd-analyze 2>/dev/null | head -n 1)"
				echo "check: slowest units: $(systemd-analyze blame 2>/dev/null | head -n 6 | tr -s " " | tr "\n" ";")"
				echo "check: block devices: $(lsblk -n -o NAME,SIZE,TYPE,FSTYPE,LABEL | tr -s " " | tr "\n" ";")"
				echo "check: host keys: $(ls /etc/ssh/ssh_host_* | tr "\n" " ")"
			'
		fi
		local off
		off=$(stop_guest "$d")
		figure "${variant}_${label}_poweroff" "$off" s
	done
	grep -q 'reboot: Power down' "$d/serial.log" && check "serial log shows 'reboot: Power down'" || true
	check "serial log: $(wc -l <"$d/serial.log") lines ($d/serial.log; GRUB: $(grep -c 'GNU GRUB' "$d/serial.log" || true) banner(s))"
}

# ---------------------------------------------------------------------------------------------
# net-test: VM-to-VM networking without root privileges for QEMU (the namespace only isolates it)
# ---------------------------------------------------------------------------------------------

# A tiny sniffer for the sink end of net-test --default-route: frames per (protocol, destination).
SINK_PY='
import collections, signal, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
seen = collections.Counter(); size = collections.Counter()
def report(*_):
    for k, n in seen.most_common(12):
        print("%d frames, %d bytes: %s" % (n, size[k], k))
    if not seen:
        print("nothing arrived")
    sys.exit(0)
signal.signal(signal.SIGINT, report)
signal.signal(signal.SIGTERM, report)
while True:
    f = s.recv(65535)
    et = struct.unpack("!H", f[12:14])[0]
    if et == 0x0800:
        proto, dst = f[23], socket.inet_ntoa(f[30:34])
        ihl = (f[14] & 15) * 4
        port = struct.unpack("!H", f[14 + ihl + 2:14 + ihl + 4])[0] if proto in (6, 17) else 0
        k = "IPv4 %s to %s:%d" % ({1: "icmp", 2: "igmp", 6: "tcp", 17: "udp"}.get(proto, proto), dst, port)
    elif et == 0x86DD:
        k = "IPv6 next-header %d to %s" % (f[20], socket.inet_ntop(socket.AF_INET6, f[38:54]))
    else:
        k = "ethertype 0x%04x" % et
    seen[k] += 1; size[k] += len(f)
'

cmd_net_test() {
	local nodes=3 mode=mcast docker=0 timeout=900
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes) nodes=$2; shift 2 ;;
		--mode) mode=$2; shift 2 ;;
		--docker) docker=1; shift ;;
		--timeout) timeout=$2; shift 2 ;;
		--default-route) export NET_TEST_DEFAULT_ROUTE=1; shift ;;
		--no-localaddr) export NET_TEST_NO_LOCALADDR=1; shift ;;
		--in-netns) shift; net_test_in_netns "$nodes" "$mode" "$docker" "$timeout"; return ;;
		*) die "usage: guest-image.sh net-test [--nodes 2|3] [--mode mcast|dgram] [--docker] [--default-route] [--no-localaddr]" ;;
		esac
	done
	need_root net-test
	need_run_tools
	((nodes >= 2 && nodes <= 3)) || die "net-test: --nodes must be 2 or 3 (TCG guests are CPU-heavy)"
	case $mode in
	mcast | dgram-mcast) ;;
	dgram | dgram-unix) ((nodes == 2)) || die "net-test: --mode $mode is point-to-point: --nodes 2" ;;
	*) die "net-test: --mode must be mcast, dgram, dgram-unix or dgram-mcast" ;;
	esac
	cmd_path $([ $docker = 1 ] && echo --docker) >/dev/null
	# A network namespace with nothing but loopback: the guests' traffic cannot leave the machine,
	# and it shows whether the socket networks need more than 127.0.0.1.
	local ns=rmq-$$ sink=rmq-sink-$$
	ip netns add "$ns"
	trap 'ip netns del "'"$ns"'" 2>/dev/null || true; ip netns del "'"$sink"'" 2>/dev/null || true' EXIT
	ip -n "$ns" link set lo up
	if [ "${NET_TEST_DEFAULT_ROUTE:-}" = 1 ]; then
		# A default route into a veth whose peer sits alone in a second namespace (a sink): what
		# would go out to a LAN is counted there and goes nowhere (this kernel has no dummy driver).
		ip netns add "$sink"
		ip -n "$ns" link add rmqlan0 type veth peer name rmqsink0 netns "$sink"
		ip -n "$ns" addr add 192.0.2.1/24 dev rmqlan0
		ip -n "$ns" link set rmqlan0 up
		ip -n "$sink" link set rmqsink0 up
		ip -n "$ns" route add default dev rmqlan0
		# what arrives in the sink, summed by protocol and destination
		sinklog=$(mktemp /tmp/rmachine-qemu.sink.XXXXXX)
		ip netns exec "$sink" python3 -c "$SINK_PY" rmqsink0 >"$sinklog" 2>&1 &
		sinkpid=$!
	fi
	local rc=0
	ip netns exec "$ns" bash "$SCRIPT" net-test --nodes "$nodes" --mode "$mode" $([ $docker = 1 ] && echo --docker) --timeout "$timeout" --in-netns || rc=$?
	if [ -n "${sinkpid:-}" ]; then
		kill -INT "$sinkpid" 2>/dev/null || true
		wait "$sinkpid" 2>/dev/null || true
		sed 's/^/check: sink: /' "$sinklog"
		rm -f "$sinklog"
	fi
	return "$rc"
}

net_test_in_netns() {
	local nodes=$1 mode=$2 docker=$3 timeout=$4 image base i
	image=$(cmd_path $([ $docker = 1 ] && echo --docker))
	base=$(mktemp -d /tmp/rmachine-qemu.XXXXXX)
	trap 'for g in "'"$base"'"/n*; do kill_guest "$g"; done; rm -rf "'"$base"'"' EXIT
	check "netns: $(ip -br link | tr -s ' ' | tr '\n' ';') routes: $(ip route | wc -l)"
	local mcport p1 p2
	mcport=$(free_port udp)
	p1=$(free_port udp)
	p2=$(free_port udp)
	local -a ports dirs
	local t0
	t0=$(date +%s.%N)
	for i in $(seq 1 "$nodes"); do
		local d=$base/n$i mac2 netdev
		mkdir -p "$d"
		make_guest_keys "$d"
		mac2=$(printf '52:54:00:7a:00:%02x' "$i")
		write_seed "$d" "node$i" </dev/null
		cat >"$d/seed/network-config" <<-EOF
			version: 2
			ethernets:
			  nat:
			    match:
			      macaddress: "$(printf '52:54:00:%s' "$(printf %s "$d" | md5sum | sed 's/^\(..\)\(..\)\(..\).*/\1:\2:\3/')")"
			    dhcp4: true
			  swarm:
			    match:
			      macaddress: "$mac2"
			    addresses: [10.212.0.1$i/24]
		EOF
		case $mode in
		mcast)
			netdev="socket,id=net1,mcast=230.0.0.1:$mcport,localaddr=127.0.0.1"
			[ "${NET_TEST_NO_LOCALADDR:-}" = 1 ] && netdev="socket,id=net1,mcast=230.0.0.1:$mcport" ;;
		dgram-mcast)
			# QEMU's newer syntax for multicast; it has no option for the sending interface
			netdev="dgram,id=net1,remote.type=inet,remote.host=230.0.0.1,remote.port=$mcport" ;;
		dgram-unix)
			if [ "$i" = 1 ]; then
				netdev="dgram,id=net1,local.type=unix,local.path=$base/n1.dgram,remote.type=unix,remote.path=$base/n2.dgram"
			else
				netdev="dgram,id=net1,local.type=unix,local.path=$base/n2.dgram,remote.type=unix,remote.path=$base/n1.dgram"
			fi ;;
		dgram)
			if [ "$i" = 1 ]; then
				netdev="dgram,id=net1,local.type=inet,local.host=127.0.0.1,local.port=$p1,remote.type=inet,remote.host=127.0.0.1,remote.port=$p2"
			else
				netdev="dgram,id=net1,local.type=inet,local.host=127.0.0.1,local.port=$p2,remote.type=inet,remote.host=127.0.0.1,remote.port=$p1"
			fi ;;
		esac
		ports[i]=$(free_port)
		dirs[i]=$d
		start_guest "$d" "$image" "${ports[i]}" 20G -netdev "$netdev" -device "virtio-net-pci,netdev=net1,mac=$mac2"
		check "node$i: QEMU pid $(guest_pid "$d"), ssh 127.0.0.1:${ports[i]}, second NIC -netdev $netdev"
	done
	for i in $(seq 1 "$nodes"); do
		wait_ssh "${dirs[i]}" "${ports[i]}" "$timeout"
		figure "net_node${i}_boot_to_ssh_of_${nodes}" "$(since "$t0")" s
	done
	for i in $(seq 1 "$nodes"); do
		check "node$i second NIC: $(guest_ssh "${dirs[i]}" "${ports[i]}" 'n=$(ip -br addr | grep 10.212 | cut -d" " -f1); echo "$n $(ip -o -4 addr show dev $n | tr -s " " | cut -d" " -f4) $(ip -o link show dev $n | grep -o "mtu [0-9]*"); ipv6: $(ip -o -6 addr show dev $n | tr -s " " | cut -d" " -f4-); dmesg: $(sudo dmesg | grep -i -E "own address|duplicate|dad" | tail -n 3 | tr "\n" ";")"')"
	done
	# ping and TCP from node 1 to the others, and back
	for i in $(seq 2 "$nodes"); do
		check "ping node1 -> node$i: $(guest_ssh "${dirs[1]}" "${ports[1]}" "ping -c 3 -W 2 10.212.0.1$i | tail -n 2 | tr '\n' ' '" || echo FAILED)"
		check "ping -s 1472 -M do node1 -> node$i (MTU 1500): $(guest_ssh "${dirs[1]}" "${ports[1]}" "ping -c 2 -W 2 -s 1472 -M do 10.212.0.1$i | tail -n 2 | head -n 1" || echo FAILED)"
		guest_ssh "${dirs[i]}" "${ports[i]}" "(timeout 30 nc -l -p 7777 >/tmp/got) >/dev/null 2>&1 &"
		sleep 1
		guest_ssh "${dirs[1]}" "${ports[1]}" "head -c 1048576 /dev/urandom > /tmp/mb; md5sum </tmp/mb >/tmp/mb.md5; timeout 30 nc -q 1 -N 10.212.0.1$i 7777 </tmp/mb" || true
		sleep 1
		check "tcp 1 MiB node1 -> node$i:7777: $( [ "$(guest_ssh "${dirs[1]}" "${ports[1]}" 'cat /tmp/mb.md5')" = "$(guest_ssh "${dirs[i]}" "${ports[i]}" 'md5sum </tmp/got')" ] && echo same bytes || echo DIFFERENT)"
	done
	if [ "$docker" = 1 ]; then
		guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker swarm init --advertise-addr 10.212.0.11 >/dev/null' ||
			fail_guest "${dirs[1]}" "docker swarm init failed"
		local token
		token=$(guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker swarm join-token -q worker')
		for i in $(seq 2 "$nodes"); do
			guest_ssh "${dirs[i]}" "${ports[i]}" "sudo docker swarm join --token $token 10.212.0.11:2377 >/dev/null" ||
				fail_guest "${dirs[i]}" "docker swarm join failed"
		done
		check "swarm nodes: $(guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker node ls --format "{{.Hostname}}={{.Status}}/{{.Availability}}"' | tr '\n' ' ')"
		check "swarm overlay network: $(guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker network create -d overlay --attachable rmtestnet >/dev/null && echo created' || echo FAILED)"
		# No registry here: every node imports the same busybox image (from this machine's busybox-static).
		local bb
		bb=$(command -v busybox) || die "net-test --docker: no busybox here: apt-get install -y busybox-static"
		for i in $(seq 1 "$nodes"); do
			guest_ssh "${dirs[i]}" "${ports[i]}" 'cat >/tmp/busybox' <"$bb"
			guest_ssh "${dirs[i]}" "${ports[i]}" 'set -e; r=$(mktemp -d); mkdir -p $r/bin; install -m 755 /tmp/busybox $r/bin/busybox
				for c in sh ping sleep ip cat nc hostname; do ln -s busybox $r/bin/$c; done
				tar -C $r -c . | sudo docker import - rmtest/busybox:1 >/dev/null'
		done
		guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker service create -d --no-resolve-image --mode global --name pinger --network rmtestnet rmtest/busybox:1 sleep 3600 >/dev/null'
		local deadline=$((SECONDS + 300)) running=0
		while ((SECONDS < deadline)); do
			running=$(guest_ssh "${dirs[1]}" "${ports[1]}" 'sudo docker service ps pinger --filter desired-state=running --format "{{.CurrentState}}"' | grep -c '^Running' || true)
			((running >= nodes)) && break
			sleep 3
		done
		check "swarm global service: $running of $nodes tasks running"
		local ips=()
		for i in $(seq 1 "$nodes"); do
			ips[i]=$(guest_ssh "${dirs[i]}" "${ports[i]}" 'c=$(sudo docker ps -q --filter name=pinger | head -n 1); sudo docker inspect -f "{{(index .NetworkSettings.Networks \"rmtestnet\").IPAddress}}" $c')
		done
		for i in $(seq 2 "$nodes"); do
			check "overlay (VXLAN over the socket network) ping container@node1 -> container@node$i (${ips[i]}): $(guest_ssh "${dirs[1]}" "${ports[1]}" 'c=$(sudo docker ps -q --filter name=pinger | head -n 1); sudo docker exec $c ping -c 3 -W 2 '"${ips[i]}"' | tail -n 2 | head -n 1' || echo FAILED)"
		done
	fi
	if ip link show rmqlan0 >/dev/null 2>&1; then
		check "frames that left by the default route (rmqlan0): $(ip -s -j link show rmqlan0 | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]["tx"]; print("%d packets, %d bytes" % (s["packets"], s["bytes"]))')"
	fi
	for i in $(seq 1 "$nodes"); do
		figure "net_node${i}_poweroff" "$(stop_guest "${dirs[i]}")" s
	done
}

usage() { sed -n '/^#! Usage/,/^set -euo/p' "$SCRIPT" | grep '^#!' | sed 's/^#! \{0,1\}//' >&2; exit 2; }

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift
	case $cmd in
	build) cmd_build "$@" ;;
	path) cmd_path "$@" ;;
	boot-test) cmd_boot_test "$@" ;;
	net-test) cmd_net_test "$@" ;;
	clean) cmd_clean "$@" ;;
	__build-in-ns) build_in_ns ;;
	-h | --help | help) usage ;;
	*) die "unknown subcommand '$cmd' (try --help)" ;;
	esac
}

# Sourcing the file (for experiments) defines the functions without running a subcommand.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
