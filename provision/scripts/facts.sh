#!/bin/sh
# facts.sh: prints, in one pass, everything rmachine's provisioner needs to know about a host.
#
# Usage: sh -c "$(cat facts.sh)" rmachine-facts [FILE...]
#   FILE: a file whose SHA-256 and mode to report (the files rmachine manages); never its content.
#
# Runs as the login user. Reading root-only files (server-key.pem) goes through `sudo -n`
# when the user is not root and passwordless sudo works. Changes nothing on the host.
#
# Output: sections, each a line "@@rmachine-section@@ NAME" followed by the section's body and one
# extra newline (so a body keeps its exact bytes, with or without a trailing newline). A section
# that does not apply is left out.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL

marker='@@rmachine-section@@'

# section NAME: starts a section; end_section closes it.
section() { printf '%s %s\n' "$marker" "$1"; }
end_section() { printf '\n'; }

# show NAME COMMAND...: one section holding the output of COMMAND.
show() {
    name=$1
    shift
    section "$name"
    "$@" 2>/dev/null
    end_section
}

user_id=$(id -u)

if [ "$user_id" = 0 ]; then
    sudo_state=root
    sudo_error=
elif ! command -v sudo >/dev/null 2>&1; then
    sudo_state=missing
    sudo_error=
elif sudo_error=$(sudo -n true 2>&1 </dev/null); then
    sudo_state=passwordless
else
    sudo_state=denied
fi

# as_root COMMAND...: runs COMMAND as root when that is possible without a password.
as_root() {
    if [ "$sudo_state" = passwordless ]; then
        sudo -n "$@" </dev/null
    else
        "$@"
    fi
}

# show_file PATH: a "file PATH" section with the file's content, when it exists.
show_file() {
    if [ -e "$1" ]; then
        section "file $1"
        as_root cat "$1" 2>/dev/null
        end_section
    fi
}

if [ -r /etc/os-release ]; then
    show os-release cat /etc/os-release
elif [ -r /usr/lib/os-release ]; then
    show os-release cat /usr/lib/os-release
fi

show user-id printf '%s' "$user_id"
show user-name id -un
section sudo
printf '%s\n%s' "$sudo_state" "$sudo_error"
end_section

show hostname cat /proc/sys/kernel/hostname
show init-process cat /proc/1/comm
if [ -d /run/systemd/system ]; then
    show systemd-booted printf yes
fi

for program in dockerd docker curl wget rc-service fuse-overlayfs apt-get dnf apk pacman zypper update-rc.d; do
    show "program $program" command -v "$program"
done

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    show docker-service-active systemctl is-active docker.service
    show docker-service systemctl show -p LoadState -p FragmentPath -p DropInPaths docker.service
    show docker-socket systemctl show -p LoadState -p ActiveState docker.socket
    fragment=$(systemctl show -p FragmentPath docker.service 2>/dev/null | sed -n 's/^FragmentPath=//p')
    if [ -n "$fragment" ] && [ -r "$fragment" ]; then
        show docker-unit cat "$fragment"
    fi
    drop_ins=$(systemctl show -p DropInPaths docker.service 2>/dev/null | sed -n 's/^DropInPaths=//p')
    for drop_in in $drop_ins /etc/systemd/system/docker.service.d/*.conf; do
        case " $shown_drop_ins " in
            *" $drop_in "*) continue ;;
        esac
        shown_drop_ins="${shown_drop_ins:-} $drop_in"
        if [ -f "$drop_in" ]; then
            section "drop-in $drop_in"
            cat "$drop_in" 2>/dev/null
            end_section
        fi
    done
    if [ "$(systemctl is-active docker.service 2>/dev/null)" = active ]; then
        engine_running=yes
    fi
elif pidof dockerd >/dev/null 2>&1 || pgrep -x dockerd >/dev/null 2>&1; then
    # Not systemd (OpenRC, sysvinit): the engine runs when its process does.
    show dockerd-running printf yes
    engine_running=yes
fi
if command -v dockerd >/dev/null 2>&1; then
    show dockerd-version dockerd --version
fi
if [ -f /etc/init.d/docker ]; then
    show init-script printf /etc/init.d/docker
fi
if [ "${engine_running:-}" = yes ] && command -v docker >/dev/null 2>&1; then
    # Only asked of a running engine: touching the socket would start a stopped one.
    if command -v timeout >/dev/null 2>&1; then
        show docker-storage-driver as_root timeout 10 docker info --format '{{.Driver}}'
    else
        show docker-storage-driver as_root docker info --format '{{.Driver}}'
    fi
fi

show_file /etc/hostname
show_file /etc/hosts
show_file /etc/default/docker
show_file /etc/docker/daemon.json
show_file /etc/conf.d/docker
show_file /etc/subuid
show_file /etc/subgid
show_file /etc/passwd
show_file /etc/group

if [ -d /var/lib/docker ]; then
    show docker-root-filesystem stat -f -c %T /var/lib/docker
else
    show docker-root-filesystem stat -f -c %T /var/lib
fi
docker_root=/var/lib/docker
[ -d "$docker_root" ] || docker_root=/var/lib
if [ "$(stat -f -c %T "$docker_root" 2>/dev/null)" = xfs ] && command -v xfs_info >/dev/null 2>&1; then
    show xfs-ftype sh -c "xfs_info \"\$(df --output=target $docker_root | tail -n 1)\" | grep -o 'ftype=[01]'"
fi
if grep -qw overlay /proc/filesystems 2>/dev/null; then
    show overlay-filesystem printf yes
fi
if [ -c /dev/fuse ]; then
    show fuse-device printf yes
fi

# Package manager runs in progress (another apt, unattended-upgrades, or an earlier rmachine run
# killed while its apt went on): "PID LOCK COMMAND" for each process that holds a lock of dpkg,
# apt, rpm or apk (POSIX/OFD locks, matched in /proc/locks by inode) or zypper's pid file.
section package-manager-holders
seen_holders=' '
for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock \
    /var/lib/rpm/.rpm.lock /usr/lib/sysimage/rpm/.rpm.lock /lib/apk/db/lock /run/zypp.pid; do
    [ -e "$lock" ] || continue
    if [ "$lock" = /run/zypp.pid ]; then
        holders=$(cat "$lock" 2>/dev/null)
    else
        file_id=$(stat -c '%d %i' "$lock" 2>/dev/null) || continue
        # "N: [-> ]POSIX ADVISORY WRITE PID MAJ:MIN:INODE START END" (hex device numbers, from
        # the kernel's encoding of st_dev); an OFD lock's PID is -1
        holders=$(awk -v device="${file_id% *}" -v inode="${file_id#* }" '
            BEGIN { id = sprintf("%02x:%02x:%s", int(device / 256) % 4096, device % 256 + int(device / 1048576) * 256, inode) }
            $(NF - 2) == id && $(NF - 3) > 0 { print $(NF - 3) }' /proc/locks 2>/dev/null)
    fi
    for pid in $holders; do
        case $seen_holders in *" $pid "*) continue ;; esac
        [ -r "/proc/$pid/cmdline" ] || continue
        seen_holders="$seen_holders$pid "
        printf '%s %s %s\n' "$pid" "$lock" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c 1-160)"
    done
done
end_section
# Packages a killed dpkg left half-done ("iU docker.io": unpacked, half-configured, triggers
# pending, reinstall required): what `dpkg --audit` complains about.
if command -v dpkg-query >/dev/null 2>&1; then
    section packages-interrupted
    dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' 2>/dev/null |
        awk '{ state = substr($0, 2, 1); flag = substr($0, 3, 1); if (state ~ /[HUFWt]/ || flag == "R") print $1 " " $NF }'
    end_section
fi

for managed_file in "$@"; do
    if [ -e "$managed_file" ]; then
        section "file-state $managed_file"
        hash=$(as_root sha256sum "$managed_file" 2>/dev/null | cut -d ' ' -f 1)
        mode=$(as_root stat -c %a "$managed_file" 2>/dev/null)
        printf '%s %s' "${hash:-unreadable}" "${mode:-unknown}"
        end_section
    fi
done
exit 0
