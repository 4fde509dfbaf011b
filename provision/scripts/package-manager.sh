#!/bin/sh
# package-manager.sh: waits for another package manager run to finish, or repairs what a killed
# one left half-done, before rmachine decides what is installed. (facts.sh reports the lock
# holders and the half-done packages; this script acts on them.)
#
# Usage: sh -c "$(cat package-manager.sh)" rmachine-package-manager ACTION ARGUMENT...
#   wait SECONDS PID...  waits until none of the PIDs runs any more; exit 0 then, 3 when SECONDS
#                        passed first (it prints the PIDs still running)
#   repair apt           dpkg --configure -a, then apt-get install -f -y (what apt itself asks
#                        for after "dpkg was interrupted"); exit status of the failing step

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
DEBIAN_FRONTEND=noninteractive
NEEDRESTART_SUSPEND=1
NEEDRESTART_MODE=l
export PATH LC_ALL DEBIAN_FRONTEND NEEDRESTART_SUSPEND NEEDRESTART_MODE

# running PID...: prints the PIDs that still run
running() {
    for pid in "$@"; do
        [ -d "/proc/$pid" ] && printf '%s ' "$pid"
    done
}

action=${1:-}
[ "$#" -gt 0 ] && shift
case $action in
    wait)
        seconds=$1
        shift
        waited=0
        while [ -n "$(running "$@")" ]; do
            if [ "$waited" -ge "$seconds" ]; then
                printf 'package-manager: still running after %s s: %s\n' "$seconds" "$(running "$@")" >&2
                exit 3
            fi
            sleep 1
            waited=$((waited + 1))
        done
        printf 'waited %s s\n' "$waited"
        ;;
    repair)
        [ "${1:-}" = apt ] || { printf 'package-manager: cannot repair for %s\n' "${1:-nothing}" >&2; exit 2; }
        dpkg --force-confdef --force-confold --configure -a </dev/null || exit $?
        apt-get -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold install -f -y </dev/null
        ;;
    *)
        printf 'package-manager: usage: wait SECONDS PID... | repair apt\n' >&2
        exit 2
        ;;
esac
