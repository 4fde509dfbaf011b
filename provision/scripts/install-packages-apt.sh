#!/bin/sh
# install-packages-apt.sh: installs packages with apt-get, without questions.
#
# Usage: sh -c "$(cat install-packages-apt.sh)" rmachine-install-packages PACKAGE...
#
# Waits for the dpkg lock (another apt run, unattended-upgrades or cloud-init often holds it
# just after boot): apt's own lock timeout where apt knows it, and retries on "Could not get
# lock" where it does not. The package lists are refreshed first; a failed refresh is reported
# but does not stop the install, which may still work from the lists already there. A download
# that fails on the way (a mirror or proxy dropping the connection) is retried by apt (Acquire::Retries).

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
DEBIAN_FRONTEND=noninteractive
# needrestart (which docker.io recommends) must not restart services from apt's hook.
NEEDRESTART_SUSPEND=1
NEEDRESTART_MODE=l
export PATH LC_ALL DEBIAN_FRONTEND NEEDRESTART_SUSPEND NEEDRESTART_MODE

if [ "$#" -eq 0 ]; then
    printf 'install-packages: usage: PACKAGE...\n' >&2
    exit 2
fi

attempts=30
pause_seconds=10

# run_apt_get COMMAND...: runs apt-get, retrying while another process holds the dpkg or apt lock.
run_apt_get() {
    attempt=1
    while :; do
        status=0
        output=$(apt-get -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=60 -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold "$@" 2>&1 </dev/null) || status=$?
        if [ "$status" = 0 ]; then
            printf '%s\n' "$output"
            return 0
        fi
        case $output in
            *"Could not get lock"* | *"Unable to lock"* | *"Unable to acquire the dpkg frontend lock"* | *"is another process using it"*)
                if [ "$attempt" -lt "$attempts" ]; then
                    attempt=$((attempt + 1))
                    sleep "$pause_seconds"
                    continue
                fi
                ;;
        esac
        printf '%s\n' "$output" >&2
        return "$status"
    done
}

if ! run_apt_get update; then
    printf 'install-packages: apt-get update failed; trying the install with the current lists\n' >&2
fi
run_apt_get install -y "$@"
