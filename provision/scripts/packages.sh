#!/bin/sh
# packages.sh: one package manager verb, the same words on every family.
#
# Usage: sh -c "$(cat packages.sh)" rmachine-packages MANAGER ACTION [ARGUMENT...]
#   MANAGER  apt | dnf | apk | pacman | zypper
#   ACTION   install PACKAGE...      install (PACKAGE may carry a pin: docker.io=20.10.24+dfsg1-1)
#            upgrade PACKAGE...      upgrade to the newest, or to the pinned version given
#            versions PACKAGE        the versions the configured repositories offer, one a line
#            add-repository URL      add a package repository (dnf: a .repo file URL)
# Refreshes the package lists first; answers no questions.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
DEBIAN_FRONTEND=noninteractive
NEEDRESTART_SUSPEND=1
export PATH LC_ALL DEBIAN_FRONTEND NEEDRESTART_SUSPEND

if [ "$#" -lt 3 ]; then
    printf 'packages: usage: MANAGER ACTION ARGUMENT...\n' >&2
    exit 2
fi
manager=$1
action=$2
shift 2

apt_get() {
    apt-get -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@" </dev/null
}

case "$manager:$action" in
    apt:install) apt_get update >/dev/null; apt_get install -y "$@" ;;
    apt:upgrade)
        apt_get update >/dev/null || exit 1
        case "$*" in
            *=*) apt_get install -y --allow-downgrades "$@" ;;
            *) apt_get install -y --only-upgrade "$@" ;;
        esac
        ;;
    apt:versions) apt_get update >/dev/null; apt-cache madison "$1" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' ;;
    dnf:install) dnf install -y "$@" ;;
    dnf:upgrade)
        case "$*" in
            *-[0-9]*) dnf install -y --allowerasing "$@" ;;
            *) dnf upgrade -y "$@" ;;
        esac
        ;;
    dnf:versions) dnf -q list --showduplicates "$1" 2>/dev/null | awk 'NR > 1 { print $2 }' | sort -r -V ;;
    dnf:add-repository)
        dnf -y install dnf-plugins-core >/dev/null || exit 1
        dnf config-manager --add-repo "$1"
        ;;
    apk:install) apk update >/dev/null; apk add "$@" ;;
    apk:upgrade) apk update >/dev/null; apk add -u "$@" ;;
    apk:versions) apk update >/dev/null; apk policy "$1" 2>/dev/null | awk 'NR > 1 && /^  [^ ]/ { sub(/:$/, "", $1); print $1 }' ;;
    pacman:install) pacman -Sy --noconfirm --needed "$@" ;;
    pacman:upgrade) pacman -Sy --noconfirm "$@" ;;
    pacman:versions) pacman -Sy >/dev/null; pacman -Si "$1" | awk '/^Version/ { print $3 }' ;;
    zypper:install) zypper -n refresh >/dev/null; zypper -n install "$@" ;;
    zypper:upgrade) zypper -n refresh >/dev/null; zypper -n update "$@" ;;
    zypper:versions) zypper -n -q search -s --match-exact "$1" | awk -F'|' 'NR > 2 { gsub(/ /, "", $4); print $4 }' ;;
    *)
        printf 'packages: %s cannot %s\n' "$manager" "$action" >&2
        exit 2
        ;;
esac
